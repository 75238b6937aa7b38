/**
 * A sandbox-only /proc: no host pid, host path, staging path or host boot
 * line is readable through the sandbox's /proc, with the host's / (the
 * default), with --rootfs, and with -v volumes. The tools people use (ps,
 * top, free, df, mount, findmnt, cat, ls) run inside and their output is
 * searched for the host's pids (this test's, tvisor's and its threads', the
 * launcher's and the sandbox init's host pids) and for the host paths of the
 * volume source, the rootfs, the launcher and its staging directories. The
 * same search on a sandbox whose sentry serves the kernel's files unchanged
 * (--test-raw-proc) finds leaks, so the search can fail.
 *
 * Also: the virtual files (sentry/vfs/procfs.ts) behave as files (seek,
 * O_RDWR/O_WRONLY opens, every path form the kernel resolves), and the
 * rewrites themselves (sentry/vfs/proctext.ts) on known kernel text.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_ROOTFS, launcherPids, native, ROOT, sandboxSh, TVISOR } from './helpers.js';
import {
  cmdline,
  filterCpuinfo,
  rewriteMeminfo,
  rewriteMountinfo,
  rewriteMounts,
  rewriteMountstats,
  swaps,
} from '../sentry/vfs/proctext.js';
import { classify } from '../sentry/vfs/procfs.js';
import { parseCpuList } from '../sentry/kernel/limits.js';

let dir: string;
let vol: string;
beforeAll(() => {
  dir = mkdtempSync('/tmp/tvisor-procfs-');
  vol = join(dir, 'volume-source');
  mkdirSync(vol);
  writeFileSync(join(vol, 'f'), 'x\n');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

interface Scan {
  out: string;
  /** Host pids and tids that must not appear: this test, tvisor (and its threads), the launcher, the sandbox's init. */
  hostPids: number[];
  status: number | null;
}

/**
 * Runs `script` under /bin/sh in a sandbox. The script starts once the
 * sandbox is up and the host pids of tvisor, its threads, the launcher and
 * the init have been recorded.
 */
async function scan(script: string, flags: string[], sh = '/bin/sh'): Promise<Scan> {
  const child = spawn(process.execPath, [TVISOR, 'do', '--cwd', '/', ...flags, '--', sh, '-c', `read go; ${script}`], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
  child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
  const exited = new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
  const hostPids = new Set<number>([process.pid, child.pid!]);
  const end = Date.now() + 15_000;
  for (;;) {
    const l = launcherPids(child.pid!);
    if (l.length >= 2 || Date.now() > end) {
      l.forEach((p) => hostPids.add(p));
      break;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  for (const t of readdirSync(`/proc/${child.pid}/task`)) hostPids.add(Number(t));
  expect(hostPids.size).toBeGreaterThanOrEqual(4); // test, tvisor, launcher, init at least
  child.stdin.end('go\n');
  const status = await exited;
  return { out, hostPids: [...hostPids], status };
}

/** The sections `=== NAME` of a scan's output, by name. */
function sections(out: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const part of out.split(/^=== /m).slice(1)) {
    const nl = part.indexOf('\n');
    m.set(part.slice(0, nl), part.slice(nl + 1));
  }
  return m;
}

/** Strings of the host that no output may contain: host paths, staging options, the host init's command line. */
function hostStrings(): string[] {
  const init = readFileSync('/proc/1/cmdline', 'latin1').split('\0').filter(Boolean);
  return [
    vol,
    DEBIAN_ROOTFS,
    join(ROOT, 'native/build'),
    'lowerdir=',
    'upperdir=',
    'workdir=',
    'TVISOR_PARENT_PID',
    ...init.filter((a, i) => (i === 0 && a.length >= 5) || a.length >= 12),
  ];
}

/** Everything a scan leaked: host strings anywhere, host pids where pids are printed. */
function leaks(s: Scan, pidSections: string[]): string[] {
  const found = hostStrings().filter((h) => s.out.includes(h));
  const secs = sections(s.out);
  for (const name of pidSections) {
    const raw = secs.get(name) ?? '';
    // top's other columns (VIRT, RES, SHR in KiB) may equal a pid by chance: only its PID column counts.
    const text = name === 'top' ? topPids(raw) : raw;
    const nums = new Set([...text.matchAll(/\b\d+\b/g)].map((m) => Number(m[0])));
    for (const p of s.hostPids) if (p > 1 && nums.has(p)) found.push(`host pid ${p} in ${name}`);
  }
  return found;
}

/** The PID column of `top -b` process lines. */
const topPids = (text: string): string =>
  text
    .split('\n')
    .filter((l) => /^\s*\d+\s/.test(l))
    .map((l) => l.trim().split(/\s+/)[0])
    .join('\n');

/** Every path form that names a mount table: each read must come back rewritten. */
const MOUNT_TABLES =
  '/proc/self/mountinfo /proc/self/mounts /proc/mounts /proc/self/mountstats /proc/thread-self/mountinfo ' +
  '/proc/self/../self/mountinfo /proc/1/task/1/mountinfo /proc/1/mountinfo /proc/1/mounts /proc/self/root/proc/self/mountinfo';

/** The scan script of the default `do` (host tools). */
const HOST_TOOLS = `
echo "=== ps"; ps -eo pid=,ppid=,pgid=,sid=,tpgid=
echo "=== psaux"; ps aux
echo "=== top"; top -bn1 | sed -n '/PID/,$p'
echo "=== free"; free
echo "=== df"; df -a
echo "=== mount"; mount
echo "=== findmnt"; findmnt
echo "=== tables"; cat ${MOUNT_TABLES}
echo "=== python"; python3 -c '
import os
d = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
print(os.read(os.open("self/mountinfo", os.O_RDONLY, dir_fd=d), 1 << 20).decode())
fd = os.open("/proc/self/mountstats", os.O_RDONLY)
print(open(f"/proc/self/fd/{fd}").read())
p = os.open("/proc/self/mountinfo", os.O_PATH)
print(open(f"/proc/self/fd/{p}").read())
s = os.open("/proc/self", os.O_PATH | os.O_DIRECTORY)
print(os.read(os.open("mountinfo", os.O_RDONLY, dir_fd=s), 1 << 20).decode())
'
echo "=== fd"; ls -l /proc/self/fd /proc/1/fd
echo "=== maps"; cat /proc/self/maps /proc/1/maps
echo "=== status"; cat /proc/[0-9]*/status | grep -E '^(Tgid|Pid|PPid|TracerPid|NStgid|NSpid|NSpgid|NSsid):'
echo "=== lsproc"; ls /proc /proc/1/task
echo "=== pid1"; tr '\\0' ' ' < /proc/1/cmdline; echo; tr '\\0' ' ' < /proc/1/environ; echo
echo "=== kernel"; cat /proc/cmdline /proc/swaps /proc/self/cgroup
echo "=== end"
`;
const PID_SECTIONS = ['ps', 'top', 'status', 'lsproc', 'pid1'];

describe('no host information in the sandbox\u2019s /proc', () => {
  it('default do with a volume: ps, top, free, df, mount, findmnt, cat and ls show no host pid or path', async () => {
    const s = await scan(HOST_TOOLS, ['-v', `${vol}:/data`]);
    expect(s.status, s.out).toBe(0);
    const secs = sections(s.out);
    // The tools did run and saw the sandbox (a vacuous scan would pass too).
    expect(secs.get('findmnt')).toMatch(/\/data\s+none\s+\S+/);
    expect(secs.get('df')).toMatch(/ \/data\n/);
    expect(secs.get('mount')).toMatch(/^none on \/data type /m);
    expect(secs.get('psaux')).toMatch(/\bps aux\b/);
    expect(topPids(secs.get('top') ?? '')).toMatch(/^1$/m);
    expect(secs.get('free')).toMatch(/^Mem:/m);
    expect(secs.get('maps')).toMatch(/\[stack\]/);
    expect(secs.get('tables')!.match(/ \/data /g)?.length).toBeGreaterThanOrEqual(10);
    // Through a dirfd of /proc and of /proc/self, a reopen of a virtual fd and of an O_PATH fd of the kernel's file.
    expect(secs.get('python')!.match(/ \/data .* - \S+ none rw\n/g)?.length).toBe(3);
    expect(secs.get('python')).toMatch(/^device none mounted on \/data with fstype \S+$/m);
    expect(secs.get('kernel')).toMatch(/^BOOT_IMAGE=\S+ quiet\nFilename\s+Type/);
    // Only the sandbox's own pids: small numbers of its pid namespace.
    const inner = [...(secs.get('ps') ?? '').matchAll(/-?\d+/g)].map((m) => Number(m[0]));
    expect(Math.max(...inner)).toBeLessThan(1000);
    expect(leaks(s, PID_SECTIONS)).toEqual([]);
  });

  it('with --rootfs and a read-only volume: the rootfs\u2019s and the volume\u2019s host paths do not show', async () => {
    const bb = '/usr/bin/busybox'; // procps is not in the Debian minbase rootfs
    const script = `
echo "=== ps"; /busybox ps -o pid,ppid,pgid
echo "=== top"; /busybox top -bn1 | sed -n '/PID/,$p'
echo "=== free"; /busybox free
echo "=== df"; df -a
echo "=== mount"; mount
echo "=== findmnt"; findmnt
echo "=== tables"; cat ${MOUNT_TABLES}
echo "=== fd"; ls -l /proc/self/fd /proc/1/fd
echo "=== maps"; cat /proc/self/maps /proc/1/maps
echo "=== status"; cat /proc/[0-9]*/status | grep -E '^(Tgid|Pid|PPid|TracerPid|NStgid|NSpid|NSpgid|NSsid):'
echo "=== lsproc"; ls /proc
echo "=== pid1"; tr '\\0' ' ' < /proc/1/cmdline; echo; tr '\\0' ' ' < /proc/1/environ; echo
echo "=== kernel"; cat /proc/cmdline /proc/swaps
echo "=== end"
`;
    const s = await scan(script, ['--rootfs', DEBIAN_ROOTFS, '-v', `${vol}:/data:ro`, '-v', `${bb}:/busybox:ro`]);
    expect(s.status, s.out).toBe(0);
    const secs = sections(s.out);
    expect(secs.get('findmnt')).toMatch(/\/data\s+none\s+\S+\s+ro,/);
    expect(secs.get('mount')).toMatch(/^overlay on \/ type overlay \(rw,nosuid,nodev,relatime\)$/m);
    expect(secs.get('free')).toMatch(/Mem:/);
    expect(topPids(secs.get('top') ?? '')).toMatch(/^1$/m);
    expect(leaks(s, PID_SECTIONS)).toEqual([]);
  });

  it('the same scan finds the leaks when the sentry serves the kernel\u2019s files unchanged (--test-raw-proc)', async () => {
    const s = await scan(HOST_TOOLS, ['-v', `${vol}:/data`, '--test-raw-proc']);
    const found = leaks(s, PID_SECTIONS);
    expect(found).toContain(vol); // the bind mount's root field: the volume's host path
    expect(found).toContain('upperdir='); // overlayfs staging options
    // And the kernel's own /proc/cmdline is the host's (here, on a VM whose init is named there, it names it).
    expect(sections(s.out).get('kernel')).toContain(readFileSync('/proc/cmdline', 'latin1').trim());
  });

  it('the mount table stays a tree: ids and parents are the kernel\u2019s, roots of sandbox file systems are kept', () => {
    const r = sandboxSh('cat /proc/self/mountinfo; echo ===; findmnt -rn -o ID,PARENT,TARGET,SOURCE', ['-v', `${vol}:/data`]);
    const [mi, fm] = r.stdout.split('===\n');
    const rows = mi!.trim().split('\n').map((l) => l.split(' '));
    const ids = new Set(rows.map((f) => f[0]));
    // Every mount but the root has its parent in the table.
    expect(rows.filter((f) => !ids.has(f[1]!)).map((f) => f[4])).toEqual(['/']);
    // findmnt built its tree from them: one line per mount, the same ids.
    expect(fm!.trim().split('\n').map((l) => l.split(' ')[0]).sort()).toEqual([...ids].sort());
    expect(fm).toMatch(/ \/proc\/sys proc\[\/sys\]$/m); // a root inside a file system the sandbox has whole
    // Masked by the launcher's private null device, on a staging tmpfs the sandbox does not have: its root is dropped.
    expect(fm).toMatch(/ \/proc\/kmsg tvisor$/m);
    expect(fm).toMatch(/ \/data none$/m); // a volume's root is its host path: replaced
  });
});

describe('virtual /proc files behave as files', () => {
  it('read-only fd, seek and re-read, fstat 0444; O_RDWR writes fail (EPERM), O_WRONLY gets the kernel\u2019s refusal', () => {
    const r = sandboxSh(`python3 -c '
import os, errno, stat
fd = os.open("/proc/self/mountinfo", os.O_RDONLY)
a = os.read(fd, 1 << 20); os.lseek(fd, 0, 0); b = os.read(fd, 1 << 20)
print(a == b, len(a) > 0, os.pread(fd, 5, 0) == a[:5], oct(os.fstat(fd).st_mode), os.get_blocking(fd))
import fcntl; print(fcntl.fcntl(fd, fcntl.F_GETFL) & 3)
try: os.write(fd, b"x")
except OSError as e: print("ro", errno.errorcode[e.errno])
fd = os.open("/proc/self/mounts", os.O_RDWR)
print(b"lowerdir" in os.read(fd, 1 << 20))
try: os.write(fd, b"x")
except OSError as e: print("rw", errno.errorcode[e.errno])
fd = os.open("/proc/self/mountinfo", os.O_WRONLY)
try: os.write(fd, b"x")
except OSError as e: print("wo", errno.errorcode[e.errno])
try: os.read(fd, 10)
except OSError as e: print("wo read", errno.errorcode[e.errno])
fd = os.open("/proc/meminfo", os.O_RDONLY | os.O_NONBLOCK)
print(os.get_blocking(fd), os.read(fd, 9))
'`);
    expect(r.stdout).toBe(
      'True True True 0o100444 True\n0\nro EBADF\nFalse\nrw EPERM\nwo EINVAL\nwo read EBADF\nFalse b\'MemTotal:\'\n',
    );
  });

  it('ptrace-checked files of another task (maps, environ, fd) are refused to a caller that natively could not read them', () => {
    const r = sandboxSh(
      'setpriv --reuid=65534 --regid=65534 --clear-groups sh -c ' +
        '"cat /proc/1/maps >/dev/null; cat /proc/1/environ >/dev/null; ls /proc/1/fd >/dev/null; head -c 8 /proc/self/maps; echo; ' +
        // openat2 with O_DIRECTORY (trapped: its flags are in memory) takes the same check as a file open.
        'python3 -c \\"import ctypes, os; l = ctypes.CDLL(None, use_errno=True); l.syscall.restype = ctypes.c_long; ' +
        'h = (ctypes.c_uint64 * 3)(0o200000, 0, 0); print(l.syscall(437, -100, b\'/proc/1/fdinfo\', h, 24), ctypes.get_errno())\\""',
    );
    expect(r.stderr).toContain('/proc/1/maps: Permission denied');
    expect(r.stderr).toContain('/proc/1/environ: Permission denied');
    expect(r.stderr).toContain("cannot open directory '/proc/1/fd': Permission denied");
    expect(r.stdout).toMatch(/^[0-9a-f]{8}\n-1 13\n$/); // its own maps stay readable; EACCES for openat2
  });

  it('a task that is gone: ENOENT as natively; a non-root caller reads its own table', () => {
    const r = sandboxSh(`cat /proc/999/mountinfo 2>&1; setpriv --reuid=65534 --regid=65534 --clear-groups cat /proc/self/mountinfo | grep -c ' / / '`);
    expect(r.stdout).toBe('cat: /proc/999/mountinfo: No such file or directory\n1\n');
  });
});

describe('meminfo and cpuinfo follow the sandbox\u2019s limits', () => {
  it('without a limit: the host\u2019s memory; with one, MemTotal is the limit and free agrees', () => {
    const host = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'latin1'))![1];
    const r = sandboxSh('grep MemTotal /proc/meminfo');
    expect(r.stdout).toMatch(new RegExp(`^MemTotal:\\s+${host} kB\\n$`));
    const lim = sandboxSh("grep -E '^Mem(Total|Free|Available):' /proc/meminfo; free -b | grep Mem:", ['--memory', '256m']);
    const kb = Object.fromEntries([...lim.stdout.matchAll(/^(\w+):\s+(\d+) kB$/gm)].map((m) => [m[1], Number(m[2])]));
    expect(kb.MemTotal).toBe(262144);
    expect(kb.MemFree).toBeLessThanOrEqual(262144);
    expect(kb.MemAvailable).toBeLessThanOrEqual(262144);
    expect(lim.stdout).toMatch(/^Mem:\s+268435456\s/m);
  });

  it('cpuinfo lists the CPUs the sandbox may run on (taskset on tvisor)', () => {
    const all = sandboxSh('grep -c ^processor /proc/cpuinfo');
    expect(Number(all.stdout)).toBe(cpus().length);
    const one = native(['taskset', '-c', '0', process.execPath, TVISOR, 'do', '--', '/bin/sh', '-c', 'grep ^processor /proc/cpuinfo; nproc']);
    expect(one.stdout).toMatch(/^processor\s+: 0\n1\n$/);
  });
});

describe('kernel interfaces stay masked or read-only (those confinement.test.ts does not cover)', () => {
  it('/proc/kcore, kmsg, keys, timer_list read nothing (where this kernel has them); sysrq-trigger and /proc/sys refuse writes', () => {
    const files = ['kcore', 'kmsg', 'keys', 'timer_list', 'sched_debug', 'sysrq-trigger'];
    const r = sandboxSh(
      `for f in ${files.join(' ')}; do if [ ! -e /proc/$f ]; then echo $f none; elif [ $f = sysrq-trigger ]; then echo $f present; ` +
        'else echo $f $(timeout 5 cat /proc/$f 2>/dev/null | wc -c); fi; done; ' +
        '[ -e /proc/sysrq-trigger ] && echo h > /proc/sysrq-trigger; echo x > /proc/sys/kernel/domainname; echo x > /proc/sys/kernel/hostname',
    );
    const hostHas = (f: string): boolean => readdirSync('/proc').includes(f);
    // A file this kernel lacks stays absent; one it has is masked (reads nothing), sysrq-trigger is read-only.
    expect(r.stdout).toBe(files.map((f) => `${f} ${!hostHas(f) ? 'none' : f === 'sysrq-trigger' ? 'present' : '0'}\n`).join(''));
    expect(r.stderr.match(/Read-only file system/g)?.length).toBe(hostHas('sysrq-trigger') ? 3 : 2);
  });

  it('/sys is read-only, its cgroup directory empty, its network devices the sandbox\u2019s (loopback)', () => {
    const r = sandboxSh('ls -A /sys/fs/cgroup | wc -l; ls /sys/class/net; echo 1 > /sys/kernel/mm/transparent_hugepage/enabled; touch /sys/x; cat /proc/self/cgroup | cut -d: -f3 | sort -u');
    expect(r.stdout).toBe('0\nlo\n/\n');
    expect(r.stderr.match(/Read-only file system/g)?.length).toBe(2);
  });
});

describe('rewrites of kernel text (unit)', () => {
  const MOUNTINFO = [
    '66 42 0:40 / / rw,nosuid,nodev,relatime - overlay overlay rw,lowerdir=/proc/self/fd/6,upperdir=/tmp/u,workdir=/tmp/w,uuid=on',
    '67 66 0:43 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
    '68 66 0:44 / /dev rw,nosuid,noexec,relatime - tmpfs tmpfs rw,size=65536k,mode=755',
    '73 66 254:0 /tmp/vol /data rw,nosuid,nodev,relatime shared:5 - ext4 /dev/vda rw,discard,errors=remount-ro',
    '75 67 0:44 /null /proc/kcore rw,nosuid,noexec,relatime - tmpfs tmpfs rw,size=65536k,mode=755',
    '82 67 0:43 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
    '83 66 0:50 /exports/a /nfs rw,relatime - nfs4 10.0.0.5:/exports rw,vers=4.2,addr=10.0.0.5,clientaddr=10.0.0.9',
    '84 66 0:51 / /cg rw - cgroup cgroup rw,memory,release_agent=/sbin/agent',
    '',
  ].join('\n');

  it('mountinfo: host roots, sources and file-system options go; ids, mount points, flags and propagation stay', () => {
    expect(rewriteMountinfo(MOUNTINFO)).toBe(
      [
        '66 42 0:40 / / rw,nosuid,nodev,relatime - overlay overlay rw',
        '67 66 0:43 / /proc rw,nosuid,nodev,noexec,relatime - proc proc rw',
        '68 66 0:44 / /dev rw,nosuid,noexec,relatime - tmpfs tmpfs rw,size=65536k,mode=755',
        '73 66 254:0 / /data rw,nosuid,nodev,relatime shared:5 - ext4 none rw',
        '75 67 0:44 /null /proc/kcore rw,nosuid,noexec,relatime - tmpfs tmpfs rw,size=65536k,mode=755',
        '82 67 0:43 /sys /proc/sys ro,nosuid,nodev,noexec,relatime - proc proc rw',
        '83 66 0:50 / /nfs rw,relatime - nfs4 none rw',
        '84 66 0:51 / /cg rw - cgroup cgroup rw,memory',
        '',
      ].join('\n'),
    );
  });

  it('mounts and mountstats: the same sources and options; statistics dropped', () => {
    const mounts =
      'overlay / overlay rw,nosuid,nodev,relatime,lowerdir=/proc/self/fd/6,upperdir=/tmp/u,workdir=/tmp/w 0 0\n' +
      '/dev/vda /data ext4 ro,nosuid,nodev,relatime,discard 0 0\n' +
      'shm /dev/shm tmpfs rw,nosuid,nodev,relatime,size=65536k 0 0\n';
    expect(rewriteMounts(mounts)).toBe(
      'overlay / overlay rw,nosuid,nodev,relatime 0 0\nnone /data ext4 ro,nosuid,nodev,relatime 0 0\nshm /dev/shm tmpfs rw,nosuid,nodev,relatime,size=65536k 0 0\n',
    );
    const stats =
      'device overlay mounted on / with fstype overlay\n' +
      'device 10.0.0.5:/exports mounted on /nfs with fstype nfs4 statvers=1.1\n\topts:\trw,vers=4.2,addr=10.0.0.5\n\tage:\t12\n' +
      'device /dev/vda mounted on /data with fstype ext4\n';
    expect(rewriteMountstats(stats)).toBe(
      'device overlay mounted on / with fstype overlay\ndevice none mounted on /nfs with fstype nfs4\ndevice none mounted on /data with fstype ext4\n',
    );
  });

  it('meminfo: unchanged without a limit; under one, capped with the kernel\u2019s columns', () => {
    const text = 'MemTotal:       24683620 kB\nMemFree:        22627024 kB\nMemAvailable:   24026156 kB\nCached:          1500000 kB\nSwapTotal:       4000000 kB\nHugePages_Total:       0\n';
    expect(rewriteMeminfo(text, null, null)).toBe(text);
    expect(rewriteMeminfo(text, 1 << 30, null)).toBe(
      'MemTotal:        1048576 kB\nMemFree:         1048576 kB\nMemAvailable:    1048576 kB\nCached:          1048576 kB\nSwapTotal:       4000000 kB\nHugePages_Total:       0\n',
    );
    expect(rewriteMeminfo(text, 1 << 30, 256 << 20)).toMatch(/^MemTotal: +1048576 kB\nMemFree: +786432 kB\nMemAvailable: +786432 kB\n/);
    // A limit above the machine's memory shows the machine's.
    expect(rewriteMeminfo(text, 2 ** 50, null)).toMatch(/^MemTotal: +24683620 kB\nMemFree: +22627024 kB\n/);
  });

  it('cpuinfo keeps the blocks of allowed CPUs; CPU lists parse as the kernel writes them', () => {
    const text = 'processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n\nprocessor\t: 2\nmodel name\t: X\n\n';
    expect(filterCpuinfo(text, [1])).toBe('processor\t: 1\nmodel name\t: X\n\n');
    expect(filterCpuinfo(text, [0, 2])).toBe('processor\t: 0\nmodel name\t: X\n\nprocessor\t: 2\nmodel name\t: X\n\n');
    expect(filterCpuinfo(text, [7])).toBe(text);
    expect(parseCpuList('0-2,5,7-8\n')).toEqual([0, 1, 2, 5, 7, 8]);
    expect(() => parseCpuList('0-a')).toThrow();
  });

  it('cmdline and swaps; which procfs paths are served', () => {
    expect(cmdline('6.1.0')).toBe('BOOT_IMAGE=/vmlinuz-6.1.0 quiet\n');
    expect(swaps('Filename\tType\tSize\tUsed\tPriority\n/swapfile file 100 0 -2\n')).toBe('Filename\tType\tSize\tUsed\tPriority\n');
    expect(classify('/proc/12/mountinfo')).toBe('mountinfo');
    expect(classify('/proc/12/task/13/mounts')).toBe('mounts');
    expect(classify('/proc/12/mountstats (deleted)')).toBe('mountstats');
    expect(classify('/proc/meminfo')).toBe('meminfo');
    expect(classify('/proc/cpuinfo')).toBe('cpuinfo');
    expect(classify('/proc/sys/kernel/hostname')).toBeNull();
    expect(classify('/proc/12/net/mounts')).toBeNull();
    expect(classify('/proc/12/maps')).toBeNull();
  });
});
