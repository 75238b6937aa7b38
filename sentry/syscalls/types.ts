/**
 * Shared types of the syscall layer. Handlers see only `SyscallContext`;
 * they never learn which platform (seccomp user-notify, ptrace) trapped the
 * call. Source of the calling convention: syscall(2), x86_64 ABI.
 */
import type { Task } from '../kernel/task.js';

/** What a handler answers. */
export type Reply =
  /** The call returns this value (>= 0) to the caller. */
  | { kind: 'value'; value: bigint | number }
  /** The call fails with -errno (errno > 0, from errno(3)). */
  | { kind: 'errno'; errno: number }
  /** The kernel runs the call itself, re-reading its arguments (advisory check only). */
  | { kind: 'continue' }
  /** The call returns a new fd in the caller: `fd` is a sentry-side fd, closed by the platform after injection. */
  | { kind: 'fd'; fd: number; cloexec: boolean }
  /** The reply is sent later by someone else (slow path); the loop must not answer. */
  | { kind: 'async' };

/**
 * Who a path lookup is done for: the task, and a check that its tid still
 * names the trapped caller (throws SysError(ESRCH) otherwise), run after the
 * sentry reads anything through /proc/<tid>.
 */
export interface Caller {
  readonly task: Task;
  checkCaller(): void;
}

/**
 * Everything a handler may use about one trapped call.
 * `args` are the six raw register arguments (rdi, rsi, rdx, r10, r8, r9) as
 * unsigned 64-bit values.
 */
export interface SyscallContext extends Caller {
  readonly nr: number;
  /** The syscall's name in the table (x86_64). */
  readonly nrName: string;
  readonly args: readonly bigint[];
  /** Host thread id of the caller. */
  readonly tid: number;
  /** Reads a NUL-terminated string of at most `max` bytes (errno EFAULT, ENAMETOOLONG). */
  readString(addr: bigint, max: number): string;
  /**
   * As readString, without the check that the caller is still the one that
   * made the call: the handler must call checkCaller() (directly, or through a
   * relative path lookup, whose base directory check covers it) before it acts
   * on the string. Saves one ioctl on the hottest path (relative opens).
   */
  readStringUnchecked(addr: bigint, max: number): string;
  /** Reads `len` bytes of caller memory (errno EFAULT). */
  readMemory(addr: bigint, len: number): Buffer;
  /** Writes caller memory (errno EFAULT). */
  writeMemory(addr: bigint, data: Buffer): void;
  /** False when the caller has gone (killed, or interrupted) since the call was trapped. */
  stillValid(): boolean;
}

/** A syscall handler: pure function of the context; throws `SysError` for an errno. */
export type Handler = (ctx: SyscallContext) => Reply;

/** An errno as an exception, so helpers deep in a handler can fail the call. */
export class SysError extends Error {
  constructor(
    readonly errno: number,
    message?: string,
  ) {
    super(message ?? `errno ${errno}`);
  }
}

export const ok = (value: bigint | number): Reply => ({ kind: 'value', value });
export const fail = (errno: number): Reply => ({ kind: 'errno', errno });
export const CONTINUE: Reply = { kind: 'continue' };
