/**
 * The sandbox the launcher builds: namespaces (new and joined), init as pid 1,
 * inherited fds, the terminal, the network modes, strace output, file
 * operations performed with the caller's credentials.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native, ROOT, sandboxSh, TVISOR, tvisorDo } from './helpers.js';
import { runSandbox, type SandboxSpec } from '../src/sandbox.js';
import { capMask, DEFAULT_CAPS } from '../src/caps.js';
import { doFsConfig, rootSetup } from '../src/oci/mounts.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync('/tmp/tvisor-sbx-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('namespaces', () => {
  it('the workload is pid 2 under a tiny init (pid 1) in its own pid namespace', () => {
    const r = sandboxSh('echo $$; cat /proc/1/cmdline | tr "\\0" " "; ls /proc | grep -c "^[0-9]"');
    const [pid, , count] = r.stdout.split('\n');
    expect(pid).toBe('2');
    expect(Number(count)).toBeLessThan(6);
  });

  it('init reaps orphans (no zombie is left)', () => {
    const r = sandboxSh('sh -c "sleep 0.2 & exit 0"; sleep 0.8; grep -l "^State:.*Z" /proc/[0-9]*/status || echo none');
    expect(r.stdout).toBe('none\n');
  });

  it('--network none has loopback only, up; --network host sees the host interfaces', () => {
    const none = sandboxSh('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " "; cat /sys/class/net/lo/operstate');
    expect(none.stdout.split('\n')[0]).toBe('lo');
    expect(none.stdout.trim().split('\n')).toHaveLength(2);
    const host = sandboxSh('cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort', ['--network', 'host']);
    const nat = native(['/bin/sh', '-c', 'cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d " " | sort']);
    expect(host.stdout).toBe(nat.stdout);
  });

  it('has its own hostname (UTS namespace) and --hostname sets it', () => {
    expect(sandboxSh('hostname', ['--hostname', 'box1']).stdout).toBe('box1\n');
    expect(spawnSync('hostname', { encoding: 'utf8' }).stdout).not.toBe('box1\n');
  });

  it('joins an existing namespace by path (OCI namespaces[].path)', async () => {
    // A process in a UTS namespace of its own, with a hostname only it has.
    const holder = spawn('unshare', ['--uts', 'sh', '-c', 'hostname joined-uts; echo ready; exec sleep 30'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise<void>((r) => holder.stdout.once('data', () => r()));
    const caps = capMask(DEFAULT_CAPS);
    const out = join(dir, 'hostname');
    const spec: SandboxSpec = {
      args: ['/bin/sh', '-c', `hostname > ${out}`],
      env: ['PATH=/usr/bin:/bin'],
      cwd: '/',
      rootfs: '',
      overlay: 'memory',
      mounts: rootSetup(doFsConfig({ rootfs: '', extra: [{ destination: dir, type: 'bind', source: dir, options: ['rbind'] }] })).mounts,
      namespaces: [{ type: 'uts', path: `/proc/${holder.pid}/ns/uts` }, { type: 'pid' }, { type: 'mount' }, { type: 'ipc' }],
      caps: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: 0n },
      noNewPrivileges: true,
      straceFd: -1,
      debugLog: null,
    };
    try {
      expect(await runSandbox(spec)).toBe(0);
      expect(readFileSync(out, 'utf8')).toBe('joined-uts\n');
    } finally {
      holder.kill('SIGKILL');
    }
  });
});

describe('process state', () => {
  it('no inherited fd other than 0-2 reaches the workload', async () => {
    const child = spawn(process.execPath, [TVISOR, 'do', '--', '/bin/sh', '-c', 'ls /proc/self/fd'], {
      stdio: ['ignore', 'pipe', 'inherit', 'pipe', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    await new Promise((r) => child.on('exit', r));
    expect(out.trim().split('\n').sort()).toEqual(['0', '1', '2', '3']); // 3: ls's own directory fd
  });

  it('has the container default capabilities and no_new_privs', () => {
    const r = sandboxSh('grep -E "^(CapEff|CapBnd|NoNewPrivs)" /proc/self/status');
    expect(r.stdout).toBe('CapEff:\t00000000a80425fb\nCapBnd:\t00000000a80425fb\nNoNewPrivs:\t1\n');
  });

  it('passes a terminal through: isatty, ttyname, /dev/tty', () => {
    const r = spawnSync('script', ['-qec', `${process.execPath} ${TVISOR} do -- sh -c 'tty; echo via-tty > /dev/tty; stty size >/dev/null && echo stty-ok'`, '/dev/null'], {
      encoding: 'utf8',
      input: '',
    });
    expect(r.stdout.replace(/\r/g, '')).toBe('/dev/console\nvia-tty\nstty-ok\n');
  });

  it('passes stdin, stdout and stderr through', () => {
    const r = tvisorDo(['/bin/sh', '-c', 'tr a-z A-Z; echo err >&2'], [], { input: 'hello\n' });
    expect(r.stdout).toBe('HELLO\n');
    expect(r.stderr).toBe('err\n');
  });
});

describe('the sentry performs file operations as the caller', () => {
  it('files it creates belong to the caller and honour its umask', () => {
    const r = sandboxSh(
      'umask 027; mkdir /tmp/d; touch /tmp/f; mkfifo /tmp/p; ln -s f /tmp/l; stat -c "%n %a %u:%g" /tmp/d /tmp/f /tmp/p;' +
        ' su -s /bin/sh nobody -c "umask 077; touch /tmp/d2 2>&1; mkdir /tmp/n; stat -c \\"%n %a %u\\" /tmp/n"',
    );
    expect(r.stdout).toBe(
      '/tmp/d 750 0:0\n/tmp/f 640 0:0\n/tmp/p 640 0:0\n/tmp/n 700 65534\n',
    );
  });

  it('root is root again after a non-root caller (the sentry switches back)', () => {
    const r = sandboxSh('su -s /bin/sh nobody -c "touch /tmp/x1"; mkdir /root/after && touch /root/after/f && stat -c "%n %u" /root/after/f; cat /etc/shadow >/dev/null && echo read-ok');
    expect(r.stdout).toBe('/root/after/f 0\nread-ok\n');
  });

  it('a non-root caller gets EACCES where the kernel would refuse it', () => {
    const r = sandboxSh('mkdir -m 700 /tmp/private && su -s /bin/sh nobody -c "touch /tmp/private/x; cat /etc/shadow" 2>&1; echo rc=$?');
    expect(r.stdout).toMatch(/touch: cannot touch '\/tmp\/private\/x': Permission denied\ncat: \/etc\/shadow: Permission denied\nrc=1\n/);
  });

  it('path calls give the same results and errnos as natively (python3 os module)', () => {
    const script = `
import os, errno
d = os.environ['D']
def t(name, f):
    try: r = f(); print(name, 'ok', r if r is not None else '')
    except OSError as e: print(name, errno.errorcode[e.errno])
open(d + '/f', 'w').close()
t('setxattr', lambda: os.setxattr(d + '/f', 'user.k', b'v'))
t('getxattr', lambda: os.getxattr(d + '/f', 'user.k'))
t('symlink', lambda: os.symlink('f', d + '/l'))
t('lsetxattr', lambda: os.setxattr(d + '/l', 'user.k', b'v', follow_symlinks=False))
t('setxattr-via-link', lambda: os.setxattr(d + '/l', 'user.j', b'w'))
t('listxattr', lambda: sorted(os.listxattr(d + '/f')))
t('removexattr', lambda: os.removexattr(d + '/f', 'user.k'))
t('removexattr-missing', lambda: os.removexattr(d + '/f', 'user.k'))
t('chmod-via-link', lambda: os.chmod(d + '/l', 0o640))
t('stat-mode', lambda: oct(os.stat(d + '/f').st_mode & 0o777))
t('utime', lambda: os.utime(d + '/f', (1, 2)))
t('mtime', lambda: os.stat(d + '/f').st_mtime)
t('truncate', lambda: os.truncate(d + '/l', 5))
t('size', lambda: os.stat(d + '/f').st_size)
t('link', lambda: os.link(d + '/f', d + '/h'))
t('nlink', lambda: os.stat(d + '/f').st_nlink)
t('rename-noreplace-exists', lambda: os.rename(d + '/h', d + '/f') )
t('mkdir', lambda: os.mkdir(d + '/sub'))
t('mkdir-exists', lambda: os.mkdir(d + '/sub'))
t('rmdir-notempty', lambda: (open(d + '/sub/x', 'w').close(), os.rmdir(d + '/sub')))
t('unlink-dir', lambda: os.unlink(d + '/sub'))
t('open-notdir', lambda: os.open(d + '/f/x', os.O_RDONLY))
t('open-excl', lambda: os.open(d + '/f', os.O_CREAT | os.O_EXCL | os.O_WRONLY))
t('open-nofollow', lambda: os.open(d + '/l', os.O_RDONLY | os.O_NOFOLLOW))
t('open-toolong', lambda: os.open(d + '/' + 'a' * 300, os.O_RDONLY))
t('open-pathmax', lambda: os.open('/' + 'a/' * 2100, os.O_RDONLY))
t('mknod-chr', lambda: os.mknod(d + '/c', 0o600 | 0o020000, os.makedev(1, 3)))
`;
    const host = mkdtempSync('/tmp/tvisor-os-');
    try {
      const nat = native(['/usr/bin/python3', '-c', script], { env: { ...process.env, D: host } });
      const sbx = tvisorDo(['/usr/bin/python3', '-c', script], [], { env: { ...process.env, D: '/tmp' } });
      // Natively root has CAP_MKNOD and may create a device node; the sandbox refuses device nodes.
      expect(sbx.stdout).toBe(nat.stdout.replace(/^mknod-chr ok \n/m, 'mknod-chr EPERM\n'));
      expect(sbx.stdout).toContain('open-toolong ENAMETOOLONG');
    } finally {
      rmSync(host, { recursive: true, force: true });
    }
  });

  it('openat2 RESOLVE_NO_SYMLINKS / RESOLVE_NO_MAGICLINKS on /proc/self and /dev/stdin give the kernel\u2019s answers', () => {
    const script = join(ROOT, 'test/py/openat2_resolve.py');
    const nat = native(['/usr/bin/python3', script]);
    const sbx = tvisorDo(['/usr/bin/python3', script]);
    expect(nat.stdout).toContain('ELOOP');
    expect(sbx.stdout).toBe(nat.stdout);
  });

  it('a signal interrupts a FIFO open blocked on the slow path, as natively', () => {
    const script =
      'import os, signal\nclass T(Exception): pass\ndef h(s, f): raise T()\n' +
      'signal.signal(signal.SIGALRM, h); os.mkfifo("/tmp/ff"); signal.alarm(1)\n' +
      'try: os.open("/tmp/ff", os.O_RDONLY)\nexcept T: print("interrupted")\n';
    const r = tvisorDo(['/usr/bin/python3', '-c', script], [], { timeoutMs: 20_000 });
    expect(r.stdout).toBe('interrupted\n');
    expect(r.status).toBe(0);
  });

  it('FIFO opens of callers that died free their slow-path threads (34 of them, then a pair still meets)', () => {
    const script = [
      'import os, threading, time',
      'pid = os.fork()',
      'if pid == 0:',
      '    for i in range(34):',
      '        os.mkfifo(f"/tmp/f{i}"); threading.Thread(target=os.open, args=(f"/tmp/f{i}", os.O_RDONLY), daemon=True).start()',
      '    time.sleep(30); os._exit(0)',
      'time.sleep(3); os.kill(pid, 9); os.waitpid(pid, 0)',
      'os.mkfifo("/tmp/pair")',
      'if os.fork() == 0:',
      '    fd = os.open("/tmp/pair", os.O_WRONLY); os.write(fd, b"met"); os._exit(0)',
      'fd = os.open("/tmp/pair", os.O_RDONLY); print(os.read(fd, 10).decode())',
    ].join('\n');
    const r = tvisorDo(['/usr/bin/python3', '-c', script], [], { timeoutMs: 60_000 });
    expect(r.stdout).toBe('met\n');
  });

  it('a FIFO open waits for its peer without stalling other syscalls', () => {
    const r = sandboxSh('mkfifo /tmp/q; (sleep 0.3; echo through-fifo > /tmp/q) & cat /tmp/q & for i in 1 2 3; do ls / >/dev/null; done; echo others-ran; wait');
    expect(r.stdout).toBe('others-ran\nthrough-fifo\n');
  });
});

describe('--strace', () => {
  it('prints decoded trapped calls, continued and denied ones marked', () => {
    const file = join(dir, 'strace.txt');
    const r = tvisorDo(['/bin/sh', '-c', 'cat /etc/hostname >/dev/null; mkdir /tmp/s; cd /tmp; ln -s a b; unshare -n true 2>/dev/null; true'], [`--strace=${file}`]);
    expect(r.status).toBe(0);
    const text = readFileSync(file, 'utf8');
    expect(text).toMatch(/^\[pid \d+\] openat\(AT_FDCWD, "\/etc\/hostname", O_RDONLY\) = \d+$/m);
    expect(text).toMatch(/^\[pid \d+\] mkdir\("\/tmp\/s", 0777\) = 0$/m);
    expect(text).toMatch(/^\[pid \d+\] chdir\("\/tmp"\) = \? <continued>$/m);
    expect(text).toMatch(/^\[pid \d+\] unshare\(CLONE_NEWNET\) = -1 EPERM .* <denied>$/m);
    expect(text).toMatch(/^\[pid \d+\] symlinkat\("a", AT_FDCWD, "b"\) = 0$/m);
    expect(statSync(file).size).toBeGreaterThan(0);
  });
});
