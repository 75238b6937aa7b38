/**
 * Generates the classic-BPF seccomp program from the syscall table.
 * Layout (seccomp_data: nr u32 @0, arch u32 @4, ip u64 @8, args u64[6] @16;
 * see Documentation/userspace-api/seccomp_filter.rst):
 *   1. arch != AUDIT_ARCH_X86_64 → KILL_PROCESS; nr with bit 30 (x32) → KILL_PROCESS;
 *   2. a balanced binary search over ranges of numbers sharing one action;
 *   3. leaves: ALLOW, the trap action (USER_NOTIF or TRACE), KILL_PROCESS, or
 *      argument rules (low 32 bits compared: the kernel truncates int arguments
 *      such as ioctl's cmd, so high bits must not bypass a rule).
 * Only leaves with rules read args, so the kernel's per-number action cache
 * applies to every allowed number without rules.
 */
import { tableFor, type Action, type SandboxOption, type SyscallEntry } from '../syscalls/table.js';

export const AUDIT_ARCH_X86_64 = 0xc000003e;
export const X32_SYSCALL_BIT = 0x40000000;
export const SECCOMP_RET_KILL_PROCESS = 0x80000000;
export const SECCOMP_RET_TRAP = 0x00030000;
export const SECCOMP_RET_ERRNO = 0x00050000;
export const SECCOMP_RET_USER_NOTIF = 0x7fc00000;
export const SECCOMP_RET_TRACE = 0x7ff00000;
export const SECCOMP_RET_ALLOW = 0x7fff0000;

// BPF opcodes (linux/bpf_common.h).
const BPF_LD_W_ABS = 0x20;
const BPF_JMP_JA = 0x05;
const BPF_JMP_JEQ_K = 0x15;
const BPF_JMP_JGE_K = 0x35;
const BPF_JMP_JSET_K = 0x45;
const BPF_RET_K = 0x06;
const BPF_ALU_AND_K = 0x54;

/** One `struct sock_filter` (linux/filter.h): code u16, jt u8, jf u8, k u32. */
export interface Insn {
  code: number;
  jt: number;
  jf: number;
  k: number;
}

/** Options of the generated filter. */
export interface FilterOptions {
  /** Action word for trapped numbers: SECCOMP_RET_USER_NOTIF (default) or SECCOMP_RET_TRACE. */
  trapAction?: number;
  /** The sandbox's settings that change the table (tableFor). */
  settings?: ReadonlySet<SandboxOption>;
  /** Test-only: names whose entries are treated as 'allow' (to show a test catches a race). */
  allowOverride?: ReadonlySet<string>;
}

interface Segment {
  lo: number;
  hi: number;
  key: string;
  entry?: SyscallEntry;
}

/** Returns the filter as `struct sock_filter[]` bytes (8 bytes per instruction), for the launcher. */
export function buildFilter(opts: FilterOptions = {}): Buffer {
  const insns = buildFilterInsns(opts);
  const buf = Buffer.alloc(insns.length * 8);
  insns.forEach((i, n) => {
    buf.writeUInt16LE(i.code, n * 8);
    buf.writeUInt8(i.jt, n * 8 + 2);
    buf.writeUInt8(i.jf, n * 8 + 3);
    buf.writeUInt32LE(i.k >>> 0, n * 8 + 4);
  });
  return buf;
}

/** The filter as instructions (for tests and for the BPF interpreter in test/). */
export function buildFilterInsns(opts: FilterOptions = {}): Insn[] {
  const trapWord = opts.trapAction ?? SECCOMP_RET_USER_NOTIF;
  const actionWord = (a: Action): number =>
    a === 'allow' ? SECCOMP_RET_ALLOW : a === 'kill' ? SECCOMP_RET_KILL_PROCESS : trapWord;

  const effective = (e: SyscallEntry): Action => (opts.allowOverride?.has(e.name) ? 'allow' : e.action);
  // Ranges of numbers with one plain action; entries with rules stand alone.
  const segs: Segment[] = [];
  const push = (lo: number, hi: number, key: string, entry?: SyscallEntry): void => {
    const last = segs[segs.length - 1];
    if (last && !entry && !last.entry && last.key === key && last.hi + 1 === lo) last.hi = hi;
    else segs.push({ lo, hi, key, entry });
  };
  let next = 0;
  for (const e of tableFor(opts.settings ?? new Set())) {
    if (e.nr > next) push(next, e.nr - 1, 'trap'); // unknown numbers: trapped, answered ENOSYS, logged
    const act = effective(e);
    // 'deny' is trapped too: the sentry answers the errno and logs the call; 'errno' the filter answers itself.
    const key = act === 'deny' ? 'trap' : act === 'errno' ? `errno:${e.errno ?? 1}` : act;
    push(e.nr, e.nr, key, e.rules ? e : undefined);
    next = e.nr + 1;
  }
  push(next, 0xffffffff, 'trap');

  const out: Insn[] = [];
  const ret = (k: number): void => void out.push({ code: BPF_RET_K, jt: 0, jf: 0, k });
  const ld = (off: number): void => void out.push({ code: BPF_LD_W_ABS, jt: 0, jf: 0, k: off });

  ld(4);
  out.push({ code: BPF_JMP_JEQ_K, jt: 1, jf: 0, k: AUDIT_ARCH_X86_64 });
  ret(SECCOMP_RET_KILL_PROCESS);
  ld(0);
  // x32: bit 30 set in a number below 2^31 (a "negative" number such as -1 is not x32: it gets ENOSYS, as natively).
  out.push({ code: BPF_JMP_JGE_K, jt: 2, jf: 0, k: 0x80000000 });
  out.push({ code: BPF_JMP_JSET_K, jt: 0, jf: 1, k: X32_SYSCALL_BIT });
  ret(SECCOMP_RET_KILL_PROCESS);

  const emitLeaf = (s: Segment): void => {
    if (s.entry?.rules) {
      for (const r of s.entry.rules) {
        const action = actionWord(r.action === 'deny' ? 'trap' : r.action);
        ld(16 + r.index * 8); // low 32 bits of args[index]
        if (r.op === 'flags') {
          // (arg & (set | clear)) == set
          out.push({ code: BPF_ALU_AND_K, jt: 0, jf: 0, k: Number((r.value | (r.clear ?? 0n)) & 0xffffffffn) });
          out.push({ code: BPF_JMP_JEQ_K, jt: 0, jf: 1, k: Number(r.value & 0xffffffffn) });
          ret(action);
          continue;
        }
        if (r.op === 'zero') {
          out.push({ code: BPF_JMP_JEQ_K, jt: 0, jf: 3, k: 0 });
          ld(20 + r.index * 8); // high 32 bits
          out.push({ code: BPF_JMP_JEQ_K, jt: 0, jf: 1, k: 0 });
          ret(action);
          continue;
        }
        const op = r.op === 'eq' ? BPF_JMP_JEQ_K : BPF_JMP_JSET_K;
        out.push({ code: op, jt: 0, jf: 1, k: Number(r.value & 0xffffffffn) });
        ret(action);
      }
    }
    if (s.key.startsWith('errno:')) ret((SECCOMP_RET_ERRNO | Number(s.key.slice(6))) >>> 0);
    else ret(actionWord(s.key as Action));
  };
  const emit = (list: Segment[]): void => {
    if (list.length === 1) return emitLeaf(list[0]!);
    const mid = list.length >> 1;
    const right = list.slice(mid);
    // if nr >= right[0].lo goto right, else fall through to left
    out.push({ code: BPF_JMP_JGE_K, jt: 0, jf: 1, k: right[0]!.lo });
    const ja = out.length;
    out.push({ code: BPF_JMP_JA, jt: 0, jf: 0, k: 0 });
    emit(list.slice(0, mid));
    out[ja]!.k = out.length - ja - 1;
    emit(right);
  };
  emit(segs);
  if (out.length > 4096) throw new Error(`seccomp filter too long: ${out.length} instructions`);
  return out;
}

/**
 * Runs the program on one seccomp_data (a tiny classic-BPF interpreter, for
 * tests and `tvisor help syscalls --check`). Returns the action word.
 */
export function runFilter(prog: Insn[], nr: number, arch: number, args: readonly bigint[] = []): number {
  let acc = 0;
  let pc = 0;
  const word = (off: number): number => {
    if (off === 0) return nr >>> 0;
    if (off === 4) return arch >>> 0;
    const i = (off - 16) >> 3;
    const v = BigInt.asUintN(64, args[i] ?? 0n);
    return Number((off - 16) % 8 === 0 ? v & 0xffffffffn : v >> 32n) >>> 0;
  };
  for (let steps = 0; steps < 10000; steps++) {
    const ins = prog[pc];
    if (!ins) throw new Error(`pc ${pc} out of program`);
    switch (ins.code) {
      case BPF_LD_W_ABS: acc = word(ins.k); pc++; break;
      case BPF_JMP_JA: pc += 1 + ins.k; break;
      case BPF_JMP_JEQ_K: pc += 1 + (acc === ins.k >>> 0 ? ins.jt : ins.jf); break;
      case BPF_JMP_JGE_K: pc += 1 + (acc >= ins.k >>> 0 ? ins.jt : ins.jf); break;
      case BPF_JMP_JSET_K: pc += 1 + ((acc & ins.k) !== 0 ? ins.jt : ins.jf); break;
      case BPF_ALU_AND_K: acc = (acc & ins.k) >>> 0; pc++; break;
      case BPF_RET_K: return ins.k >>> 0;
      default: throw new Error(`bad opcode ${ins.code}`);
    }
  }
  throw new Error('filter did not return');
}
