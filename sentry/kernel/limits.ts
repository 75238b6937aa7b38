/**
 * The resources a sandbox may use, as its virtual /proc files report them
 * (sentry/vfs/procfs.ts: /proc/meminfo, /proc/cpuinfo).
 *
 * Today no sandbox has a cgroup of its own, so `hostLimits` answers with the
 * host's resources as the sandbox sees them: no memory limit, and the CPUs
 * its init may run on (its affinity, which the kernel keeps inside the
 * cpuset of its cgroup). The cgroup issue replaces it with one that reads
 * the sandbox's cgroup (memory.max, memory.current, cpuset.cpus.effective).
 */
import { readFileSync } from 'node:fs';

/** What the sandbox may use. Every method may be called on any sentry thread, once per open of a virtual file. */
export interface Limits {
  /** Memory the sandbox may use, in bytes; null when it has no limit (the host's memory is its limit). */
  memoryLimit(): number | null;
  /**
   * Memory the sandbox uses now, in bytes (a cgroup's memory.current); null when unknown, and then
   * /proc/meminfo derives it from the host's free memory.
   */
  memoryUsage(): number | null;
  /** CPUs the sandbox may run on, ascending (kernel CPU numbers, as /proc/cpuinfo's `processor`); never empty. */
  cpus(): number[];
}

/**
 * Parses a kernel CPU list (cpuset(7) "list format": `0-3,8,10-11`) into
 * ascending CPU numbers. Throws on malformed text.
 */
export function parseCpuList(text: string): number[] {
  const out = new Set<number>();
  for (const part of text.trim().split(',')) {
    if (part === '') continue;
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new Error(`bad CPU list "${text}"`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    for (let i = lo; i <= hi; i++) out.add(i);
  }
  return [...out].sort((a, b) => a - b);
}

/** Overrides for tests (and, later, the cgroup issue's spec). */
export interface LimitOverrides {
  /** A memory limit in bytes, as a cgroup's memory.max would set it. */
  memoryLimit?: number;
}

/**
 * The default: the host's resources. `initPid` is the host pid of the
 * sandbox's init; its `Cpus_allowed_list` (proc(5) /proc/<pid>/status) is
 * read at each call, so a later change of the sandbox's cpuset shows. When
 * it cannot be read (init gone), every online CPU is reported, as natively.
 */
export function hostLimits(initPid: number, o: LimitOverrides = {}): Limits {
  return {
    memoryLimit: () => o.memoryLimit ?? null,
    memoryUsage: () => null,
    cpus: () => {
      try {
        const m = /\nCpus_allowed_list:\s*(\S+)/.exec('\n' + readFileSync(`/proc/${initPid}/status`, 'latin1'));
        if (m) return parseCpuList(m[1]!);
      } catch {
        /* gone */
      }
      return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'latin1'));
    },
  };
}
