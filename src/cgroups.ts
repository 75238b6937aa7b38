/**
 * A sandbox's cgroup: created before the sandbox starts, joined by the
 * launcher before it creates the sandbox's namespaces (so every sandbox
 * process is in it and the sandbox's cgroup namespace is rooted at it),
 * measured while it runs, removed after it ends.
 *
 * Both cgroup versions, whichever the host mounts (read from
 * /proc/self/mountinfo, never assumed): v1 hierarchies, one per controller
 * or comounted (cgroups(7); Documentation/admin-guide/cgroup-v1/), as on a
 * hybrid host with an empty v2 at /sys/fs/cgroup/unified; or the v2 unified
 * hierarchy (Documentation/admin-guide/cgroup-v2.rst). Used: memory, pids,
 * cpu, cpuacct (v1 usage), cpuset (only when CPUs are asked for).
 *
 * Layout: `<hierarchy>/tvisor/<id>` per sandbox (or an explicit path, OCI
 * `linux.cgroupsPath`, taken from the hierarchy's root). Nothing here
 * knows about the CLI: errors are CgroupError with a message naming what
 * asked for the limit (`Resources.origin`).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmdirSync, statSync, writeFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import {
  cgroupMemoryLimit,
  cgroupMemoryUsage,
  readCgroupFile,
  readKeyed,
  type CgroupRecord,
} from '../sentry/kernel/limits.js';

export type { CgroupRecord };

/** Controllers tvisor uses. */
export type Controller = 'memory' | 'pids' | 'cpu' | 'cpuacct' | 'cpuset';
const CONTROLLERS: readonly Controller[] = ['memory', 'pids', 'cpu', 'cpuacct', 'cpuset'];

/**
 * Where the host mounts its cgroup hierarchies. `version` 1: `mounts` maps each controller tvisor uses to its
 * v1 hierarchy's mount directory (comounted controllers share one). Version 2: `{ unified: DIR }`, the v2 mount.
 */
export interface CgroupHost {
  version: 1 | 2;
  mounts: Record<string, string>;
}

/** A cgroup could not be set up as asked (the message names the flag or config field). */
export class CgroupError extends Error {}

/**
 * Limits for one sandbox. Every field is optional; an absent one is not limited. Units: bytes, tasks,
 * microseconds, cgroup v1 shares.
 */
export interface Resources {
  /** Memory limit in bytes (v2 memory.max, v1 memory.limit_in_bytes). */
  memory?: number;
  /**
   * Memory plus swap in bytes (OCI `memory.swap`, v1 memory.memsw.limit_in_bytes; on v2 memory.swap.max gets
   * the difference); -1: swap unlimited. Absent with a memory limit: no swap at all (the limit is a hard one,
   * so a memory hog is OOM-killed rather than swapped). Capped only where the kernel accounts swap.
   */
  memorySwap?: number;
  /** Tasks (processes and threads) at most (pids.max). */
  pids?: number;
  /** CPU time per period, µs (v2 cpu.max, v1 cpu.cfs_quota_us); -1 or absent: no quota. */
  cpuQuota?: number;
  /** Period of the quota, µs (default 100000). */
  cpuPeriod?: number;
  /** Relative CPU weight in v1 shares, 2..262144 (v1 cpu.shares; v2 cpu.weight by runc's conversion). */
  cpuShares?: number;
  /** CPUs and memory nodes the sandbox may use, cpuset(7) list format ("0-1,3"). */
  cpusetCpus?: string;
  cpusetMems?: string;
  /** What asked for each controller, for error messages ("--memory", "linux.resources.memory.limit"). */
  origin?: Partial<Record<Controller, string>>;
}

/** Which controller each Resources field needs. */
function wanted(r: Resources): Set<Controller> {
  const w = new Set<Controller>();
  if (r.memory !== undefined || r.memorySwap !== undefined) w.add('memory');
  if (r.pids !== undefined) w.add('pids');
  if (r.cpuQuota !== undefined || r.cpuPeriod !== undefined || r.cpuShares !== undefined) w.add('cpu');
  if (r.cpusetCpus !== undefined || r.cpusetMems !== undefined) w.add('cpuset');
  return w;
}

/** Decodes mountinfo's octal escapes (\040 for a space). */
const unescape = (s: string): string => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/**
 * Finds the cgroup hierarchies in `mountinfo` (proc(5) /proc/self/mountinfo text; default: this process's).
 * Version 1 when some v1 hierarchy carries one of tvisor's controllers (a legacy or hybrid host; a v2 mount
 * beside them is then ignored), else version 2 when a cgroup2 file system is mounted; null when neither.
 * The first mount of each hierarchy wins.
 */
export function detectCgroupHost(mountinfo: string = readFileSync('/proc/self/mountinfo', 'latin1')): CgroupHost | null {
  const v1: Record<string, string> = {};
  let unified: string | undefined;
  for (const line of mountinfo.split('\n')) {
    const f = line.split(' ');
    const sep = f.indexOf('-', 6);
    if (sep < 0 || f.length < sep + 4) continue;
    const [fstype, , superOpts] = f.slice(sep + 1);
    const dir = unescape(f[4]!);
    if (fstype === 'cgroup2') unified ??= dir;
    else if (fstype === 'cgroup')
      for (const o of superOpts!.split(',')) if ((CONTROLLERS as readonly string[]).includes(o)) v1[o] ??= dir;
  }
  if (Object.keys(v1).length > 0) return { version: 1, mounts: v1 };
  return unified ? { version: 2, mounts: { unified } } : null;
}

/** A new sandbox id: 16 hex digits (64 random bits). */
export function newSandboxId(): string {
  return randomBytes(8).toString('hex');
}

/** Controllers the v2 hierarchy at `root` offers (its cgroup.controllers). */
function v2Controllers(root: string): Set<string> {
  return new Set((readCgroupFile(join(root, 'cgroup.controllers')) ?? '').split(/\s+/).filter(Boolean));
}

/** The cgroup path (from a hierarchy's root) of sandbox `id`, or `path` made relative to the root. */
function relPath(id: string, path: string | undefined): string {
  const p = posix.normalize(path ?? `/tvisor/${id}`).replace(/^\/+/, '').replace(/\/+$/, '');
  if (p === '' || p === '.' || p.split('/').includes('..') || p.includes('\0'))
    throw new CgroupError(`cgroup path ${JSON.stringify(path ?? id)}: must name a cgroup below the hierarchy's root`);
  return p;
}

const errCode = (e: unknown): string => (e as NodeJS.ErrnoException).code ?? (e as Error).message;

/** Writes `value` to cgroup file `file`; a failure is a CgroupError naming `label`, the file and the errno. */
function knob(file: string, value: string, label: string): void {
  try {
    writeFileSync(file, value);
  } catch (e) {
    throw new CgroupError(`${label}: cannot write ${JSON.stringify(value)} to ${file}: ${errCode(e)}`);
  }
}

/** Whether cgroup directory `dir` holds a process (its cgroup.procs is not empty; a missing file counts as empty). */
function populated(dir: string): boolean {
  return (readCgroupFile(join(dir, 'cgroup.procs')) ?? '') !== '';
}

/** Creates cgroup directory `dir`; true when it is new, false when it existed. */
function mkdirOne(dir: string, label: string): boolean {
  try {
    mkdirSync(dir);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw new CgroupError(`${label}: cannot create cgroup ${dir}: ${errCode(e)}`);
  }
}

/** v1 cpuset: a new cgroup starts with no CPUs and no memory nodes; each level on the way copies its parent's. */
function cpusetInherit(root: string, rel: string, label: string): void {
  let dir = root;
  for (const part of rel.split('/')) {
    const parent = dir;
    dir = join(dir, part);
    for (const f of ['cpuset.cpus', 'cpuset.mems'])
      if (!readCgroupFile(join(dir, f))) knob(join(dir, f), readCgroupFile(join(parent, f)) ?? '', label);
  }
}

/** runc's conversion of v1 cpu.shares (2..262144) to v2 cpu.weight (1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

/** What a limit's error calls it: its origin, else a plain name. */
const labelOf = (r: Resources, c: Controller): string => r.origin?.[c] ?? `the ${c} limit`;

/** Checks the shape of `r` (CgroupError naming the field). */
function validate(r: Resources): void {
  const pos = (v: number | undefined, c: Controller, what: string, min = 1): void => {
    if (v !== undefined && (!Number.isSafeInteger(v) || v < min)) throw new CgroupError(`${labelOf(r, c)}: ${what} must be an integer of at least ${min}, not ${v}`);
  };
  pos(r.memory, 'memory', 'the memory limit');
  pos(r.pids, 'pids', 'the task limit');
  pos(r.cpuPeriod, 'cpu', 'the CPU period (µs)', 1000);
  if (r.cpuQuota !== undefined && r.cpuQuota !== -1) pos(r.cpuQuota, 'cpu', 'the CPU quota (µs)', 1000);
  if (r.cpuShares !== undefined && (!Number.isSafeInteger(r.cpuShares) || r.cpuShares < 2 || r.cpuShares > 262144))
    throw new CgroupError(`${labelOf(r, 'cpu')}: CPU shares must be an integer from 2 to 262144, not ${r.cpuShares}`);
  if (r.memorySwap !== undefined && r.memorySwap !== -1) {
    pos(r.memorySwap, 'memory', 'the memory+swap limit');
    if (r.memory === undefined) throw new CgroupError(`${labelOf(r, 'memory')}: a swap limit needs a memory limit`);
    if (r.memorySwap < r.memory) throw new CgroupError(`${labelOf(r, 'memory')}: the memory+swap limit (${r.memorySwap}) is below the memory limit (${r.memory})`);
  }
}

/** Options of createCgroup. */
export interface CreateOptions {
  /** The sandbox id: the cgroup is `<hierarchy>/tvisor/<id>` unless `path` is given. */
  id: string;
  /** The cgroup path from each hierarchy's root (OCI `linux.cgroupsPath`, "/a/b"; a relative one is taken from the root too). */
  path?: string;
  /** The hierarchies (default: detectCgroupHost()); tests pass a fake directory tree. */
  host?: CgroupHost | null;
}

/**
 * Creates the cgroup of sandbox `o.id` with limits `r` in every hierarchy of a controller tvisor uses, and
 * returns where it is (for the launcher, the sentry and a state file). Before creating, removes stale
 * sandbox cgroups (removeStaleCgroups). Returns null when `r` asks for nothing and the host has none of
 * those controllers or refuses the new directories (read-only cgroup mounts, no permission): the sandbox
 * then runs without a cgroup.
 * Errors (CgroupError, nothing left behind): a limit whose controller the host lacks
 * ("--memory: no memory cgroup controller is mounted on this host"), a malformed limit, a cgroup path
 * that is in use by processes, or the kernel refusing a directory or a value (the file and errno named).
 */
export function createCgroup(r: Resources, o: CreateOptions): CgroupRecord | null {
  validate(r);
  const host = o.host === undefined ? detectCgroupHost() : o.host;
  const want = wanted(r);
  const rel = relPath(o.id, o.path);
  const missing = (c: Controller): CgroupError =>
    new CgroupError(
      host?.version === 2
        ? `${labelOf(r, c)}: the ${c} cgroup controller is not available in the cgroup v2 hierarchy at ${host.mounts.unified}`
        : `${labelOf(r, c)}: no ${c} cgroup controller is mounted on this host`,
    );
  if (!host) {
    const first = [...want][0];
    if (first) throw missing(first);
    return null;
  }
  removeStaleCgroups(host);

  // The directories to create: v2 one; v1 one per hierarchy (cpuset only when asked: it needs CPUs set first).
  const paths: Record<string, string> = {};
  if (host.version === 2) {
    const avail = v2Controllers(host.mounts.unified!);
    for (const c of want) if (!avail.has(c)) throw missing(c);
    paths.unified = join(host.mounts.unified!, rel);
  } else {
    for (const c of want) if (!host.mounts[c]) throw missing(c);
    for (const c of CONTROLLERS) if (host.mounts[c] && (c !== 'cpuset' || want.has(c))) paths[c] = join(host.mounts[c]!, rel);
  }
  const cg: CgroupRecord = { version: host.version, paths };
  for (const leaf of new Set(Object.values(paths))) {
    if (!existsSync(leaf)) continue;
    if (populated(leaf)) throw new CgroupError(`cgroup ${leaf} is in use by other processes`);
    // An empty tvisor/<id> of tvisor's own naming is a leftover of a sandbox that could not clean up (SIGKILL):
    // made afresh, so no old limit carries over and it goes at the end.
    if (!o.path) removeDir(leaf, 0);
  }
  const created: string[] = [];
  try {
    for (const root of new Set(Object.values(host.mounts))) {
      const leaf = join(root, rel);
      if (!Object.values(paths).includes(leaf)) continue;
      // v2: each level enables tvisor's controllers for its children (cgroup.subtree_control) before the next
      // is made; one that cannot be enabled is an error only when a limit needs it (a non-root cgroup with
      // processes of its own refuses with EBUSY: the "no internal processes" rule).
      const ctls = host.version === 2 ? (['memory', 'pids', 'cpu', 'cpuset'] as const).filter((c) => v2Controllers(root).has(c) && (c !== 'cpuset' || want.has(c))) : [];
      let dir = root;
      for (const part of rel.split('/')) {
        const on = new Set((readCgroupFile(join(dir, 'cgroup.subtree_control')) ?? '').split(/\s+/));
        for (const c of ctls.filter((c) => !on.has(c))) {
          try {
            writeFileSync(join(dir, 'cgroup.subtree_control'), `+${c}`);
          } catch (e) {
            if (want.has(c)) throw new CgroupError(`${labelOf(r, c)}: cannot enable the ${c} controller in ${dir}: ${errCode(e)}`);
          }
        }
        dir = join(dir, part);
        if (mkdirOne(dir, `cgroup ${rel}`)) created.push(dir);
      }
      if (host.version === 1 && leaf === paths.cpuset) cpusetInherit(root, rel, labelOf(r, 'cpuset'));
    }
    applyLimits(cg, r);
    // The shared tvisor/ parent of default paths stays (as docker keeps /docker): another sandbox may be making its
    // child in it right now. Parents made for an OCI cgroupsPath go with the sandbox.
    cg.created = o.path ? [...created] : created.filter((d) => Object.values(paths).includes(d));
  } catch (e) {
    for (const d of created.reverse()) removeDir(d, 0);
    // Nothing asked for: a host whose cgroups tvisor cannot write (read-only, not root) runs sandboxes without one.
    if (want.size === 0 && e instanceof CgroupError) return null;
    throw e;
  }
  return cg;
}

/** Writes the limits of `r` into `cg`. */
function applyLimits(cg: CgroupRecord, r: Resources): void {
  const mem = labelOf(r, 'memory'), cpu = labelOf(r, 'cpu');
  const period = r.cpuPeriod ?? 100000;
  const quota = r.cpuQuota === undefined || r.cpuQuota === -1 ? undefined : r.cpuQuota;
  if (cg.version === 2) {
    const d = cg.paths.unified!;
    if (r.memory !== undefined) {
      knob(join(d, 'memory.max'), String(r.memory), mem);
      const swap = r.memorySwap === undefined ? 0 : r.memorySwap === -1 ? 'max' : r.memorySwap - r.memory;
      if (existsSync(join(d, 'memory.swap.max'))) knob(join(d, 'memory.swap.max'), String(swap), mem);
    }
    if (r.pids !== undefined) knob(join(d, 'pids.max'), String(r.pids), labelOf(r, 'pids'));
    if (quota !== undefined || r.cpuPeriod !== undefined) knob(join(d, 'cpu.max'), `${quota ?? 'max'} ${period}`, cpu);
    if (r.cpuShares !== undefined) knob(join(d, 'cpu.weight'), String(sharesToWeight(r.cpuShares)), cpu);
    if (r.cpusetCpus !== undefined) knob(join(d, 'cpuset.cpus'), r.cpusetCpus, labelOf(r, 'cpuset'));
    if (r.cpusetMems !== undefined) knob(join(d, 'cpuset.mems'), r.cpusetMems, labelOf(r, 'cpuset'));
    return;
  }
  const p = cg.paths;
  if (r.memory !== undefined) {
    knob(join(p.memory!, 'memory.limit_in_bytes'), String(r.memory), mem);
    // memsw must stay >= the memory limit: written after it. The file exists only with swap accounting.
    const memsw = join(p.memory!, 'memory.memsw.limit_in_bytes');
    if (existsSync(memsw)) knob(memsw, String(r.memorySwap ?? r.memory), mem);
  }
  if (r.pids !== undefined) knob(join(p.pids!, 'pids.max'), String(r.pids), labelOf(r, 'pids'));
  if (quota !== undefined || r.cpuPeriod !== undefined) {
    knob(join(p.cpu!, 'cpu.cfs_period_us'), String(period), cpu);
    knob(join(p.cpu!, 'cpu.cfs_quota_us'), String(quota ?? -1), cpu);
  }
  if (r.cpuShares !== undefined) knob(join(p.cpu!, 'cpu.shares'), String(r.cpuShares), cpu);
  if (r.cpusetCpus !== undefined) knob(join(p.cpuset!, 'cpuset.cpus'), r.cpusetCpus, labelOf(r, 'cpuset'));
  if (r.cpusetMems !== undefined) knob(join(p.cpuset!, 'cpuset.mems'), r.cpusetMems, labelOf(r, 'cpuset'));
}

/** The cgroup.procs files of `cg`, one per directory: the launcher writes its pid into each (T_CGROUP). */
export function cgroupProcsFiles(cg: CgroupRecord): string[] {
  return [...new Set(Object.values(cg.paths))].map((d) => join(d, 'cgroup.procs'));
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
const sleepMs = (ms: number): void => void Atomics.wait(sleeper, 0, 0, ms);

/**
 * Kills every process left in cgroup directory `dir`: cgroup.kill (v2, Linux 5.14+; it reaches child cgroups
 * too, so only with `subtree`), else SIGKILL to each pid in cgroup.procs (the directory's own processes).
 */
function killAll(dir: string, subtree = true): void {
  if (subtree && existsSync(join(dir, 'cgroup.kill'))) {
    try {
      writeFileSync(join(dir, 'cgroup.kill'), '1');
      return;
    } catch {
      /* fall back to the pids */
    }
  }
  for (const pid of (readCgroupFile(join(dir, 'cgroup.procs')) ?? '').split('\n').filter(Boolean)) {
    try {
      process.kill(Number(pid), 'SIGKILL');
    } catch {
      /* gone */
    }
  }
}

/**
 * Removes cgroup directory `dir` and any child cgroups: kills what is left in it, retries rmdir on EBUSY
 * (dying tasks still count) for up to `timeoutMs`. True when it is gone (or was already).
 */
function removeDir(dir: string, timeoutMs: number): boolean {
  let children: string[] = [];
  try {
    children = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => join(dir, e.name));
  } catch {
    /* gone */
  }
  for (const c of children) removeDir(c, timeoutMs);
  const deadline = Date.now() + timeoutMs;
  for (let killed = false; ; ) {
    try {
      rmdirSync(dir);
      return true;
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return true;
      if (code !== 'EBUSY' && code !== 'ENOTEMPTY') return false;
      if (Date.now() >= deadline) return false;
    }
    if (!killed || populated(dir)) killAll(dir);
    killed = true;
    sleepMs(10);
  }
}

/**
 * Removes sandbox cgroup `cg` in every hierarchy, killing what is left in it (the death of the pid
 * namespace's init has usually done so already). Tolerates directories already gone. Returns the
 * directories that could not be removed within `timeoutMs` (default 2 s), to be reported.
 */
export function removeCgroup(cg: CgroupRecord, timeoutMs = 2000): string[] {
  const leaves = [...new Set(Object.values(cg.paths))];
  const created = new Set(cg.created ?? leaves);
  const failed: string[] = [];
  for (const leaf of leaves) {
    if (created.has(leaf)) {
      if (!removeDir(leaf, timeoutMs)) failed.push(leaf);
    } else {
      killAll(leaf, false); // an existing cgroup (OCI cgroupsPath): the sandbox's processes go, the cgroup stays
    }
  }
  // Parents tvisor made for a new cgroupsPath, innermost first; one that is not empty stays.
  for (const d of [...created].filter((d) => !leaves.includes(d)).sort((a, b) => b.length - a.length)) {
    try {
      rmdirSync(d);
    } catch {
      /* in use by someone else's cgroups */
    }
  }
  return failed;
}

/**
 * Removes what tvisor runs that ended without cleaning up (a SIGKILLed tvisor) left: each `tvisor/<id>`
 * cgroup with no process in it that was created more than `minAgeMs` ago (default 60 s; younger ones may be
 * a sandbox between its cgroup's creation and its launcher joining it). Errors are ignored (another tvisor
 * may remove the same one). Returns the directories removed.
 */
export function removeStaleCgroups(host: CgroupHost | null = detectCgroupHost(), minAgeMs = 60_000): string[] {
  const removed: string[] = [];
  if (!host) return removed;
  const now = Date.now();
  for (const root of new Set(Object.values(host.mounts))) {
    const parent = join(root, 'tvisor');
    let names: string[];
    try {
      names = readdirSync(parent, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name);
    } catch {
      continue;
    }
    for (const name of names) {
      const dir = join(parent, name);
      try {
        if (now - statSync(dir).mtimeMs < minAgeMs || populated(dir)) continue;
        rmdirSync(dir);
        removed.push(dir);
      } catch {
        /* in use, or removed by someone else */
      }
    }
  }
  return removed;
}

/** How many processes the OOM killer killed in `cg` (v2 memory.events oom_kill, v1 memory.oom_control oom_kill). */
export function oomKills(cg: CgroupRecord): number {
  if (cg.version === 2) return readKeyed(join(cg.paths.unified!, 'memory.events')).get('oom_kill') ?? 0;
  return cg.paths.memory ? (readKeyed(join(cg.paths.memory, 'memory.oom_control')).get('oom_kill') ?? 0) : 0;
}

/** `n` bytes for people: "128 MiB", "1.5 GiB", "4096 bytes". */
export function formatBytes(n: number): string {
  for (const [unit, size] of [['GiB', 2 ** 30], ['MiB', 2 ** 20], ['KiB', 2 ** 10]] as const)
    if (n >= size) return `${Number((n / size).toFixed(2))} ${unit}`;
  return `${n} bytes`;
}

/**
 * The one line tvisor prints when the OOM killer killed processes of `cg` (without the "tvisor: " prefix), or
 * null when it did not: "the sandbox ran out of memory (limit 128 MiB): OOM killer killed 1 process(es)".
 */
export function oomReport(cg: CgroupRecord): string | null {
  const n = oomKills(cg);
  if (n === 0) return null;
  const limit = cgroupMemoryLimit(cg);
  return `the sandbox ran out of memory (${limit === null ? 'no limit' : `limit ${formatBytes(limit)}`}): OOM killer killed ${n} process(es)`;
}

/**
 * Usage of a sandbox's cgroup in runc's `events --stats` shape (libcontainer/cgroups Stats, `runc events`
 * data): nanoseconds for CPU times, bytes for memory, tasks for pids. 0 for a limit means none; a figure
 * the host does not keep (no such controller) is 0.
 */
export interface CgroupStats {
  cpu: {
    /** CPU time of all tasks: total, in user mode, in kernel mode (ns). */
    usage: { total: number; user: number; kernel: number };
    /** Bandwidth control: periods elapsed, periods throttled, time throttled (ns). */
    throttling: { periods: number; throttledPeriods: number; throttledTime: number };
  };
  memory: {
    /** Bytes in use, the limit (0: none), the peak (0 when the kernel keeps none), times the limit was hit. */
    usage: { usage: number; limit: number; max: number; failcnt: number };
    /** Processes the OOM killer killed. */
    oom_kill: number;
  };
  pids: { current: number; limit: number };
}

/** Reads `cg`'s usage now (see CgroupStats). Never throws: a file that cannot be read counts as 0. */
export function readCgroupStats(cg: CgroupRecord): CgroupStats {
  const num = (file: string | undefined): number => {
    const t = file ? readCgroupFile(file) : null;
    return t !== null && /^\d+$/.test(t) ? Number(t) : 0;
  };
  const memory = {
    usage: { usage: cgroupMemoryUsage(cg) ?? 0, limit: cgroupMemoryLimit(cg) ?? 0, max: 0, failcnt: 0 },
    oom_kill: oomKills(cg),
  };
  if (cg.version === 2) {
    const d = cg.paths.unified!;
    const st = readKeyed(join(d, 'cpu.stat'));
    memory.usage.max = num(join(d, 'memory.peak'));
    memory.usage.failcnt = readKeyed(join(d, 'memory.events')).get('max') ?? 0;
    return {
      cpu: {
        usage: { total: (st.get('usage_usec') ?? 0) * 1000, user: (st.get('user_usec') ?? 0) * 1000, kernel: (st.get('system_usec') ?? 0) * 1000 },
        throttling: { periods: st.get('nr_periods') ?? 0, throttledPeriods: st.get('nr_throttled') ?? 0, throttledTime: (st.get('throttled_usec') ?? 0) * 1000 },
      },
      memory,
      pids: { current: num(join(d, 'pids.current')), limit: num(join(d, 'pids.max')) },
    };
  }
  const p = cg.paths;
  const at = (ctl: string, f: string): string | undefined => (p[ctl] ? join(p[ctl]!, f) : undefined);
  memory.usage.max = num(at('memory', 'memory.max_usage_in_bytes'));
  memory.usage.failcnt = num(at('memory', 'memory.failcnt'));
  const st = p.cpu ? readKeyed(join(p.cpu, 'cpu.stat')) : new Map<string, number>();
  return {
    cpu: {
      usage: { total: num(at('cpuacct', 'cpuacct.usage')), user: num(at('cpuacct', 'cpuacct.usage_user')), kernel: num(at('cpuacct', 'cpuacct.usage_sys')) },
      throttling: { periods: st.get('nr_periods') ?? 0, throttledPeriods: st.get('nr_throttled') ?? 0, throttledTime: st.get('throttled_time') ?? 0 },
    },
    memory,
    pids: { current: num(at('pids', 'pids.current')), limit: num(at('pids', 'pids.max')) },
  };
}
