/**
 * The dispatcher: one trapped call in, one answer out. It finds the table
 * entry, runs the handler (or answers a denial), sends the reply through the
 * platform, and reports the call to strace and the log. It is the only code
 * that sees both the platform and the handlers.
 */
import { writeSync } from 'node:fs';
import { constants } from 'node:os';
import { getSystemErrorMap } from 'node:util';
import type { Logger } from 'pino';
import { taskOf, type Task } from './kernel/task.js';
import type { Notification, Platform } from './platform/platform.js';
import { entryOf, syscallName, type ArgRule, type SyscallEntry } from './syscalls/table.js';
import { resumeOpen, WouldBlock, type Resume } from './syscalls/file.js';
import { SysError, type Reply, type SyscallContext } from './syscalls/types.js';
import { errnoName, formatCall } from './strace/format.js';

const E = constants.errno;

export interface DispatchOptions {
  platform: Platform;
  /** fd to write strace lines to, or -1. */
  straceFd: number;
  log?: Logger;
  /** The sandbox's table by number (indexByNr(tableFor(settings))); default: TABLE. */
  entries?: readonly (SyscallEntry | undefined)[];
  /** Called with a notification the handler could not finish without blocking. */
  deferBlocking?: (n: Notification, resume?: Resume) => void;
}

class Context implements SyscallContext {
  readonly strings = new Map<bigint, string>();
  private taskCache: Task | undefined;
  constructor(
    private readonly p: Platform,
    private readonly n: Notification,
    readonly nrName: string,
  ) {}
  get nr(): number { return this.n.nr; }
  get args(): readonly bigint[] { return this.n.args; }
  get tid(): number { return this.n.tid; }
  get task(): Task { return (this.taskCache ??= taskOf(this.n.tid, this.checkCaller)); }
  /** Reads go through the caller's tid; the id check after each read proves the tid was still the caller's. */
  readString(addr: bigint, max: number): string {
    const s = this.readStringUnchecked(addr, max);
    this.checkCaller();
    return s;
  }
  readStringUnchecked(addr: bigint, max: number): string {
    const s = this.p.readString(this.n, addr, max);
    this.strings.set(addr, s);
    return s;
  }
  readMemory(addr: bigint, len: number): Buffer {
    const b = this.p.readMemory(this.n, addr, len);
    this.checkCaller();
    return b;
  }
  readonly checkCaller = (): void => {
    if (!this.p.stillValid(this.n)) throw new SysError(E.ESRCH, 'caller gone');
  };
  writeMemory(addr: bigint, data: Buffer): void { this.p.writeMemory(this.n, addr, data); }
  stillValid(): boolean { return this.p.stillValid(this.n); }
  spid(): number | string {
    try { return this.task.stid; } catch { return `host ${this.n.tid}`; }
  }
}

const SYSTEM_ERRORS = getSystemErrorMap();
function errText(e: number): string {
  const msg = SYSTEM_ERRORS.get(-e)?.[1];
  return `-1 ${errnoName(e)}${msg ? ` (${msg})` : ''}`;
}

/** The first refusing rule of `rules` that `args` match (the filter's evaluation, for the rule's errno). */
function refusingRule(rules: readonly ArgRule[], args: readonly bigint[]): ArgRule | undefined {
  return rules.find((r) => {
    if (r.action === 'allow' || r.action === 'trap') return false;
    const v = args[r.index]! & 0xffffffffn;
    if (r.op === 'zero') return args[r.index] === 0n;
    if (r.op === 'flags') return (v & (r.value | (r.clear ?? 0n))) === r.value;
    return r.op === 'eq' ? v === (r.value & 0xffffffffn) : (v & r.value) !== 0n;
  });
}

/** Handles notification `n` completely: reply sent (or deferred) before it returns. */
export function dispatch(n: Notification, o: DispatchOptions, resume?: Resume): void {
  const entry = o.entries ? o.entries[n.nr] : entryOf(n.nr);
  const name = entry?.name ?? syscallName(n.nr);
  const ctx = new Context(o.platform, n, name);
  let reply: Reply;
  let denied = '';
  const rule = entry?.rules ? refusingRule(entry.rules, n.args) : undefined;
  if (!entry) {
    reply = { kind: 'errno', errno: E.ENOSYS };
    denied = 'unknown syscall';
  } else if (rule || (entry.rules && entry.action === 'allow')) {
    // Trapped because a refusing argument rule matched (an allowed entry is trapped for nothing else).
    reply = { kind: 'errno', errno: rule?.errno ?? E.EPERM };
    denied = rule?.note ?? 'argument rule';
  } else if (entry.action === 'deny' || entry.action === 'kill') {
    reply = { kind: 'errno', errno: entry.errno ?? E.EPERM };
    denied = entry.note;
  } else if (!entry.handler) {
    reply = { kind: 'continue' };
  } else {
    try {
      reply = resume ? resumeOpen(ctx.task, resume) : entry.handler(ctx);
    } catch (e) {
      if (e instanceof WouldBlock && o.deferBlocking) {
        o.deferBlocking(n, e.resume);
        return;
      }
      if (!(e instanceof SysError)) throw e;
      if (e.errno === E.ESRCH && !o.platform.stillValid(n)) return; // the caller is gone
      reply = { kind: 'errno', errno: e.errno };
    }
  }
  // The caller's sandbox pid for strace, while the call is still pending (after the answer, /proc/<tid> may be gone).
  const who = o.straceFd >= 0 ? ctx.spid() : 0;
  // The answer first; the record (strace text, log) only when someone reads it.
  let injected = 0;
  switch (reply.kind) {
    case 'value':
      o.platform.reply(n, reply.value, 0);
      break;
    case 'errno':
      o.platform.reply(n, 0, reply.errno);
      break;
    case 'continue':
      o.platform.continueCall(n);
      break;
    case 'fd':
      injected = o.platform.injectFd(n, reply.fd, reply.cloexec);
      break;
    case 'async':
      return;
  }
  if (denied)
    o.log?.warn(
      { syscall: name, nr: n.nr, tid: n.tid, errno: reply.kind === 'errno' ? errnoName(reply.errno) : undefined, reason: denied },
      `denied ${name}`,
    );
  if (o.straceFd < 0) return;
  let result =
    reply.kind === 'value' ? String(reply.value)
    : reply.kind === 'errno' ? errText(reply.errno)
    : reply.kind === 'continue' ? '? <continued>'
    : injected >= 0 ? String(injected) : errText(-injected);
  if (denied) result += ' <denied>';
  writeSync(o.straceFd, formatCall(who, name, n.args, ctx.strings, result) + '\n');
}
