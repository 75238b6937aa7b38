/**
 * OCI runtime-spec `linux.resources` (config-linux.md "Control groups") as
 * the Resources src/cgroups.ts enforces: memory (limit, swap), pids
 * (limit), cpu (shares, quota, period, cpus, mems), with runc's meanings
 * (0 or -1 for "not set" / "unlimited").
 *
 * `devices` is accepted and not applied: tvisor never lets a sandbox create
 * a device node (mknod of a device is EPERM) and gives it only the nodes of
 * `linux.devices`, so the device cgroup has nothing left to refuse. Every
 * other member (blockIO, hugepageLimits, network, rdma, unified, memory
 * reservation/kernel/swappiness/disableOOMKiller, cpu realtime/burst/idle)
 * is refused with an error naming it, never silently ignored.
 */
import type { Resources } from '../cgroups.js';

/** The parts of `linux.resources` tvisor reads (config-linux.md); numbers as JSON numbers. */
export interface OciResources {
  devices?: unknown[];
  memory?: { limit?: number; swap?: number } & Record<string, unknown>;
  cpu?: { shares?: number; quota?: number; period?: number; cpus?: string; mems?: string } & Record<string, unknown>;
  pids?: { limit?: number };
  [other: string]: unknown;
}

const FIELD = 'linux.resources';

/** `v` if it is an integer (Error naming `field` otherwise); undefined when absent or null. */
function int(v: unknown, field: string): number | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'number' || !Number.isSafeInteger(v)) throw new Error(`${FIELD}.${field}: want an integer, not ${JSON.stringify(v)}`);
  return v;
}

/** Refuses members of `obj` outside `known` (Error naming the first). */
function onlyKnown(obj: object, known: string[], field: string): void {
  for (const k of Object.keys(obj)) if (!known.includes(k)) throw new Error(`${FIELD}${field}.${k}: not supported by tvisor`);
}

/**
 * Converts `linux.resources` into Resources. Unset means unlimited: memory.limit and pids.limit 0 or -1,
 * cpu.quota 0 or -1, cpu.shares and cpu.period 0, memory.swap 0 (memory.swap -1: swap unlimited). With a
 * memory limit and no memory.swap there is no swap (see Resources.memorySwap). Throws Error naming the
 * field for a member tvisor does not enforce or a value of the wrong type; ranges are checked when the
 * cgroup is made (src/cgroups.ts).
 */
export function resourcesFromOci(res: OciResources | undefined): Resources {
  const r: Resources = {
    origin: { memory: `${FIELD}.memory`, pids: `${FIELD}.pids.limit`, cpu: `${FIELD}.cpu`, cpuset: `${FIELD}.cpu.cpus` },
  };
  if (!res) return r;
  onlyKnown(res, ['devices', 'memory', 'cpu', 'pids'], '');
  if (res.memory) {
    onlyKnown(res.memory, ['limit', 'swap'], '.memory');
    const limit = int(res.memory.limit, 'memory.limit');
    const swap = int(res.memory.swap, 'memory.swap');
    if (limit !== undefined && limit > 0) r.memory = limit;
    if (swap !== undefined && swap !== 0) r.memorySwap = swap < 0 ? -1 : swap;
  }
  if (res.pids) {
    const limit = int(res.pids.limit, 'pids.limit');
    if (limit !== undefined && limit > 0) r.pids = limit;
  }
  if (res.cpu) {
    onlyKnown(res.cpu, ['shares', 'quota', 'period', 'cpus', 'mems'], '.cpu');
    const shares = int(res.cpu.shares, 'cpu.shares');
    const quota = int(res.cpu.quota, 'cpu.quota');
    const period = int(res.cpu.period, 'cpu.period');
    if (shares !== undefined && shares !== 0) r.cpuShares = shares;
    if (quota !== undefined && quota > 0) r.cpuQuota = quota;
    if (period !== undefined && period !== 0) r.cpuPeriod = period;
    for (const k of ['cpus', 'mems'] as const) {
      const v = res.cpu[k];
      if (v === undefined || v === null || v === '') continue;
      if (typeof v !== 'string') throw new Error(`${FIELD}.cpu.${k}: want a CPU list string like "0-1,3"`);
      if (k === 'cpus') r.cpusetCpus = v;
      else r.cpusetMems = v;
    }
  }
  return r;
}
