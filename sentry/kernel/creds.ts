/**
 * Runs the sentry's file operations as the caller: the sentry thread takes
 * the caller's fsuid, fsgid, supplementary groups and effective
 * capabilities (per-thread raw syscalls, see native/sentry.c), so the
 * kernel's own DAC and capability checks, and the owner of created files,
 * are the caller's (credentials(7), path_resolution(7) "Permission").
 * umask is applied by the handlers (the sentry's own umask is 0).
 */
import { constants } from 'node:os';
import { c, checkNeg, closeFd, fstat } from '../native.js';
import { SysError } from '../syscalls/types.js';
import type { Task } from './task.js';
import { sandboxUserNamespace, type IdRange } from './userns.js';

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

/**
 * How the caller's capabilities are applied. 'all': as the sentry's own, in the initial user namespace (no user
 * namespace: they are the same). With a user namespace the kernel lets a capability override a file's checks
 * only when the inode's uid and gid are mapped in it (capabilities(7), "Interaction with user namespaces";
 * capable_wrt_inode_uidgid), which an initial-namespace capability of the sentry would not do: 'none' applies
 * none of them, 'mapped' applies them for a retry whose inodes guardMapped checks (withCapabilityRule).
 */
let capMode: 'all' | 'none' | 'mapped' = 'all';

/** The sentry process's own credentials, as it started (root's, with every capability it holds). */
const OWN = { fsuid: process.getuid?.() ?? 0, fsgid: process.getgid?.() ?? 0, groups: process.getgroups?.() ?? [] };

/**
 * Gives this thread the sentry's own credentials back. The notification loop runs on Node's main thread, which
 * also runs everything else of the tvisor process (the state directory, the control socket, the process table's
 * /proc reads): it must not do that work as the last caller. Called whenever the loop yields to the event loop.
 */
export function asSentry(): void {
  if (applied === 'sentry') return;
  OWN.groups.forEach((g, i) => groupsBuf.writeUInt32LE(g >>> 0, i * 4));
  capsBuf.writeUInt32LE(0xffffffff, 0); // masked by the permitted set in tv_set_creds
  capsBuf.writeUInt32LE(0xffffffff, 4);
  applied = '';
  checkNeg(c.setCreds(OWN.fsuid, OWN.fsgid, groupsBuf, OWN.groups.length, capsBuf));
  applied = 'sentry';
}

/** Gives this sentry thread `task`'s file-system credentials (no-op when already so). */
export function asCaller(task: Task): void {
  apply(task, CAP_SYS_PTRACE_BIT, capMode === 'mapped' ? task.creds.key + '/m' : task.creds.key);
}

/** Capabilities that override file permission and ownership checks (CHOWN, DAC_OVERRIDE, DAC_READ_SEARCH, FOWNER, FSETID). */
const FILE_CAPS = 0x1f;
const E = constants.errno;

/**
 * Runs a file operation `fn` for `caller` (its task read only when needed) under the kernel's capability rule for user namespaces. Without a user
 * namespace: `fn()`, nothing else. With one: first without the caller's capabilities; when that fails with
 * EACCES or EPERM and the caller holds a file capability, once more with them, where every inode the operation
 * acts on must have a uid and gid mapped in the namespace (guardMapped, called by sentry/vfs/resolve.ts on the
 * file or parent directory it resolved); otherwise the first error stands. Residual difference from the kernel:
 * directories crossed on the way are searched with the capabilities (the kernel would refuse an unmapped
 * directory without search permission), and a name in a directory is checked before it is acted on (a rename
 * in between by someone else is not seen).
 */
export function withCapabilityRule<T>(caller: { readonly task: Task }, fn: () => T): T {
  if (capMode === 'all') return fn();
  try {
    return fn();
  } catch (e) {
    if (!(e instanceof SysError) || (e.errno !== E.EACCES && e.errno !== E.EPERM) || (caller.task.creds.capEff[0] & FILE_CAPS) === 0)
      throw e;
    capMode = 'mapped';
    try {
      return fn();
    } catch (again) {
      throw again instanceof SysError && (again.errno === E.EACCES || again.errno === E.EPERM) ? e : again;
    } finally {
      capMode = 'none';
    }
  }
}

/** Whether a retry with capabilities is under way (withCapabilityRule): resolved inodes must be guarded. */
export function guarding(): boolean {
  return capMode === 'mapped';
}

const mapped = (map: IdRange[], id: number): boolean => map.some((r) => id >= r.outside && id - r.outside < r.count);

/**
 * During a capability retry (withCapabilityRule), throws EACCES unless the file at `fd` has a uid and gid mapped
 * in the sandbox's user namespace; closes `fd` then when `own`. No-op otherwise.
 */
export function guardMapped(fd: number, own = false): void {
  const ns = sandboxUserNamespace();
  if (capMode !== 'mapped' || !ns) return;
  const st = fstat(fd);
  if (mapped(ns.uid, st.uid) && mapped(ns.gid, st.gid)) return;
  if (own) closeFd(fd);
  throw new SysError(E.EACCES, 'capability over an inode not mapped in the user namespace');
}

/** Sets the capability mode for the sandbox: 'none' (and retries) when it has a user namespace, else 'all'. */
export function configureCapabilityRule(): void {
  capMode = sandboxUserNamespace() ? 'none' : 'all';
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
  const own = capMode === 'none' ? [0, 0] : cr.capEff;
  capsBuf.writeUInt32LE((own[0]! | extraCaps) >>> 0, 0);
  capsBuf.writeUInt32LE(own[1]! >>> 0, 4);
  applied = '';
  checkNeg(c.setCreds(cr.fsuid, cr.fsgid, groupsBuf, cr.groups.length, capsBuf));
  applied = key;
}
