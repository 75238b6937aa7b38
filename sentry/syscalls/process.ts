/**
 * Calls that change the caller's own state. User-notify cannot change a
 * caller's registers, cwd or mappings, so these are continued (the kernel
 * runs them) after a check; what enforces them is the kernel: the pid and
 * mount namespaces, mount flags (nosuid, nodev), no_new_privs and the
 * bounding set. The sentry keeps its task cache honest around them
 * (sentry/kernel/task.ts).
 */
import { credentialsChanging } from '../kernel/task.js';
import { CONTINUE, type Handler, type SyscallContext } from './types.js';

/** CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (clone(2)); CLONE_NEWTIME (0x80) is the exit-signal byte in clone(). */
export const CLONE_NS_FLAGS = 0x00020000n | 0x02000000n | 0x04000000n | 0x08000000n | 0x10000000n | 0x20000000n | 0x40000000n;

/**
 * Reads the path argument for the record (strace, log) only: the kernel
 * re-reads it when the call continues, so nothing may be decided on it.
 */
function notePath(ctx: SyscallContext, addr: bigint | undefined): void {
  try {
    ctx.readString(addr ?? 0n, 4096);
  } catch {
    /* the kernel will answer EFAULT / ENAMETOOLONG itself */
  }
}

/** execve(2), execveat(2): continued; the kernel resolves the file in the sandbox's mount namespace. */
const execve: Handler = (ctx) => {
  notePath(ctx, ctx.nrName === 'execve' ? ctx.args[0] : ctx.args[1]);
  credentialsChanging(ctx.tid);
  return CONTINUE;
};

/** chdir(2), fchdir(2): continued; the new cwd can only be inside the mount namespace. */
const chdir: Handler = (ctx) => {
  if (ctx.nrName === 'chdir') notePath(ctx, ctx.args[0]);
  return CONTINUE;
};

/** set*id, setgroups, capset, umask: continued; the caller's cached credentials are dropped. */
const credentials: Handler = (ctx) => {
  credentialsChanging(ctx.tid);
  return CONTINUE;
};

export const processHandlers = { execve, chdir, credentials } satisfies Record<string, Handler>;
