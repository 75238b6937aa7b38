/**
 * Tasks of the sandbox as the sentry needs them for one call: the caller's
 * sandbox pid/tid and its file-system credentials, read from
 * /proc/<tid>/status (proc(5)) on first use and cached by host tid.
 *
 * Staleness is ruled out so:
 * - a new task may reuse a dead task's tid (clone, fork and vfork are not
 *   trapped: a trapped fork interrupted by a signal before the sentry took
 *   it would fail with EINTR, which fork never does natively). So each entry
 *   holds a pidfd of its thread (pidfd_open(2) PIDFD_THREAD), opened before
 *   the status read that the caller check then proves was the caller's; an
 *   entry whose pidfd reports the thread's exit (poll(2) POLLIN) is dropped;
 * - the calls that change what an entry holds are trapped: execve, the set*id
 *   family, setgroups, capset and umask are continued, so
 *   they take effect only after the sentry answered. The cache is dropped and
 *   the caller's tid becomes "volatile": while any tid is volatile nothing is
 *   cached (every lookup reads /proc afresh). A tid stops being volatile when
 *   it traps again, which proves its earlier call completed, or after
 *   VOLATILE_MS (a thread that changed its credentials and then exited).
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { SysError } from '../syscalls/types.js';
import { constants } from 'node:os';
import { c, closeFd, SYS } from '../native.js';

/** File-system identity of a task (credentials(7), capabilities(7)). */
export interface Creds {
  fsuid: number;
  fsgid: number;
  groups: number[];
  /** Effective capabilities, low and high 32 bits. */
  capEff: [number, number];
  umask: number;
  /** Key comparing two credential sets cheaply. */
  key: string;
}

export interface Task {
  /** Host thread id. */
  readonly tid: number;
  /** Thread id and thread-group id inside the sandbox's pid namespace. */
  readonly stid: number;
  readonly spid: number;
  readonly creds: Creds;
}

/** Cached tasks by host tid, each with a pidfd of its thread (its exit makes the entry stale). */
const cache = new Map<number, { task: Task; pidfd: number }>();
/** Entries at most; beyond, entries of exited threads are swept (then all, if that is not enough). */
const MAX_CACHED = 512;
/** pidfd_open(2) flag: a pidfd of one thread, not of its thread group (Linux 6.9). */
const PIDFD_THREAD = 0x80;
const pidfdPoll = Buffer.alloc(8);

/** Whether the thread behind `pidfd` has exited (its pidfd is readable, pidfd_open(2)). */
function exited(pidfd: number): boolean {
  pidfdPoll.writeInt32LE(pidfd, 0);
  pidfdPoll.writeInt32LE(1, 4); // events POLLIN, revents 0
  return c.poll(pidfdPoll, 1, 0) !== 0;
}

function dropCached(tid: number): void {
  closeFd(cache.get(tid)?.pidfd ?? -1);
  cache.delete(tid);
}

function clearCache(): void {
  for (const e of cache.values()) closeFd(e.pidfd);
  cache.clear();
}
/** Host tids whose continued credential change may still be in flight → when it was marked (ms). */
const volatile = new Map<number, number>();
const VOLATILE_MS = 1000;
let caching = true;

/** Turns the cache off (slow-path workers, which see no invalidations). */
export function disableTaskCache(): void {
  caching = false;
  clearCache();
}

/** The value of field `name` in /proc/<tid>/status text (proc(5)), '' when absent; `text` starts with a newline. */
function field(text: string, name: string): string {
  const i = text.indexOf(`\n${name}:`);
  if (i < 0) return '';
  const j = text.indexOf('\n', i + 1);
  return text.slice(i + name.length + 2, j < 0 ? undefined : j).trim();
}

function lastNumber(s: string): number {
  const parts = s.split(/\s+/);
  return Number(parts[parts.length - 1]);
}

/** Parses /proc/<tid>/status text into a Task (exported for unit tests). */
export function parseStatus(tid: number, text: string): Task {
  const t = '\n' + text;
  const uid = field(t, 'Uid').split(/\s+/).map(Number);
  const gid = field(t, 'Gid').split(/\s+/).map(Number);
  const groupsText = field(t, 'Groups');
  const groups = groupsText ? groupsText.split(/\s+/).map(Number) : [];
  const capHex = field(t, 'CapEff') || '0';
  const cap = BigInt('0x' + capHex);
  const capEff: [number, number] = [Number(cap & 0xffffffffn), Number(cap >> 32n)];
  const umaskText = field(t, 'Umask');
  const umask = umaskText ? parseInt(umaskText, 8) : 0o022;
  const fsuid = uid[3] ?? 0;
  const fsgid = gid[3] ?? 0;
  return {
    tid,
    stid: lastNumber(field(t, 'NSpid')),
    spid: lastNumber(field(t, 'NStgid')),
    creds: { fsuid, fsgid, groups, capEff, umask, key: `${fsuid}/${fsgid}/${groups.join(',')}/${capHex}` },
  };
}

/**
 * The task for host thread `tid`; ESRCH when it has gone. `checkCaller` runs
 * after a fresh read of /proc/<tid>/status and must throw (ESRCH) unless
 * `tid` is still the trapped caller: a host process reusing the tid must not
 * lend its credentials (SECCOMP_IOCTL_NOTIF_ID_VALID). A cached entry needs
 * no check: a sandbox task can only reuse a tid after a trapped clone, which
 * empties the cache.
 */
export function taskOf(tid: number, checkCaller: () => void): Task {
  if (volatile.size > 0) {
    volatile.delete(tid);
    const now = performance.now();
    for (const [t, at] of volatile) if (now - at > VOLATILE_MS) volatile.delete(t);
  }
  const hit = cache.get(tid);
  if (hit && !exited(hit.pidfd)) return hit.task;
  if (hit) dropCached(tid);
  // Opened before the read: the caller check after it proves the tid was the caller's all along.
  const pidfd = caching && volatile.size === 0 ? Number(c.pidfdOpen(SYS.pidfd_open, tid, PIDFD_THREAD)) : -1;
  let t: Task;
  try {
    t = parseStatus(tid, readFileSync(`/proc/${tid}/status`, 'latin1'));
  } catch {
    closeFd(pidfd);
    throw new SysError(constants.errno.ESRCH, `task ${tid} gone`);
  }
  try {
    checkCaller();
  } catch (e) {
    closeFd(pidfd);
    throw e;
  }
  if (pidfd >= 0) {
    if (cache.size >= MAX_CACHED) for (const [k, e] of cache) if (exited(e.pidfd)) dropCached(k);
    if (cache.size >= MAX_CACHED) clearCache();
    cache.set(tid, { task: t, pidfd });
  }
  return t;
}

/** Marks `tid` volatile (see above): its continued call may change credentials of its whole thread group. */
export function credentialsChanging(tid: number): void {
  clearCache();
  volatile.set(tid, performance.now());
}

/**
 * True when host thread `tid` has a pending signal it neither blocks nor
 * leaves to the default action (proc(5): SigPnd, ShdPnd, SigBlk, SigCgt):
 * natively such a signal interrupts a blocking syscall. False when the
 * thread has gone.
 */
export function hasCaughtSignal(tid: number): boolean {
  let text: string;
  try {
    text = '\n' + readFileSync(`/proc/${tid}/status`, 'latin1');
  } catch {
    return false;
  }
  const mask = (name: string): bigint => BigInt('0x' + (field(text, name) || '0'));
  return ((mask('SigPnd') | mask('ShdPnd')) & ~mask('SigBlk') & mask('SigCgt')) !== 0n;
}

/**
 * The fields of /proc/<pid>/stat text after the command name (proc(5): state, ppid, pgrp, session, tty_nr...;
 * index 0 is field 3): the name may hold spaces and parentheses, so it is cut at the last ')'.
 */
export function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).trim().split(' ');
}

/**
 * The controlling terminal of host thread `tid` (proc(5): /proc/<tid>/stat
 * field tty_nr), as a device number encoded like st_rdev (0n for none), and
 * whether its session was made inside the sandbox (the innermost NSsid of
 * /proc/<tid>/status is not 0: the session leader is a sandbox task) or
 * outside (the session of the tvisor command, whose terminal the launcher
 * binds at /dev/console). Throws ESRCH when the thread has gone.
 */
export function terminalState(tid: number): { ttyNr: bigint; innerSession: boolean } {
  let stat: string;
  let status: string;
  try {
    stat = readFileSync(`/proc/${tid}/stat`, 'latin1');
    status = '\n' + readFileSync(`/proc/${tid}/status`, 'latin1');
  } catch {
    throw new SysError(constants.errno.ESRCH, `task ${tid} gone`);
  }
  const f = statFields(stat);
  const nssid = field(status, 'NSsid').trim().split(/\s+/);
  return { ttyNr: BigInt(f[4] ?? '0'), innerSession: nssid.length > 1 && nssid[nssid.length - 1] !== '0' };
}
