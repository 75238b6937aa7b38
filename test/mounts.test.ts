/**
 * Mounts and the root: OCI mount semantics (src/oci/mounts.ts through the
 * launcher), /dev, the overlay modes of `tvisor do`, copy-up, and a package
 * installed with dpkg inside the Debian rootfs leaving it untouched.
 * After every test the host's mount table is what it was before.
 */
import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  chmodSync, chownSync, copyFileSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync,
  readlinkSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync,
} from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DEBIAN_ROOTFS, hostMounts, native, sandboxSh, TVISOR, tvisorDo } from './helpers.js';
import { LaunchError, runSandbox } from '../src/sandbox.js';
import { sandboxSpecFromOci, type OciConfig } from '../src/oci/config.js';
import { convertDevice, convertMount, DEFAULT_MOUNTS, MountError, MOUNT_ATTR, MS, rootSetup } from '../src/oci/mounts.js';
import type { Overlay } from '../src/sandbox.js';

let dir: string;
let mountsBefore: string;

beforeAll(() => {
  dir = mkdtempSync('/tmp/tvisor-mnt-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));
beforeEach(() => {
  mountsBefore = hostMounts();
});
afterEach(() => {
  // Nothing leaks: every mount lived in the sandbox's mount namespace.
  expect(hostMounts()).toBe(mountsBefore);
  expect(native(['findmnt', '-rn', '-o', 'TARGET']).stdout).not.toMatch(/tvisor-mnt-/);
});

/** sha256 over a tree: names, types, modes, owners, mtimes (ns), device numbers, link targets, contents. */
function treeHash(root: string): string {
  const h = createHash('sha256');
  const walk = (rel: string): void => {
    const p = rel ? join(root, rel) : root;
    const st = lstatSync(p, { bigint: true });
    h.update(`${rel}\0${st.mode}\0${st.uid}\0${st.gid}\0${st.mtimeNs}\0${st.rdev}\0${st.size}\0`);
    if (st.isSymbolicLink()) h.update(readlinkSync(p));
    else if (st.isFile()) h.update(createHash('sha256').update(readFileSync(p)).digest());
    else if (st.isDirectory()) for (const e of readdirSync(p).sort()) walk(rel ? `${rel}/${e}` : e);
  };
  walk('');
  return h.digest('hex');
}

/** A tiny rootfs: the host's busybox, its libraries, a few applets, /data with three files. */
function tinyRootfs(name: string): string {
  const r = join(dir, name);
  for (const d of ['bin', 'proc', 'dev', 'sys', 'tmp', 'data']) mkdirSync(join(r, d), { recursive: true });
  copyFileSync('/bin/busybox', join(r, 'bin/busybox'));
  chmodSync(join(r, 'bin/busybox'), 0o755);
  for (const m of native(['ldd', '/bin/busybox']).stdout.matchAll(/(\/\S+) \(0x/g)) {
    const lib = m[1]!;
    mkdirSync(join(r, dirname(lib)), { recursive: true });
    copyFileSync(lib, join(r, lib));
  }
  for (const a of ['sh', 'cat', 'ls', 'stat', 'mv', 'rm', 'echo', 'touch', 'mkdir', 'sleep', 'df', 'grep', 'dd', 'true', 'readlink'])
    symlinkSync('busybox', join(r, 'bin', a));
  writeFileSync(join(r, 'data/f1'), 'one\n');
  writeFileSync(join(r, 'data/f2'), 'two\n');
  writeFileSync(join(r, 'data/f3'), 'three\n');
  return r;
}

const PATH_ENV = 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const NAMESPACES = ['pid', 'ipc', 'uts', 'mount', 'cgroup', 'network'].map((type) => ({ type }));

/**
 * Runs `script` under /bin/sh in the sandbox an OCI config describes (through the exported API:
 * sandboxSpecFromOci + runSandbox); its output goes to a host file bound at /out.
 */
async function runOci(config: OciConfig, script: string, overlay?: Overlay): Promise<{ code: number; out: string; outDir: string }> {
  const out = mkdtempSync(join(dir, 'out-'));
  const cfg: OciConfig = {
    ...config,
    process: { args: ['/bin/sh', '-c', `exec >/out/log 2>&1\n${script}`], env: [PATH_ENV], cwd: '/' },
    mounts: [...(config.mounts ?? []), { destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] }],
    linux: { namespaces: NAMESPACES, ...config.linux },
  };
  const code = await runSandbox(sandboxSpecFromOci(cfg, { bundle: dir, overlay }));
  return { code, out: existsSync(join(out, 'log')) ? readFileSync(join(out, 'log'), 'utf8') : '', outDir: out };
}

/** The mountinfo line of mount point `target`, from the sandbox's /proc/self/mountinfo text. */
function mountLine(mountinfo: string, target: string): string {
  return mountinfo.split('\n').find((l) => l.split(' ')[4] === target) ?? '';
}

describe('OCI mounts (config.md "mounts", runc option names)', () => {
  let host: Record<string, string>;
  beforeAll(() => {
    host = {};
    for (const n of ['rw', 'ro', 'noexec', 'nosuid', 'shared', 'slave', 'unbindable']) {
      host[n] = join(dir, `src-${n}`);
      mkdirSync(host[n]!);
      writeFileSync(join(host[n]!, 'file'), `${n}\n`);
    }
    writeFileSync(join(host.noexec!, 'prog'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  });

  const config = (): OciConfig => ({
    root: { path: DEBIAN_ROOTFS },
    mounts: [
      ...DEFAULT_MOUNTS,
      { destination: '/sys/fs/cgroup', type: 'cgroup', source: 'cgroup', options: ['nosuid', 'noexec', 'nodev', 'relatime', 'ro'] },
      { destination: '/m/rw', type: 'bind', source: host.rw!, options: ['rbind', 'rw'] },
      { destination: '/m/ro', type: 'bind', source: host.ro!, options: ['rbind', 'ro'] },
      { destination: '/m/noexec', source: host.noexec!, options: ['bind', 'noexec'] },
      { destination: '/m/nosuid', type: 'bind', source: host.nosuid!, options: ['rbind', 'nosuid', 'nodev'] },
      { destination: '/m/shared', type: 'bind', source: host.shared!, options: ['rbind', 'rshared'] },
      { destination: '/m/slave', type: 'bind', source: host.slave!, options: ['rbind', 'rslave'] },
      { destination: '/m/unbindable', type: 'bind', source: host.unbindable!, options: ['bind', 'unbindable'] },
      { destination: '/m/file', type: 'bind', source: join(host.rw!, 'file'), options: ['bind', 'ro'] },
      { destination: '/m/tmp', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'size=1m', 'mode=1750', 'uid=12', 'gid=34'] },
      { destination: '/m/cg2', type: 'cgroup2', source: 'cgroup2', options: ['nosuid'] },
    ],
    linux: {
      devices: [
        { type: 'c', path: '/dev/mynull', major: 1, minor: 3, fileMode: 0o620, uid: 1, gid: 2 },
        { type: 'p', path: '/dev/myfifo', fileMode: 0o600 },
      ],
      maskedPaths: ['/etc/apt', '/etc/debian_version', '/proc/kcore', '/no/such/path'],
      readonlyPaths: ['/var/cache', '/proc/sys'],
    },
  });

  it('bind rw/ro, a bound file, noexec (EACCES), nosuid, tmpfs size (ENOSPC) and mode, propagation', async () => {
    const r = await runOci(
      config(),
      [
        'echo new > /m/rw/new && echo rw-ok',
        'echo x > /m/ro/new || echo ro-refused',
        'echo x > /m/file || echo file-ro-refused; cat /m/file',
        '/m/noexec/prog; echo noexec-rc=$?',
        'cat /m/nosuid/file',
        'stat -c "tmpfs %a %u:%g" /m/tmp',
        'dd if=/dev/zero of=/m/tmp/big bs=64k count=100 2>&1 | grep -o "No space left on device"',
        'cat /proc/self/mountinfo > /out/mountinfo',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      'rw-ok\n' +
        "/bin/sh: 3: cannot create /m/ro/new: Read-only file system\nro-refused\n" +
        "/bin/sh: 4: cannot create /m/file: Read-only file system\nfile-ro-refused\nrw\n" +
        '/bin/sh: 5: /m/noexec/prog: Permission denied\nnoexec-rc=126\n' +
        'nosuid\n' +
        'tmpfs 1750 12:34\n' +
        'No space left on device\n',
    );
    expect(readFileSync(join(host.rw!, 'new'), 'utf8')).toBe('new\n');
    expect(existsSync(join(host.ro!, 'new'))).toBe(false);
    const mi = readFileSync(join(r.outDir, 'mountinfo'), 'utf8');
    const opts = (t: string): string[] => mountLine(mi, t).split(' ')[5]!.split(',');
    expect(opts('/m/ro')).toContain('ro');
    expect(opts('/m/rw')).toContain('rw');
    expect(opts('/m/rw')).not.toContain('nosuid'); // the host's / is not nosuid: only what was asked
    expect(opts('/m/nosuid')).toEqual(expect.arrayContaining(['nosuid', 'nodev']));
    expect(opts('/m/noexec')).toContain('noexec');
    expect(mountLine(mi, '/m/tmp').split(' - ')[1]).toMatch(/^tmpfs tmpfs rw,size=1024k,.*mode=1750,uid=12,gid=34/);
    // Propagation: shared gets a peer group, unbindable is marked, private and slave-of-private have no tag.
    expect(mountLine(mi, '/m/shared')).toMatch(/ shared:\d+ - /);
    expect(mountLine(mi, '/m/unbindable')).toMatch(/ unbindable - /);
    expect(mountLine(mi, '/m/slave')).toMatch(/^\S+ \S+ \S+ \S+ \/m\/slave \S+ - /);
    expect(mountLine(mi, '/m/rw')).toMatch(/^\S+ \S+ \S+ \S+ \/m\/rw \S+ - /);
  });

  it('cgroup and cgroup2: read-only, the sandbox\u2019s own view (cgroup namespace)', async () => {
    const r = await runOci(
      config(),
      [
        'grep -E " /sys/fs/cgroup(/[a-z,_=]+)? | /m/cg2 " /proc/self/mountinfo | cut -d" " -f5,6 | cut -d, -f1',
        'ls /sys/fs/cgroup | head -3 >/dev/null; test -n "$(ls /sys/fs/cgroup)" && echo has-hierarchies',
        'test -e /m/cg2/cgroup.procs && echo cg2-procs',
        'mkdir /m/cg2/x 2>/dev/null || echo cg2-mkdir-refused',
        'echo not-at-root=$(grep -vc ":/$" /proc/self/cgroup)',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    const mountsRo = lines.filter((l) => l.startsWith('/sys/fs/cgroup') || l.startsWith('/m/cg2'));
    expect(mountsRo.length).toBeGreaterThanOrEqual(2);
    for (const l of mountsRo) expect(l).toMatch(/ ro$/);
    expect(r.out).toContain('has-hierarchies\ncg2-procs\ncg2-mkdir-refused\n');
    expect(lines).toContain('not-at-root=0'); // in every hierarchy its cgroup is the namespace's root
  });

  it('linux.devices (char, FIFO) and the exact /dev; masked and read-only paths', async () => {
    const r = await runOci(
      config(),
      [
        'stat -c "%n %F %t:%T %a %u:%g" /dev/mynull /dev/myfifo',
        'ls -A /dev | tr "\\n" " "; echo',
        'ls -A /etc/apt | wc -l; cat /etc/debian_version | wc -c',
        'touch /var/cache/x 2>&1 || true; echo 1 > /proc/sys/kernel/domainname 2>&1 || true',
        'echo x > /etc/apt/y 2>&1 || true',
      ].join('\n'),
    );
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      '/dev/mynull character special file 1:3 620 1:2\n/dev/myfifo fifo 0:0 600 0:0\n' +
        'fd full mqueue myfifo mynull null ptmx pts random shm stderr stdin stdout tty urandom zero \n' +
        '0\n0\n' +
        "touch: cannot touch '/var/cache/x': Read-only file system\n" +
        '/bin/sh: 5: cannot create /proc/sys/kernel/domainname: Read-only file system\n' +
        '/bin/sh: 6: cannot create /etc/apt/y: Read-only file system\n',
    );
    // The host's rootfs has /etc/apt and /etc/debian_version: they were masked, not missing.
    expect(readdirSync(join(DEBIAN_ROOTFS, 'etc/apt')).length).toBeGreaterThan(0);
  });

  it('root.readonly: / is read-only (EROFS), mounts keep their own mode', async () => {
    const r = await runOci({ ...config(), root: { path: DEBIAN_ROOTFS, readonly: true } }, 'touch /newfile; mkdir /etc/x; echo ok > /m/tmp/f && cat /m/tmp/f');
    expect(r.out).toBe(
      "touch: cannot touch '/newfile': Read-only file system\nmkdir: cannot create directory '/etc/x': Read-only file system\nok\n",
    );
  });

  it('a symlink in the rootfs cannot lead a mount destination out of it (overlay memory and none)', async () => {
    const hostSide = join(dir, 'host-side');
    mkdirSync(hostSide);
    const evilSrc = join(dir, 'evil-src');
    writeFileSync(evilSrc, 'bound\n');
    for (const overlay of ['memory', 'none'] as const) {
      const rootfs = tinyRootfs(`tiny-evil-${overlay}`);
      symlinkSync(hostSide, join(rootfs, 'evil')); // absolute: the host's directory, were it followed on the host
      symlinkSync(`../../../../../../..${hostSide}`, join(rootfs, 'data/evil2'));
      symlinkSync(`${hostSide}/dangling`, join(rootfs, 'evil3'));
      const r = await runOci(
        {
          root: { path: rootfs },
          mounts: [
            ...DEFAULT_MOUNTS,
            { destination: '/evil/x', type: 'tmpfs', source: 'tmpfs', options: ['size=1m'] },
            { destination: '/data/evil2/y', type: 'bind', source: evilSrc, options: ['bind', 'ro'] },
            { destination: '/evil3', type: 'tmpfs', source: 'tmpfs' },
          ],
        },
        `cat /evil/x/../y; grep -o " ${hostSide}/[a-z]* " /proc/self/mountinfo`,
        overlay,
      );
      expect(r.code, r.out).toBe(0);
      expect(r.out).toBe(`bound\n ${hostSide}/x \n ${hostSide}/y \n ${hostSide}/dangling \n`);
      expect(readdirSync(hostSide)).toEqual([]); // the host's directory is untouched
      if (overlay === 'none') expect(readdirSync(join(rootfs, hostSide)).sort()).toEqual(['dangling', 'x', 'y']);
      else expect(existsSync(join(rootfs, hostSide))).toBe(false);
    }
  });

  it('unknown types and options are errors naming the mount', async () => {
    expect(() => convertMount({ destination: '/x', type: 'ext4', source: '/dev/sda' }, 3)).toThrow(
      /^mounts\[3\] \(\/x\): unsupported type "ext4"/,
    );
    expect(() => convertMount({ destination: '/x', type: 'bind', source: '/tmp', options: ['rbind', 'bogus'] }, 0)).toThrow(
      /^mounts\[0\] \(\/x\): unknown option "bogus" for a bind mount/,
    );
    expect(() => convertMount({ destination: '/x', type: 'tmpfs', options: ['sise=1m'] }, 1)).toThrow(/^mounts\[1\] \(\/x\): unknown option "sise=1m" for tmpfs/);
    expect(() => convertMount({ destination: 'rel', type: 'tmpfs' }, 2)).toThrow(/^mounts\[2\] \(rel\): the path must be absolute/);
    expect(() => convertMount({ destination: '/x', type: 'bind', source: '/tmp', options: ['bind', 'sync'] }, 0)).toThrow(/superblock/);
    expect(() => convertDevice({ type: 'b', path: '/dev/sda', major: 8, minor: 0 }, 0)).toThrow(/linux.devices\[0\] \(\/dev\/sda\): block devices are not supported/);
    // What the launcher finds out (a missing source, a bad value) is a LaunchError naming the mount too.
    await expect(runOci({ root: { path: DEBIAN_ROOTFS }, mounts: [{ destination: '/x', type: 'bind', source: '/no/such/src' }] }, 'true')).rejects.toThrow(
      new LaunchError('mount: bind mount /no/such/src on /x: source: No such file or directory'),
    );
    await expect(runOci({ root: { path: DEBIAN_ROOTFS }, mounts: [{ destination: '/x', type: 'tmpfs', options: ['size=lots'] }] }, 'true')).rejects.toThrow(
      /^mount: tmpfs mount on \/x with size=lots: Invalid argument$/,
    );
    // `do`: exit 125, one line naming the volume.
    const r = tvisorDo(['true'], ['-v', `${dir}:/x:ro,bogus`]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe(`tvisor: volume ${dir}:/x:ro,bogus: unknown option "bogus" for a bind mount\n`);
    const t = tvisorDo(['true'], ['--tmpfs', '/x:sise=1']);
    expect(t.status).toBe(125);
    expect(t.stderr).toMatch(/^tvisor: --tmpfs \/x:sise=1: unknown option "sise=1" for tmpfs/);
  });

  it('maps options to mount_setattr attributes and mount(2) flags (later options win)', () => {
    expect(convertMount({ destination: '/a', type: 'bind', source: '/s', options: ['rbind', 'ro', 'rw', 'noexec', 'noatime', 'rslave'] }, 0)).toEqual({
      kind: 'bind', source: '/s', destination: '/a', recursive: true, attrSet: MOUNT_ATTR.NOEXEC | MOUNT_ATTR.NOATIME,
      attrClear: MOUNT_ATTR.RDONLY | MOUNT_ATTR.ATIME_MASK, propagation: MS.SLAVE | MS.REC,
    });
    expect(convertMount({ destination: '/b/', type: 'tmpfs', options: ['ro', 'nosuid', 'size=1m', 'mode=700', 'private'] }, 0)).toEqual({
      kind: 'fs', type: 'tmpfs', source: 'tmpfs', destination: '/b', flags: MS.RDONLY | MS.NOSUID, data: 'size=1m,mode=700', propagation: MS.PRIVATE,
    });
    const s = rootSetup({ root: { path: 'rootfs', readonly: true }, mounts: [{ destination: '/dev', type: 'tmpfs' }], linux: { maskedPaths: ['/m'], readonlyPaths: ['/r'] } }, { bundle: '/b' });
    expect(s.rootfs).toBe('/b/rootfs');
    expect(s.readonly).toBe(true);
    expect(s.mounts.map((m) => m.kind)).toEqual(['fs', 'device', 'device', 'device', 'device', 'device', 'device', 'devlinks', 'readonly', 'mask']);
    // /dev bound from the host: no devices made in it (runc's rule).
    expect(rootSetup({ mounts: [{ destination: '/dev', type: 'bind', source: '/dev' }] }).mounts.map((m) => m.kind)).toEqual(['bind']);
  });
});

describe('/dev', () => {
  it('holds exactly the standard nodes and links; a pty can be opened through /dev/ptmx', () => {
    const r = sandboxSh('ls -A /dev | tr "\\n" " "; echo; readlink /dev/ptmx /dev/fd /dev/stdin; python3 -c "import os; m, s = os.openpty(); print(os.ttyname(s))"');
    expect(r.stdout).toBe(
      'fd full mqueue null ptmx pts random shm stderr stdin stdout tty urandom zero \npts/ptmx\n/proc/self/fd\n/proc/self/fd/0\n/dev/pts/0\n',
    );
  });
});

describe('overlay modes of tvisor do', () => {
  it('--overlay=memory (default): a file changed, deleted and renamed inside leaves the lower byte-identical', () => {
    const rootfs = tinyRootfs('tiny-mem');
    const before = treeHash(rootfs);
    const r = tvisorDo(['sh', '-c', 'echo more >> /data/f1; rm /data/f2; mv /data/f3 /data/f3.renamed; echo new > /data/f4; cat /data/f1; ls /data'], [
      '--rootfs', rootfs,
    ]);
    expect(r.stdout).toBe('one\nmore\nf1\nf3.renamed\nf4\n');
    expect(treeHash(rootfs)).toBe(before);
    // The hash sees such changes (so the comparison above can fail).
    writeFileSync(join(rootfs, 'data/f1'), 'one\n', { flag: 'a' });
    expect(treeHash(rootfs)).not.toBe(before);
  });

  it('--overlay=dir=PATH keeps exactly the changes in PATH/upper (whiteouts are 0:0 char devices) and can be reused', () => {
    const rootfs = tinyRootfs('tiny-dir');
    const before = treeHash(rootfs);
    const ovl = join(dir, 'ovl');
    const r = tvisorDo(['sh', '-c', 'echo more >> /data/f1; rm /data/f2; mv /data/f3 /data/f3.renamed; ls /data'], ['--rootfs', rootfs, `--overlay=dir=${ovl}`]);
    expect(r.stdout).toBe('f1\nf3.renamed\n');
    expect(treeHash(rootfs)).toBe(before);
    expect(readdirSync(ovl).sort()).toEqual(['upper', 'work']);
    expect(statSync(ovl).mode & 0o777).toBe(0o700);
    const up = join(ovl, 'upper');
    const listing: string[] = [];
    const walk = (rel: string): void => {
      for (const e of readdirSync(join(up, rel)).sort()) {
        const st = lstatSync(join(up, rel, e));
        const kind = st.isDirectory() ? 'dir' : st.isCharacterDevice() ? `chr rdev=${st.rdev}` : 'file';
        listing.push(`${rel}${e} ${kind}`);
        if (st.isDirectory()) walk(`${rel}${e}/`);
      }
    };
    walk('');
    expect(listing).toEqual(['data dir', 'data/f1 file', 'data/f2 chr rdev=0', 'data/f3 chr rdev=0', 'data/f3.renamed file']);
    expect(readFileSync(join(up, 'data/f1'), 'utf8')).toBe('one\nmore\n');
    expect(readFileSync(join(up, 'data/f3.renamed'), 'utf8')).toBe('three\n');
    // Reused: the next sandbox sees the same changes.
    expect(tvisorDo(['sh', '-c', 'cat /data/f1; ls /data'], ['--rootfs', rootfs, `--overlay=dir=${ovl}`]).stdout).toBe('one\nmore\nf1\nf3.renamed\n');
  });

  it('--overlay=dir=PATH is refused inside the lower, when others can reach it, and while another sandbox uses it', async () => {
    const rootfs = tinyRootfs('tiny-refuse');
    const inLower = tvisorDo(['true'], ['--rootfs', rootfs, `--overlay=dir=${rootfs}/data/ovl`]);
    expect(inLower.status).toBe(125);
    expect(inLower.stderr).toMatch(/inside the lower layer/);
    const hostLower = tvisorDo(['true'], [`--overlay=dir=${dir}/ovl-host`]); // /tmp is on the host's / file system here
    if (statSync(dir).dev === statSync('/').dev) {
      expect(hostLower.status).toBe(125);
      expect(hostLower.stderr).toMatch(/inside the lower layer \(the host.s \/ file system\)/);
    }
    const open = join(dir, 'ovl-open');
    mkdirSync(open, { mode: 0o755 });
    chmodSync(open, 0o755);
    const reach = tvisorDo(['true'], ['--rootfs', rootfs, `--overlay=dir=${open}`]);
    expect(reach.status).toBe(125);
    expect(reach.stderr).toMatch(/other users can reach it \(mode 755\)/);
    const ovl = join(dir, 'ovl-busy');
    const first = spawn(process.execPath, [TVISOR, 'do', '--rootfs', rootfs, `--overlay=dir=${ovl}`, '--', 'sh', '-c', 'echo up; sleep 3'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((res) => {
      first.stdout.once('data', () => res());
      first.once('exit', () => res());
    });
    expect(first.exitCode).toBe(null); // still running
    const second = tvisorDo(['true'], ['--rootfs', rootfs, `--overlay=dir=${ovl}`]);
    expect(second.status).toBe(125);
    expect(second.stderr).toMatch(/is in use by another sandbox/);
    expect(await new Promise((res) => first.once('exit', res))).toBe(0);
    expect(tvisorDo(['true'], ['--rootfs', rootfs, `--overlay=dir=${ovl}`]).status).toBe(0);
  });

  it('--overlay=none writes the rootfs itself, and is refused without --rootfs (the host / is never writable)', () => {
    const rootfs = tinyRootfs('tiny-none');
    const r = tvisorDo(['sh', '-c', 'echo more >> /data/f1; rm /data/f2'], ['--rootfs', rootfs, '--overlay=none']);
    expect(r.status).toBe(0);
    expect(readFileSync(join(rootfs, 'data/f1'), 'utf8')).toBe('one\nmore\n');
    expect(existsSync(join(rootfs, 'data/f2'))).toBe(false);
    const host = tvisorDo(['true'], ['--overlay=none']);
    expect(host.status).toBe(125);
    expect(host.stderr).toBe('tvisor: --overlay=none needs --rootfs: the host\u2019s / is never writable\n');
    for (const slash of ['/', '/usr/..', '//']) {
      const r2 = tvisorDo(['sh', '-c', 'echo x > /var/tmp/tvisor-overlay-none-probe'], ['--rootfs', slash, '--overlay=none']);
      expect(r2.status).toBe(125);
      expect(r2.stderr).toBe('tvisor: --overlay=none with --rootfs /: the host\u2019s / is never writable\n');
    }
    expect(existsSync('/var/tmp/tvisor-overlay-none-probe')).toBe(false);
  });

  it('overlay "none" on the host\u2019s / is refused by identity: a bind mount of /, and through the library', async () => {
    const bind = join(dir, 'rootbind');
    mkdirSync(bind);
    const r = native([
      'unshare', '-m', '--propagation', 'private', 'sh', '-c',
      `mount --bind / ${bind} && exec ${process.execPath} ${TVISOR} do --rootfs ${bind} --overlay=none -- true`,
    ]);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('tvisor: --overlay=none with --rootfs /: the host\u2019s / is never writable\n');
    const cfg = {
      ociVersion: '1.0.2',
      root: { path: '/' },
      process: { args: ['true'], cwd: '/' },
      linux: { namespaces: [{ type: 'mount' }, { type: 'pid' }] },
    } as OciConfig;
    const spec = sandboxSpecFromOci(cfg, {
      bundle: dir,
      overlay: 'none',
    });
    await expect(runSandbox(spec)).rejects.toThrow(LaunchError);
  });

  it('a volume may not reach the --overlay=dir directory (nor the directory hold a volume)', () => {
    const rootfs = tinyRootfs('tiny-ovl-vol');
    const parent = join(dir, 'ovl-parent');
    mkdirSync(join(parent, 'ovl'), { recursive: true, mode: 0o700 });
    chmodSync(join(parent, 'ovl'), 0o700);
    const pbind = join(dir, 'ovl-parent-bind');
    mkdirSync(pbind);
    const viaBind = native([
      'unshare', '-m', '--propagation', 'private', 'sh', '-c',
      `mount --bind ${parent} ${pbind} && exec ${process.execPath} ${TVISOR} do --rootfs ${rootfs} --overlay=dir=${join(parent, 'ovl')} -v ${pbind}:/x -- true`,
    ]);
    expect(viaBind.status).toBe(125);
    expect(viaBind.stderr).toMatch(/contains or lies inside the --overlay directory/);
    for (const v of [`${parent}:/x`, `${join(parent, 'ovl')}:/x`]) {
      const r = tvisorDo(['true'], ['--rootfs', rootfs, `--overlay=dir=${join(parent, 'ovl')}`, '-v', v]);
      expect(r.status).toBe(125);
      expect(r.stderr).toMatch(/contains or lies inside the --overlay directory/);
    }
  });

  it('--read-only makes / read-only (EROFS), volumes and --tmpfs stay writable', () => {
    const r = tvisorDo(['sh', '-c', 'touch /etc/x 2>&1; echo ok > /scratch/f && cat /scratch/f'], ['--read-only', '--tmpfs', '/scratch:size=1m']);
    expect(r.stdout).toBe("touch: cannot touch '/etc/x': Read-only file system\nok\n");
  });

  it('copy-up keeps mode, owner, mtime and user xattrs (tmpfs upper and PATH/upper)', () => {
    const rootfs = tinyRootfs('tiny-attrs');
    const f = join(rootfs, 'data/attrs');
    writeFileSync(f, 'attrs\n');
    chmodSync(f, 0o640);
    chownSync(f, 1234, 5678);
    utimesSync(f, 1000000000, 1000000007);
    native(['python3', '-c', `import os; os.setxattr(${JSON.stringify(f)}, 'user.k', b'v1')`]);
    const ovl = join(dir, 'ovl-attrs');
    // `: >>` opens the file for writing (copy-up) without changing it.
    const r = tvisorDo(['sh', '-c', ': >> /data/attrs; stat -c "%a %u:%g %Y" /data/attrs'], ['--rootfs', rootfs, `--overlay=dir=${ovl}`]);
    expect(r.stdout).toBe('640 1234:5678 1000000007\n');
    const up = join(ovl, 'upper/data/attrs');
    const st = statSync(up);
    expect([st.mode & 0o7777, st.uid, st.gid, st.mtimeMs]).toEqual([0o640, 1234, 5678, 1000000007000]);
    expect(native(['python3', '-c', `import os; print(os.getxattr(${JSON.stringify(up)}, 'user.k'))`]).stdout).toBe("b'v1'\n");

    // The memory mode, with the host's / as lower: the file lives on the host's / file system.
    const hf = join(dir, 'host-attrs');
    writeFileSync(hf, 'attrs\n');
    chmodSync(hf, 0o640);
    chownSync(hf, 1234, 5678);
    utimesSync(hf, 1000000000, 1000000007);
    native(['python3', '-c', `import os; os.setxattr(${JSON.stringify(hf)}, 'user.k', b'v1')`]);
    const script =
      `import os; f = ${JSON.stringify(hf)}; open(f, 'a').close(); s = os.stat(f)\n` +
      `print(oct(s.st_mode & 0o7777), s.st_uid, s.st_gid, s.st_mtime_ns, os.getxattr(f, 'user.k'))\n` +
      `os.setxattr(f, 'user.new', b'v2'); print(sorted(os.listxattr(f)))`;
    const m = tvisorDo(['python3', '-c', script]);
    expect(m.stdout).toBe("0o640 1234 5678 1000000007000000000 b'v1'\n['user.k', 'user.new']\n");
    // The lower did not get the new xattr: it was set on the copy in the tmpfs upper.
    expect(native(['python3', '-c', `import os; print(sorted(os.listxattr(${JSON.stringify(hf)})))`]).stdout).toBe("['user.k']\n");
  });

  it('df / and statfs show the overlay with a size (the upper layer\u2019s file system)', () => {
    const r = sandboxSh('df -P / | tail -1; python3 -c "import os; s = os.statvfs(\'/\'); print(s.f_blocks > 0, s.f_bavail > 0)"');
    const [line, statvfs] = r.stdout.split('\n');
    const [fs, blocks] = line!.split(/\s+/);
    expect(fs).toBe('overlay');
    expect(Number(blocks)).toBeGreaterThan(1024);
    expect(statvfs).toBe('True True');
  });
});

describe('dpkg inside the Debian rootfs', () => {
  it('installs a local .deb (dpkg -i) and leaves the rootfs byte-identical', () => {
    const pkg = join(dir, 'pkg');
    mkdirSync(join(pkg, 'DEBIAN'), { recursive: true });
    mkdirSync(join(pkg, 'usr/bin'), { recursive: true });
    mkdirSync(join(pkg, 'usr/share/tvisor-hello'), { recursive: true });
    writeFileSync(join(pkg, 'DEBIAN/control'), 'Package: tvisor-hello\nVersion: 1.0\nArchitecture: all\nMaintainer: tvisor tests <tests@localhost>\nDescription: a tiny test package\n');
    writeFileSync(join(pkg, 'usr/bin/tvisor-hello'), '#!/bin/sh\necho hello from tvisor-hello\n', { mode: 0o755 });
    writeFileSync(join(pkg, 'usr/share/tvisor-hello/data.txt'), 'data\n');
    // (The sentry ran in this process for the OCI tests and changed its umask: modes are set explicitly.)
    for (const d of ['', 'DEBIAN', 'usr', 'usr/bin', 'usr/share', 'usr/share/tvisor-hello']) chmodSync(join(pkg, d), 0o755);
    chmodSync(join(pkg, 'DEBIAN/control'), 0o644);
    chmodSync(join(pkg, 'usr/share/tvisor-hello/data.txt'), 0o644);
    chmodSync(join(pkg, 'usr/bin/tvisor-hello'), 0o755);
    const deb = join(dir, 'tvisor-hello.deb');
    execFileSync('dpkg-deb', ['--root-owner-group', '--build', pkg, deb], { stdio: 'ignore' });
    const before = treeHash(DEBIAN_ROOTFS);
    const r = tvisorDo(['sh', '-c', 'dpkg -i /tmp/p.deb >/dev/null && tvisor-hello && dpkg -s tvisor-hello | grep ^Status && cat /usr/share/tvisor-hello/data.txt'], [
      '--rootfs', DEBIAN_ROOTFS, '-v', `${deb}:/tmp/p.deb:ro`,
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('hello from tvisor-hello\nStatus: install ok installed\ndata\n');
    expect(existsSync(join(DEBIAN_ROOTFS, 'usr/bin/tvisor-hello'))).toBe(false);
    expect(treeHash(DEBIAN_ROOTFS)).toBe(before);
  });
});
