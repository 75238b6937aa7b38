/**
 * The kernel's process events connector (linux/cn_proc.h, connector(4)): a
 * NETLINK_CONNECTOR socket bound to the CN_IDX_PROC multicast group, to
 * which the kernel reports every fork, exec, uid/gid/sid change, comm change
 * and exit on the host (CONFIG_PROC_EVENTS). Subscribing needs CAP_NET_ADMIN
 * in the initial user namespace, and events are sent in the initial network
 * namespace only. The socket is non-blocking: `drain` reads what has queued
 * and never waits. When the queue overflows the kernel drops events and the
 * next read fails with ENOBUFS: `drain` then reports `lost`, and the reader
 * must resync from /proc.
 *
 * Layout of one datagram (x86_64): struct nlmsghdr (16 B: len u32, type u16,
 * flags u16, seq u32, pid u32), struct cn_msg (20 B: id.idx u32, id.val u32,
 * seq u32, ack u32, len u16, flags u16), struct proc_event (what u32 @0,
 * cpu u32 @4, timestamp_ns u64 @8, event_data @16).
 */
import { constants } from 'node:os';
import { c, errno } from '../native.js';
import { SysError } from '../syscalls/types.js';

const AF_NETLINK = 16;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const NETLINK_CONNECTOR = 11;
const CN_IDX_PROC = 1;
const CN_VAL_PROC = 1;
const PROC_CN_MCAST_LISTEN = 1;
const PROC_CN_MCAST_IGNORE = 2;
const NLMSG_DONE = 3;
const SOL_SOCKET = 1;
const SO_RCVBUF = 8;
const SO_RCVBUFFORCE = 33;
/** Receive queue asked for: ~20,000 events, room for a burst of forks between two drains. */
const RCVBUF = 8 << 20;
const NLMSG_HDRLEN = 16;
const CN_MSG_LEN = 20;
const E = constants.errno;

/** proc_event.what (enum what in linux/cn_proc.h). */
const WHAT = { NONE: 0, FORK: 1, EXEC: 2, UID: 4, GID: 0x40, SID: 0x80, COMM: 0x200, EXIT: 0x80000000 } as const;

/** One process event; pids and tids are host ids (the initial pid namespace's). */
export type ProcEvent =
  | { kind: 'fork'; parentPid: number; parentTgid: number; childPid: number; childTgid: number }
  | { kind: 'exec'; pid: number; tgid: number }
  | { kind: 'uid' | 'gid'; pid: number; tgid: number; real: number; effective: number }
  | { kind: 'sid'; pid: number; tgid: number }
  | { kind: 'comm'; pid: number; tgid: number; comm: string }
  /** `exitCode`: the task's wait status (decodeWaitStatus in sentry/strace/events.ts); `exitSignal`: what its parent gets. */
  | { kind: 'exit'; pid: number; tgid: number; exitCode: number; exitSignal: number };

/** A source of process events: the connector, or a fake in tests. */
export interface ProcEventSource {
  /**
   * Every event queued since the last call, oldest first, without waiting. `lost`: some events were dropped
   * (the kernel's queue overflowed, ENOBUFS) and the reader must resync from /proc.
   */
  drain(): { events: ProcEvent[]; lost: boolean };
  close(): void;
}

/**
 * Parses the process events in `len` bytes of `buf` (one recv(2) of the connector socket; netlink messages in a
 * row). Events of other kinds (ptrace, coredump, the subscription's ack) are skipped. Exported for unit tests.
 */
export function parseProcEvents(buf: Buffer, len: number): ProcEvent[] {
  const out: ProcEvent[] = [];
  for (let off = 0; off + NLMSG_HDRLEN <= len; ) {
    const msgLen = buf.readUInt32LE(off);
    if (msgLen < NLMSG_HDRLEN || off + msgLen > len) break;
    const cn = off + NLMSG_HDRLEN;
    const ev = cn + CN_MSG_LEN;
    if (buf.readUInt32LE(cn) === CN_IDX_PROC && ev + 16 <= off + msgLen) {
      const what = buf.readUInt32LE(ev);
      const d = ev + 16;
      const u = (i: number): number => buf.readUInt32LE(d + 4 * i);
      const i32 = (i: number): number => buf.readInt32LE(d + 4 * i);
      switch (what) {
        case WHAT.FORK:
          out.push({ kind: 'fork', parentPid: i32(0), parentTgid: i32(1), childPid: i32(2), childTgid: i32(3) });
          break;
        case WHAT.EXEC:
          out.push({ kind: 'exec', pid: i32(0), tgid: i32(1) });
          break;
        case WHAT.UID:
        case WHAT.GID:
          out.push({ kind: what === WHAT.UID ? 'uid' : 'gid', pid: i32(0), tgid: i32(1), real: u(2), effective: u(3) });
          break;
        case WHAT.SID:
          out.push({ kind: 'sid', pid: i32(0), tgid: i32(1) });
          break;
        case WHAT.COMM: {
          const raw = buf.subarray(d + 8, d + 24);
          const nul = raw.indexOf(0);
          out.push({ kind: 'comm', pid: i32(0), tgid: i32(1), comm: raw.toString('latin1', 0, nul < 0 ? 16 : nul) });
          break;
        }
        case WHAT.EXIT:
          out.push({ kind: 'exit', pid: i32(0), tgid: i32(1), exitCode: u(2), exitSignal: u(3) });
          break;
      }
    }
    off += (msgLen + 3) & ~3;
  }
  return out;
}

/** The request body: nlmsghdr, cn_msg, then the u32 operation (PROC_CN_MCAST_LISTEN or _IGNORE). */
function control(op: number): Buffer {
  const b = Buffer.alloc(NLMSG_HDRLEN + CN_MSG_LEN + 4);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(NLMSG_DONE, 4);
  b.writeUInt32LE(CN_IDX_PROC, NLMSG_HDRLEN);
  b.writeUInt32LE(CN_VAL_PROC, NLMSG_HDRLEN + 4);
  b.writeUInt16LE(4, NLMSG_HDRLEN + 16);
  b.writeUInt32LE(op, NLMSG_HDRLEN + CN_MSG_LEN);
  return b;
}

/** The proc connector as a ProcEventSource. */
export class ProcConnector implements ProcEventSource {
  private readonly buf = Buffer.alloc(64 << 10);
  private constructor(private fd: number) {}

  /**
   * Opens the socket, joins CN_IDX_PROC and subscribes (PROC_CN_MCAST_LISTEN). Throws SysError: EPERM without
   * CAP_NET_ADMIN, EPROTONOSUPPORT / ENOENT on a kernel without CONFIG_PROC_EVENTS.
   */
  static open(): ProcConnector {
    const fd = c.socket(AF_NETLINK, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, NETLINK_CONNECTOR);
    if (fd < 0) throw new SysError(errno(), 'socket(NETLINK_CONNECTOR)');
    try {
      const size = Buffer.alloc(4);
      size.writeInt32LE(RCVBUF, 0);
      if (c.setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, size, 4) < 0) c.setsockopt(fd, SOL_SOCKET, SO_RCVBUF, size, 4);
      // struct sockaddr_nl: family u16, pad u16, pid u32 (0: the kernel picks), groups u32.
      const addr = Buffer.alloc(12);
      addr.writeUInt16LE(AF_NETLINK, 0);
      addr.writeUInt32LE(CN_IDX_PROC, 8);
      if (c.bind(fd, addr, addr.length) < 0) throw new SysError(errno(), 'bind(CN_IDX_PROC)');
      const req = control(PROC_CN_MCAST_LISTEN);
      if (Number(c.send(fd, req, req.length, 0)) < 0) throw new SysError(errno(), 'PROC_CN_MCAST_LISTEN');
    } catch (e) {
      c.close(fd);
      throw e;
    }
    return new ProcConnector(fd);
  }

  drain(): { events: ProcEvent[]; lost: boolean } {
    const events: ProcEvent[] = [];
    let lost = false;
    while (this.fd >= 0) {
      const n = Number(c.recv(this.fd, this.buf, this.buf.length, 0));
      if (n < 0) {
        const e = errno();
        if (e === E.ENOBUFS) {
          lost = true;
          continue;
        }
        if (e === E.EINTR) continue;
        if (e === E.EAGAIN) break;
        throw new SysError(e, 'recv(proc connector)');
      }
      for (const ev of parseProcEvents(this.buf, n)) events.push(ev);
    }
    return { events, lost };
  }

  /** Unsubscribes (the kernel counts listeners and stops building events when none is left) and closes. */
  close(): void {
    if (this.fd < 0) return;
    const req = control(PROC_CN_MCAST_IGNORE);
    c.send(this.fd, req, req.length, 0);
    c.close(this.fd);
    this.fd = -1;
  }
}
