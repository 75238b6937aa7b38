/**
 * Virtual /proc files: the sandbox's own procfs (mounted by the launcher in
 * its pid namespace) shows the sandbox's tasks only, but some of its files
 * describe the host: the mount tables name host paths, staging directories
 * and devices; /proc/cmdline is the host kernel's boot line; /proc/swaps
 * names host swap files; /proc/meminfo and /proc/cpuinfo show the whole
 * machine rather than what the sandbox may use. The sentry serves these
 * itself: the `open` handler (sentry/syscalls/file.ts) opens the file as
 * the caller, as for any path, and hands the fd to `procfsFile`, which
 * returns either that fd or, for a file served here, a sealed memfd holding
 * the rewritten text (sentry/vfs/proctext.ts), opened with the caller's
 * access mode.
 *
 * Which file it is comes from what the kernel resolved, never from the
 * caller's path: the fd's file system (fstatfs(2): PROC_SUPER_MAGIC, checked
 * once per device number) and the fd's path in the sandbox's mount tree
 * (readlink of the sentry's /proc/self/fd/N, which names the file from the
 * sandbox's root). So `/proc/self/../self/mountinfo`, `/proc/thread-self/mountinfo`,
 * `/proc/1/task/1/mountinfo`, an openat from a dirfd of /proc and a
 * reopen of /proc/self/fd/N all land here. Opens on other file systems pay
 * one Map lookup.
 *
 * Semantics, as the kernel's files (proc(5)): the kernel decides whether
 * the open succeeds (permissions, a gone task: ENOENT/ESRCH), and the text
 * is the kernel's own at open time, rewritten. Reads, seeks and pread work;
 * the content is a snapshot (natively a re-read after lseek(0) regenerates
 * it), and poll(2) reports no mount-table changes (the sandbox's table does
 * not change: it cannot mount). An O_WRONLY open gets the kernel's own fd
 * (it cannot read; writes fail with EINVAL/EIO as natively); an O_RDWR one
 * gets the memfd read-write, whose seals refuse writes with EPERM.
 */
import { readSync, writeSync } from 'node:fs';
import { constants, release } from 'node:os';
import { c, check, closeFd, openat2, readlinkat } from '../native.js';
import { sandboxLimits } from '../kernel/limits.js';
import { asCallerExactly, callerHasPtrace } from '../kernel/creds.js';
import type { Task } from '../kernel/task.js';
import { cmdline, filterCpuinfo, rewriteMeminfo, rewriteMountinfo, rewriteMounts, rewriteMountstats, swaps } from './proctext.js';
import { SysError } from '../syscalls/types.js';
import { sandboxUserNamespace, statusInNamespace } from '../kernel/userns.js';
import {
  AT_FDCWD,
  F_ADD_SEALS,
  F_GETFL,
  F_SEAL_GROW,
  F_SEAL_SEAL,
  F_SEAL_SHRINK,
  F_SEAL_WRITE,
  F_SETFL,
  MFD_ALLOW_SEALING,
  MFD_CLOEXEC,
  MFD_NOEXEC_SEAL,
  O_ACCMODE,
  O_APPEND,
  O_CLOEXEC,
  O_NOATIME,
  O_NONBLOCK,
  O_WRONLY,
} from '../abi.js';

const E = constants.errno;
const PROC_SUPER_MAGIC = 0x9fa0;
/** A mount table larger than this is refused (EFBIG) rather than copied. */
const MAX_TEXT = 16 << 20;

/** The files served here. */
export type ProcKind = 'mountinfo' | 'mounts' | 'mountstats' | 'meminfo' | 'cpuinfo' | 'cmdline' | 'swaps' | 'status';

const PER_TASK = /^\/proc\/\d+(?:\/task\/\d+)?\/(mountinfo|mounts|mountstats|status)$/;
const GLOBAL = /^\/proc\/(meminfo|cpuinfo|cmdline|swaps)$/;

/**
 * Which served file a procfs path names, or null. `path` is the file's path
 * in the sandbox's mount tree as the kernel names it (d_path; the launcher
 * mounts the sandbox's procfs at /proc), e.g. `/proc/7/task/7/mountinfo`;
 * a trailing ` (deleted)` (a task that died after the open) is ignored.
 * Only meaningful for a file already known to be on procfs.
 */
export function classify(path: string): ProcKind | null {
  const p = path.endsWith(' (deleted)') ? path.slice(0, -10) : path;
  const m = PER_TASK.exec(p) ?? GLOBAL.exec(p);
  return m ? (m[1] as ProcKind) : null;
}

/** TEST ONLY: serve the kernel's files unchanged, to show the leak tests catch a missing rewrite. */
let raw = false;

/**
 * For tests only, `raw`: no file is served, the kernel's own go through.
 * (What meminfo and cpuinfo report comes from sentry/kernel/limits.ts.)
 * Called once per sentry thread, before any call is handled.
 */
export function configureProcfs(o: { testRaw?: boolean }): void {
  raw = o.testRaw === true;
}

/** Device number → whether that file system is a procfs (fstatfs once per device). */
const procDevs = new Map<bigint, boolean>();
const statfsBuf = Buffer.alloc(120);

function onProcfs(fd: number, dev: bigint): boolean {
  let p = procDevs.get(dev);
  if (p === undefined) {
    check(c.fstatfs(fd, statfsBuf));
    p = Number(statfsBuf.readBigInt64LE(0)) === PROC_SUPER_MAGIC;
    procDevs.set(dev, p);
  }
  return p;
}

/** Reads `fd` from its current offset to EOF (latin1, byte for byte). Errors: read(2)'s; EFBIG past MAX_TEXT. */
function readAll(fd: number): string {
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const b = Buffer.allocUnsafe(65536);
    let n: number;
    try {
      n = readSync(fd, b, 0, b.length, null);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      throw new SysError(typeof err.errno === 'number' ? -err.errno : E.EIO);
    }
    if (n === 0) break;
    chunks.push(b.subarray(0, n));
    total += n;
    if (total > MAX_TEXT) throw new SysError(E.EFBIG);
  }
  return Buffer.concat(chunks).toString('latin1');
}

/** The text the sandbox sees for `kind`, from the kernel's own file open at `fd`. */
function content(kind: ProcKind, fd: number): string {
  const l = sandboxLimits();
  switch (kind) {
    case 'mountinfo':
      return rewriteMountinfo(readAll(fd));
    case 'mounts':
      return rewriteMounts(readAll(fd));
    case 'mountstats':
      return rewriteMountstats(readAll(fd));
    case 'meminfo':
      return rewriteMeminfo(readAll(fd), l.memoryLimit(), l.memoryUsage(), l.memoryCache());
    case 'cpuinfo':
      return filterCpuinfo(readAll(fd), l.cpus());
    case 'cmdline':
      return cmdline(release());
    case 'swaps':
      return swaps(readAll(fd));
    case 'status':
      return statusInNamespace(readAll(fd), sandboxUserNamespace()!);
  }
}

/**
 * A sealed memfd holding `text` (F_SEAL_WRITE|GROW|SHRINK|SEAL, mode 0444),
 * opened anew with access mode and status flags `fl` (fcntl F_GETFL of the
 * kernel's fd). Created as the caller (the sentry thread carries its
 * credentials), so it is the caller's, like the task's own /proc files.
 */
function sealed(kind: ProcKind, text: string, fl: number): number {
  let mfd = Number(c.memfdCreate(`tvisor-proc-${kind}`, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL));
  if (mfd < 0) mfd = check(c.memfdCreate(`tvisor-proc-${kind}`, MFD_CLOEXEC | MFD_ALLOW_SEALING)); // before Linux 6.3
  try {
    const data = Buffer.from(text, 'latin1');
    for (let off = 0; off < data.length; ) off += writeSync(mfd, data, off, data.length - off);
    check(c.fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE));
    // A new open file description with the caller's access mode (the memfd's own is read-write).
    const fd = openat2(AT_FDCWD, `/proc/self/fd/${mfd}`, (fl & O_ACCMODE) | O_CLOEXEC, 0, 0);
    try {
      check(c.fchmod(fd, 0o444));
      check(c.fcntl(fd, F_SETFL, fl & (O_APPEND | O_NONBLOCK | O_NOATIME)));
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    return fd;
  } finally {
    closeFd(mfd);
  }
}

/**
 * The fd the caller `task` gets for a file the sentry just opened with open(2)
 * `flags`: `fd` itself, unless it is on procfs. There, for a caller without
 * CAP_SYS_PTRACE, the file is opened again with exactly the caller's
 * credentials, so ptrace-checked files (another task's maps, environ, fd/,
 * fdinfo/) answer as natively (EACCES) rather than with the sentry's
 * capability; and a file served here (see the file comment) is replaced by a
 * sealed memfd with the sandbox's text. `dev` is the fd's st_dev. Runs as the
 * caller. Takes `fd`: on error it is closed and a SysError is thrown (EACCES,
 * read errors of the kernel's file, EFBIG, EMFILE/ENOMEM from memfd_create).
 */
export function procfsFile(fd: number, dev: bigint, task: Task, flags: number): number {
  if (!onProcfs(fd, dev)) return fd;
  if (!callerHasPtrace(task)) {
    const first = fd;
    try {
      fd = asCallerExactly(task, () => openat2(AT_FDCWD, `/proc/self/fd/${first}`, flags | O_CLOEXEC, 0, 0));
    } finally {
      closeFd(first);
    }
  }
  if (raw) return fd;
  try {
    const kind = classify(readlinkat(AT_FDCWD, `/proc/self/fd/${fd}`));
    // status shows ids in the opener's user namespace: only with a user namespace does it need rewriting.
    if (!kind || (kind === 'status' && !sandboxUserNamespace())) return fd;
    const fl = check(c.fcntl(fd, F_GETFL, 0));
    if ((fl & O_ACCMODE) === O_WRONLY) return fd; // nothing to read; writes fail as the kernel's own
    const out = sealed(kind, content(kind, fd), fl);
    closeFd(fd);
    return out;
  } catch (e) {
    closeFd(fd);
    throw e;
  }
}
