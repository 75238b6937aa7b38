/**
 * Identity: user namespaces (`tvisor do --userns`, OCI linux.uidMappings), the idmapped root file system, the
 * capability rule for inodes not mapped in the namespace, chown id translation, uname's release and hostname,
 * and sethostname only in a private UTS namespace. Native references run under test/c/userns_run.c, a user
 * namespace with the same map.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_ROOTFS, launcherPids, native, ROOT, sandboxSh, tvisorDo } from './helpers.js';
import { idMapText, LaunchError, runSandbox, sandboxSettings } from '../src/sandbox.js';
import { sandboxSpecFromOci, type OciConfig } from '../src/oci/config.js';
import { parseUserns } from '../src/cli/do.js';
import { decodeUtsname, encodeUtsname, UTSNAME_SIZE } from '../sentry/syscalls/identity.js';
import { statusInNamespace } from '../sentry/kernel/userns.js';
import { buildFilterInsns, runFilter, AUDIT_ARCH_X86_64, SECCOMP_RET_ALLOW, SECCOMP_RET_USER_NOTIF } from '../sentry/platform/bpf.js';
import { entryNamed } from '../sentry/syscalls/table.js';

let dir: string;
let vol: string;
let usernsRun: string;
const U = ['--userns'];

beforeAll(() => {
  dir = mkdtempSync('/tmp/tvisor-identity-');
  chmodSync(dir, 0o755);
  vol = join(dir, 'vol');
  mkdirSync(vol, { mode: 0o777 });
  chmodSync(vol, 0o1777);
  usernsRun = join(dir, 'userns_run');
  execFileSync('gcc', ['-O2', '-o', usernsRun, join(ROOT, 'test/c/userns_run.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Runs `cmd` natively as root of a user namespace mapping 0..65535 to 100000.. (tvisor do --userns's default). */
const inUserns = (cmd: string[]) => native([usernsRun, '100000', '65536', ...cmd]);

describe('tvisor do --userns', () => {
  it('root inside: id, python and /proc/self/status say 0; the map is 0 100000 65536', () => {
    const r = sandboxSh(
      'id -u; id -g; python3 -c "import os; print(os.getuid(), os.geteuid(), os.getgid(), os.getegid())"; grep ^Uid: /proc/self/status; cat /proc/self/uid_map',
      U,
    );
    expect(r.stderr).toBe('');
    const lines = r.stdout.trim().split('\n');
    expect(lines.slice(0, 3)).toEqual(['0', '0', '0 0 0 0']);
    expect(lines[3]).toMatch(/^Uid:\s+0\s+0\s+0\s+0$/);
    expect(lines[4]!.trim().split(/\s+/)).toEqual(['0', '100000', '65536']);
    expect(r.status).toBe(0);
  });

  it('a file created on a volume is owned by host uid 100000', () => {
    const r = sandboxSh('echo hi > /v/made-by-root && mkdir /v/dir-by-root', [...U, '-v', `${vol}:/v`]);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(vol, 'made-by-root'))).toMatchObject({ uid: 100000, gid: 100000 });
    expect(statSync(join(vol, 'dir-by-root'))).toMatchObject({ uid: 100000, gid: 100000 });
  });

  it('the root file system is root-owned inside through an idmapped mount, unchanged on the host', () => {
    const before = statSync('/usr/bin/env');
    const r = sandboxSh('stat -c "%u %g" /usr/bin/env /; touch /etc/tvisor-userns-x && stat -c "%u %g" /etc/tvisor-userns-x', U);
    expect(r.stdout.trim().split('\n')).toEqual(['0 0', '0 0', '0 0']);
    const after = statSync('/usr/bin/env');
    expect([after.uid, after.gid, after.mode, after.ctimeMs]).toEqual([before.uid, before.gid, before.mode, before.ctimeMs]);
    expect(existsSync('/etc/tvisor-userns-x')).toBe(false);
  });

  it('the same in a Debian rootfs (ls -ln /; proc and sys are the kernel\u2019s, owned by the host\u2019s root: 65534, as natively)', () => {
    const r = tvisorDo(['/bin/sh', '-c', 'ls -ln / | awk "NR>1 {print \\$3, \\$4, \\$9}"'], [...U, '--rootfs', DEBIAN_ROOTFS]);
    const owners = new Map(r.stdout.trim().split('\n').map((l) => [l.split(' ')[2], l.split(' ').slice(0, 2).join(' ')]));
    expect(owners.get('usr')).toBe('0 0');
    expect(owners.get('proc')).toBe('65534 65534');
    expect([...owners].filter(([n, o]) => o !== '0 0' && n !== 'proc' && n !== 'sys')).toEqual([]);
  });

  it('device nodes are the host\u2019s, bound (mknod is refused in a user namespace) and usable', () => {
    const r = sandboxSh('echo x > /dev/null && head -c 4 /dev/zero | od -An -tx1 && stat -c "%t:%T" /dev/null /dev/urandom', U);
    expect(r.status, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toEqual(['00 00 00 00', '1:3', '1:9']);
  });

  it('a host root-owned 0600 file on a volume: EACCES for root inside, as natively in such a namespace', () => {
    const secret = join(dir, 'secret');
    writeFileSync(secret, 'TOPSECRET\n', { mode: 0o600 });
    const n = inUserns(['cat', secret]);
    expect(n.status).toBe(1);
    expect(n.stderr).toMatch(/Permission denied/);
    const r = tvisorDo(['cat', '/v/secret'], [...U, '-v', `${dir}:/v`]);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/Permission denied/);
    expect(r.status).toBe(1);
    // Writing and chmod are refused too (DAC_OVERRIDE and FOWNER do not apply to the unmapped inode).
    const w = sandboxSh('echo x >> /v/secret; chmod 644 /v/secret; echo done', [...U, '-v', `${dir}:/v`]);
    expect(w.stderr).toMatch(/Permission denied[\s\S]*Operation not permitted/);
    expect(readFileSync(secret, 'utf8')).toBe('TOPSECRET\n');
    expect(statSync(secret).mode & 0o777).toBe(0o600);
  });

  it('a 0600 file of a mapped user (host 101000): root inside reads it with its capability, as natively', () => {
    const f = join(dir, 'mapped');
    writeFileSync(f, 'MAPPED\n', { mode: 0o600 });
    chownSync(f, 101000, 101000);
    expect(inUserns(['cat', f]).stdout).toBe('MAPPED\n');
    const r = tvisorDo(['cat', '/v/mapped'], [...U, '-v', `${dir}:/v`]);
    expect(r.stdout).toBe('MAPPED\n');
  });

  it('chown takes ids of the namespace: 1000:1000 is 101000 on the host; an unmapped id is EINVAL', () => {
    const r = sandboxSh('touch /v/owned && chown 1000:1000 /v/owned && stat -c "%u %g" /v/owned; chown 70000 /v/owned', [...U, '-v', `${vol}:/v`]);
    expect(r.stdout.trim()).toBe('1000 1000');
    expect(statSync(join(vol, 'owned'))).toMatchObject({ uid: 101000, gid: 101000 });
    const f = join(dir, 'native-owned');
    writeFileSync(f, '');
    chownSync(f, 100000, 100000);
    const n = inUserns(['chown', '70000', f]);
    expect(n.stderr).toMatch(/Invalid argument/);
    expect(r.stderr).toMatch(/Invalid argument/);
  });

  it('a file capability and an ACL set by path keep their ids in the namespace, as when set by fd (natively, in the kernel)', () => {
    const d = join(dir, 'xattr');
    mkdirSync(d);
    chownSync(d, 100000, 100000);
    for (const n of ['by-path', 'by-fd']) {
      writeFileSync(join(d, n), '');
      chownSync(join(d, n), 100000, 100000);
    }
    const py = `
import os, struct
cap = struct.pack('<IIIII', 0x02000001, 1 << 7, 0, 0, 0)  # v2: CAP_SETUID, effective
acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i) for t, p, i in
    [(1, 6, 0xffffffff), (2, 6, 1000), (4, 4, 0xffffffff), (0x10, 6, 0xffffffff), (0x20, 4, 0xffffffff)])
os.setxattr('/v/by-path', 'security.capability', cap)
os.setxattr('/v/by-path', 'system.posix_acl_access', acl)
fd = os.open('/v/by-fd', os.O_RDONLY)
os.setxattr(fd, 'security.capability', cap)
os.setxattr(fd, 'system.posix_acl_access', acl)
`;
    const r = tvisorDo(['python3', '-c', py], [...U, '-v', `${d}:/v`]);
    expect(r.stderr).toBe('');
    const read = (n: string, x: string): string => execFileSync('python3', ['-c', `import os; print(os.getxattr(${JSON.stringify(join(d, n))}, ${JSON.stringify(x)}).hex())`], { encoding: 'utf8' }).trim();
    for (const x of ['security.capability', 'system.posix_acl_access']) expect(read('by-path', x), x).toBe(read('by-fd', x));
    // A v3 capability with root id 100000: it grants nothing to a host process (the namespace's root is not host root).
    expect(read('by-path', 'security.capability')).toBe('01000003' + '80000000' + '0'.repeat(24) + 'a0860100');
    // The ACL names host uid 101000 (namespace uid 1000), not host uid 1000.
    expect(read('by-path', 'system.posix_acl_access')).toContain(Buffer.from([2, 0, 6, 0, 0x88, 0x8a, 0x01, 0x00]).toString('hex'));
  });

  it('O_CREAT|O_TRUNC racing a rename of a host-root-owned file into the name: never truncated (EACCES, as natively)', () => {
    const d = join(dir, 'race');
    mkdirSync(d);
    chownSync(d, 100000, 100000);
    writeFileSync(join(d, 'A'), 'host data\n', { mode: 0o644 }); // owned by host root: unmapped
    const py = `
import ctypes, os, threading, time
libc = ctypes.CDLL(None, use_errno=True)
def rename_noreplace(a, b):  # renameat2(RENAME_NOREPLACE): never replaces our own N
    libc.syscall(316, -100, a, -100, b, 1)
stop = time.time() + 3
def swap():
    while time.time() < stop:
        rename_noreplace(b'/v/A', b'/v/N'); rename_noreplace(b'/v/N', b'/v/A')
t = threading.Thread(target=swap); t.start()
opened = refused = 0
while time.time() < stop:
    try:
        fd = os.open('/v/N', os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
        opened += 1
        if os.fstat(fd).st_uid != 65534:  # our own new file (the victim shows as unmapped, 65534): remove it
            os.unlink('/v/N')
        os.close(fd)
    except PermissionError:
        refused += 1
t.join()
print('refused' if refused else 'never-raced', opened)
`;
    const r = tvisorDo(['python3', '-c', py], [...U, '-v', `${d}:/v`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^refused \d+/);
    const a = existsSync(join(d, 'A')) ? join(d, 'A') : join(d, 'N');
    expect(readFileSync(a, 'utf8')).toBe('host data\n');
    expect(statSync(a).uid).toBe(0);
  });

  it('no-follow calls with capabilities never reach an unmapped inode: not through "..", nor by a rename racing the check', () => {
    const v = join(dir, 'nofollow');
    mkdirSync(v, { mode: 0o755 }); // host root's: unmapped
    const app = join(v, 'app');
    mkdirSync(app);
    chownSync(app, 100000, 100000);
    writeFileSync(join(app, 'rootfile'), 'secret\n', { mode: 0o600 }); // host root's
    writeFileSync(join(app, 'own'), '');
    chownSync(join(app, 'own'), 100000, 100000);
    const py = `
import ctypes, os, struct, time
libc = ctypes.CDLL(None, use_errno=True)
def err(r):
    return 'ok' if r >= 0 else os.strerror(ctypes.get_errno())
print('lchown ..', err(libc.syscall(94, b'/vol/app/..', 0, 0)))
print('fchmodat2 ..', err(libc.syscall(452, -100, b'/vol/app/..', 0o777, 0x100)))
acl = struct.pack('<I', 2) + b''.join(struct.pack('<HHI', t, p, i) for t, p, i in
    [(1, 7, 0xffffffff), (2, 7, 0), (4, 5, 0xffffffff), (0x10, 7, 0xffffffff), (0x20, 5, 0xffffffff)])
print('lsetxattr ..', err(libc.lsetxattr(b'/vol/app/..', b'system.posix_acl_access', acl, len(acl), 0)))
pid = os.fork()
if pid == 0:
    end = time.time() + 3
    while time.time() < end:
        libc.syscall(316, -100, b'/vol/app/own', -100, b'/vol/app/rootfile', 2)  # RENAME_EXCHANGE
    os._exit(0)
end = time.time() + 3
while time.time() < end:
    libc.syscall(94, b'/vol/app/own', 100, 100)  # lchown
os.waitpid(pid, 0)
`;
    const r = tvisorDo(['python3', '-c', py], [...U, '-v', `${v}:/vol`]);
    expect(r.stdout).toBe('lchown .. Operation not permitted\nfchmodat2 .. Operation not permitted\nlsetxattr .. Operation not permitted\n');
    expect(statSync(v)).toMatchObject({ uid: 0, gid: 0, mode: 0o40755 });
    const name = existsSync(join(app, 'rootfile')) && readFileSync(join(app, 'rootfile'), 'utf8') === 'secret\n' ? 'rootfile' : 'own';
    expect(statSync(join(app, name))).toMatchObject({ uid: 0, gid: 0 }); // the host root's file, wherever the swaps left it
  });

  it('the host\u2019s /etc/shadow through the idmapped lower: as its mapped owner (root inside) allows, not to uid 1000', () => {
    const r = sandboxSh('head -c1 /etc/shadow >/dev/null && echo root-reads; setpriv --reuid 1000 --regid 1000 --clear-groups cat /etc/shadow', U);
    expect(r.stdout).toBe('root-reads\n');
    expect(r.stderr).toMatch(/Permission denied/);
  });

  it('setuid inside: uid 1000 creates files as host 101000; a setuid-root copy does not raise it (no_new_privs)', () => {
    const r = sandboxSh(
      'cp /usr/bin/id /tmp/suid-id && chmod 4755 /tmp/suid-id && setpriv --reuid 1000 --regid 1000 --clear-groups sh -c "/tmp/suid-id -u; touch /v/by-1000"',
      [...U, '-v', `${vol}:/v`],
    );
    expect(r.stdout.trim()).toBe('1000');
    expect(statSync(join(vol, 'by-1000'))).toMatchObject({ uid: 101000, gid: 101000 });
  });

  it('a nested user namespace is refused (EPERM from the filter)', () => {
    const py = 'import ctypes; l = ctypes.CDLL(None, use_errno=True); print(l.unshare(0x10000000), ctypes.get_errno())';
    const r = sandboxSh(`unshare -U true; python3 -c "${py}"`, U);
    expect(r.stderr).toMatch(/unshare failed: Operation not permitted/);
    expect(r.stdout).toBe('-1 1\n');
  });

  it('--overlay=dir: the upper layer\u2019s files are owned by the mapped ids on the host', () => {
    const ov = join(dir, 'ov');
    const r = tvisorDo(['/bin/sh', '-c', 'echo x > /kept'], [...U, '--rootfs', DEBIAN_ROOTFS, `--overlay=dir=${ov}`]);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(ov, 'upper/kept'))).toMatchObject({ uid: 100000, gid: 100000 });
    const again = tvisorDo(['/bin/cat', '/kept'], [...U, '--rootfs', DEBIAN_ROOTFS, `--overlay=dir=${ov}`]);
    expect(again.stdout).toBe('x\n');
  });

  it('--userns=HOSTID:COUNT picks the range; bad ranges are one-line errors and leave nothing behind', () => {
    const r = sandboxSh('echo > /v/ranged', ['--userns=200000:65536', '-v', `${vol}:/v`]);
    expect(r.status, r.stderr).toBe(0);
    expect(statSync(join(vol, 'ranged')).uid).toBe(200000);
    for (const bad of ['--userns=0:65536', '--userns=abc', '--userns=1:0', '--userns=4294967295:2']) {
      const b = tvisorDo(['true'], [bad]);
      expect(b.status, bad).toBe(125);
      expect(b.stderr).toMatch(/^tvisor: --userns=/);
    }
    expect(launcherPids(process.pid)).toEqual([]);
  });
});

describe('uname and the hostname', () => {
  it('--kernel-release sets uname -r (and python\u2019s os.uname), with or without --userns; the rest is the host\u2019s', () => {
    const host = native(['uname', '-smv']).stdout;
    for (const flags of [[], U]) {
      const r = sandboxSh('uname -r; uname -smv; python3 -c "import os; print(os.uname().release)"', ['--kernel-release', '6.1.0-tvisor', ...flags]);
      expect(r.stdout).toBe(`6.1.0-tvisor\n${host}6.1.0-tvisor\n`);
    }
    expect(tvisorDo(['uname', '-r']).stdout).toBe(native(['uname', '-r']).stdout);
  });

  it('uname reports the sandbox hostname (--hostname)', () => {
    for (const flags of [[], U]) {
      const r = sandboxSh('uname -n; hostname', ['--hostname', 'box1', '--kernel-release', '6.1.0-tvisor', ...flags]);
      expect(r.stdout).toBe('box1\nbox1\n');
    }
  });

  it('uname with a bad buffer is EFAULT, as the kernel answers', () => {
    const code = 'import ctypes; l = ctypes.CDLL(None, use_errno=True); r = l.syscall(63, ctypes.c_void_p(8)); print(r, ctypes.get_errno())';
    expect(native(['python3', '-c', code]).stdout).toBe('-1 14\n');
    expect(tvisorDo(['python3', '-c', code], ['--kernel-release', '6.1.0-tvisor']).stdout).toBe('-1 14\n');
  });

  it('a too long --kernel-release is an error', () => {
    const r = tvisorDo(['true'], ['--kernel-release', 'x'.repeat(65)]);
    expect(r.status).toBe(125);
    expect(r.stderr).toMatch(/kernel release/);
  });
});

describe('sethostname: only in a private UTS namespace', () => {
  const caps = ['CAP_SYS_ADMIN', 'CAP_SETUID', 'CAP_SETGID'];
  /**
   * Runs `script` in the Debian rootfs with CAP_SYS_ADMIN, in the namespaces given, through the OCI path
   * (sandboxSpecFromOci + runSandbox), in a Node process of its own: the sentry gives its thread the workload's
   * credentials, which must not stay with the test process. Output comes back through a bound directory.
   */
  async function run(namespaces: { type: string }[], script: string, userNamespace: boolean): Promise<{ code: number; out: string }> {
    const out = mkdtempSync(join(dir, 'out-'));
    chownSync(out, 100000, 100000);
    chmodSync(out, 0o777);
    const cfg: OciConfig = {
      root: { path: DEBIAN_ROOTFS },
      process: {
        args: ['/bin/sh', '-c', `exec >/out/log 2>&1\n${script}`],
        env: ['PATH=/usr/sbin:/usr/bin:/sbin:/bin'],
        cwd: '/',
        capabilities: { bounding: caps, effective: caps, permitted: caps },
      },
      mounts: [
        { destination: '/proc', type: 'proc', source: 'proc' },
        { destination: '/out', type: 'bind', source: out, options: ['rbind', 'rw'] },
      ],
      linux: {
        namespaces: [...namespaces, ...(userNamespace ? [{ type: 'user' }] : [])],
        ...(userNamespace
          ? { uidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }], gidMappings: [{ containerID: 0, hostID: 100000, size: 65536 }] }
          : {}),
      },
    };
    const code = [
      `import { runSandbox } from ${JSON.stringify(join(ROOT, 'dist/src/sandbox.js'))};`,
      `import { sandboxSpecFromOci } from ${JSON.stringify(join(ROOT, 'dist/src/oci/config.js'))};`,
      `const code = await runSandbox(sandboxSpecFromOci(JSON.parse(process.env.CFG), { bundle: process.env.DIR }));`,
      `process.stdout.write(String(code)); process.exit(0);`,
    ].join('\n');
    const r = native([process.execPath, '--input-type=module', '-e', code], { env: { ...process.env, CFG: JSON.stringify(cfg), DIR: dir } });
    expect(r.stderr).toBe('');
    return { code: Number(r.stdout), out: readFileSync(join(out, 'log'), 'utf8') };
  }

  it('with its own UTS namespace (in a user namespace) it works, and the host\u2019s name is unchanged', async () => {
    const before = hostname();
    const r = await run([{ type: 'pid' }, { type: 'mount' }, { type: 'uts' }, { type: 'ipc' }], 'hostname renamed-inside && hostname && uname -n', true);
    expect(r.out).toBe('renamed-inside\nrenamed-inside\n');
    expect(hostname()).toBe(before);
  });

  it('sharing the host\u2019s UTS namespace it is EPERM from the filter, even with CAP_SYS_ADMIN', async () => {
    const before = hostname();
    const r = await run([{ type: 'pid' }, { type: 'mount' }, { type: 'ipc' }], 'hostname should-not-happen; echo $?', false);
    expect(r.out).toMatch(/hostname: you must be root|Operation not permitted/);
    expect(r.out).toMatch(/\n1\n$/);
    expect(hostname()).toBe(before);
  });
});

describe('units', () => {
  it('struct utsname: six 65-byte NUL-padded fields, round trip; a 65-byte field is refused', () => {
    const u = { sysname: 'Linux', nodename: 'box', release: '6.1.0-tvisor', version: '#1 SMP', machine: 'x86_64', domainname: '(none)' };
    const b = encodeUtsname(u);
    expect(b.length).toBe(UTSNAME_SIZE);
    expect(b.subarray(130, 142).toString()).toBe('6.1.0-tvisor');
    expect(b[142]).toBe(0);
    expect(b.subarray(65, 68).toString()).toBe('box');
    expect(decodeUtsname(b)).toEqual(u);
    expect(() => encodeUtsname({ ...u, release: 'r'.repeat(65) })).toThrow(RangeError);
  });

  it('id maps: OCI mappings to uid_map text, and bad ones refused', () => {
    expect(idMapText([{ containerID: 0, hostID: 100000, size: 65536 }], 'm')).toBe('0 100000 65536\n');
    expect(() => idMapText([], 'm')).toThrow(/at least one/);
    expect(() => idMapText([{ containerID: 0, hostID: 1, size: 0 }], 'm')).toThrow(/empty/);
    expect(() => idMapText([{ containerID: 0, hostID: 1, size: 10 }, { containerID: 5, hostID: 100, size: 10 }], 'm')).toThrow(/overlaps/);
    expect(parseUserns(true).uidMappings).toEqual([{ containerID: 0, hostID: 100000, size: 65536 }]);
    expect(parseUserns('300000:1000').gidMappings).toEqual([{ containerID: 0, hostID: 300000, size: 1000 }]);
    expect(() => parseUserns('0:10')).toThrow(/root/);
  });

  it('/proc/<pid>/status ids are mapped back into the namespace (unmapped: 65534)', () => {
    const ns = { uid: [{ inside: 0, outside: 100000, count: 65536 }], gid: [{ inside: 0, outside: 100000, count: 65536 }] };
    const text = 'Name:\tsh\nUid:\t100000\t101000\t100000\t100000\nGid:\t100005\t100005\t100005\t100005\nGroups:\t100000 5 \nNSpid:\t100000\t7\n';
    expect(statusInNamespace(text, ns)).toBe('Name:\tsh\nUid:\t0\t1000\t0\t0\nGid:\t5\t5\t5\t5\nGroups:\t0 65534 \nNSpid:\t100000\t7\n');
  });

  it('the table\u2019s settings: uname traps only with a release; sethostname is refused without a UTS namespace of its own', () => {
    const uname = entryNamed('uname')!.nr;
    const sethostname = entryNamed('sethostname')!.nr;
    const settings = (s: Parameters<typeof sandboxSettings>[0]) => new Set(sandboxSettings(s));
    const off = buildFilterInsns({ settings: settings({ straceFd: -1, namespaces: [{ type: 'uts' }] }) });
    const on = buildFilterInsns({ settings: settings({ straceFd: -1, namespaces: [], kernelRelease: '6.1' }) });
    expect(runFilter(off, uname, AUDIT_ARCH_X86_64)).toBe(SECCOMP_RET_ALLOW);
    expect(runFilter(on, uname, AUDIT_ARCH_X86_64)).toBe(SECCOMP_RET_USER_NOTIF);
    expect(runFilter(off, sethostname, AUDIT_ARCH_X86_64)).toBe(SECCOMP_RET_ALLOW);
    expect(runFilter(on, sethostname, AUDIT_ARCH_X86_64)).toBe(SECCOMP_RET_USER_NOTIF); // denied by the sentry, EPERM
    expect(sandboxSettings({ straceFd: -1, namespaces: [{ type: 'uts', path: '/proc/1/ns/uts' }] })).toContain('sharedUts');
  });

  it('OCI: a new user namespace needs both maps; maps without one are refused', () => {
    const base: OciConfig = { root: { path: DEBIAN_ROOTFS }, process: { args: ['true'] } };
    const ns = [{ type: 'mount' }, { type: 'user' }];
    expect(() => sandboxSpecFromOci({ ...base, linux: { namespaces: ns } }, { bundle: dir })).toThrow(/uidMappings/);
    const m = [{ containerID: 0, hostID: 100000, size: 65536 }];
    expect(sandboxSpecFromOci({ ...base, linux: { namespaces: ns, uidMappings: m, gidMappings: m } }, { bundle: dir }).userNamespace).toEqual({
      uidMappings: m,
      gidMappings: m,
    });
    expect(() => sandboxSpecFromOci({ ...base, linux: { namespaces: [{ type: 'mount' }], uidMappings: m, gidMappings: m } }, { bundle: dir })).toThrow(
      /only with a new user namespace/,
    );
  });

  it('runSandbox refuses a new user namespace without maps before starting anything', async () => {
    const spec = sandboxSpecFromOci({ root: { path: DEBIAN_ROOTFS }, process: { args: ['true'] }, linux: { namespaces: [{ type: 'mount' }] } }, { bundle: dir });
    await expect(runSandbox({ ...spec, namespaces: [...spec.namespaces, { type: 'user' }] })).rejects.toThrow(LaunchError);
    expect(launcherPids(process.pid)).toEqual([]);
  });
});
