/**
 * Process, signal, identity and limit calls: the same malformed and edge-case
 * calls natively (same uid, capabilities and no_new_privs, via setpriv) and
 * in the sandbox give the kernel's errno, except the sandbox's documented
 * policies; the sentry survives them. Then the confinement walls: host pids
 * are unnameable, tracing is refused, nested namespaces are refused unless
 * granted, setuid bits never raise privileges, exec works in its forms.
 */
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { differences, native, ROOT, sandboxSh, table, tvisor, tvisorDo } from './helpers.js';
import { SETPRIV } from './conformance/cpython.js';

let dir: string;
let probe: string;
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/tvisor-proccalls-');
  chmodSync(dir, 0o755);
  probe = join(dir, 'proccalls');
  execFileSync('gcc', ['-static', '-O2', '-o', probe, join(ROOT, 'test/c/proccalls.c')]);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** pidfd_getfd is denied (a pidfd may name a host process; the kernel checks only ptrace access), setns too. */
const PIDFD_GETFD_POLICY = {
  'setns.bad-fd': 'EBADF -> EPERM',
  'pidfd_getfd.bad-fd': 'EBADF -> EPERM',
  'pidfd_getfd.self-stdout': 'ok -> EPERM',
  'pidfd_getfd.bad-flags': 'EINVAL -> EPERM',
  'pidfd_getfd.absent-fd': 'EBADF -> EPERM',
};

/**
 * The sandbox's policies (sentry/syscalls/table.ts): clone3 is ENOSYS (libc falls back to clone, whose flags
 * register the filter can read); namespace flags in clone/unshare and setns are refused with EPERM by the
 * filter, before the kernel would look at the other flags; natively root may create a user namespace.
 */
const NS_POLICY = {
  'clone3.null': 'EINVAL -> ENOSYS',
  'clone.newuser': 'ok -> EPERM',
  'clone.fs-and-newns': 'EINVAL -> EPERM',
  'clone.all-ones': 'EINVAL -> EPERM',
  'unshare.newuser': 'ok -> EPERM',
  'unshare.all-ones': 'EINVAL -> EPERM',
  ...PIDFD_GETFD_POLICY,
};
describe('a table of malformed and edge-case process calls', () => {
  let nt: Map<string, string>;
  beforeAll(() => {
    const n = native([...SETPRIV, probe, '--ns']);
    expect(n.status, n.stderr).toBe(0);
    nt = table(n.stdout);
  });

  it('gets the kernel\u2019s errno for each, natively and in the sandbox, and the sentry survives', () => {
    expect(nt.size).toBeGreaterThan(80);
    // The table exercises what it claims: a sample of the kernel's answers.
    expect(nt.get('clone.thread-without-sighand')).toBe('EINVAL');
    expect(nt.get('kill.self-65')).toBe('EINVAL');
    expect(nt.get('kill.self-0')).toBe('ok');
    expect(nt.get('kill.neg-pgrp-absent')).toBe('ESRCH');
    expect(nt.get('tgkill.neg-tid')).toBe('EINVAL');
    expect(nt.get('pidfd_send_signal.65')).toBe('EINVAL');
    expect(nt.get('setrlimit.nofile-infinity')).toBe('EPERM');
    expect(nt.get('setrlimit.soft-over-hard')).toBe('EINVAL');
    expect(nt.get('wait4.no-child')).toBe('ECHILD');
    expect(nt.get('execve.not-executable')).toBe('EACCES');
    expect(nt.get('execve.through-file')).toBe('ENOTDIR');
    const s = tvisorDo(['/proccalls', '--ns'], ['-v', `${probe}:/proccalls:ro`]);
    expect(s.status, s.stderr).toBe(0);
    const st = table(s.stdout);
    expect(differences(nt, st)).toEqual(NS_POLICY);
    expect(st.get('after.open')).toBe('ok');
  });

  it('--nested-namespaces lifts the namespace rules but for user namespaces: the kernel answers the rest', () => {
    const s = tvisorDo(['/proccalls', '--ns'], ['--nested-namespaces', '-v', `${probe}:/proccalls:ro`]);
    expect(s.status, s.stderr).toBe(0);
    expect(differences(nt, table(s.stdout))).toEqual({
      'clone3.null': 'EINVAL -> ENOSYS',
      'clone.newuser': 'ok -> EPERM',
      'unshare.newuser': 'ok -> EPERM',
      'unshare.all-ones': 'EINVAL -> EPERM', // ~0 has CLONE_NEWUSER
      'clone.all-ones': 'EINVAL -> EPERM',
      ...PIDFD_GETFD_POLICY,
    });
  });
});

describe('filters of the workload\u2019s own', () => {
  it('PR_SET_SECCOMP adds a filter below tvisor\u2019s; one asking for its own listener gets EBUSY, and the sentry survives', () => {
    const n = native([...SETPRIV, probe, '--seccomp']);
    const s = tvisorDo(['/proccalls', '--seccomp'], ['-v', `${probe}:/proccalls:ro`]);
    expect(s.status, s.stderr).toBe(0);
    const nt = table(n.stdout);
    expect(nt.get('getppid.after-own-filter')).toBe('EACCES');
    expect(nt.get('seccomp.new-listener')).toBe('ok'); // natively the chain has no listener yet
    expect(differences(nt, table(s.stdout))).toEqual({ 'seccomp.new-listener': 'ok -> EBUSY' });
  });
});

/** Starts a host process that must outlive every test here; returns its pid and a stopper. */
function hostSleeper(): { pid: number; alive: () => boolean; stop: () => void } {
  const p = spawn('sleep', ['1000'], { stdio: 'ignore' });
  const pid = p.pid!;
  return {
    pid,
    alive: () => {
      try {
        return !/^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
      } catch {
        return false;
      }
    },
    stop: () => void p.kill('SIGKILL'),
  };
}

describe('confinement of process calls', () => {
  it('a host process cannot be named by its host pid: kill, tgkill, prlimit64, pidfd_open, getpgid give ESRCH', () => {
    const host = hostSleeper();
    try {
      expect(host.pid).toBeGreaterThan(100); // never a pid the fresh sandbox has
      const py = `
import ctypes, os, signal
libc = ctypes.CDLL(None, use_errno=True)
P = ${host.pid}
def err(r):
    return 'ok' if r >= 0 else os.strerror(ctypes.get_errno())
print('kill', err(libc.syscall(62, P, signal.SIGKILL)))
print('tgkill', err(libc.syscall(234, P, P, signal.SIGKILL)))
print('prlimit64', err(libc.syscall(302, P, 7, None, None)))
print('pidfd_open', err(libc.syscall(434, P, 0)))
print('getpgid', err(libc.syscall(121, P)))
print('sched_setaffinity', err(libc.syscall(203, P, 8, ctypes.byref(ctypes.c_ulong(1)))))
`;
      const s = tvisorDo(['python3', '-c', py]);
      expect(s.stdout).toContain('kill No such process');
      for (const call of ['tgkill', 'prlimit64', 'pidfd_open', 'getpgid', 'sched_setaffinity'])
        expect(s.stdout, call).toContain(`${call} No such process`);
      // kill(-1, SIGKILL) from inside reaches every process it may signal but itself: only the sandbox's.
      const k = sandboxSh('sleep 100 & kill -KILL -1; wait $!; echo "sleep=$?"');
      expect(k.stdout).toBe('sleep=137\n');
      expect(host.alive()).toBe(true);
    } finally {
      host.stop();
    }
  });

  it('ptrace(PTRACE_ATTACH) of a sibling and of the parent fails with EPERM', () => {
    const py = `
import ctypes, os, time
libc = ctypes.CDLL(None, use_errno=True)
sib = os.fork()
if sib == 0:
    time.sleep(5); os._exit(0)
r = libc.ptrace(16, sib, None, None)
print('sibling', r, os.strerror(ctypes.get_errno()))
r = libc.ptrace(16, os.getppid(), None, None)
print('parent', r, os.strerror(ctypes.get_errno()))
r = libc.ptrace(0, 0, None, None)
print('traceme', r, os.strerror(ctypes.get_errno()))
os.kill(sib, 9)
`;
    const s = tvisorDo(['python3', '-c', py]);
    expect(s.stdout).toContain('sibling -1 Operation not permitted');
    expect(s.stdout).toContain('parent -1 Operation not permitted');
    expect(s.stdout).toContain('traceme -1 Operation not permitted');
  });

  it('a nested user namespace attempt fails, with --nested-namespaces too', () => {
    for (const flags of [[], ['--nested-namespaces']]) {
      const s = sandboxSh('unshare -U true; echo "unshare=$?"; unshare -Ur id -u; echo "unshare-r=$?"', flags);
      expect(s.stdout).toContain('unshare=1');
      expect(s.stdout).toContain('unshare-r=1');
      expect(s.stderr).toContain('Operation not permitted');
    }
  });

  it('a host process\u2019s pidfd (SO_PEERPIDFD over a socket on a volume) gives no access: getfd and madvise EPERM, signals EINVAL', () => {
    const vol = mkdtempSync('/tmp/tvisor-peerpidfd-');
    chmodSync(vol, 0o755);
    const secretDir = mkdtempSync('/tmp/tvisor-peerpidfd-secret-');
    writeFileSync(join(secretDir, 'secret'), 'host\n');
    // A host process holding a directory open (fd 3) and listening on a socket the sandbox can reach.
    const server = spawn('python3', ['-c', `
import os, socket, sys, time
d = os.open(${JSON.stringify(secretDir)}, os.O_RDONLY | os.O_DIRECTORY)
os.dup2(d, 3)
s = socket.socket(socket.AF_UNIX); s.bind(${JSON.stringify(join(vol, 'srv.sock'))}); os.chmod(${JSON.stringify(join(vol, 'srv.sock'))}, 0o777); s.listen(5)
print('ready', flush=True)
while True:
    c, _ = s.accept(); time.sleep(2); c.close()
`], { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      execFileSync('sh', ['-c', `until [ -S ${vol}/srv.sock ]; do sleep 0.05; done`], { timeout: 10_000 });
      const py = `
import ctypes, os, socket, struct
libc = ctypes.CDLL(None, use_errno=True)
c = socket.socket(socket.AF_UNIX); c.connect('/vol/srv.sock')
pidfd = struct.unpack('i', c.getsockopt(socket.SOL_SOCKET, 77, 4))[0]
def err(r):
    return 'ok' if r >= 0 else os.strerror(ctypes.get_errno())
print('getfd', err(libc.syscall(438, pidfd, 3, 0)))
print('signal', err(libc.syscall(424, pidfd, 0, None, 0)))
print('madvise', err(libc.syscall(440, pidfd, None, 0, 8, 0)))
print('setns', err(libc.syscall(308, pidfd, 0)))
`;
      const s = tvisorDo(['python3', '-c', py], ['-v', `${vol}:/vol`]);
      expect(s.stderr).toBe('');
      expect(s.stdout).toBe('getfd Operation not permitted\nsignal Invalid argument\nmadvise Operation not permitted\nsetns Operation not permitted\n');
      expect(readFileSync(join(secretDir, 'secret'), 'utf8')).toBe('host\n');
    } finally {
      server.kill('SIGKILL');
      rmSync(vol, { recursive: true, force: true });
      rmSync(secretDir, { recursive: true, force: true });
    }
  });

  it('a setuid-root binary copied into the sandbox does not raise a non-root caller to root', () => {
    const src = join(dir, 'whoami.c');
    writeFileSync(src, '#include <stdio.h>\n#include <unistd.h>\nint main(void){printf("%d %d\\n", getuid(), geteuid());return 0;}\n');
    const bin = join(dir, 'whoami');
    execFileSync('gcc', ['-static', '-o', bin, src]);
    // Copied into the overlay, made setuid root there (root inside may), run as uid 1000.
    const s = sandboxSh(
      `cp /w/whoami /tmp/suid && chmod 4755 /tmp/suid && ls -l /tmp/suid | cut -c1-10 && setpriv --reuid 1000 --regid 1000 --clear-groups /tmp/suid`,
      ['-v', `${dir}:/w:ro`],
    );
    expect(s.status, s.stderr).toBe(0);
    expect(s.stdout).toBe('-rwsr-xr-x\n1000 1000\n');
    // Natively (no nosuid, no no_new_privs) the same file does raise the effective uid: the test can fail.
    const nativeCopy = join(dir, 'suid-native');
    execFileSync('cp', [bin, nativeCopy]);
    chmodSync(nativeCopy, 0o4755);
    const n = native(['setpriv', '--reuid', '1000', '--regid', '1000', '--clear-groups', nativeCopy]);
    expect(n.stdout).toBe('1000 0\n');
  });
});

describe('signals during process calls', () => {
  it('fork is never interrupted (EINTR) by a handled SIGCHLD without SA_RESTART, and dash background jobs all start', () => {
    const src = join(dir, 'forkintr.c');
    writeFileSync(
      src,
      `#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
static void h(int s) { (void)s; }
int main(void) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = h; /* no SA_RESTART */
  sigaction(SIGCHLD, &sa, NULL);
  int fails = 0;
  for (int i = 0; i < 1000; i++) {
    pid_t p = fork();
    if (p == 0) _exit(0);
    if (p < 0) fails++;
  }
  while (wait(NULL) > 0 || errno == EINTR) {}
  printf("fork failures %d\\n", fails);
  return 0;
}
`,
    );
    const bin = join(dir, 'forkintr');
    execFileSync('gcc', ['-O2', '-o', bin, src]);
    const s = tvisorDo([bin]);
    expect(s.stdout).toBe('fork failures 0\n');
    const d = sandboxSh('i=0; while [ $i -lt 200 ]; do (exit 0) & i=$((i+1)); done; wait; echo done');
    expect(d.stderr).toBe('');
    expect(d.stdout).toBe('done\n');
  });
});

describe('the tvisor process itself', () => {
  it('does its own work as itself after serving a non-root caller: exit status kept, its state entry removed', () => {
    const root = mkdtempSync('/tmp/tvisor-proccalls-root-');
    try {
      const s = tvisor(['--root', root, 'do', '--name', 'nonroot', '--', 'setpriv', '--reuid', '1000', '--regid', '1000', '--clear-groups', 'cat', '/etc/hostname']);
      expect(s.stderr).toBe('');
      expect(s.status).toBe(0);
      expect(readdirSync(root)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('execve', () => {
  it('runs shebang scripts, re-execs /proc/self/exe, and execveat(AT_EMPTY_PATH) of an fd it opened', () => {
    const py = `
import os, sys
if len(sys.argv) > 1:
    print('child', sys.argv[1]); sys.exit(0)
with open('/tmp/script.sh', 'w') as f:
    f.write('#!/bin/sh\\necho "script $1"\\n')
os.chmod('/tmp/script.sh', 0o755)
pid = os.fork()
if pid == 0:
    os.execv('/tmp/script.sh', ['script.sh', 'ran'])
os.waitpid(pid, 0)
pid = os.fork()
if pid == 0:
    os.execv('/proc/self/exe', ['python3', '-c', 'import sys; print("reexec", sys.executable)'])
os.waitpid(pid, 0)
fd = os.open('/usr/bin/echo', os.O_RDONLY)
pid = os.fork()
if pid == 0:
    os.execve(fd, ['echo', 'fexecve'], {})
os.waitpid(pid, 0)
`;
    const s = tvisorDo(['python3', '-c', py]);
    expect(s.stderr).toBe('');
    expect(s.stdout).toMatch(/^script ran\nreexec \S*python3\S*\nfexecve\n$/);
  });

  it('is refused on a noexec mount and for a file without x, with the kernel\u2019s errno', () => {
    const s = sandboxSh('cp /bin/true /x/t && chmod 755 /x/t && /x/t; echo "noexec=$?"; cp /bin/true /tmp/n && chmod 644 /tmp/n && /tmp/n; echo "nox=$?"', [
      '--tmpfs',
      '/x',
    ]);
    expect(s.stdout).toBe('noexec=126\nnox=126\n');
    expect(s.stderr.match(/Permission denied/g)).toHaveLength(2);
  });
});

describe('--strace decodes process calls', () => {
  it('shows clone flags with the exit signal, signal names, set*id ids and wait options', () => {
    const s = sandboxSh('sleep 5 & kill -TERM $!; wait; setpriv --reuid 1000 true', ['--strace']);
    expect(s.stderr).toMatch(/clone\(CLONE_CHILD_CLEARTID\|CLONE_CHILD_SETTID\|SIGCHLD, .*\) = \? <continued>/);
    expect(s.stderr).toMatch(/kill\(\d+, SIGTERM\) = \? <continued>/);
    expect(s.stderr).toMatch(/wait4\(-1, 0x[0-9a-f]+, 0, NULL\) = \? <continued>/);
    expect(s.stderr).toMatch(/setresuid\(1000, 1000, 1000\) = \? <continued>|setreuid\(1000, 1000\) = \? <continued>/);
  });
});
