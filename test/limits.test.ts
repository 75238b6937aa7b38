/**
 * Resource limits: the sandbox's cgroup (src/cgroups.ts) on this host's real
 * hierarchies (a fork bomb, a memory hog, a busy loop under `--pids`,
 * `--memory`, `--cpus`), what the sandbox is told about its memory
 * (/proc/meminfo, free, sysinfo(2)), that no cgroup outlives its sandbox,
 * and, on fake cgroup trees, the v1/v2 layout, the errors for missing
 * controllers and the parsing of the flags and of OCI linux.resources.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  CgroupError,
  cgroupProcsFiles,
  createCgroup,
  detectCgroupHost,
  formatBytes,
  newSandboxId,
  oomReport,
  readCgroupStats,
  removeCgroup,
  removeStaleCgroups,
  sharesToWeight,
  type CgroupHost,
  type CgroupRecord,
} from '../src/cgroups.js';
import { doResources, parseCpus, parseMemory, parsePids } from '../src/cli/do.js';
import { resourcesFromOci } from '../src/oci/resources.js';
import { sandboxSpecFromOci, type OciConfig } from '../src/oci/config.js';
import { LaunchError, runSandbox } from '../src/sandbox.js';
import { cgroupLimits, cgroupMemoryLimit, parseCpuList } from '../sentry/kernel/limits.js';
import { limitSysinfo } from '../sentry/syscalls/info.js';
import { rewriteMeminfo } from '../sentry/vfs/proctext.js';
import { launcherPids, native, TVISOR, tvisorDo, type Run } from './helpers.js';

const MiB = 2 ** 20;
const HOST = detectCgroupHost();
/** The host's cgroup v2 mount, if any (on this hybrid host: /sys/fs/cgroup/unified, without controllers). */
const UNIFIED = readFileSync('/proc/self/mountinfo', 'latin1').split('\n').find((l) => / - cgroup2 /.test(l))?.split(' ')[4];

/** The sandbox cgroup of a running launcher (host pid `pid`), from /proc/<pid>/cgroup and the host's mounts. */
function cgroupOf(pid: number): CgroupRecord {
  const text = readFileSync(`/proc/${pid}/cgroup`, 'latin1');
  const paths: Record<string, string> = {};
  for (const line of text.trim().split('\n')) {
    const [, ctls, path] = line.split(':') as [string, string, string];
    if (!path.startsWith('/tvisor/')) continue;
    if (HOST!.version === 2 && ctls === '') paths.unified = join(HOST!.mounts.unified!, path);
    for (const c of ctls.split(',')) if (HOST!.version === 1 && HOST!.mounts[c]) paths[c] = join(HOST!.mounts[c]!, path);
  }
  return { version: HOST!.version, paths };
}

interface Watched extends Run {
  /** The sandbox's cgroup, read from its launcher while it ran. */
  cgroup: CgroupRecord;
  /** What `during(cgroup)` returned. */
  seen: unknown;
}

/**
 * Runs `tvisor do FLAGS -- SHELL -c 'read _; SCRIPT'`: once its launcher is up, finds its cgroup, lets the
 * script go by writing a line to its stdin, and calls `during` (with the cgroup, `release`, which ends the
 * script's stdin so that a second `read` returns, and the output so far), then waits for the end.
 */
async function watched(
  script: string,
  flags: string[],
  during: (cg: CgroupRecord, release: () => void, out: () => { stdout: string; stderr: string }) => unknown = () => undefined,
  shell = '/bin/sh',
  timeoutMs = 60_000,
): Promise<Watched> {
  const child = spawn(process.execPath, [TVISOR, 'do', ...flags, '--', shell, '-c', `read _; ${script}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '', stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<[number | null, NodeJS.Signals | null]>((res) => child.on('exit', (code, sig) => res([code, sig])));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let cgroup: CgroupRecord | undefined;
  for (let i = 0; i < 1000 && !cgroup; i++) {
    const l = launcherPids(child.pid!).find((p) => existsSync(`/proc/${p}/cgroup`) && readFileSync(`/proc/${p}/cgroup`, 'latin1').includes('/tvisor/'));
    if (l) cgroup = cgroupOf(l);
    else await new Promise((r) => setTimeout(r, 10));
  }
  child.stdin.write('\n');
  const release = (): void => void child.stdin.end();
  const seen = cgroup ? await during(cgroup, release, () => ({ stdout, stderr })) : undefined;
  release();
  const [status, signal] = await exited;
  clearTimeout(killer);
  if (!cgroup) throw new Error(`no sandbox cgroup seen; stderr: ${stderr}`);
  return { status, signal, stdout, stderr, cgroup, seen };
}

/** Every directory of `cg` is gone (both hierarchies: each v1 controller's, and the v2 one). */
function expectGone(cg: CgroupRecord): void {
  expect(Object.keys(cg.paths).length).toBeGreaterThan(0);
  for (const d of Object.values(cg.paths)) expect(existsSync(d), d).toBe(false);
  const id = Object.values(cg.paths)[0]!.split('/').pop()!;
  for (const m of new Set(Object.values(HOST!.mounts))) expect(existsSync(join(m, 'tvisor', id))).toBe(false);
  if (UNIFIED) expect(existsSync(join(UNIFIED, 'tvisor', id))).toBe(false);
}

describe.skipIf(!HOST)('limits on this host\u2019s cgroups', () => {
  it('a fork bomb under --pids 64 gets EAGAIN, the host stays responsive, and everything is gone after', async () => {
    const eagain = /fork: (retry: )?Resource temporarily unavailable/;
    const r = await watched('b() { b | b & }; b; read _; echo bomb over', ['--pids', '64'], async (cg, release, out) => {
      // Wait until the bomb has hit the limit (pids.current at the maximum, bash reporting EAGAIN), then run a
      // host program.
      let peak = 0;
      for (let i = 0; i < 2000 && (peak < 60 || !eagain.test(out().stderr)); i++) {
        peak = Math.max(peak, readCgroupStats(cg).pids.current);
        await new Promise((res) => setTimeout(res, 10));
      }
      const stats = readCgroupStats(cg);
      const host = spawnSync('/bin/true', { timeout: 30_000 });
      release();
      return { peak, stats, host: host.status };
    }, 'bash');
    const seen = r.seen as { peak: number; stats: ReturnType<typeof readCgroupStats>; host: number | null };
    expect(seen.stats.pids.limit).toBe(64);
    expect(seen.peak).toBeGreaterThanOrEqual(60);
    expect(seen.peak).toBeLessThanOrEqual(64);
    expect(seen.host).toBe(0);
    expect(r.stderr).toMatch(eagain);
    expect(r.stdout).toBe('bomb over\n');
    expect(r.status).toBe(0);
    expectGone(r.cgroup);
    expect(launcherPids(process.pid)).toEqual([]);
  });

  it('1 GiB under --memory 128m: the hog is OOM-killed (status 137), tvisor says so; swap is capped', async () => {
    const hog = 'exec python3 -c "b = b\'x\' * (1 << 30); print(len(b))"';
    // The swap cap, read while the script waits on stdin: memory+swap = memory (v1 memsw), or no swap (v2).
    const r = await watched(`read _; ${hog}`, ['--memory', '128m'], (cg, release) => {
      const swap = HOST!.version === 2 ? join(cg.paths.unified!, 'memory.swap.max') : join(cg.paths.memory!, 'memory.memsw.limit_in_bytes');
      const v = existsSync(swap) ? readFileSync(swap, 'latin1').trim() : 'not accounted';
      release();
      return v;
    });
    expect([HOST!.version === 2 ? '0' : String(128 * MiB), 'not accounted']).toContain(r.seen);
    expect(r.status).toBe(137);
    expect(r.stdout).toBe('');
    expect(r.stderr).toBe('tvisor: the sandbox ran out of memory (limit 128 MiB): OOM killer killed 1 process(es)\n');
    expectGone(r.cgroup);
    // Without the limit the same program completes (so the test above can fail).
    const free = Number(/MemAvailable:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'latin1'))![1]) * 1024;
    if (free > 3 * 2 ** 30) expect(tvisorDo(['python3', '-c', "b = b'x' * (1 << 30); print(len(b))"]).stdout).toBe(`${2 ** 30}\n`);
  });

  it('/proc/meminfo, free (procps and busybox), sysinfo(2) and sysconf(_SC_PHYS_PAGES) show 128 MiB inside', async () => {
    const script = String.raw`grep MemTotal /proc/meminfo; free -b | grep Mem: | tr -s ' ' | cut -d' ' -f2; busybox free -b | grep Mem: | tr -s ' ' | cut -d' ' -f2
python3 -c 'import os; print(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))'
busybox free -k | awk '/Mem:/ { print ($3 >= 0 && $3 + $4 + $6 <= $2 + 1) ? "consistent" : "inconsistent: " $0 }'`;
    const r = await watched(script, ['--memory', '128m']);
    expect(r.stdout).toBe(`MemTotal:         131072 kB\n${128 * MiB}\n${128 * MiB}\n${128 * MiB}\nconsistent\n`);
    expectGone(r.cgroup);
  });

  it('sysinfo(2): the limit, free memory within it, and EFAULT for NULL, unmapped and read-only buffers as natively', () => {
    const py = String.raw`
import ctypes, mmap, os
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_long]
buf = ctypes.create_string_buffer(112)
r = libc.syscall(99, buf)
total, free, unit = [int.from_bytes(buf.raw[o:o + n], 'little') for o, n in ((32, 8), (40, 8), (104, 4))]
print(r, total * unit, 0 < free <= total)
ro = libc.mmap(None, 4096, mmap.PROT_READ, mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS, -1, 0)
for addr in (0, 1, ro):
    r = libc.syscall(99, ctypes.c_void_p(addr))
    print(r, os.strerror(ctypes.get_errno()) if r < 0 else '')
`;
    const inside = tvisorDo(['python3', '-c', py], ['--memory', '200m']);
    const nat = native(['python3', '-c', py]);
    const lines = inside.stdout.split('\n');
    expect(lines[0]).toBe(`0 ${200 * MiB} True`);
    expect(lines.slice(1)).toEqual(nat.stdout.split('\n').slice(1));
    expect(lines.slice(1, 4)).toEqual(['-1 Bad address', '-1 Bad address', '-1 Bad address']);
    // Without a limit: the host's memory.
    const hostTotal = Number(/MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'latin1'))![1]) * 1024;
    const plain = tvisorDo(['python3', '-c', py]).stdout.split('\n')[0]!.split(' ');
    expect(Math.abs(Number(plain[1]) - hostTotal)).toBeLessThan(16 * MiB);
  });

  it('--cpus 0.5: busy loops are throttled to half a CPU per period (the cgroup\u2019s CPU stats); without it, never', async () => {
    // Four loops: even on a loaded machine (this one is shared) they want more than half a CPU.
    const loop = 'for i in 1 2 3 4; do timeout 1.5 sh -c "while :; do :; done" & done; wait; echo looped';
    // The stats are read once the loop is over (the script has printed "looped" and waits on stdin).
    const run = (flags: string[]): Promise<Watched> =>
      watched(`${loop}; read _`, flags, async (cg, release, out) => {
        for (let i = 0; i < 3000 && !out().stdout.includes('looped'); i++) await new Promise((res) => setTimeout(res, 10));
        const s = readCgroupStats(cg);
        release();
        return s;
      });
    const half = await run(['--cpus', '0.5']);
    const s = half.seen as ReturnType<typeof readCgroupStats>;
    expect(half.stdout).toBe('looped\n');
    expect(s.cpu.throttling.throttledPeriods).toBeGreaterThan(0);
    // At most 50 ms of CPU per 100 ms period that ran (plus one period of slack for the loop's start and end).
    expect(s.cpu.usage.total).toBeLessThanOrEqual((s.cpu.throttling.periods + 1) * 50e6 * 1.05);
    expectGone(half.cgroup);
    const full = await run([]);
    const f = full.seen as ReturnType<typeof readCgroupStats>;
    expect(f.cpu.throttling.throttledPeriods).toBe(0);
    expectGone(full.cgroup);
  });

  it('a leftover tvisor/<id> (its tvisor was SIGKILLed) is made afresh for the next sandbox of that id: no old limit, removed after', () => {
    const id = `limits-test-${newSandboxId()}`;
    const old = createCgroup({ memory: 64 * MiB, origin: { memory: '--memory' } }, { id })!;
    expect(cgroupMemoryLimit(old)).toBe(64 * MiB);
    const again = createCgroup({}, { id })!; // the leftover is empty: not in use
    expect(cgroupMemoryLimit(again)).toBeNull();
    expect(removeCgroup(again)).toEqual([]);
    expectGone(again);
  });

  it('a SIGKILLed tvisor leaves an empty cgroup (its processes die with it) that the removal path takes away', async () => {
    const child = spawn(process.execPath, [TVISOR, 'do', '--pids', '32', '--', 'sleep', '100'], { stdio: 'ignore' });
    let cg: CgroupRecord | undefined;
    let launchers: number[] = [];
    for (let i = 0; i < 1000 && !cg; i++) {
      launchers = launcherPids(child.pid!);
      const l = launchers.find((p) => existsSync(`/proc/${p}/cgroup`) && readFileSync(`/proc/${p}/cgroup`, 'latin1').includes('/tvisor/'));
      if (l && readCgroupStats(cgroupOf(l)).pids.current >= 3) cg = cgroupOf(l);
      else await new Promise((r) => setTimeout(r, 10));
    }
    expect(cg).toBeDefined();
    const exited = new Promise((res) => child.on('exit', res));
    child.kill('SIGKILL');
    await exited;
    // PR_SET_PDEATHSIG kills the launcher, then init, then the pid namespace.
    for (let i = 0; i < 500 && readCgroupStats(cg!).pids.current > 0; i++) await new Promise((r) => setTimeout(r, 10));
    expect(readCgroupStats(cg!).pids.current).toBe(0);
    for (const d of Object.values(cg!.paths)) expect(existsSync(d)).toBe(true);
    expect(removeCgroup(cg!)).toEqual([]);
    expectGone(cg!);
    expect(removeCgroup(cg!)).toEqual([]); // already gone: tolerated
  });

  it.skipIf(!UNIFIED || HOST?.version !== 1)('v2 for real on this hybrid host\u2019s unified hierarchy (no controllers): joined, measured, killed with cgroup.kill, removed; limits refused by name', async () => {
    const host: CgroupHost = { version: 2, mounts: { unified: UNIFIED! } };
    expect(() => createCgroup({ memory: 128 * MiB, origin: { memory: '--memory' } }, { id: 'x', host })).toThrow(
      `--memory: the memory cgroup controller is not available in the cgroup v2 hierarchy at ${UNIFIED}`,
    );
    const hadParent = existsSync(join(UNIFIED!, 'tvisor'));
    const id = newSandboxId();
    const cg = createCgroup({}, { id, host })!;
    expect(cg).toMatchObject({ version: 2, paths: { unified: join(UNIFIED!, 'tvisor', id) } });
    const [procs] = cgroupProcsFiles(cg);
    const child = spawn('/bin/sh', ['-c', `echo $$ > ${procs}; i=0; while [ $i -lt 20000 ]; do i=$((i+1)); done; echo busy; exec sleep 100`], { stdio: ['ignore', 'pipe', 'inherit'] });
    const exited = new Promise<NodeJS.Signals | null>((res) => child.on('exit', (_c, sig) => res(sig)));
    await new Promise((res) => child.stdout.once('data', res));
    expect(readFileSync(procs!, 'latin1')).toBe(`${child.pid}\n`);
    expect(readCgroupStats(cg).cpu.usage.total).toBeGreaterThan(0);
    expect(removeCgroup(cg)).toEqual([]);
    expect(await exited).toBe('SIGKILL');
    expect(existsSync(cg.paths.unified!)).toBe(false);
    if (!hadParent) rmdirSync(join(UNIFIED!, 'tvisor'));
  });

  it('OCI: linux.resources and cgroupsPath through sandboxSpecFromOci + runSandbox; a setup that fails leaves no cgroup', async () => {
    const id = `limits-test-${newSandboxId()}`;
    const config = (cwd: string, args: string[]): OciConfig => ({
      ociVersion: '1.0.2',
      root: { path: '/' },
      process: { args, cwd },
      mounts: [{ destination: '/proc', type: 'proc', source: 'proc' }],
      linux: {
        namespaces: ['mount', 'pid', 'cgroup', 'ipc', 'uts'].map((type) => ({ type })),
        resources: { memory: { limit: 64 * MiB, swap: 64 * MiB }, pids: { limit: 16 } },
        cgroupsPath: `/tvisor/${id}`,
      },
    });
    const gone = (): void => {
      for (const m of new Set(Object.values(HOST!.mounts))) expect(existsSync(join(m, 'tvisor', id))).toBe(false);
    };
    await expect(runSandbox(sandboxSpecFromOci(config('/nonexistent-cwd', ['true']), { bundle: '/tmp' }))).rejects.toThrow(LaunchError);
    gone();
    // The workload's exit status carries the check: 7 when it sees 64 MiB and sits at the root of its cgroup.
    const check = `[ "$(grep MemTotal /proc/meminfo | tr -s ' ' | cut -d' ' -f2)" = 65536 ] && ! grep -v ':/$' /proc/self/cgroup && exit 7`;
    expect(await runSandbox(sandboxSpecFromOci(config('/', ['/bin/sh', '-c', check]), { bundle: '/tmp' }))).toBe(7);
    gone();
  });

  it('OCI cgroupsPath of an existing cgroup: its other processes and child cgroups are left alone; new parents go', async () => {
    const pidsRoot = HOST!.mounts.pids!;
    const name = `tvisor-test-existing-${newSandboxId()}`;
    const victimDir = join(pidsRoot, name, 'child');
    mkdirSync(victimDir, { recursive: true });
    const victim = spawn('sleep', ['100'], { stdio: 'ignore' });
    try {
      writeFileSync(join(victimDir, 'cgroup.procs'), String(victim.pid));
      const config: OciConfig = {
        ociVersion: '1.0.2',
        root: { path: '/' },
        process: { args: ['true'], cwd: '/' },
        linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }], resources: { pids: { limit: 50 } }, cgroupsPath: `/${name}` },
      };
      expect(await runSandbox(sandboxSpecFromOci(config, { bundle: '/tmp' }))).toBe(0);
      expect(victim.exitCode).toBeNull();
      expect(victim.signalCode).toBeNull();
      expect(readFileSync(join(victimDir, 'cgroup.procs'), 'utf8').trim()).toBe(String(victim.pid));
      // A new nested path: its parents are made for the sandbox and removed with it.
      const fresh = `tvisor-test-new-${newSandboxId()}`;
      expect(await runSandbox(sandboxSpecFromOci({ ...config, linux: { ...config.linux, cgroupsPath: `/${fresh}/leaf` } }, { bundle: '/tmp' }))).toBe(0);
      for (const m of new Set(Object.values(HOST!.mounts))) expect(existsSync(join(m, fresh))).toBe(false);
    } finally {
      victim.kill('SIGKILL');
      await new Promise((r) => setTimeout(r, 100));
      rmdirSync(victimDir);
      rmdirSync(join(pidsRoot, name));
    }
  });

  it('bad flags: exit 125 with one line naming the flag', () => {
    const cases: [string[], RegExp][] = [
      [['--memory', '12x'], /^tvisor: --memory 12x: want a size like 128m/],
      [['--memory', '1k'], /^tvisor: --memory 1k: the minimum is 6m\n$/],
      [['--memory', '-5m'], /^tvisor: --memory -5m: want a size/],
      [['--pids', '0'], /^tvisor: --pids 0: want a positive number of tasks\n$/],
      [['--pids', 'many'], /^tvisor: --pids many: want a positive number of tasks\n$/],
      [['--cpus', '0'], /^tvisor: --cpus 0: want a number of CPUs from 0.01 to \d+/],
      [['--cpus', '1000'], /^tvisor: --cpus 1000: want a number of CPUs/],
      [['--cpus', 'half'], /^tvisor: --cpus half: want a number of CPUs/],
    ];
    for (const [flags, msg] of cases) {
      const r = tvisorDo(['/bin/true'], flags);
      expect(r.status, flags.join(' ')).toBe(125);
      expect(r.stderr.split('\n').length, r.stderr).toBe(2);
      expect(r.stderr).toMatch(msg);
    }
  });
});

describe('cgroup layout on fake hierarchies (unit)', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'tvisor-cg-'));
  afterAll(() => rmSync(tmp, { recursive: true, force: true }));
  let n = 0;
  /** A fresh fake tree: v1 dirs per controller (`cpu` and `cpuacct` comounted), or a v2 dir with `controllers`. */
  const fakeV1 = (ctls = ['memory', 'pids', 'cpu,cpuacct']): CgroupHost => {
    const root = join(tmp, `v1-${n++}`);
    const mounts: Record<string, string> = {};
    for (const c of ctls) {
      mkdirSync(join(root, c), { recursive: true });
      for (const name of c.split(',')) mounts[name] = join(root, c);
    }
    return { version: 1, mounts };
  };
  const fakeV2 = (controllers = 'cpuset cpu io memory hugetlb pids'): CgroupHost => {
    const root = join(tmp, `v2-${n++}`);
    mkdirSync(root, { recursive: true });
    writeFileSync(join(root, 'cgroup.controllers'), controllers + '\n');
    return { version: 2, mounts: { unified: root } };
  };
  const read = (f: string): string => readFileSync(f, 'utf8');

  it('detects v1 (this machine\u2019s hybrid), pure v2, and no cgroups from mountinfo', () => {
    const hybrid = [
      '30 22 0:27 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755',
      '31 30 0:28 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu',
      '32 30 0:29 / /sys/fs/cgroup/cpuacct rw,relatime - cgroup cgroup rw,cpuacct',
      '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '38 30 0:35 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids',
      '39 30 0:36 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd',
      '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    expect(detectCgroupHost(hybrid)).toEqual({
      version: 1,
      mounts: { cpu: '/sys/fs/cgroup/cpu', cpuacct: '/sys/fs/cgroup/cpuacct', memory: '/sys/fs/cgroup/memory', pids: '/sys/fs/cgroup/pids' },
    });
    const comounted = '31 30 0:28 / /sys/fs/cgroup/cpu,cpuacct rw shared:9 - cgroup cgroup rw,cpu,cpuacct\n';
    expect(detectCgroupHost(comounted)?.mounts).toEqual({ cpu: '/sys/fs/cgroup/cpu,cpuacct', cpuacct: '/sys/fs/cgroup/cpu,cpuacct' });
    const v2 = '25 22 0:23 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:4 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot\n';
    expect(detectCgroupHost(v2)).toEqual({ version: 2, mounts: { unified: '/sys/fs/cgroup' } });
    expect(detectCgroupHost('25 22 0:23 / /my\\040cg rw - cgroup2 none rw\n')).toEqual({ version: 2, mounts: { unified: '/my cg' } });
    expect(detectCgroupHost('22 1 254:0 / / rw - ext4 /dev/vda rw\n')).toBeNull();
    // Only v1 hierarchies without tvisor's controllers (name=systemd) and a v2: the v2 one.
    expect(detectCgroupHost(hybrid.split('\n').slice(5).join('\n'))?.version).toBe(2);
  });

  it('v1: one directory per hierarchy under tvisor/ID, limits in v1 files (memsw capped when accounted)', () => {
    const host = fakeV1();
    const m = host.mounts;
    // The kernel makes memory.memsw.* only with swap accounting: present in this fake (an existing empty cgroup is reused).
    mkdirSync(join(m.memory!, 'tvisor', 'abc'), { recursive: true });
    writeFileSync(join(m.memory!, 'tvisor', 'abc', 'memory.memsw.limit_in_bytes'), '');
    const cg = createCgroup({ memory: 128 * MiB, pids: 64, cpuQuota: 50000, cpuPeriod: 100000, cpuShares: 512 }, { id: 'abc', host });
    const dir = (c: string): string => join(m[c]!, 'tvisor', 'abc');
    expect(cg).toMatchObject({ version: 1, paths: { memory: dir('memory'), pids: dir('pids'), cpu: dir('cpu'), cpuacct: dir('cpuacct') } });
    expect(read(join(dir('memory'), 'memory.limit_in_bytes'))).toBe(String(128 * MiB));
    expect(read(join(dir('memory'), 'memory.memsw.limit_in_bytes'))).toBe(String(128 * MiB));
    expect(read(join(dir('pids'), 'pids.max'))).toBe('64');
    expect(read(join(dir('cpu'), 'cpu.cfs_period_us'))).toBe('100000');
    expect(read(join(dir('cpu'), 'cpu.cfs_quota_us'))).toBe('50000');
    expect(read(join(dir('cpu'), 'cpu.shares'))).toBe('512');
    // cpu and cpuacct are one hierarchy: the launcher joins three directories.
    expect(cgroupProcsFiles(cg!)).toEqual([dir('memory'), dir('pids'), dir('cpu')].map((d) => join(d, 'cgroup.procs')));
    // An explicit path (OCI linux.cgroupsPath) is taken from each hierarchy's root, parents made as needed.
    const pod = createCgroup({ memory: 64 * MiB, memorySwap: 96 * MiB }, { id: 'x', path: '/k8s/pod1/ctr', host });
    expect(pod!.paths.memory).toBe(join(m.memory!, 'k8s/pod1/ctr'));
    expect(() => createCgroup({}, { id: 'x', path: 'a/../../etc', host })).toThrow(CgroupError);
  });

  it('v2: controllers enabled on the way down, limits in v2 files (cpu.weight by runc\u2019s conversion, swap.max 0)', () => {
    const host = fakeV2();
    const u = host.mounts.unified!;
    mkdirSync(join(u, 'tvisor', 'abc'), { recursive: true });
    writeFileSync(join(u, 'tvisor', 'abc', 'memory.swap.max'), '');
    const cg = createCgroup({ memory: 128 * MiB, pids: 64, cpuQuota: 150000, cpuPeriod: 100000, cpuShares: 512 }, { id: 'abc', host });
    const d = join(u, 'tvisor', 'abc');
    expect(cg).toMatchObject({ version: 2, paths: { unified: d } });
    expect(read(join(d, 'memory.max'))).toBe(String(128 * MiB));
    expect(read(join(d, 'memory.swap.max'))).toBe('0');
    expect(read(join(d, 'pids.max'))).toBe('64');
    expect(read(join(d, 'cpu.max'))).toBe('150000 100000');
    expect(read(join(d, 'cpu.weight'))).toBe('20');
    // The fake's subtree_control keeps the last write: each level got its own writes (cpuset only when asked).
    expect(read(join(u, 'cgroup.subtree_control'))).toBe('+cpu');
    expect(read(join(u, 'tvisor', 'cgroup.subtree_control'))).toBe('+cpu');
    expect(cgroupProcsFiles(cg!)).toEqual([join(d, 'cgroup.procs')]);
    expect([sharesToWeight(2), sharesToWeight(1024), sharesToWeight(262144)]).toEqual([1, 39, 10000]);
  });

  it('a limit whose controller is missing is an error naming the flag; nothing is left behind', () => {
    const v1 = fakeV1(['memory', 'cpu,cpuacct']);
    expect(() => createCgroup({ pids: 64, origin: { pids: '--pids' } }, { id: 'a', host: v1 })).toThrow(
      '--pids: no pids cgroup controller is mounted on this host',
    );
    expect(existsSync(join(v1.mounts.memory!, 'tvisor', 'a'))).toBe(false);
    const v2 = fakeV2('cpu io');
    expect(() => createCgroup({ memory: 128 * MiB, origin: { memory: '--memory' } }, { id: 'a', host: v2 })).toThrow(
      `--memory: the memory cgroup controller is not available in the cgroup v2 hierarchy at ${v2.mounts.unified}`,
    );
    expect(() => createCgroup({ memory: 128 * MiB, origin: { memory: '--memory' } }, { id: 'a', host: null })).toThrow(
      '--memory: no memory cgroup controller is mounted on this host',
    );
    // No controllers and no limits: no cgroup, no error.
    expect(createCgroup({}, { id: 'a', host: null })).toBeNull();
    // A hierarchy that fails midway: the directories already made are removed again.
    const broken = fakeV1(['memory']);
    broken.mounts.pids = join(tmp, 'missing', 'pids');
    expect(() => createCgroup({ pids: 8 }, { id: 'b', host: broken })).toThrow(/cannot create cgroup .*missing\/pids\/tvisor: ENOENT/);
    expect(existsSync(join(broken.mounts.memory!, 'tvisor', 'b'))).toBe(false);
    // Bad values are refused before anything is made.
    expect(() => createCgroup({ memory: 64 * MiB, memorySwap: 32 * MiB }, { id: 'c', host: v1 })).toThrow(/below the memory limit/);
    expect(() => createCgroup({ cpuShares: 1, origin: { cpu: 'linux.resources.cpu' } }, { id: 'c', host: v1 })).toThrow(
      'linux.resources.cpu: CPU shares must be an integer from 2 to 262144, not 1',
    );
    expect(existsSync(join(v1.mounts.memory!, 'tvisor', 'c'))).toBe(false);
  });

  it('stale tvisor/* cgroups: empty ones older than the grace time go, young or busy ones stay', () => {
    const host = fakeV1(['memory']);
    const parent = join(host.mounts.memory!, 'tvisor');
    for (const d of ['old', 'young', 'busy']) mkdirSync(join(parent, d), { recursive: true });
    writeFileSync(join(parent, 'busy', 'cgroup.procs'), '1234\n');
    const past = new Date(Date.now() - 120_000);
    utimesSync(join(parent, 'old'), past, past);
    utimesSync(join(parent, 'busy'), past, past);
    expect(removeStaleCgroups(host)).toEqual([join(parent, 'old')]);
    expect(existsSync(join(parent, 'young'))).toBe(true);
    expect(existsSync(join(parent, 'busy'))).toBe(true);
  });

  it('stats in runc\u2019s events --stats shape, and the OOM line, from v1 and v2 files', () => {
    const v1 = fakeV1();
    const cg1 = createCgroup({ memory: 128 * MiB, pids: 64 }, { id: 's', host: v1 })!;
    const put = (dir: string, files: Record<string, string>): void => {
      for (const [f, v] of Object.entries(files)) writeFileSync(join(dir, f), v);
    };
    put(cg1.paths.memory!, { 'memory.usage_in_bytes': '1000', 'memory.max_usage_in_bytes': '2000', 'memory.failcnt': '3', 'memory.oom_control': 'oom_kill_disable 0\nunder_oom 0\noom_kill 2\n' });
    put(cg1.paths.pids!, { 'pids.current': '5' });
    put(cg1.paths.cpuacct!, { 'cpuacct.usage': '7000000', 'cpuacct.usage_user': '4000000', 'cpuacct.usage_sys': '3000000', 'cpu.stat': 'nr_periods 10\nnr_throttled 4\nthrottled_time 900\n' });
    expect(readCgroupStats(cg1)).toEqual({
      cpu: { usage: { total: 7e6, user: 4e6, kernel: 3e6 }, throttling: { periods: 10, throttledPeriods: 4, throttledTime: 900 } },
      memory: { usage: { usage: 1000, limit: 128 * MiB, max: 2000, failcnt: 3 }, oom_kill: 2 },
      pids: { current: 5, limit: 64 },
    });
    expect(oomReport(cg1)).toBe('the sandbox ran out of memory (limit 128 MiB): OOM killer killed 2 process(es)');
    const v2 = fakeV2();
    const cg2 = createCgroup({}, { id: 's', host: v2 })!;
    put(cg2.paths.unified!, {
      'cpu.stat': 'usage_usec 7\nuser_usec 4\nsystem_usec 3\nnr_periods 0\nnr_throttled 0\nthrottled_usec 0\n',
      'memory.current': '4096', 'memory.max': 'max', 'memory.peak': '8192', 'memory.events': 'low 0\nhigh 0\nmax 6\noom 1\noom_kill 0\n',
      'pids.current': '2', 'pids.max': 'max',
    });
    expect(readCgroupStats(cg2)).toEqual({
      cpu: { usage: { total: 7000, user: 4000, kernel: 3000 }, throttling: { periods: 0, throttledPeriods: 0, throttledTime: 0 } },
      memory: { usage: { usage: 4096, limit: 0, max: 8192, failcnt: 6 }, oom_kill: 0 },
      pids: { current: 2, limit: 0 },
    });
    expect(oomReport(cg2)).toBeNull();
    expect(removeCgroup(cg2, 0)).toEqual([cg2.paths.unified!]); // a fake dir holding files is not removable: reported
    expect([formatBytes(128 * MiB), formatBytes(1.5 * 2 ** 30), formatBytes(100)]).toEqual(['128 MiB', '1.5 GiB', '100 bytes']);
  });

  it('the sentry\u2019s limits read the cgroup: memory, usage, cache, CPUs cut to the quota', () => {
    const host = fakeV1();
    const cg = createCgroup({ memory: 256 * MiB, cpuQuota: 150000, cpuPeriod: 100000 }, { id: 'l', host })!;
    writeFileSync(join(cg.paths.memory!, 'memory.usage_in_bytes'), String(10 * MiB));
    writeFileSync(join(cg.paths.memory!, 'memory.stat'), `cache 1\ntotal_cache ${4 * MiB}\n`);
    const l = cgroupLimits(cg, process.pid);
    expect([l.memoryLimit(), l.memoryUsage(), l.memoryCache()]).toEqual([256 * MiB, 10 * MiB, 4 * MiB]);
    const mine = parseCpuList(/Cpus_allowed_list:\s*(\S+)/.exec(readFileSync('/proc/self/status', 'latin1'))![1]!);
    expect(l.cpus()).toEqual(mine.slice(0, 2));
  });

  it('sysinfo and meminfo under a limit: totals are the limit, "used" is never negative', () => {
    const b = Buffer.alloc(112);
    b.writeBigUInt64LE(24n << 30n, 32); // totalram
    b.writeBigUInt64LE(20n << 30n, 40); // freeram
    b.writeBigUInt64LE(1n << 30n, 48); // sharedram
    b.writeBigUInt64LE(1n << 30n, 56); // bufferram
    b.writeUInt32LE(1, 104);
    limitSysinfo(b, 128 * MiB, 28 * MiB);
    expect([b.readBigUInt64LE(32), b.readBigUInt64LE(40), b.readBigUInt64LE(48), b.readBigUInt64LE(56)]).toEqual([
      BigInt(128 * MiB), BigInt(100 * MiB), BigInt(128 * MiB), 0n,
    ]);
    const text = 'MemTotal:       24683620 kB\nMemFree:        22627024 kB\nMemAvailable:   24026156 kB\nBuffers:          100000 kB\nCached:          1500000 kB\nSReclaimable:     200000 kB\n';
    expect(rewriteMeminfo(text, 128 * MiB, 28 * MiB, 50 * MiB)).toBe(
      'MemTotal:         131072 kB\nMemFree:          102400 kB\nMemAvailable:     102400 kB\nBuffers:               0 kB\nCached:            28672 kB\nSReclaimable:          0 kB\n',
    );
  });
});

describe('limit flags and OCI linux.resources (unit)', () => {
  it('--memory sizes as docker parses them', () => {
    expect(parseMemory('128m')).toBe(128 * MiB);
    expect(parseMemory('128M')).toBe(128 * MiB);
    expect(parseMemory('1g')).toBe(2 ** 30);
    expect(parseMemory('1.5GiB')).toBe(1.5 * 2 ** 30);
    expect(parseMemory('512mb')).toBe(512 * MiB);
    expect(parseMemory('8388608')).toBe(8 * MiB);
    expect(parseMemory('7340032b')).toBe(7 * MiB);
    expect(parseMemory('6144k')).toBe(6 * MiB);
    for (const bad of ['', 'm', '12x', '-1m', '1e9', '0x10m', '1..5m', '5m'])
      expect(() => parseMemory(bad), bad).toThrow(/^--memory /);
  });

  it('--pids and --cpus', () => {
    expect(parsePids('64')).toBe(64);
    for (const bad of ['0', '-1', '1.5', 'x', '']) expect(() => parsePids(bad), bad).toThrow(/^--pids /);
    expect(parseCpus('1.5', 2)).toEqual({ cpuQuota: 150000, cpuPeriod: 100000 });
    expect(parseCpus('0.5', 2)).toEqual({ cpuQuota: 50000, cpuPeriod: 100000 });
    expect(parseCpus('0.01', 2)).toEqual({ cpuQuota: 1000, cpuPeriod: 100000 });
    for (const bad of ['0', '0.001', '3', '-1', 'x', '1/2']) expect(() => parseCpus(bad, 2), bad).toThrow(/^--cpus /);
    expect(doResources({ memory: '128m', pids: '64' })).toMatchObject({ memory: 128 * MiB, pids: 64, origin: { memory: '--memory' } });
  });

  it('OCI linux.resources: the CRI\u2019s and podman\u2019s shapes; unset and unlimited values; unsupported members named', () => {
    expect(resourcesFromOci({ devices: [{ allow: false, access: 'rwm' }], memory: { limit: 134217728, swap: 134217728 }, cpu: { shares: 512, quota: 50000, period: 100000 } })).toMatchObject({
      memory: 134217728, memorySwap: 134217728, cpuShares: 512, cpuQuota: 50000, cpuPeriod: 100000,
    });
    expect(resourcesFromOci({ pids: { limit: 2048 } })).toMatchObject({ pids: 2048 });
    const unset = resourcesFromOci({ memory: { limit: -1, swap: 0 }, pids: { limit: 0 }, cpu: { shares: 0, quota: -1, period: 0, cpus: '' } });
    for (const k of ['memory', 'memorySwap', 'pids', 'cpuShares', 'cpuQuota', 'cpuPeriod', 'cpusetCpus']) expect(unset).not.toHaveProperty(k);
    expect(resourcesFromOci({ memory: { limit: 1 << 30, swap: -1 }, cpu: { cpus: '0-1', mems: '0' } })).toMatchObject({ memorySwap: -1, cpusetCpus: '0-1', cpusetMems: '0' });
    expect(() => resourcesFromOci({ blockIO: { weight: 10 } })).toThrow('linux.resources.blockIO: not supported by tvisor');
    expect(() => resourcesFromOci({ memory: { reservation: 1 } })).toThrow('linux.resources.memory.reservation: not supported by tvisor');
    expect(() => resourcesFromOci({ memory: { limit: '1g' as never } })).toThrow('linux.resources.memory.limit: want an integer, not "1g"');
    const spec = sandboxSpecFromOci(
      {
        process: { args: ['true'] },
        root: { path: '/tmp' },
        linux: { namespaces: [{ type: 'mount' }], resources: { pids: { limit: 10 } }, cgroupsPath: '/k8s-test/pod/ctr' },
      },
      { bundle: '/tmp' },
    );
    expect(spec.resources).toMatchObject({ pids: 10 });
    expect(spec.cgroupsPath).toBe('/k8s-test/pod/ctr');
  });
});
