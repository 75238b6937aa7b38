/**
 * Path syscalls, emulated: the sentry reads each path from the caller's
 * memory once, resolves it inside the sandbox root (sentry/vfs/resolve.ts)
 * and performs the operation itself with the caller's credentials
 * (sentry/kernel/creds.ts). Opened files reach the caller as injected fds.
 * Forms that only name an fd the caller already holds (a NULL or empty path
 * with AT_EMPTY_PATH) are continued: the kernel acts on the caller's fd.
 * Semantics and errnos: the man pages named at each handler (section 2).
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import {
  AT_EMPTY_PATH,
  AT_FDCWD,
  AT_SYMLINK_FOLLOW,
  AT_SYMLINK_NOFOLLOW,
  F_SETFL,
  O_APPEND,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECT,
  O_DIRECTORY,
  O_NOATIME,
  O_NOCTTY,
  O_NOFOLLOW,
  O_NONBLOCK,
  O_PATH,
  __O_TMPFILE,
  O_TRUNC,
  O_WRONLY,
  S_IFBLK,
  S_IFLNK,
  S_IFCHR,
  S_IFIFO,
  S_IFMT,
  S_IFREG,
  S_IFSOCK,
} from '../abi.js';
import { c, check, closeFd, fstat, major, openat2, SYS } from '../native.js';
import { asCaller, asCallerWith, callerHasPtrace, withCapabilityRule } from '../kernel/creds.js';
import { hostIdArg, xattrValueToHost } from '../kernel/userns.js';
import { procfsFile } from '../vfs/procfs.js';
import {
  lookupNoFollow,
  lookupParent,
  lookupPath,
  openPath,
} from '../vfs/resolve.js';
import { CONTINUE, ok, SysError, type Handler, type Reply, type SyscallContext } from './types.js';
import { terminalState, type Task } from '../kernel/task.js';

const E = constants.errno;
const PATH_MAX = 4096;
const XATTR_SIZE_MAX = 65536;
const XATTR_NAME_MAX = 255;

/**
 * Thrown by a handler that would block the notification loop; the call is
 * finished on a slow-path thread. `resume` carries what the handler already
 * did (a sentry fd to finish with), so the slow path does not redo it.
 */
export class WouldBlock extends Error {
  constructor(readonly resume?: Resume) {
    super('would block');
  }
}

/** A FIFO the main loop opened non-blocking: the slow path reopens it blocking, as the caller asked. */
export interface Resume {
  fd: number;
  flags: number;
  cloexec: boolean;
}

/**
 * Finishes an open handed over by the main loop: the FIFO's read end, which
 * must wait for a writer (fifo(7)). The non-blocking fd is held until the
 * end, so a peer never sees this open come and go. If a writer came while
 * the call waited here (data, or a hang-up), open(2) would have returned:
 * reopen at once; otherwise reopen blocking through the sentry's
 * /proc/self/fd, which returns once a writer is there.
 */
export function resumeOpen(task: Task, r: Resume): Reply {
  asCaller(task);
  try {
    pollBuf.writeInt32LE(r.fd, 0);
    pollBuf.writeInt16LE(POLLIN, 4);
    pollBuf.writeInt16LE(0, 6);
    const ready = c.poll(pollBuf, 1, 0) > 0 && (pollBuf.readInt16LE(6) & (POLLIN | POLLHUP)) !== 0;
    const fd = openat2(AT_FDCWD, self(r.fd), (r.flags & ~O_NONBLOCK) | O_CLOEXEC | (ready ? O_NONBLOCK : 0), 0, 0);
    if (ready) check(c.fcntl(fd, F_SETFL, r.flags & (O_APPEND | O_DIRECT | O_NOATIME)));
    return { kind: 'fd', fd, cloexec: r.cloexec };
  } finally {
    closeFd(r.fd);
  }
}
const pollBuf = Buffer.alloc(8);
const POLLIN = 1;
const POLLHUP = 0x10;

/** Whether this thread may block (slow-path threads) or must not (the main loop). */
let mayBlock = false;
export function setMayBlock(v: boolean): void {
  mayBlock = v;
}

const fdArg = (a: bigint | undefined): number => Number(BigInt.asIntN(32, a ?? 0n));
const u32 = (a: bigint | undefined): number => Number((a ?? 0n) & 0xffffffffn);
const path = (ctx: SyscallContext, a: bigint | undefined): string => ctx.readString(a ?? 0n, PATH_MAX);
const self = (fd: number, rest = ''): string => `/proc/self/fd/${fd}${rest ? '/' + rest : ''}`;

/**
 * Whether a call that does not follow a final symlink (AT_SYMLINK_NOFOLLOW, l*-calls, link's old path) must
 * follow it anyway: a trailing slash makes the kernel follow the last component and require a directory
 * (path_resolution(7)). Such a path goes through the sentry's scoped follow, never as "name/" to a kernel call
 * made from the sentry, whose root is the host's: an absolute link would resolve there.
 */
const followsAnyway = (p: string): boolean => p.endsWith('/');

/** Runs `fn` with an fd, closing it afterwards. */
function using<T>(fd: number, fn: (fd: number) => T): T {
  try {
    return fn(fd);
  } finally {
    closeFd(fd);
  }
}

/** /dev/tty (5, 0): the caller's own controlling terminal, whichever it is. */
const isDevTty = (rdev: bigint): boolean => major(rdev) === 5 && (rdev & 0xffn) === 0n;

/**
 * /dev/tty for the caller: its controlling terminal (proc(5) tty_nr, the same
 * device encoding as st_rdev), found where the sandbox names it: /dev/console
 * (where the launcher binds the user's terminal) for the tvisor command's
 * session, the sandbox's /dev/pts/N for a session made inside; opened by the sentry with the caller's flags and
 * O_NOCTTY, and checked to be that device. ENXIO without a controlling
 * terminal, as the kernel answers, or when the sandbox cannot name it.
 * Nothing is continued: a continued open re-reads its path, which the caller
 * could have swapped for a /proc file the sentry serves rewritten.
 */
function openCallerTty(ctx: SyscallContext, flags: number): number {
  const { ttyNr: tty, innerSession } = terminalState(ctx.task.tid);
  if (tty === 0n) throw new SysError(E.ENXIO);
  const maj = major(tty);
  const min = Number((tty & 0xffn) | ((tty >> 12n) & 0xfff00n));
  // Every devpts instance numbers its terminals alike, so the device number alone cannot tell the user's
  // terminal from a sandbox pty: the session does. A session made in the sandbox can only have taken one of
  // the sandbox's own ptys (the user's terminal is the tvisor command's session's), and the other way round.
  const name = !innerSession ? '/dev/console' : maj >= 136 && maj <= 143 ? `/dev/pts/${((maj - 136) << 8) | min}` : null;
  let fd = -1;
  try {
    if (name) fd = openPath(ctx, AT_FDCWD, name, flags | O_NOCTTY | O_NONBLOCK, 0);
  } catch {
    /* not there, or not the caller's to open: ENXIO below */
  }
  if (fd >= 0 && fstat(fd).rdev === tty) return fd;
  closeFd(fd);
  throw new SysError(E.ENXIO);
}

/**
 * An open that failed with ENXIO, told apart by what the path names (looked up, not opened): a FIFO's write end
 * without a reader opened non-blocking by the main loop (a blocking open waits for one: the slow path does it),
 * /dev/tty when the sentry has no controlling terminal of its own (the caller's is opened: openCallerTty), or
 * anything else (a unix socket file, a device without its driver): ENXIO, answered here. Never continued: the
 * kernel would re-read the path, which the caller may have changed since.
 */
function afterEnxio(ctx: SyscallContext, dirfd: number, p: string, flags: number, wantBlock: boolean): Reply {
  let st;
  try {
    st = using(lookupPath(ctx, dirfd, p, (flags & O_NOFOLLOW) === 0), fstat);
  } catch {
    throw new SysError(E.ENXIO);
  }
  const type = st.mode & S_IFMT;
  if (type === S_IFIFO && wantBlock && !mayBlock) throw new WouldBlock();
  if (type === S_IFCHR && isDevTty(st.rdev)) return terminalReply(openCallerTty(ctx, flags), flags, wantBlock);
  throw new SysError(E.ENXIO);
}

/** The answer for a terminal fd the sentry opened non-blocking: the caller's own blocking mode restored. */
function terminalReply(fd: number, flags: number, wantBlock: boolean): Reply {
  if (wantBlock) check(c.fcntl(fd, F_SETFL, flags & (O_APPEND | O_DIRECT | O_NOATIME)));
  return { kind: 'fd', fd, cloexec: (flags & O_CLOEXEC) !== 0 };
}

/** open(2), openat(2), openat2(2), creat(2). */
const open: Handler = (ctx) => {
  const name = ctx.nrName;
  const a = ctx.args;
  let dirfd = AT_FDCWD;
  let p: string;
  let flags: number;
  let mode: number;
  let resolve = 0;
  // The path is read unchecked: a relative lookup checks the caller when it takes its base directory (baseOf in
  // sentry/vfs/resolve.ts), an absolute one is checked below, before anything is done with it.
  const upath = (x: bigint | undefined): string => ctx.readStringUnchecked(x ?? 0n, PATH_MAX);
  if (name === 'open') [p, flags, mode] = [upath(a[0]), u32(a[1]), u32(a[2])];
  else if (name === 'creat') [p, flags, mode] = [upath(a[0]), O_CREAT | O_WRONLY | O_TRUNC, u32(a[1])];
  else if (name === 'openat') [dirfd, p, flags, mode] = [fdArg(a[0]), upath(a[1]), u32(a[2]), u32(a[3])];
  else {
    dirfd = fdArg(a[0]);
    p = upath(a[1]);
    const size = Number(a[3]);
    if (size < 24) throw new SysError(E.EINVAL);
    if (size > 4096) throw new SysError(E.E2BIG);
    const how = ctx.readMemory(a[2]!, size);
    if (size > 24 && how.subarray(24).some((b) => b !== 0)) throw new SysError(E.E2BIG);
    const f = how.readBigUInt64LE(0);
    const m = how.readBigUInt64LE(8);
    resolve = Number(how.readBigUInt64LE(16));
    if (f >> 32n || m >> 12n || (m && !(Number(f) & (O_CREAT | __O_TMPFILE)))) throw new SysError(E.EINVAL);
    flags = Number(f);
    mode = Number(m);
  }
  // An O_PATH file cannot be injected (SECCOMP_IOCTL_NOTIF_ADDFD's fget() skips FMODE_PATH files). It gives
  // no access to data, and every later use of it by path (*at calls, /proc/self/fd reopen) is trapped again,
  // so the kernel opens it, in the sandbox's mount namespace.
  // openat2's flags live in memory, which the kernel would read again: a continued openat2 could be turned
  // into a plain open of a file the sentry serves rewritten (/proc/self/mountinfo). So openat2 with O_PATH
  // says ENOSYS, and callers fall back to openat, whose flags are a register (libpathrs, Go's os.Root and
  // systemd do).
  if (flags & O_PATH) {
    if (name === 'openat2') throw new SysError(E.ENOSYS, 'openat2 with O_PATH');
    return CONTINUE;
  }
  if (p.startsWith('/')) ctx.checkCaller();
  const task = ctx.task;
  asCaller(task);
  // open(2) ignores the mode argument (whatever the register holds) without O_CREAT or O_TMPFILE;
  // openat2(2) would refuse a non-zero one with EINVAL.
  mode = flags & (O_CREAT | __O_TMPFILE) ? mode & 0o7777 & ~task.creds.umask : 0;
  if ((flags & (O_DIRECTORY | __O_TMPFILE)) === O_DIRECTORY) {
    // Only a directory opens (ENOTDIR otherwise, before any device or FIFO is touched): it cannot block or be a
    // terminal, so it needs no O_NONBLOCK and no F_SETFL. Only a caller without CAP_SYS_PTRACE needs the fstat:
    // a procfs directory (another task's fd/) is opened again with its exact credentials.
    let dfd = openPath(ctx, dirfd, p, flags | O_NOCTTY, 0, resolve);
    if (!callerHasPtrace(task)) dfd = procfsFile(dfd, fstat(dfd).dev, task, flags | O_NOCTTY);
    return { kind: 'fd', fd: dfd, cloexec: (flags & O_CLOEXEC) !== 0 };
  }
  const wantBlock = !(flags & O_NONBLOCK);
  // Open non-blocking so a FIFO cannot stall the loop; the flag is cleared below. The sentry's own fd is
  // always O_CLOEXEC (openPath); the caller's O_CLOEXEC goes to the injected fd.
  const sflags = flags | O_NOCTTY;
  let fd: number;
  try {
    fd = openPath(ctx, dirfd, p, wantBlock && !mayBlock ? sflags | O_NONBLOCK : sflags, mode, resolve);
  } catch (e) {
    if (!(e instanceof SysError)) throw e;
    // EWOULDBLOCK: a file under a lease, which a blocking open waits to break (fcntl(2) F_SETLEASE).
    if (e.errno === E.EAGAIN && wantBlock && !mayBlock) throw new WouldBlock();
    if (e.errno === E.ENXIO) return afterEnxio(ctx, dirfd, p, flags, wantBlock);
    throw e;
  }
  const st = fstat(fd);
  fd = procfsFile(fd, st.dev, task, wantBlock && !mayBlock ? sflags | O_NONBLOCK : sflags); // sentry/vfs/procfs.ts
  const type = st.mode & S_IFMT;
  if (type === S_IFCHR && isDevTty(st.rdev)) {
    // The sentry opened its own controlling terminal, if any: the caller's is another.
    closeFd(fd);
    return terminalReply(openCallerTty(ctx, flags), flags, wantBlock);
  }
  // Any other terminal gets the sentry's fd, opened O_NOCTTY: an open never makes a terminal the caller's
  // controlling one implicitly (the caller uses TIOCSCTTY, as login_tty(3), setsid -c and script do).
  if (type === S_IFIFO && wantBlock && !mayBlock) {
    // A read end: open(2) must wait for a writer. Keep this fd (closing it could wake and then drop a peer).
    if ((flags & 3) === 0) throw new WouldBlock({ fd, flags: sflags, cloexec: (flags & O_CLOEXEC) !== 0 });
    // A write end opened non-blocking only succeeds when a reader is there: exactly when a blocking open returns.
  }
  if (wantBlock && !mayBlock) check(c.fcntl(fd, F_SETFL, flags & (O_APPEND | O_DIRECT | O_NOATIME)));
  return { kind: 'fd', fd, cloexec: (flags & O_CLOEXEC) !== 0 };
};

/** mkdir(2), mkdirat(2). */
const mkdir: Handler = (ctx) => {
  const [dirfd, p, mode] =
    ctx.nrName === 'mkdir' ? [AT_FDCWD, path(ctx, ctx.args[0]), u32(ctx.args[1])] : [fdArg(ctx.args[0]), path(ctx, ctx.args[1]), u32(ctx.args[2])];
  asCaller(ctx.task);
  const { fd, base } = lookupParent(ctx, dirfd, p);
  return using(fd, () => ok(check(c.mkdirat(fd, base, mode & ~ctx.task.creds.umask & 0o7777))));
};

/** mknod(2), mknodat(2): regular files, FIFOs and sockets; device nodes are refused (EPERM). */
const mknod: Handler = (ctx) => {
  const a = ctx.args;
  const [dirfd, p, mode, dev] =
    ctx.nrName === 'mknod' ? [AT_FDCWD, path(ctx, a[0]), u32(a[1]), u32(a[2])] : [fdArg(a[0]), path(ctx, a[1]), u32(a[2]), u32(a[3])];
  const type = mode & S_IFMT;
  if (type === S_IFCHR || type === S_IFBLK) throw new SysError(E.EPERM, 'device nodes are not granted');
  if (type !== 0 && type !== S_IFREG && type !== S_IFIFO && type !== S_IFSOCK) throw new SysError(E.EINVAL);
  asCaller(ctx.task);
  const { fd, base } = lookupParent(ctx, dirfd, p);
  return using(fd, () => ok(check(c.mknodat(fd, base, (mode & ~ctx.task.creds.umask & 0o7777) | type, BigInt(dev)))));
};

/** link(2), linkat(2). */
const link: Handler = (ctx) => {
  const a = ctx.args;
  let od = AT_FDCWD;
  let nd = AT_FDCWD;
  let op: string;
  let np: string;
  let flags = 0;
  if (ctx.nrName === 'link') [op, np] = [path(ctx, a[0]), path(ctx, a[1])];
  else [od, op, nd, np, flags] = [fdArg(a[0]), path(ctx, a[1]), fdArg(a[2]), path(ctx, a[3]), u32(a[4])];
  if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH)) throw new SysError(E.EINVAL);
  asCaller(ctx.task);
  const to = lookupParent(ctx, nd, np);
  return using(to.fd, () => {
    // AT_EMPTY_PATH links the file the caller's fd holds (an O_TMPFILE file, typically). The kernel allows it
    // without CAP_DAC_READ_SEARCH only for a file the caller opened itself, and the sentry opened it: link it
    // through its /proc fd link instead, the route open(2) documents for O_TMPFILE (I_LINKABLE still applies).
    if (flags & AT_SYMLINK_FOLLOW || (op === '' && flags & AT_EMPTY_PATH) || followsAnyway(op)) {
      const src = lookupPath(ctx, od, op, true, (flags & AT_EMPTY_PATH) !== 0);
      return using(src, () => ok(check(c.linkat(AT_FDCWD, self(src), to.fd, to.base, AT_SYMLINK_FOLLOW))));
    }
    const from = lookupNoFollow(ctx, od, op);
    return using(from.fd, () => {
      if (!from.empty) return ok(check(c.linkat(from.fd, from.base, to.fd, to.base, 0)));
      // The checked source itself, through its /proc fd link (a symlink there would be followed: refused).
      if ((fstat(from.fd).mode & S_IFMT) === S_IFLNK) throw new SysError(E.EPERM);
      return ok(check(c.linkat(AT_FDCWD, self(from.fd), to.fd, to.base, AT_SYMLINK_FOLLOW)));
    });
  });
};

/** symlink(2), symlinkat(2). */
const symlink: Handler = (ctx) => {
  const a = ctx.args;
  const [target, dirfd, p] =
    ctx.nrName === 'symlink' ? [path(ctx, a[0]), AT_FDCWD, path(ctx, a[1])] : [path(ctx, a[0]), fdArg(a[1]), path(ctx, a[2])];
  if (target === '') throw new SysError(E.ENOENT);
  asCaller(ctx.task);
  const { fd, base } = lookupParent(ctx, dirfd, p);
  return using(fd, () => ok(check(c.symlinkat(target, fd, base))));
};

/** chmod(2), fchmodat(2), fchmodat2 (AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH). */
const chmod: Handler = (ctx) => {
  const a = ctx.args;
  const [dirfd, p, mode, flags] =
    ctx.nrName === 'chmod'
      ? [AT_FDCWD, path(ctx, a[0]), u32(a[1]), 0]
      : [fdArg(a[0]), path(ctx, a[1]), u32(a[2]), ctx.nrName === 'fchmodat2' ? u32(a[3]) : 0];
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new SysError(E.EINVAL);
  if (p === '' && flags & AT_EMPTY_PATH) return CONTINUE;
  asCaller(ctx.task);
  if (flags & AT_SYMLINK_NOFOLLOW && !followsAnyway(p)) {
    const { fd, base, empty } = lookupNoFollow(ctx, dirfd, p);
    return using(fd, () =>
      ok(check(empty ? c.fchmodat2(SYS.fchmodat2, fd, '', mode, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) : c.fchmodat2(SYS.fchmodat2, fd, base, mode, AT_SYMLINK_NOFOLLOW))),
    );
  }
  const fd = lookupPath(ctx, dirfd, p, true);
  return using(fd, () => ok(check(c.fchmodat(AT_FDCWD, self(fd), mode, 0))));
};

/** chown(2), lchown(2), fchownat(2). uid/gid -1 leave the id unchanged. */
const chown: Handler = (ctx) => {
  const a = ctx.args;
  let dirfd = AT_FDCWD;
  let p: string;
  let uid: number;
  let gid: number;
  let flags = 0;
  if (ctx.nrName === 'fchownat') [dirfd, p, uid, gid, flags] = [fdArg(a[0]), path(ctx, a[1]), u32(a[2]), u32(a[3]), u32(a[4])];
  else [p, uid, gid, flags] = [path(ctx, a[0]), u32(a[1]), u32(a[2]), ctx.nrName === 'lchown' ? AT_SYMLINK_NOFOLLOW : 0];
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new SysError(E.EINVAL);
  if (p === '' && flags & AT_EMPTY_PATH) return CONTINUE;
  // The ids are the caller's namespace's; the kernel, called from the sentry, takes host ids.
  [uid, gid] = [hostIdArg('uid', uid), hostIdArg('gid', gid)];
  asCaller(ctx.task);
  if (flags & AT_SYMLINK_NOFOLLOW && !followsAnyway(p)) {
    const { fd, base, empty } = lookupNoFollow(ctx, dirfd, p);
    return using(fd, () => ok(check(c.fchownat(fd, base, uid, gid, empty ? AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW : AT_SYMLINK_NOFOLLOW))));
  }
  const fd = lookupPath(ctx, dirfd, p, true);
  return using(fd, () => ok(check(c.fchownat(fd, '', uid, gid, AT_EMPTY_PATH))));
};

/** utime(2), utimes(2), futimesat(2), utimensat(2) with a path; times become a timespec[2]. */
const utimes: Handler = (ctx) => {
  const a = ctx.args;
  const name = ctx.nrName;
  let dirfd = AT_FDCWD;
  let pathAddr: bigint;
  let timesAddr: bigint;
  let flags = 0;
  if (name === 'utime' || name === 'utimes') [pathAddr, timesAddr] = [a[0]!, a[1]!];
  else [dirfd, pathAddr, timesAddr, flags] = [fdArg(a[0]), a[1]!, a[2]!, name === 'utimensat' ? u32(a[3]) : 0];
  if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new SysError(E.EINVAL);
  if (pathAddr === 0n) return CONTINUE; // futimens(3)/futimes(3): the caller's own fd
  const p = path(ctx, pathAddr);
  if (p === '' && flags & AT_EMPTY_PATH) return CONTINUE;
  let ts: Buffer | null = null;
  if (timesAddr !== 0n) {
    ts = Buffer.alloc(32);
    if (name === 'utime') {
      const t = ctx.readMemory(timesAddr, 16);
      ts.writeBigInt64LE(t.readBigInt64LE(0), 0);
      ts.writeBigInt64LE(t.readBigInt64LE(8), 16);
    } else if (name === 'utimensat') {
      ctx.readMemory(timesAddr, 32).copy(ts);
    } else {
      const t = ctx.readMemory(timesAddr, 32);
      for (const i of [0, 1]) {
        const usec = t.readBigInt64LE(i * 16 + 8);
        if (usec < 0n || usec >= 1000000n) throw new SysError(E.EINVAL);
        ts.writeBigInt64LE(t.readBigInt64LE(i * 16), i * 16);
        ts.writeBigInt64LE(usec * 1000n, i * 16 + 8);
      }
    }
  }
  asCaller(ctx.task);
  if (flags & AT_SYMLINK_NOFOLLOW && !followsAnyway(p)) {
    const { fd, base, empty } = lookupNoFollow(ctx, dirfd, p);
    return using(fd, () => ok(check(c.utimensat(fd, base, ts, empty ? AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW : AT_SYMLINK_NOFOLLOW))));
  }
  const fd = lookupPath(ctx, dirfd, p, true);
  return using(fd, () => ok(check(c.utimensat(AT_FDCWD, self(fd), ts, 0))));
};

/** truncate(2). */
const truncate: Handler = (ctx) => {
  const p = path(ctx, ctx.args[0]);
  const len = BigInt.asIntN(64, ctx.args[1]!);
  if (len < 0n) throw new SysError(E.EINVAL);
  asCaller(ctx.task);
  const fd = lookupPath(ctx, AT_FDCWD, p, true);
  return using(fd, () => {
    // The sentry's own RLIMIT_FSIZE is not the caller's: a length past the caller's limit is EFBIG, with the
    // SIGXFSZ the kernel sends the thread (truncate(2), setrlimit(2)), checked once the file is known to exist.
    if (len > fileSizeLimit(ctx.task.tid) && (fstat(fd).mode & S_IFMT) === S_IFREG) {
      asCallerWith(ctx.task, CAP_KILL_BIT, () => c.tkill(SYS.tkill, ctx.task.tid, SIGXFSZ));
      throw new SysError(E.EFBIG);
    }
    return ok(check(c.truncate(self(fd), Number(len))));
  });
};
const SIGXFSZ = 25;
const CAP_KILL_BIT = 1 << 5;

/**
 * The soft RLIMIT_FSIZE of host thread `tid` in bytes, from /proc/<tid>/limits (proc(5); world-readable, where
 * prlimit(2) on another uid's task would need CAP_SYS_RESOURCE). Throws ESRCH when the thread has gone.
 */
function fileSizeLimit(tid: number): bigint {
  let text: string;
  try {
    text = readFileSync(`/proc/${tid}/limits`, 'latin1');
  } catch {
    throw new SysError(E.ESRCH);
  }
  const soft = /^Max file size\s+(\S+)/m.exec(text)?.[1];
  return soft === undefined || soft === 'unlimited' ? 1n << 64n : BigInt(soft);
}

function xattrName(ctx: SyscallContext, addr: bigint | undefined): string {
  let n: string;
  try {
    n = ctx.readString(addr ?? 0n, XATTR_NAME_MAX + 1);
  } catch (e) {
    // xattr(7): a name of XATTR_NAME_MAX + 1 bytes or more is ERANGE, not ENAMETOOLONG.
    if (e instanceof SysError && e.errno === E.ENAMETOOLONG) throw new SysError(E.ERANGE);
    throw e;
  }
  if (n.length === 0 || n.length > XATTR_NAME_MAX) throw new SysError(E.ERANGE);
  return n;
}

/** Resolves the file an xattr call names: a path for the follow/no-follow libc calls. */
function xattrTarget(ctx: SyscallContext, dirfd: number, p: string, follow: boolean): { fd: number; path: string; followed?: boolean } {
  if (follow || followsAnyway(p)) {
    const fd = lookupPath(ctx, dirfd, p, true);
    return { fd, path: self(fd) };
  }
  const { fd, base, empty } = lookupNoFollow(ctx, dirfd, p);
  if (!empty) return { fd, path: self(fd, base) };
  // The checked name itself (a capability retry): through its /proc fd link, which the follow variants follow to
  // it; a symlink would be followed further, so its xattrs are refused (user.* on symlinks is EPERM anyway).
  if ((fstat(fd).mode & S_IFMT) === S_IFLNK) {
    closeFd(fd);
    throw new SysError(E.EPERM);
  }
  return { fd, path: self(fd), followed: true };
}

/**
 * What an xattr call names, from its plain form (path, name at args 0-1; the
 * l- variants do not follow) or its *at form (dirfd, path, AT_* flags, name
 * at args 0-3). Null when it names the caller's own fd (AT_EMPTY_PATH).
 */
function xattrCall(ctx: SyscallContext): { dirfd: number; p: string; follow: boolean; name: string } | null {
  const a = ctx.args;
  if (!ctx.nrName.endsWith('xattrat'))
    return { dirfd: AT_FDCWD, p: path(ctx, a[0]), follow: !ctx.nrName.startsWith('l'), name: xattrName(ctx, a[1]) };
  const dirfd = fdArg(a[0]);
  const p = path(ctx, a[1]);
  const at = u32(a[2]);
  if (at & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH)) throw new SysError(E.EINVAL);
  if (p === '' && at & AT_EMPTY_PATH) return null;
  return { dirfd, p, follow: !(at & AT_SYMLINK_NOFOLLOW), name: xattrName(ctx, a[3]) };
}

/** setxattr(2), lsetxattr(2), setxattrat(2) (value, size and flags in struct xattr_args). */
const setxattr: Handler = (ctx) => {
  const a = ctx.args;
  const x = xattrCall(ctx);
  if (!x) return CONTINUE;
  let valueAddr = a[2]!;
  let size = Number(a[3]);
  let flags = u32(a[4]);
  if (ctx.nrName === 'setxattrat') {
    if (Number(a[5]) < 16) throw new SysError(E.EINVAL);
    const args = ctx.readMemory(a[4]!, 16);
    [valueAddr, size, flags] = [args.readBigUInt64LE(0), args.readUInt32LE(8), args.readUInt32LE(12)];
  }
  if (size > XATTR_SIZE_MAX) throw new SysError(E.E2BIG);
  // Ids inside a file capability or an ACL are the caller's namespace's: stored as host ids (sentry/kernel/userns.ts).
  const value = xattrValueToHost(x.name, ctx.readMemory(valueAddr, size));
  asCaller(ctx.task);
  const t = xattrTarget(ctx, x.dirfd, x.p, x.follow);
  const fn = x.follow || followsAnyway(x.p) || t.followed ? c.setxattr : c.lsetxattr;
  return using(t.fd, () => ok(check(fn(t.path, x.name, value, value.length, flags))));
};

/** removexattr(2), lremovexattr(2), removexattrat(2). */
const removexattr: Handler = (ctx) => {
  const x = xattrCall(ctx);
  if (!x) return CONTINUE;
  asCaller(ctx.task);
  const t = xattrTarget(ctx, x.dirfd, x.p, x.follow);
  const fn = x.follow || followsAnyway(x.p) || t.followed ? c.removexattr : c.lremovexattr;
  return using(t.fd, () => ok(check(fn(t.path, x.name))));
};

/** `h` under the kernel's capability rule for user namespaces (sentry/kernel/creds.ts withCapabilityRule). */
const capabilityRule =
  (h: Handler): Handler =>
  (ctx) =>
    withCapabilityRule(ctx, () => h(ctx));

/** Handlers of the path family, by table group. */
export const fileHandlers = Object.fromEntries(
  Object.entries({ open, mkdir, mknod, link, symlink, chmod, chown, utimes, truncate, setxattr, removexattr }).map(([k, h]) => [
    k,
    capabilityRule(h),
  ]),
) as Record<'open' | 'mkdir' | 'mknod' | 'link' | 'symlink' | 'chmod' | 'chown' | 'utimes' | 'truncate' | 'setxattr' | 'removexattr', Handler>;

