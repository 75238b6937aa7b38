/**
 * The sentry's door to libc and the kernel, through koffi. Every binding
 * returns the raw C result; `check()` turns -1 into a SysError carrying the
 * errno. Prototypes are fixed (not variadic) as x86_64's ABI allows: see
 * ../shared/notes/interception-costs.md for the measured cost of each form.
 */
import koffi from 'koffi';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import { existsSync } from 'node:fs';
import { SysError } from './syscalls/types.js';

/** Root of the installed package: the nearest directory above this file with package.json (dist/ or source). */
export const PACKAGE_ROOT = ((): string => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json')) && dirname(d) !== d) d = dirname(d);
  return d;
})();
export const LAUNCHER_PATH = join(PACKAGE_ROOT, 'native', 'build', 'tvisor-launch');
const SENTRY_LIB = join(PACKAGE_ROOT, 'native', 'build', 'libtvisor-sentry.so');

const libc = koffi.load('libc.so.6');
const lib = koffi.load(SENTRY_LIB);

/* x86_64 syscall numbers used through syscall(2). */
export const SYS = {
  openat2: 437,
  pidfd_open: 434,
  pidfd_getfd: 438,
  fchmodat2: 452,
  faccessat2: 439,
  tkill: 200,
} as const;

/**
 * Paths travel through the sentry as latin1 strings (one char per byte, as
 * read from the caller's memory), so any byte sequence survives; they reach
 * libc as those bytes, never re-encoded as UTF-8.
 */
export function cstr(s: string): Buffer {
  return Buffer.from(s + '\0', 'latin1');
}

/** Wraps a koffi function so that its string arguments are passed as raw bytes (cstr). */
function bytesArgs<F extends (...args: never[]) => unknown>(fn: F): F {
  return ((...args: unknown[]) => fn(...(args.map((a) => (typeof a === 'string' ? cstr(a) : a)) as never[]))) as unknown as F;
}

const raw = {
  close: libc.func('int close(int fd)'),
  ioctlPtr: libc.func('int ioctl(int fd, unsigned long req, void *arg)'),
  ioctlVal: libc.func('int ioctl(int fd, unsigned long req, unsigned long arg)'),
  poll: libc.func('int poll(void *fds, unsigned long nfds, int timeout)'),
  openat: libc.func('int openat(int dirfd, const char *path, int flags, unsigned int mode)'),
  fstat: libc.func('int fstat(int fd, void *st)'),
  fstatfs: libc.func('int fstatfs(int fd, void *buf)'),
  statx: libc.func('int statx(int dirfd, const char *path, int flags, unsigned int mask, void *buf)'),
  fcntl: libc.func('int fcntl(int fd, int cmd, long arg)'),
  readlinkat: libc.func('long readlinkat(int dirfd, const char *path, void *buf, unsigned long size)'),
  mkdirat: libc.func('int mkdirat(int dirfd, const char *path, unsigned int mode)'),
  mknodat: libc.func('int mknodat(int dirfd, const char *path, unsigned int mode, unsigned long dev)'),
  linkat: libc.func('int linkat(int olddirfd, const char *oldpath, int newdirfd, const char *newpath, int flags)'),
  symlinkat: libc.func('int symlinkat(const char *target, int dirfd, const char *path)'),
  fchmodat: libc.func('int fchmodat(int dirfd, const char *path, unsigned int mode, int flags)'),
  fchownat: libc.func('int fchownat(int dirfd, const char *path, unsigned int uid, unsigned int gid, int flags)'),
  utimensat: libc.func('int utimensat(int dirfd, const char *path, void *times, int flags)'),
  truncate: libc.func('int truncate(const char *path, long length)'),
  setxattr: libc.func('int setxattr(const char *path, const char *name, void *value, unsigned long size, int flags)'),
  lsetxattr: libc.func('int lsetxattr(const char *path, const char *name, void *value, unsigned long size, int flags)'),
  removexattr: libc.func('int removexattr(const char *path, const char *name)'),
  lremovexattr: libc.func('int lremovexattr(const char *path, const char *name)'),
  umask: libc.func('unsigned int umask(unsigned int mask)'),
  memfdCreate: libc.func('int memfd_create(const char *name, unsigned int flags)'),
  fchmod: libc.func('int fchmod(int fd, unsigned int mode)'),
  openat2: libc.func('long syscall(long nr, int dirfd, const char *path, void *how, unsigned long size)'),
  pidfdOpen: libc.func('long syscall(long nr, int pid, unsigned int flags)'),
  pidfdGetfd: libc.func('long syscall(long nr, int pidfd, int fd, unsigned int flags)'),
  fchmodat2: libc.func('long syscall(long nr, int dirfd, const char *path, unsigned int mode, int flags)'),
  faccessat2: libc.func('long syscall(long nr, int dirfd, const char *path, int mode, int flags)'),
  kill: libc.func('int kill(int pid, int sig)'),
  tkill: libc.func('long syscall(long nr, int tid, int sig)'),
  _exit: libc.func('void _exit(int status)'),
  getpid: libc.func('int getpid()'),
  socket: libc.func('int socket(int domain, int type, int protocol)'),
  bind: libc.func('int bind(int fd, void *addr, unsigned int len)'),
  send: libc.func('long send(int fd, void *buf, unsigned long len, int flags)'),
  recv: libc.func('long recv(int fd, void *buf, unsigned long len, int flags)'),
  setsockopt: libc.func('int setsockopt(int fd, int level, int name, void *val, unsigned int len)'),
  getsockopt: libc.func('int getsockopt(int fd, int level, int name, void *val, void *len)'),
  flock: libc.func('int flock(int fd, int op)'),
  sysinfo: libc.func('int sysinfo(void *info)'),
  vmRead: lib.func('long tv_vm_read(int pid, uint64_t addr, void *buf, unsigned long len)'),
  vmWrite: lib.func('long tv_vm_write(int pid, uint64_t addr, void *buf, unsigned long len)'),
  vmReadString: lib.func('long tv_vm_read_string(int pid, uint64_t addr, void *buf, unsigned long max)'),
  wakeSetup: lib.func('long tv_wake_setup(int sig)'),
  wakeThread: lib.func('long tv_wake_thread(int tid, int sig)'),
  setCreds: lib.func('long tv_set_creds(uint32_t fsuid, uint32_t fsgid, void *groups, int ngroups, void *caps)'),
  unameIn: lib.func('long tv_uname_in(int nsfd, int selfns, void *out)'),
};

/** libc and libtvisor-sentry.so, string arguments passed as raw bytes. */
export const c = Object.fromEntries(Object.entries(raw).map(([k, f]) => [k, bytesArgs(f)])) as typeof raw;

/** errno of the last failed libc call on this thread. */
export function errno(): number {
  return koffi.errno();
}

/** Returns `r` or throws SysError(errno) when r < 0 (libc convention: -1 and errno). */
export function check(r: number | bigint, what?: string): number {
  const n = Number(r);
  if (n < 0) throw new SysError(koffi.errno(), what);
  return n;
}

/** For helpers that return -errno directly (libtvisor-sentry.so). */
export function checkNeg(r: number | bigint): number {
  const n = Number(r);
  if (n < 0) throw new SysError(-n);
  return n;
}

/** `struct open_how` (openat2(2)): flags u64, mode u64, resolve u64. */
export const RESOLVE_NO_XDEV = 0x01;
export const RESOLVE_NO_MAGICLINKS = 0x02;
export const RESOLVE_NO_SYMLINKS = 0x04;
export const RESOLVE_BENEATH = 0x08;
export const RESOLVE_IN_ROOT = 0x10;

const how = Buffer.alloc(24);
const EAGAIN = 11;
/**
 * openat2(2) on this thread; returns an fd or throws SysError. Flags may
 * include O_CREAT with `mode`. A scoped lookup (RESOLVE_BENEATH/IN_ROOT)
 * fails with EAGAIN when any rename or mount on the system raced with a
 * `..` step; it is retried, as the man page advises.
 */
export function openat2(dirfd: number, path: string, flags: number, mode: number, resolve: number): number {
  how.writeBigUInt64LE(BigInt(flags >>> 0), 0);
  how.writeBigUInt64LE(BigInt(mode), 8);
  how.writeBigUInt64LE(BigInt(resolve), 16);
  for (let tries = 0; ; tries++) {
    const r = Number(c.openat2(SYS.openat2, dirfd, path, how, 24));
    if (r >= 0) return r;
    const e = koffi.errno();
    if (e !== EAGAIN || tries >= 64 || !(resolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT))) throw new SysError(e);
  }
}

/** Closes a sentry fd, ignoring errors (EBADF here is a sentry bug, not the workload's). */
export function closeFd(fd: number): void {
  if (fd >= 0) c.close(fd);
}

/** Subset of `struct stat` (x86_64 layout, 144 bytes). */
export interface StatLite {
  dev: bigint;
  ino: bigint;
  mode: number;
  /** Owner, as the sentry (initial user namespace) sees it. */
  uid: number;
  gid: number;
  rdev: bigint;
}
const statBuf = Buffer.alloc(144);
export function fstat(fd: number): StatLite {
  check(c.fstat(fd, statBuf));
  return {
    dev: statBuf.readBigUInt64LE(0),
    ino: statBuf.readBigUInt64LE(8),
    mode: statBuf.readUInt32LE(24),
    uid: statBuf.readUInt32LE(28),
    gid: statBuf.readUInt32LE(32),
    rdev: statBuf.readBigUInt64LE(40),
  };
}

const linkBuf = Buffer.alloc(4097);
/** readlinkat(2); `path` "" reads the symlink an O_PATH fd refers to. */
export function readlinkat(dirfd: number, path: string): string {
  const n = check(c.readlinkat(dirfd, path, linkBuf, 4096));
  return linkBuf.toString('latin1', 0, n);
}

export function major(dev: bigint): number {
  return Number(((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn));
}
