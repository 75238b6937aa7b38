/**
 * Runs the sentry's file operations as the caller: the sentry thread takes
 * the caller's fsuid, fsgid, supplementary groups and effective
 * capabilities (per-thread raw syscalls, see native/sentry.c), so the
 * kernel's own DAC and capability checks, and the owner of created files,
 * are the caller's (credentials(7), path_resolution(7) "Permission").
 * umask is applied by the handlers (the sentry's own umask is 0).
 */
import { c, checkNeg } from '../native.js';
import type { Task } from './task.js';

let applied = '';
/**
 * CAP_SYS_PTRACE stays effective: the sentry must keep reading the memory and
 * /proc/<tid> entries of callers that changed uid or became non-dumpable
 * (process_vm_readv(2) and proc(5) use ptrace access checks). It grants no
 * file access; its one effect on a caller's behalf is on ptrace-checked files
 * of the sandbox's own procfs (see the README's threat model).
 */
const CAP_SYS_PTRACE_BIT = 1 << 19;
const groupsBuf = Buffer.alloc(4 * 65536);
const capsBuf = Buffer.alloc(8);

/** Gives this sentry thread `task`'s file-system credentials (no-op when already so). */
export function asCaller(task: Task): void {
  apply(task, CAP_SYS_PTRACE_BIT, task.creds.key);
}

/** Whether `task` itself holds CAP_SYS_PTRACE (effective). */
export function callerHasPtrace(task: Task): boolean {
  return (task.creds.capEff[0] & CAP_SYS_PTRACE_BIT) !== 0;
}

/**
 * Runs `fn` with exactly `task`'s credentials, CAP_SYS_PTRACE only if the task has it: for opening files of
 * the sandbox's procfs whose access is ptrace-checked (/proc/<pid>/maps, environ, fd/...; proc(5)), where the
 * sentry's own CAP_SYS_PTRACE would let the caller read what natively it could not. Restores asCaller's set.
 */
export function asCallerExactly<T>(task: Task, fn: () => T): T {
  return withCaps(task, 0, fn);
}

/**
 * Runs `fn` as the caller with `extraCaps` (capability bits, low word) added to its effective set, for what the
 * kernel does on the caller's behalf but checks against the sender (SIGXFSZ for an over-limit truncate needs
 * kill permission over the caller). Restores asCaller's set.
 */
export function asCallerWith<T>(task: Task, extraCaps: number, fn: () => T): T {
  return withCaps(task, CAP_SYS_PTRACE_BIT | extraCaps, fn);
}

/** Runs `fn` with `task`'s credentials and exactly `extraCaps` added, then goes back to asCaller's set. */
function withCaps<T>(task: Task, extraCaps: number, fn: () => T): T {
  apply(task, extraCaps, `${task.creds.key}/+${extraCaps}`);
  try {
    return fn();
  } finally {
    asCaller(task);
  }
}

function apply(task: Task, extraCaps: number, key: string): void {
  const cr = task.creds;
  if (key === applied) return;
  cr.groups.forEach((g, i) => groupsBuf.writeUInt32LE(g >>> 0, i * 4));
  capsBuf.writeUInt32LE((cr.capEff[0] | extraCaps) >>> 0, 0);
  capsBuf.writeUInt32LE(cr.capEff[1] >>> 0, 4);
  applied = '';
  checkNeg(c.setCreds(cr.fsuid, cr.fsgid, groupsBuf, cr.groups.length, capsBuf));
  applied = key;
}
