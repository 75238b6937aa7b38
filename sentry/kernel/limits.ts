/**
 * The resources a sandbox may use, as its virtual /proc files
 * (sentry/vfs/procfs.ts: /proc/meminfo, /proc/cpuinfo) and sysinfo(2)
 * (sentry/syscalls/info.ts) report them.
 *
 * A sandbox with a cgroup of its own (src/cgroups.ts) gets `cgroupLimits`,
 * which reads that cgroup at each call: its memory limit and usage
 * (cgroup v2 memory.max / memory.current, v1 memory.limit_in_bytes /
 * memory.usage_in_bytes; Documentation/admin-guide/cgroup-v2.rst and
 * cgroup-v1/memory.rst) and its CPU quota. One without (no cgroup
 * controller on the host) gets `hostLimits`: no memory limit, and the CPUs
 * its init may run on.
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
  /** The sandbox's page cache, in bytes (a cgroup's memory.stat file / total_cache); null when unknown. */
  memoryCache(): number | null;
  /** CPUs the sandbox may run on, ascending (kernel CPU numbers, as /proc/cpuinfo's `processor`); never empty. */
  cpus(): number[];
}

/**
 * Where a sandbox's cgroup lives, as src/cgroups.ts creates it and a state
 * file stores it (plain JSON). `version` 2: `paths` is `{ unified: DIR }`;
 * version 1: one directory per controller hierarchy the sandbox joined,
 * keyed by controller name (`memory`, `pids`, `cpu`, `cpuacct`, `cpuset`;
 * comounted controllers such as cpu,cpuacct name the same directory).
 * Directories are absolute host paths under the cgroup mounts.
 */
export interface CgroupRecord {
  version: 1 | 2;
  paths: Record<string, string>;
  /**
   * The directories tvisor created for it, outermost first (a leaf of an OCI cgroupsPath may exist already, and
   * so may its parents): only these are removed at the end, and a leaf tvisor did not create is only emptied of
   * its processes, never of its child cgroups. Absent: every leaf in `paths` was created.
   */
  created?: string[];
}

/** The largest value a v1 limit file shows for "no limit" is near 2^63; anything above 2^62 means none. */
const V1_UNLIMITED = 2 ** 62;

/** The first line of `file` trimmed, or null when it cannot be read (no such controller, cgroup gone). */
export function readCgroupFile(file: string): string | null {
  try {
    return readFileSync(file, 'latin1').trim();
  } catch {
    return null;
  }
}

/** `key value` lines (cpu.stat, memory.events, memory.stat, memory.oom_control) as a map; empty when unreadable. */
export function readKeyed(file: string): Map<string, number> {
  const out = new Map<string, number>();
  const text = readCgroupFile(file);
  if (text === null) return out;
  for (const line of text.split('\n')) {
    const [k, v] = line.trim().split(/\s+/);
    if (k && v !== undefined && /^\d+$/.test(v)) out.set(k, Number(v));
  }
  return out;
}

/** A limit file's value in its unit: null for "max" (v2), a v1 "unlimited" value, or an unreadable file. */
function limitValue(text: string | null): number | null {
  if (text === null || text === 'max' || !/^\d+$/.test(text)) return null;
  const n = Number(text);
  return n >= V1_UNLIMITED ? null : n;
}

/** The cgroup's memory limit in bytes (memory.max / memory.limit_in_bytes); null for none or no memory controller. */
export function cgroupMemoryLimit(cg: CgroupRecord): number | null {
  if (cg.version === 2) return limitValue(readCgroupFile(`${cg.paths.unified}/memory.max`));
  return cg.paths.memory ? limitValue(readCgroupFile(`${cg.paths.memory}/memory.limit_in_bytes`)) : null;
}

/** The cgroup's memory usage in bytes (memory.current / memory.usage_in_bytes); null when unknown. */
export function cgroupMemoryUsage(cg: CgroupRecord): number | null {
  const file = cg.version === 2 ? `${cg.paths.unified}/memory.current` : cg.paths.memory && `${cg.paths.memory}/memory.usage_in_bytes`;
  return file ? limitValue(readCgroupFile(file)) : null;
}

/** The cgroup's page cache in bytes (v2 memory.stat `file`, v1 `total_cache`); null when unknown. */
export function cgroupMemoryCache(cg: CgroupRecord): number | null {
  const dir = cg.version === 2 ? cg.paths.unified : cg.paths.memory;
  return dir ? (readKeyed(`${dir}/memory.stat`).get(cg.version === 2 ? 'file' : 'total_cache') ?? null) : null;
}

/**
 * The cgroup's CPU bandwidth limit in CPUs (quota / period: cpu.max, or v1 cpu.cfs_quota_us and
 * cpu.cfs_period_us); null without one.
 */
export function cgroupCpuQuota(cg: CgroupRecord): number | null {
  let quota: number | null, period: number | null;
  if (cg.version === 2) {
    const [q, p] = (readCgroupFile(`${cg.paths.unified}/cpu.max`) ?? 'max').split(/\s+/);
    [quota, period] = [limitValue(q ?? null), limitValue(p ?? null)];
  } else {
    if (!cg.paths.cpu) return null;
    const q = readCgroupFile(`${cg.paths.cpu}/cpu.cfs_quota_us`);
    quota = q === null || q.startsWith('-') ? null : limitValue(q);
    period = limitValue(readCgroupFile(`${cg.paths.cpu}/cpu.cfs_period_us`));
  }
  return quota === null || !period ? null : quota / period;
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

/**
 * The CPUs host task `pid` may run on: its `Cpus_allowed_list` (proc(5) /proc/<pid>/status), which the kernel
 * keeps inside its cpuset; every online CPU when it cannot be read (the task is gone), as natively.
 */
function affinityOf(pid: number): number[] {
  try {
    const m = /\nCpus_allowed_list:\s*(\S+)/.exec('\n' + readFileSync(`/proc/${pid}/status`, 'latin1'));
    if (m) return parseCpuList(m[1]!);
  } catch {
    /* gone */
  }
  return parseCpuList(readFileSync('/sys/devices/system/cpu/online', 'latin1'));
}

/** The host's resources: no memory limit, and the CPUs of the affinity of `initPid` (the sandbox's init, host pid). */
export function hostLimits(initPid: number): Limits {
  return {
    memoryLimit: () => null,
    memoryUsage: () => null,
    memoryCache: () => null,
    cpus: () => affinityOf(initPid),
  };
}

/**
 * The limits of a sandbox in cgroup `cg`, read at each call (a later change of the cgroup shows): the memory
 * limit and usage, and as CPUs the affinity of `initPid` (which follows the cgroup's cpuset), cut to the first
 * ceil(quota / period) of them when the cgroup has a CPU quota (`--cpus 1.5` shows 2 CPUs).
 */
export function cgroupLimits(cg: CgroupRecord, initPid: number): Limits {
  return {
    memoryLimit: () => cgroupMemoryLimit(cg),
    memoryUsage: () => cgroupMemoryUsage(cg),
    memoryCache: () => cgroupMemoryCache(cg),
    cpus: () => {
      const all = affinityOf(initPid);
      const q = cgroupCpuQuota(cg);
      return q === null ? all : all.slice(0, Math.max(1, Math.ceil(q)));
    },
  };
}

let current: Limits | undefined;

/** Sets the limits the sentry reports (once per sentry thread, before any call is handled). */
export function setSandboxLimits(l: Limits): void {
  current = l;
}

/** The limits set by setSandboxLimits. */
export function sandboxLimits(): Limits {
  if (!current) throw new Error('sandbox limits not set');
  return current;
}
