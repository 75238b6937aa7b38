/**
 * Path resolution for the sentry's own lookups, always on the kernel's
 * mount tree of the sandbox (path_resolution(7), openat2(2)).
 *
 * Fast path: one openat2() from an O_PATH fd of the sandbox root with
 * RESOLVE_IN_ROOT (absolute paths), or from the caller's cwd / dirfd with
 * RESOLVE_BENEATH (relative paths). Both keep every lookup inside the root.
 *
 * Slow path, taken when the fast path reports EXDEV (a relative path that
 * climbs above its start, or a magic link), ENOENT or ELOOP: a walk one
 * component at a time, still with kernel lookups (openat O_PATH|O_NOFOLLOW
 * per component), that gives the links only the sandbox can mean their
 * meaning for the caller:
 *   - `/proc/self`, `/proc/thread-self` name the caller (the sentry lives
 *     outside the sandbox's pid namespace, where they would not resolve);
 *   - procfs magic links (`/proc/<pid>/fd/N`, `cwd`, `root`, `exe`) are
 *     followed by the kernel (an O_PATH open jumps to the file the task
 *     holds, which is inside the sandbox);
 *   - `..` at the sandbox root stays at the root;
 *   - at most 40 symlinks (ELOOP), as the kernel.
 */
import { constants } from 'node:os';
import {
  c,
  check,
  closeFd,
  fstat,
  openat2,
  readlinkat,
  RESOLVE_BENEATH,
  RESOLVE_IN_ROOT,
  RESOLVE_NO_MAGICLINKS,
  RESOLVE_NO_SYMLINKS,
  RESOLVE_NO_XDEV,
} from '../native.js';

import { SysError, type Caller } from '../syscalls/types.js';
import { guarding, guardMapped } from '../kernel/creds.js';
import {
  AT_EMPTY_PATH,
  AT_SYMLINK_NOFOLLOW,
  AT_FDCWD,
  O_CLOEXEC,
  O_CREAT,
  O_DIRECTORY,
  O_EXCL,
  O_NOFOLLOW,
  O_PATH,
  O_TRUNC,
  S_IFDIR,
  S_IFLNK,
  S_IFMT,
} from '../abi.js';


const E = constants.errno;
const MAXSYMLINKS = 40;
const PROC_SUPER_MAGIC = 0x9fa0;
const PROC_ROOT_INO = 1n;

let rootFd = -1;
/** TEST ONLY: resolve like a naive sentry (no scoping), to show the confinement tests catch it. */
let unscoped = false;
export function setUnscopedForTests(v: boolean): void {
  unscoped = v;
}
/** The naive sentry looks absolute paths up relative to the root fd, but without scoping. */
const naive = (path: string): string => (unscoped ? path.replace(/^\/+/, '') || '.' : path);
let rootDev = 0n;
let rootIno = 0n;

/** Sets the sandbox root: an O_PATH fd of /proc/<init>/root, owned by the sentry. */
export function setRoot(fd: number): void {
  rootFd = fd;
  const st = fstat(fd);
  rootDev = st.dev;
  rootIno = st.ino;
}

const statfsBuf = Buffer.alloc(120);
const fstatfs = c.fstatfs;
function isProc(fd: number): boolean {
  check(fstatfs(fd, statfsBuf));
  return Number(statfsBuf.readBigInt64LE(0)) === PROC_SUPER_MAGIC;
}

const ST_NOSYMFOLLOW = 0x2000n;
/** Whether the mount `fd` is on has nosymfollow (statfs(2) f_flags, at offset 80 of struct statfs). */
function noSymfollow(fd: number): boolean {
  check(fstatfs(fd, statfsBuf));
  return (statfsBuf.readBigUInt64LE(80) & ST_NOSYMFOLLOW) !== 0n;
}

/** An O_PATH fd the caller must close, and how lookups from it are scoped. */
interface Base {
  fd: number;
  owned: boolean;
  resolve: number;
}

/** The directory a (dirfd, path) pair starts from, as the kernel would pick it. */
function baseOf(caller: Caller, dirfd: number, path: string): Base {
  if (path.startsWith('/')) return { fd: rootFd, owned: false, resolve: unscoped ? 0 : RESOLVE_IN_ROOT };
  const tid = caller.task.tid;
  const p = dirfd === AT_FDCWD ? `/proc/${tid}/cwd` : `/proc/${tid}/fd/${dirfd}`;
  let fd: number;
  try {
    fd = openat2(AT_FDCWD, p, O_PATH | O_CLOEXEC, 0, 0);
  } catch (e) {
    if (e instanceof SysError && e.errno === E.ENOENT) throw new SysError(dirfd === AT_FDCWD ? E.ENOENT : E.EBADF);
    throw e;
  }
  try {
    caller.checkCaller(); // the directory is the caller's, not a reused tid's
  } catch (e) {
    closeFd(fd);
    throw e;
  }
  return { fd, owned: true, resolve: RESOLVE_BENEATH };
}

function release(b: Base): void {
  if (b.owned) closeFd(b.fd);
}

/** The caller's own openat2 scope: RESOLVE_IN_ROOT (its dirfd is its root) or RESOLVE_BENEATH (never above it). */
interface Scope {
  fd: number;
  dev: bigint;
  ino: bigint;
  beneath: boolean;
}

function same(fd: number, s: Scope): boolean {
  const st = fstat(fd);
  return st.dev === s.dev && st.ino === s.ino;
}

const statxBuf = Buffer.alloc(256);
const STATX_MNT_ID = 0x1000;
/** statx(2) stx_mnt_id of an fd: which mount it is on. */
function mountId(fd: number): bigint {
  check(c.statx(fd, '', AT_EMPTY_PATH, STATX_MNT_ID, statxBuf));
  return statxBuf.readBigUInt64LE(144);
}

function isRoot(fd: number): boolean {
  const st = fstat(fd);
  return st.dev === rootDev && st.ino === rootIno;
}

/**
 * Walks `path` from `base` component by component (see the file comment).
 * Returns an O_PATH fd of the result (the caller closes it). With
 * `parentOnly`, stops before the last component and returns it in `last`.
 */
function walk(
  caller: Caller,
  base: Base,
  path: string,
  follow: boolean,
  parentOnly: boolean,
  resolve = 0,
  scope?: Scope,
): { fd: number; last: string } {
  let cur = openat2(base.fd, '.', O_PATH | O_CLOEXEC, 0, 0);
  const stack = path.split('/').filter((s) => s !== '').reverse();
  const mustDir = path.endsWith('/');
  const noXdev = (resolve & RESOLVE_NO_XDEV) !== 0;
  /** The directory an absolute path or link starts from: the sandbox root, or the caller's own scope. */
  const top = (): number => {
    if (scope?.beneath) throw new SysError(E.EXDEV);
    return openat2(scope ? scope.fd : rootFd, '.', O_PATH | O_CLOEXEC, 0, 0);
  };
  const atTop = (fd: number): boolean => (scope ? same(fd, scope) : false) || isRoot(fd);
  let links = 0;
  const move = (next: number): void => {
    // openat2(2) RESOLVE_NO_XDEV: no step may change mounts (bind mounts included).
    if (noXdev && mountId(next) !== mountId(cur)) {
      closeFd(next);
      throw new SysError(E.EXDEV);
    }
    closeFd(cur);
    cur = next;
  };
  if (path.startsWith('/')) {
    const t = top();
    closeFd(cur);
    cur = t;
  }
  try {
    while (stack.length > 0) {
      const comp = stack.pop()!;
      const last = stack.length === 0;
      if (last && parentOnly) return { fd: cur, last: comp + (mustDir ? '/' : '') };
      if (comp === '.') continue;
      if (comp === '..') {
        if (scope?.beneath && same(cur, scope)) throw new SysError(E.EXDEV);
        if (!atTop(cur)) move(check(c.openat(cur, '..', O_PATH | O_CLOEXEC | O_DIRECTORY, 0)));
        continue;
      }
      const procDir = isProc(cur);
      if (procDir && (comp === 'self' || comp === 'thread-self') && fstat(cur).ino === PROC_ROOT_INO) {
        if (resolve & RESOLVE_NO_SYMLINKS && (!last || follow)) throw new SysError(E.ELOOP); // they are symlinks
        const { spid, stid } = caller.task;
        const target = comp === 'self' ? `${spid}` : `${spid}/task/${stid}`;
        stack.push(...target.split('/').reverse());
        continue;
      }
      const next = check(c.openat(cur, comp, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0));
      const st = fstat(next);
      const isLink = (st.mode & S_IFMT) === S_IFLNK;
      if (isLink && (!last || follow || mustDir)) {
        // openat2(2): the caller's RESOLVE_NO_SYMLINKS / RESOLVE_NO_MAGICLINKS refuse with ELOOP.
        const magic = procDir && fstat(cur).ino !== PROC_ROOT_INO;
        if (resolve & RESOLVE_NO_SYMLINKS || (magic && resolve & RESOLVE_NO_MAGICLINKS)) {
          closeFd(next);
          throw new SysError(E.ELOOP);
        }
        // A mount with nosymfollow (mount(8), MS_NOSYMFOLLOW) refuses to follow its symlinks: ELOOP.
        if (++links > MAXSYMLINKS || (!magic && noSymfollow(next))) {
          closeFd(next);
          throw new SysError(E.ELOOP);
        }
        if (procDir && fstat(cur).ino !== PROC_ROOT_INO) {
          // A procfs magic link: the kernel jumps to the file the task holds (not in a scoped lookup: EXDEV).
          closeFd(next);
          if (scope) throw new SysError(E.EXDEV);
          move(check(c.openat(cur, comp, O_PATH | O_CLOEXEC, 0)));
          continue;
        }
        const target = readlinkat(next, '');
        closeFd(next);
        if (target.startsWith('/')) move(top());
        stack.push(...target.split('/').filter((s) => s !== '').reverse());
        continue;
      }
      if (!last && (st.mode & S_IFMT) !== S_IFDIR) {
        closeFd(next);
        throw new SysError(E.ENOTDIR);
      }
      move(next);
    }
    if (parentOnly) return { fd: cur, last: '.' };
    if (mustDir && (fstat(cur).mode & S_IFMT) !== S_IFDIR) throw new SysError(E.ENOTDIR);
    return { fd: cur, last: '' };
  } catch (e) {
    closeFd(cur);
    throw e;
  }
}

function retryable(e: unknown): boolean {
  return e instanceof SysError && (e.errno === E.EXDEV || e.errno === E.ENOENT || e.errno === E.ELOOP);
}

/**
 * open(2) with O_CREAT of a path whose last component is missing or a dangling symlink: as the kernel does, a
 * symlink there is followed (up to 40 links; not with O_EXCL, O_NOFOLLOW or RESOLVE_NO_SYMLINKS) and the
 * file is created where it points, each target resolved by the scoped walk (an absolute one from the sandbox
 * root). The create itself refuses to leave its parent (RESOLVE_BENEATH). Errors: as open(2).
 */
function createThroughLinks(
  caller: Caller,
  base: Base,
  path: string,
  flags: number,
  mode: number,
  callerResolve: number,
  scope?: Scope,
): number {
  let p = walk(caller, base, path, true, true, callerResolve, scope);
  try {
    // O_EXCL and O_NOFOLLOW never follow a final link: the create below fails on it (EEXIST, ELOOP).
    for (let links = 0; !(flags & (O_NOFOLLOW | O_EXCL)) && !p.last.endsWith('/'); ) {
      let lfd: number;
      try {
        lfd = check(c.openat(p.fd, p.last, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0));
      } catch {
        break; // missing (or unreadable): the create below gives the kernel's answer
      }
      let target: string;
      try {
        if ((fstat(lfd).mode & S_IFMT) !== S_IFLNK) break;
        if (callerResolve & RESOLVE_NO_SYMLINKS || ++links > MAXSYMLINKS) throw new SysError(E.ELOOP);
        target = readlinkat(lfd, '');
      } finally {
        closeFd(lfd);
      }
      const next = walk(caller, { fd: p.fd, owned: false, resolve: RESOLVE_BENEATH }, target, true, true, callerResolve, scope);
      closeFd(p.fd);
      p = next;
    }
    return openat2(p.fd, p.last, flags | O_CLOEXEC, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
  } finally {
    closeFd(p.fd);
  }
}

/**
 * Opens `path` relative to the caller's `dirfd` with open(2) `flags` and
 * `mode`, as the caller (the sentry thread already carries its credentials).
 * Returns a sentry fd (always O_CLOEXEC). Errors: as open(2).
 */
export function openPath(
  caller: Caller,
  dirfd: number,
  path: string,
  flags: number,
  mode: number,
  callerResolve = 0,
): number {
  return guarding() ? openGuarded(caller, dirfd, path, flags, mode, callerResolve) : openPlain(caller, dirfd, path, flags, mode, callerResolve);
}

/**
 * openPath during a capability retry in a user namespace (sentry/kernel/creds.ts withCapabilityRule): nothing
 * is opened, created or truncated before the inode it acts on is known to be mapped. An existing file is looked
 * up (O_PATH), checked, and reopened through that fd; a new one is created in a checked parent directory
 * (O_NOFOLLOW: a link planted meanwhile is not followed).
 */
function openGuarded(caller: Caller, dirfd: number, path: string, flags: number, mode: number, callerResolve: number): number {
  let t = -1;
  // A name that does not exist is created exclusively (O_EXCL): a file renamed in meanwhile is not opened (nor
  // truncated) with the capabilities; it is looked up and checked on the next round instead.
  for (let round = 0; t < 0; round++) {
    try {
      t = openPlain(caller, dirfd, path, O_PATH | (flags & (O_NOFOLLOW | O_DIRECTORY)), 0, callerResolve);
    } catch (e) {
      if (!(flags & O_CREAT && e instanceof SysError && e.errno === E.ENOENT)) throw e;
      const p = lookupParent(caller, dirfd, path);
      try {
        const fd = openat2(p.fd, p.base, flags | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
        guardMapped(fd, true);
        return fd;
      } catch (e2) {
        if (!(e2 instanceof SysError && e2.errno === E.EEXIST) || flags & O_EXCL || round >= 8) throw e2;
      } finally {
        closeFd(p.fd);
      }
    }
  }
  try {
    guardMapped(t);
    if (flags & O_PATH) {
      const r = t;
      t = -1;
      return r;
    }
    if ((flags & (O_CREAT | O_EXCL)) === (O_CREAT | O_EXCL)) throw new SysError(E.EEXIST);
    if ((fstat(t).mode & S_IFMT) === S_IFLNK) throw new SysError(E.ELOOP);
    return openat2(AT_FDCWD, `/proc/self/fd/${t}`, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC, 0, 0);
  } finally {
    closeFd(t);
  }
}

function openPlain(
  caller: Caller,
  dirfd: number,
  path: string,
  flags: number,
  mode: number,
  callerResolve = 0,
): number {
  if (path === '') throw new SysError(E.ENOENT);
  // The caller may scope the lookup to its own dirfd (inside the sandbox): the kernel does it, and the walk
  // below when /proc/self or a mount crossing needs the sentry.
  const scoped = (callerResolve & (RESOLVE_BENEATH | RESOLVE_IN_ROOT)) !== 0;
  const base = baseOf(caller, dirfd, scoped ? '.' : path);
  let scope: Scope | undefined;
  try {
    try {
      if (scoped) return openat2(base.fd, path, flags | O_CLOEXEC, mode, callerResolve);
      return openat2(base.fd, naive(path), flags | O_CLOEXEC, mode, base.resolve | callerResolve);
    } catch (e) {
      if (!retryable(e)) throw e;
    }
    if (scoped) {
      const st = fstat(base.fd);
      scope = { fd: base.fd, dev: st.dev, ino: st.ino, beneath: (callerResolve & RESOLVE_IN_ROOT) === 0 };
    }
    const creat = (flags & O_CREAT) !== 0;
    if (creat && flags & O_EXCL) return createThroughLinks(caller, base, path, flags, mode, callerResolve, scope);
    let target: number;
    try {
      target = walk(caller, base, path, (flags & O_NOFOLLOW) === 0, false, callerResolve, scope).fd;
    } catch (e) {
      if (!(creat && e instanceof SysError && e.errno === E.ENOENT)) throw e;
      return createThroughLinks(caller, base, path, flags, mode, callerResolve, scope);
    }
    if (flags & O_PATH) return target;
    try {
      if ((fstat(target).mode & S_IFMT) === S_IFLNK) throw new SysError(E.ELOOP);
      // Reopen through the sentry's own /proc/self/fd: the kernel checks access as for open(2).
      return openat2(AT_FDCWD, `/proc/self/fd/${target}`, (flags & ~(O_CREAT | O_EXCL | O_NOFOLLOW)) | O_CLOEXEC, 0, 0);
    } finally {
      closeFd(target);
    }
  } finally {
    release(base);
  }
}

/**
 * Resolves `path` to an O_PATH fd (following a final symlink when `follow`).
 * An empty path with `emptyPath` (AT_EMPTY_PATH) names `dirfd` itself.
 */
export function lookupPath(caller: Caller, dirfd: number, path: string, follow: boolean, emptyPath = false): number {
  if (path === '') {
    if (!emptyPath) throw new SysError(E.ENOENT);
    const base = baseOf(caller, dirfd, '.');
    if (!base.owned) return openat2(base.fd, '.', O_PATH | O_CLOEXEC, 0, 0);
    return base.fd;
  }
  return openPath(caller, dirfd, path, O_PATH | (follow ? 0 : O_NOFOLLOW), 0);
}

/**
 * Resolves every component but the last: returns an O_PATH fd of the parent
 * directory and the last component (trailing slashes kept, so the kernel
 * applies its own trailing-slash rules). The caller closes `fd`.
 */
export function lookupParent(caller: Caller, dirfd: number, path: string): { fd: number; base: string } {
  if (path === '') throw new SysError(E.ENOENT);
  const trimmed = path.replace(/\/+$/, '');
  if (trimmed === '') return { fd: openat2(rootFd, '.', O_PATH | O_CLOEXEC, 0, 0), base: '.' };
  const slash = trimmed.lastIndexOf('/');
  const dir = slash < 0 ? '.' : slash === 0 ? '/' : trimmed.slice(0, slash);
  const baseName = path.slice(slash + 1);
  const base = baseOf(caller, dirfd, dir);
  let r: { fd: number; base: string };
  try {
    try {
      r = { fd: openat2(base.fd, naive(dir), O_PATH | O_DIRECTORY | O_CLOEXEC, 0, base.resolve), base: baseName };
    } catch (e) {
      if (!retryable(e)) throw e;
      const p = walk(caller, base, path, true, true);
      r = { fd: p.fd, base: p.last };
    }
  } finally {
    release(base);
  }
  // `..` of the sandbox root is the root (path_resolution(7)); the kernel, from the sentry, must not be asked.
  if (r.base.replace(/\/+$/, '') === '..' && isRoot(r.fd)) r.base = '.' + r.base.slice(2);
  if (guarding()) guardParent(r);
  return r;
}

/** An O_PATH fd of name `r.base` in directory `r.fd`, not followed; `.` and `..` are that directory and its parent. */
function nameFd(r: { fd: number; base: string }): number {
  const b = r.base.replace(/\/+$/, '');
  if (b === '.' || b === '..') return check(c.openat(r.fd, b, O_PATH | O_CLOEXEC | O_DIRECTORY, 0));
  return openat2(r.fd, r.base, O_PATH | O_NOFOLLOW | O_CLOEXEC, 0, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS);
}

/**
 * What a no-follow call (lchown, fchownat/fchmodat2/utimensat with AT_SYMLINK_NOFOLLOW, l*xattr, linkat's source)
 * acts on: the parent directory and the name (`empty` false), or, during a capability retry (withCapabilityRule),
 * the checked name itself as an O_PATH fd (`base` '', `empty` true: act on it with AT_EMPTY_PATH or through its
 * /proc/self/fd link), so a name swapped after the check (renameat2 RENAME_EXCHANGE) is not what gets changed.
 * The caller closes `fd`.
 */
export function lookupNoFollow(caller: Caller, dirfd: number, path: string): { fd: number; base: string; empty: boolean } {
  const r = lookupParent(caller, dirfd, path);
  if (!guarding()) return { ...r, empty: false };
  try {
    const fd = nameFd(r);
    try {
      guardMapped(fd);
    } catch (e) {
      closeFd(fd);
      throw e;
    }
    return { fd, base: '', empty: true };
  } finally {
    closeFd(r.fd);
  }
}

/**
 * During a capability retry: the parent directory and, when it exists, the name in it (not followed: the
 * l-calls act on it) must be mapped in the user namespace (sentry/kernel/creds.ts guardMapped). Closes the
 * parent's fd when it throws.
 */
function guardParent(r: { fd: number; base: string }): void {
  guardMapped(r.fd, true);
  let fd = -1;
  try {
    fd = nameFd(r);
  } catch (e) {
    if (e instanceof SysError && e.errno === E.ENOENT) return; // no such name yet: a creation
    closeFd(r.fd);
    throw new SysError(E.EACCES, 'a name the capability check cannot see'); // nothing unchecked is acted on
  }
  try {
    guardMapped(fd);
  } catch (e) {
    closeFd(r.fd);
    throw e;
  } finally {
    closeFd(fd);
  }
}
