/**
 * Path-syscall semantics: the same calls natively (same uid, same 14
 * capabilities, no_new_privs, via setpriv) and inside the sandbox give the
 * same results and errnos — malformed calls included, which the sentry
 * must survive.
 */
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_ROOTFS, differences, native, ROOT, sandboxSh, table, TVISOR, tvisorDo } from './helpers.js';
import { SETPRIV } from './conformance/cpython.js';

let dir: string;
let badcalls: string;
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/tvisor-pathcalls-');
  badcalls = join(dir, 'badcalls');
  execFileSync('gcc', ['-static', '-O2', '-o', badcalls, join(ROOT, 'test/c/badcalls.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Policy: device nodes are refused in the sandbox (CAP_MKNOD notwithstanding), as gVisor does; openat2 with
 * O_PATH says ENOSYS (its flags are in memory, so it cannot be continued safely; callers fall back to openat).
 */
const DEVICE_POLICY = { 'mknodat.chr': 'ok -> EPERM', 'openat2.o-path': 'ok -> ENOSYS' };

describe('a table of malformed and edge-case path calls', () => {
  it('gets the kernel\u2019s errno for each, natively and in the sandbox, and the sentry survives', () => {
    rmSync('/dev/shm/tvisor-badcalls-x', { force: true });
    const n = native([...SETPRIV, badcalls, `/tmp/tvisor-badcalls-native-${process.pid}`]);
    rmSync(`/tmp/tvisor-badcalls-native-${process.pid}`, { recursive: true, force: true });
    rmSync('/dev/shm/tvisor-badcalls-x', { force: true });
    rmSync('/dev/shm/tvisor-badcalls-y', { force: true });
    const s = tvisorDo(['/badcalls', '/tmp/scratch'], ['-v', `${badcalls}:/badcalls:ro`]);
    expect(n.status).toBe(0);
    expect(s.status, s.stderr).toBe(0);
    const nt = table(n.stdout);
    expect(nt.size).toBeGreaterThan(150);
    // The table exercises what it claims: a sample of the kernel's answers.
    expect(nt.get('openat.null')).toBe('EFAULT');
    expect(nt.get('openat.runs-into-hole')).toBe('EFAULT');
    expect(nt.get('openat.4096-bytes')).toBe('ENAMETOOLONG');
    expect(nt.get('openat.loop')).toBe('ELOOP');
    expect([nt.get('openat.chain-40'), nt.get('openat.chain-41')]).toEqual(['ok', 'ELOOP']);
    expect(nt.get('openat.dir-wronly')).toBe('EISDIR');
    expect(nt.get('openat.file-as-dir')).toBe('ENOTDIR');
    expect(nt.get('openat2.unknown-resolve')).toBe('EINVAL');
    expect(nt.get('rename.cross-device')).toBe('EXDEV');
    expect(differences(nt, table(s.stdout))).toEqual(DEVICE_POLICY);
    expect(table(s.stdout).get('after.open')).toBe('ok');
  });

  it('gives the same answers inside the Debian minbase rootfs', () => {
    const s = tvisorDo(['/badcalls', '/tmp/scratch'], ['--rootfs', DEBIAN_ROOTFS, '-v', `${badcalls}:/badcalls:ro`]);
    const n = native([...SETPRIV, badcalls, `/tmp/tvisor-badcalls-native2-${process.pid}`]);
    rmSync(`/tmp/tvisor-badcalls-native2-${process.pid}`, { recursive: true, force: true });
    rmSync('/dev/shm/tvisor-badcalls-x', { force: true });
    rmSync('/dev/shm/tvisor-badcalls-y', { force: true });
    expect(s.status, s.stderr).toBe(0);
    expect(differences(table(n.stdout), table(s.stdout))).toEqual(DEVICE_POLICY);
  });
});

describe('path semantics: umask, permissions, sticky bit, xattrs, utimensat, renameat2, statx, locks, O_TMPFILE', () => {
  const script = join(ROOT, 'test/py/pathsemantics.py');

  it('match natively on a -v volume (same filesystem), with the caller\u2019s credentials', () => {
    const vol = join(dir, 'vol');
    mkdirSync(vol);
    const n = native([...SETPRIV, '/usr/bin/python3.11', script, join(vol, 'native')]);
    const s = tvisorDo(['/usr/bin/python3.11', script, '/vol/sandbox'], ['-v', `${vol}:/vol`]);
    expect(n.status, n.stderr).toBe(0);
    expect(s.status, s.stderr).toBe(0);
    expect(table(n.stdout).get('perm.create-in-root-dir')).toBe('EACCES');
    expect(table(n.stdout).get('locks.held')).toBe('flock=EAGAIN');
    expect(s.stdout).toBe(n.stdout);
  });

  it('match on the overlay root, but for RENAME_WHITEOUT, which kernel overlayfs refuses', () => {
    const n = native([...SETPRIV, '/usr/bin/python3.11', script, join(dir, 'native-root')]);
    const s = tvisorDo(['/usr/bin/python3.11', script, '/tmp/sandbox-root']);
    expect(s.status, s.stderr).toBe(0);
    expect(differences(table(n.stdout), table(s.stdout))).toEqual({
      'renameat2.whiteout': 'ok -> EINVAL',
      'renameat2.whiteout-left': '0o20000 -> 0o100644',
    });
  });
});

describe('openat2 RESOLVE_* flags on paths the sentry walks itself', () => {
  it('RESOLVE_NO_XDEV, RESOLVE_BENEATH and RESOLVE_IN_ROOT with /proc/self, magic links and mount crossings: as natively', () => {
    const script = join(ROOT, 'test/py/openat2_scoped.py');
    const n = native(['/usr/bin/python3', script, join(dir, 'o2-native')]);
    const s = tvisorDo(['/usr/bin/python3', script, '/tmp/o2']);
    expect(n.stdout).toContain('NO_XDEV /dev/null -> Invalid cross-device link');
    expect(n.stdout).toContain('BENEATH procfd self/status -> ok');
    expect(s.stderr).toBe('');
    expect(s.stdout).toBe(n.stdout);
  });
});

describe('no-follow calls on "link/" (a trailing slash follows the link) stay inside the root', () => {
  const script = (target: string) => `
import os
os.symlink(${JSON.stringify(target)}, "/tmp/e")
calls = [
  ("lchown", lambda: os.lchown("/tmp/e/", 4242, 4242)),
  ("fchownat-nofollow", lambda: os.chown("/tmp/e/", 4242, 4242, follow_symlinks=False)),
  ("utimensat-nofollow", lambda: os.utime("/tmp/e/", (0, 0), follow_symlinks=False)),
  ("fchmodat2-nofollow", lambda: os.chmod("/tmp/e/", 0o1777, follow_symlinks=False)),
  ("lsetxattr", lambda: os.setxattr("/tmp/e/", "user.x", b"1", follow_symlinks=False)),
  ("lremovexattr", lambda: os.removexattr("/tmp/e/", "user.x", follow_symlinks=False)),
  ("lchown-dotdot-at-root", lambda: os.lchown("/..", 4243, 4243)),
]
for name, f in calls:
    try:
        f(); print(name, "ok")
    except OSError as e:
        print(name, os.strerror(e.errno))
`;

  it('in a rootfs where the link’s target does not exist, they fail with ENOENT and the host directory is untouched', () => {
    const host = join(dir, 'hostonly');
    mkdirSync(host, { mode: 0o755 });
    const before = statSync(host);
    const r = tvisorDo(['/usr/bin/python3.11', '-c', script(host)], ['--rootfs', DEBIAN_ROOTFS]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('lchown No such file or directory');
    expect(r.stdout).toContain('fchmodat2-nofollow No such file or directory');
    expect(r.stdout).toContain('lsetxattr No such file or directory');
    const after = statSync(host);
    expect([after.mode, after.uid, after.gid, after.mtimeMs]).toEqual([before.mode, before.uid, before.gid, before.mtimeMs]);
    expect(native(['python3', '-c', `import os; print(os.listxattr(${JSON.stringify(host)}))`]).stdout.trim()).toBe('[]');
  });

  it('on the host root they act on the sandbox’s copy (copy-up), as natively on the link’s target', () => {
    const host = join(dir, 'hostonly2');
    mkdirSync(host, { mode: 0o755 });
    const before = statSync(host);
    const r = tvisorDo(['/usr/bin/python3', '-c', script(host) + `
st = os.stat(${JSON.stringify(host)}); print(oct(st.st_mode), st.st_uid)`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('lchown ok');
    expect(r.stdout).toContain('0o41777 4242');
    const after = statSync(host);
    expect([after.mode, after.uid, after.gid, after.mtimeMs]).toEqual([before.mode, before.uid, before.gid, before.mtimeMs]);
    expect(statSync('/').uid).toBe(0);
  });
});

describe('terminal opens are never continued', () => {
  it('/dev/tty is the caller’s controlling terminal, found in the sandbox; an open never takes a terminal implicitly', () => {
    const r = tvisorDo(['/usr/bin/python3', '-c', `
import os, pty
pid, fd = pty.fork()
if pid == 0:
    t = os.open("/dev/tty", os.O_RDWR)
    os.write(t, (os.ttyname(t) + " " + str(os.ttyname(t) == os.ttyname(0)) + "\\n").encode())
    os._exit(0)
print(os.read(fd, 100).decode().strip()); os.waitpid(pid, 0)
m, s = os.openpty(); name = os.ttyname(s)
if os.fork() == 0:
    os.setsid()
    os.open(name, os.O_RDWR)  # no O_NOCTTY, a session leader without a terminal: natively it would take it
    try:
        os.open("/dev/tty", os.O_RDWR); print("took it")
    except OSError as e:
        print("/dev/tty:", e.strerror)
    os._exit(0)
os.wait()
`]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^\/dev\/pts\/\d+ True\n\/dev\/tty: No such device or address\n$/);
  });
});

describe('mount flags the sentry’s own walk must honour', () => {
  it('nosymfollow: a symlink on such a volume is not followed by open (ELOOP), as by stat', () => {
    const v = join(dir, 'nsf');
    mkdirSync(v);
    native(['ln', '-s', '/etc/hostname', join(v, 'l')]);
    const r = sandboxSh('cat /n/l 2>&1; stat -L /n/l 2>&1 >/dev/null; cat /n/../etc/hostname >/dev/null && echo plain-ok', [
      '-v',
      `${v}:/n:nosymfollow`,
    ]);
    expect(r.stdout).toBe(
      "cat: /n/l: Too many levels of symbolic links\nstat: cannot statx '/n/l': Too many levels of symbolic links\nplain-ok\n",
    );
  });
});

describe('/dev/tty names the caller’s own terminal, whichever devpts it is on', () => {
  it('under the user’s terminal, /dev/tty is that terminal even when a sandbox pty has the same number', () => {
    // Opens sandbox ptys until one has the number of the user's terminal (host pts N, passed in HOSTTTY).
    const py = [
      'import os, select',
      'n = int(os.environ["HOSTTTY"].rsplit("/", 1)[1])',
      'ptys = [os.openpty() for _ in range(n + 1)]',
      'm, s = ptys[-1]',
      't = os.open("/dev/tty", os.O_RDWR)',
      'print("tty", os.ttyname(t), "inner", os.ttyname(s) == "/dev/pts/%d" % n)',
      'os.write(t, b"x")',
      'print("inner master got it:", bool(select.select([m], [], [], 0.3)[0]))',
    ].join('; ');
    // script(1) gives tvisor a terminal: the user's terminal, bound at /dev/console inside.
    const cmd = `export HOSTTTY=$(tty); exec ${process.execPath} ${TVISOR} do -- /usr/bin/python3 -c '${py}'`;
    const r = native(['script', '-qec', cmd, '/dev/null']);
    expect(r.stdout).toMatch(/tty \/dev\/console inner True/);
    expect(r.stdout).toContain('inner master got it: False');
  });
});

describe('mount points cannot be removed or renamed (EBUSY, as natively)', () => {
  it('rmdir, unlink and rename (both names, RENAME_EXCHANGE) of the sandbox’s mount points are EBUSY; a read-only file stays', () => {
    const proj = join(dir, 'mp-proj');
    const vol = join(dir, 'mp-vol');
    mkdirSync(proj);
    mkdirSync(vol);
    writeFileSync(join(proj, 'ro.txt'), 'ORIGINAL\n');
    const r = sandboxSh(
      'for d in /proc /sys /dev/shm /dev/mqueue /dev/pts /data; do rmdir $d 2>/dev/null && echo "rmdir $d: ok"; done; ' +
        'mv /dev/pts /dev/x 2>/dev/null && echo "mv pts: ok"; mv /proc /proc2 2>/dev/null && echo "mv proc: ok"; ' +
        'echo REPLACED > /p/new; mv -T /p/new /p/ro.txt 2>/dev/null && echo "mv over ro: ok"; ' +
        'rm /p/ro.txt 2>/dev/null && echo "rm ro: ok"; ' +
        'python3 -c "import ctypes, os; l = ctypes.CDLL(None, use_errno=True); ' +
        'print(l.renameat2(-100, b\\"/p/new\\", -100, b\\"/p/ro.txt\\", 2), os.strerror(ctypes.get_errno()))"; ' +
        'head -c 5 /proc/1/status; echo; ls /dev/pts/ptmx',
      ['-v', `${vol}:/data`, '-v', `${proj}:/p`, '-v', `${join(proj, 'ro.txt')}:/p/ro.txt:ro`],
    );
    expect(r.stdout, r.stderr).toBe('-1 Device or resource busy\nName:\n/dev/pts/ptmx\n');
    expect(readFileSync(join(proj, 'ro.txt'), 'utf8')).toBe('ORIGINAL\n');
  });

  it('also through another path to the same directory (a volume that aliases the mount point’s parent)', () => {
    const p = join(dir, 'alias');
    mkdirSync(join(p, 'sub'), { recursive: true });
    writeFileSync(join(p, 'sub', 'f.txt'), 'ORIGINAL\n');
    const r = sandboxSh('rm /s/f.txt 2>&1; mv /s/f.txt /s/g 2>&1; cat /p/sub/f.txt', [
      '-v', `${p}:/p`, '-v', `${join(p, 'sub')}:/s`, '-v', `${join(p, 'sub', 'f.txt')}:/p/sub/f.txt:ro`,
    ]);
    expect(r.stdout).toBe(
      "rm: cannot remove '/s/f.txt': Device or resource busy\nmv: cannot move '/s/f.txt' to '/s/g': Device or resource busy\nORIGINAL\n",
    );
    expect(readFileSync(join(p, 'sub', 'f.txt'), 'utf8')).toBe('ORIGINAL\n');
  });
});

describe('the overlay and the mount flags hold on fd-based calls', () => {
  it('fchmod/fchown/futimens/fsetxattr on an injected fd of a lower-layer file copy it up; the host file is unchanged', () => {
    const f = join(dir, 'lower-file');
    writeFileSync(f, 'lower\n');
    chmodSync(f, 0o644);
    const before = statSync(f);
    const r = tvisorDo(
      ['/usr/bin/python3.11', '-c', `
import os
fd = os.open(${JSON.stringify(f)}, os.O_RDONLY)
os.fchmod(fd, 0o600); os.fchown(fd, 1234, 1234); os.utime(fd, ns=(5, 6)); os.setxattr(fd, 'user.t', b'v')
st = os.stat(${JSON.stringify(f)})
print(oct(st.st_mode), st.st_uid, st.st_mtime_ns, os.getxattr(${JSON.stringify(f)}, 'user.t'))
`],
    );
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe("0o100600 1234 6 b'v'");
    const after = statSync(f);
    expect([after.mode, after.uid, after.mtimeMs]).toEqual([before.mode, before.uid, before.mtimeMs]);
    expect(readFileSync(f, 'utf8')).toBe('lower\n');
  });

  it('a read-only volume gives EROFS to every write path, even through an fd opened before', () => {
    const ro = join(dir, 'ro');
    mkdirSync(ro);
    writeFileSync(join(ro, 'f'), 'x');
    const r = sandboxSh(
      'cd /ro; for c in "touch new" "mkdir d" "rm f" "mv f g" "ln -s f l" "chmod 600 f" "truncate -s0 f"; do ' +
        '$c 2>/dev/null && echo "$c: ok" || echo "$c: failed"; done; ' +
        'exec 3<f; python3 -c "import os; os.fchmod(3, 0o600)" 2>&1 | tail -1',
      ['-v', `${ro}:/ro:ro`],
    );
    expect(r.stdout).not.toContain(': ok');
    expect(r.stdout).toContain('Read-only file system');
    expect(statSync(join(ro, 'f')).mode & 0o777).toBe(0o644);
  });
});
