/**
 * The platform interface: how the sentry meets a trapped syscall. Two
 * implementations fit it: seccomp user-notify (sentry/platform/seccomp.ts)
 * and, in a later issue, ptrace (SECCOMP_RET_TRACE; fd injection there is a
 * recvmsg injected into the tracee from a socketpair installed at launch).
 * Handlers never see this interface directly; the dispatcher adapts it to a
 * `SyscallContext`.
 */

/** One trapped call, as the platform received it. */
export interface Notification {
  /** Platform cookie (the seccomp notification id). */
  readonly id: bigint;
  /** Host thread id of the caller. */
  readonly tid: number;
  readonly nr: number;
  readonly arch: number;
  /** rdi, rsi, rdx, r10, r8, r9 as unsigned 64-bit. */
  readonly args: readonly bigint[];
}

export interface Platform {
  /**
   * Waits up to `timeoutMs` (-1: forever) for the next trapped call.
   * Returns null on timeout, 'gone' once no task of the sandbox is left.
   */
  receive(timeoutMs: number): Notification | null | 'gone';
  /** Reads caller memory; throws SysError(EFAULT). */
  readMemory(n: Notification, addr: bigint, len: number): Buffer;
  /** Reads a NUL-terminated string (latin1, byte-exact); throws EFAULT / ENAMETOOLONG. */
  readString(n: Notification, addr: bigint, max: number): string;
  /** Writes caller memory; throws SysError(EFAULT). */
  writeMemory(n: Notification, addr: bigint, data: Buffer): void;
  /** Completes the call with a value (>= 0) or an error (errno > 0). */
  reply(n: Notification, value: bigint | number, errno: number): void;
  /** Lets the kernel run the call itself. */
  continueCall(n: Notification): void;
  /**
   * Installs sentry fd `fd` in the caller and completes the call with the new
   * fd number, which it returns (or -errno when the caller's table refused it).
   * Takes `fd`: it is closed before the caller resumes, so the caller holds
   * the only reference, as after its own open(2) (its close is the last
   * close: flock and OFD locks drop, FAN_CLOSE_* fire, i_writecount falls).
   */
  injectFd(n: Notification, fd: number, cloexec: boolean): number;
  /** False once the caller is gone or was interrupted since `receive`. */
  stillValid(n: Notification): boolean;
}
