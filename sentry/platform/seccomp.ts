/**
 * Seccomp user-notify platform (seccomp_unotify(2)). Layouts, x86_64:
 *   struct seccomp_notif (80 B): id u64 @0, pid u32 @8, flags u32 @12,
 *     data: nr i32 @16, arch u32 @20, ip u64 @24, args u64[6] @32
 *   struct seccomp_notif_resp (24 B): id @0, val i64 @8, error i32 @16, flags u32 @20
 *   struct seccomp_notif_addfd (24 B): id @0, flags u32 @8, srcfd u32 @12,
 *     newfd u32 @16, newfd_flags u32 @20
 * The RECV buffer must be zeroed before every call (EINVAL otherwise). A
 * blocking RECV never returns once the workload has gone, so the listener
 * is polled: POLLHUP means no task is left.
 */
import { constants } from 'node:os';
import { c, checkNeg, closeFd, errno as koffiErrno } from '../native.js';
import { SysError } from '../syscalls/types.js';
import { O_CLOEXEC } from '../abi.js';
import type { Notification, Platform } from './platform.js';

const SECCOMP_IOCTL_NOTIF_RECV = 0xc0502100;
const SECCOMP_IOCTL_NOTIF_SEND = 0xc0182101;
const SECCOMP_IOCTL_NOTIF_ID_VALID = 0x40082102;
const SECCOMP_IOCTL_NOTIF_ADDFD = 0x40182103;
const SECCOMP_IOCTL_NOTIF_SET_FLAGS = 0x40082104;
const SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP = 1;
const SECCOMP_USER_NOTIF_FLAG_CONTINUE = 1;
const POLLIN = 1;
const POLLHUP = 0x10;
const E = constants.errno;

export class SeccompPlatform implements Platform {
  private readonly recvBuf = Buffer.alloc(80);
  private readonly respBuf = Buffer.alloc(24);
  private readonly addfdBuf = Buffer.alloc(24);
  private readonly idBuf = Buffer.alloc(8);
  private readonly pollBuf = Buffer.alloc(8);
  private readonly strBuf = Buffer.alloc(4097);

  /** `listener`: the seccomp listener fd, owned by this process. */
  constructor(readonly listener: number) {
    this.pollBuf.writeInt32LE(listener, 0);
    this.pollBuf.writeInt16LE(POLLIN, 4);
    // Wake the sentry synchronously, on the trapping task's CPU where the scheduler can (kernel 6.6+;
    // a round trip across vCPUs costs about 10x here). Older kernels refuse it: harmless.
    c.ioctlVal(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP);
  }

  receive(timeoutMs: number): Notification | null | 'gone' {
    for (;;) {
      this.pollBuf.writeInt16LE(0, 6);
      const r = c.poll(this.pollBuf, 1, timeoutMs);
      if (r < 0) {
        if (koffiErrno() === E.EINTR) continue;
        throw new SysError(koffiErrno(), 'poll listener');
      }
      if (r === 0) return null;
      const rev = this.pollBuf.readInt16LE(6);
      if (!(rev & POLLIN)) {
        if (rev & POLLHUP) return 'gone';
        continue;
      }
      this.recvBuf.fill(0);
      if (c.ioctlPtr(this.listener, SECCOMP_IOCTL_NOTIF_RECV, this.recvBuf) < 0) {
        const e = koffiErrno();
        // ENOENT: the caller went away between poll and recv.
        if (e === E.ENOENT || e === E.EINTR) continue;
        throw new SysError(e, 'SECCOMP_IOCTL_NOTIF_RECV');
      }
      const b = this.recvBuf;
      return {
        id: b.readBigUInt64LE(0),
        tid: b.readUInt32LE(8),
        nr: b.readInt32LE(16),
        arch: b.readUInt32LE(20),
        args: [
          b.readBigUInt64LE(32),
          b.readBigUInt64LE(40),
          b.readBigUInt64LE(48),
          b.readBigUInt64LE(56),
          b.readBigUInt64LE(64),
          b.readBigUInt64LE(72),
        ],
      };
    }
  }

  readMemory(n: Notification, addr: bigint, len: number): Buffer {
    const buf = Buffer.alloc(len);
    if (len > 0) checkNeg(c.vmRead(n.tid, addr, buf, len));
    return buf;
  }

  readString(n: Notification, addr: bigint, max: number): string {
    if (addr === 0n) throw new SysError(E.EFAULT);
    const len = checkNeg(c.vmReadString(n.tid, addr, this.strBuf, Math.min(max, 4097)));
    return this.strBuf.toString('latin1', 0, len);
  }

  writeMemory(n: Notification, addr: bigint, data: Buffer): void {
    checkNeg(c.vmWrite(n.tid, addr, data, data.length));
  }

  private send(n: Notification, value: bigint | number, errno: number, flags: number): void {
    const b = this.respBuf;
    b.writeBigUInt64LE(n.id, 0);
    b.writeBigInt64LE(BigInt(value), 8);
    b.writeInt32LE(errno ? -errno : 0, 16);
    b.writeUInt32LE(flags, 20);
    // ENOENT: the caller was killed or interrupted meanwhile; nothing to answer.
    if (c.ioctlPtr(this.listener, SECCOMP_IOCTL_NOTIF_SEND, b) < 0 && koffiErrno() !== E.ENOENT)
      throw new SysError(koffiErrno(), 'SECCOMP_IOCTL_NOTIF_SEND');
  }

  reply(n: Notification, value: bigint | number, errno: number): void {
    this.send(n, errno ? 0 : value, errno, 0);
  }

  continueCall(n: Notification): void {
    this.send(n, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE);
  }

  /**
   * Two steps, ADDFD then SEND, with the sentry's fd closed in between (see
   * Platform.injectFd). Nothing can slip between them: the filter waits
   * killable once the call is received (SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV),
   * so only a fatal signal ends the wait, and that ends the fd table too.
   */
  injectFd(n: Notification, fd: number, cloexec: boolean): number {
    const b = this.addfdBuf;
    b.writeBigUInt64LE(n.id, 0);
    b.writeUInt32LE(0, 8);
    b.writeUInt32LE(fd, 12);
    b.writeUInt32LE(0, 16);
    b.writeUInt32LE(cloexec ? O_CLOEXEC : 0, 20);
    const r = c.ioctlPtr(this.listener, SECCOMP_IOCTL_NOTIF_ADDFD, b);
    const e = r < 0 ? koffiErrno() : 0;
    closeFd(fd);
    if (r >= 0) {
      this.reply(n, r, 0);
      return r;
    }
    // EMFILE and friends: the caller's own fd table refused it; answer as the kernel would.
    if (e !== E.ENOENT) this.reply(n, 0, e);
    return -e;
  }

  stillValid(n: Notification): boolean {
    this.idBuf.writeBigUInt64LE(n.id, 0);
    return c.ioctlPtr(this.listener, SECCOMP_IOCTL_NOTIF_ID_VALID, this.idBuf) === 0;
  }
}

