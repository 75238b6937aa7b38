/**
 * System information calls whose answer must describe the sandbox, not the
 * host: sysinfo(2) reports the sandbox's memory limit (sentry/kernel/limits.ts),
 * so `free` (busybox), glibc's get_phys_pages / sysconf(_SC_PHYS_PAGES) and
 * what sizes itself by them see what the sandbox may use.
 */
import { c, check } from '../native.js';
import { sandboxLimits } from '../kernel/limits.js';
import { ok, type Handler } from './types.js';

/**
 * struct sysinfo, x86_64 (sysinfo(2), include/uapi/linux/sysinfo.h): 112 bytes. Offsets of the fields
 * rewritten: totalram 32, freeram 40, sharedram 48, bufferram 56 (u64, in units of mem_unit), mem_unit 104 (u32).
 */
const SIZE = 112;
const TOTALRAM = 32, FREERAM = 40, SHAREDRAM = 48, BUFFERRAM = 56, MEM_UNIT = 104;

const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/**
 * Rewrites a struct sysinfo filled by the kernel (`b`, modified in place) for a sandbox with memory limit
 * `limit` and usage `usage` in bytes (null: unknown): totalram becomes the limit (never above the host's),
 * freeram the limit minus the usage (never above the host's free memory), sharedram at most totalram, and
 * bufferram 0 (the host's buffers are not the sandbox's; /proc/meminfo's Buffers says the same). Uptime, loads, swap and the process count stay the host's, as under any container runtime.
 */
export function limitSysinfo(b: Buffer, limit: number, usage: number | null): void {
  const unit = BigInt(b.readUInt32LE(MEM_UNIT) || 1);
  const total = min(BigInt(limit) / unit, b.readBigUInt64LE(TOTALRAM));
  const used = usage === null ? 0n : (BigInt(usage) + unit - 1n) / unit;
  const room = total > used ? total - used : 0n;
  b.writeBigUInt64LE(total, TOTALRAM);
  b.writeBigUInt64LE(min(room, b.readBigUInt64LE(FREERAM)), FREERAM);
  b.writeBigUInt64LE(min(total, b.readBigUInt64LE(SHAREDRAM)), SHAREDRAM);
  b.writeBigUInt64LE(0n, BUFFERRAM);
}

/**
 * sysinfo(2): the sentry's own sysinfo, with the memory fields limited to the sandbox's cgroup, written to the
 * caller's buffer (EFAULT for a bad pointer, as natively: the write honours page protections). The caller is
 * blocked in the call until answered and only a fatal signal ends it, so its tid names it while the
 * struct is written (reusing the number needs its death and the whole pid space to wrap meanwhile).
 */
const sysinfo: Handler = (ctx) => {
  const b = Buffer.alloc(SIZE);
  check(c.sysinfo(b));
  const l = sandboxLimits();
  const limit = l.memoryLimit();
  if (limit !== null) limitSysinfo(b, limit, l.memoryUsage());
  ctx.checkCaller();
  ctx.writeMemory(ctx.args[0]!, b);
  return ok(0);
};

export const infoHandlers = { sysinfo } satisfies Record<string, Handler>;
