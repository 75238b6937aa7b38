/**
 * Calls that change the caller's own state. User-notify cannot change a
 * caller's registers, cwd or mappings, so these are continued (the kernel
 * runs them) after a check; what enforces them is the kernel: the pid and
 * mount namespaces, mount flags (nosuid, nodev), no_new_privs and the
 * bounding set. The sentry keeps its task cache honest around them
 * (sentry/kernel/task.ts).
 */
import { credentialsChanging } from '../kernel/task.js';
import { constants } from 'node:os';
import { AT_EACCESS, AT_EMPTY_PATH, AT_FDCWD, AT_SYMLINK_NOFOLLOW, S_IFLNK, S_IFMT, S_IFREG, X_OK } from '../abi.js';
import { asCaller } from '../kernel/creds.js';
import { c, check, closeFd, fstat, SYS } from '../native.js';
import { lookupPath } from '../vfs/resolve.js';
import { CONTINUE, fail, SysError, type Handler, type SyscallContext } from './types.js';

const E = constants.errno;
const PATH_MAX = 4096;
const fdArg = (a: bigint | undefined): number => Number(BigInt.asIntN(32, a ?? 0n));

/**
 * Reads the path argument for the record (strace, log) only: the kernel
 * re-reads it when the call continues, so nothing may be decided on it.
 */
function notePath(ctx: SyscallContext, addr: bigint | undefined): void {
  try {
    ctx.readString(addr ?? 0n, PATH_MAX);
  } catch {
    /* the kernel will answer EFAULT / ENAMETOOLONG itself */
  }
}

/** A call trapped only to be shown (`--strace`): continued unchanged (chdir's path read for the line). */
const observe: Handler = (ctx) => {
  if (ctx.nrName === 'chdir') notePath(ctx, ctx.args[0]);
  return CONTINUE;
};

/** Errnos the exec check may answer itself: the kernel's own answer for the same lookup (execve(2) ERRORS). */
const EXEC_ERRNOS = new Set([E.ENOENT, E.ENOTDIR, E.EACCES, E.ELOOP, E.ENAMETOOLONG]);

/**
 * The advisory exec check: `path` (relative to `dirfd`, execveat(2) `flags`) names, inside the sandbox root and
 * with the caller's credentials, a regular file the caller may execute (X_OK with the file-system ids; the
 * kernel's access check also refuses a noexec mount). Throws SysError with execve(2)'s errno otherwise. Advisory:
 * the kernel re-reads the path when the call continues; the walls are the mount namespace, noexec and
 * no_new_privs.
 */
function checkExecutable(ctx: SyscallContext, dirfd: number, path: string, flags: number): void {
  if (flags & ~(AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW)) throw new SysError(E.EINVAL);
  asCaller(ctx.task);
  const fd = lookupPath(ctx, dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) === 0, (flags & AT_EMPTY_PATH) !== 0);
  try {
    const type = fstat(fd).mode & S_IFMT;
    if (type === S_IFLNK) throw new SysError(E.ELOOP);
    if (type !== S_IFREG) throw new SysError(E.EACCES);
    check(c.faccessat2(SYS.faccessat2, fd, '', X_OK, AT_EACCESS | AT_EMPTY_PATH));
  } finally {
    closeFd(fd);
  }
}

/** execve(2), execveat(2): the advisory check, then continued; the kernel runs the file in the sandbox's mount namespace. */
const execve: Handler = (ctx) => {
  const at = ctx.nrName === 'execveat';
  let path: string;
  try {
    path = ctx.readString((at ? ctx.args[1] : ctx.args[0]) ?? 0n, PATH_MAX);
  } catch {
    path = '\0'; // unreadable: the kernel answers EFAULT / ENAMETOOLONG itself
  }
  if (path !== '\0') {
    try {
      checkExecutable(ctx, at ? fdArg(ctx.args[0]) : AT_FDCWD, path, at ? Number(ctx.args[4]! & 0xffffffffn) : 0);
    } catch (e) {
      if (e instanceof SysError && (EXEC_ERRNOS.has(e.errno) || e.errno === E.EINVAL)) return fail(e.errno);
      if (!(e instanceof SysError)) throw e;
      // Anything else (EBADF, ESRCH...): the kernel's own answer decides.
    }
  }
  credentialsChanging(ctx.tid);
  return CONTINUE;
};

/** set*id, setgroups, capset, umask: continued; the caller's cached credentials are dropped. */
const credentials: Handler = (ctx) => {
  credentialsChanging(ctx.tid);
  return CONTINUE;
};

export const processHandlers = { observe, execve, credentials } satisfies Record<string, Handler>;
