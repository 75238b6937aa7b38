/**
 * Tasks of the sandbox as the sentry needs them for one call: the caller's
 * sandbox pid/tid and its file-system credentials, read from
 * /proc/<tid>/status (proc(5)) on first use and cached by host tid.
 *
 * Staleness is ruled out by the calls that change what an entry holds,
 * all of them trapped (see the syscall table):
 * - clone/fork/vfork drop the whole cache (a new task may reuse a dead tid);
 * - execve, the set*id family, setgroups, capset and umask are continued, so
 *   they take effect only after the sentry answered: the caller's thread
 *   group becomes "volatile" (read afresh on every call, never cached) until
 *   the same thread traps again, which proves its earlier call completed.
 */
import { readFileSync } from 'node:fs';
import { SysError } from '../syscalls/types.js';
import { constants } from 'node:os';

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

const cache = new Map<number, Task>();
/** Sandbox tgid → host tid whose continued credential change is in flight. */
const volatile = new Map<number, number>();
let caching = true;

/** Turns the cache off (slow-path workers, which see no invalidations). */
export function disableTaskCache(): void {
  caching = false;
  cache.clear();
}

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

/** The task for host thread `tid`; ESRCH when it has gone. */
export function taskOf(tid: number): Task {
  let t = cache.get(tid);
  if (t) {
    if (volatile.size === 0) return t;
    if (volatile.get(t.spid) === tid) volatile.delete(t.spid);
    else if (!volatile.has(t.spid)) return t;
  }
  let text: string;
  try {
    text = readFileSync(`/proc/${tid}/status`, 'latin1');
  } catch {
    throw new SysError(constants.errno.ESRCH, `task ${tid} gone`);
  }
  t = parseStatus(tid, text);
  if (volatile.get(t.spid) === tid) volatile.delete(t.spid);
  if (caching && !volatile.has(t.spid)) cache.set(tid, t);
  return t;
}

/** Marks `task`'s thread group volatile until `task` traps again (see above). */
export function credentialsChanging(task: Task): void {
  volatile.set(task.spid, task.tid);
  for (const [tid, t] of cache) if (t.spid === task.spid) cache.delete(tid);
}

/** Drops every cached task (after a clone, execve or credential change). */
export function forgetTasks(): void {
  cache.clear();
}
