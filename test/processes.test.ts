/**
 * Processes under real programs: bash job control in a pty through `tvisor do -t`, a parallel make, a pipeline
 * of 200 processes, process groups and sessions, orphan reaping, and what `ps`, `kill` and `pkill` inside can
 * reach. Each runs in the sandbox and natively and compares the outputs; scripts that list processes run
 * natively in a pid namespace of their own (unshare --pid --mount-proc), which is what the sandbox gives, so
 * the host's other processes do not show on either side. Waits are on what a program prints or on a state a
 * loop polls, never on a time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { native, ROOT, sandboxSh, TVISOR, tvisorDo } from './helpers.js';

const JOBCONTROL = join(ROOT, 'test', 'py', 'jobcontrol.py');
const PIDFD_PASS = join(ROOT, 'test', 'py', 'pidfd_pass.py');
const ENV = { PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LC_ALL: 'C' };
/** Natively, in a pid namespace of its own with its own /proc, as the sandbox's processes are. */
const OWN_PIDNS = ['unshare', '--pid', '--fork', '--mount-proc'];

let dir: string;
beforeAll(() => {
  dir = mkdtempSync('/var/tmp/tvisor-processes-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Whether host pid `pid` is a live process (not a zombie). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return !['Z', 'X'].includes(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0]!);
  } catch {
    return false;
  }
}

describe('terminal: tvisor do -t', { timeout: 180_000 }, () => {
  it('bash job control (&, jobs, fg + Ctrl-C, Ctrl-Z, bg, kill %1) gives the same transcript as natively', () => {
    const bash = ['bash', '--norc', '--noprofile', '-i'];
    const nat = native(['python3', JOBCONTROL, ...bash], { env: ENV });
    const sbx = native(['python3', JOBCONTROL, process.execPath, TVISOR, 'do', '-t', '--', ...bash], { env: ENV });
    expect(nat.stderr).toBe('');
    expect(sbx.stderr).toBe('');
    // The essentials, so two identical wrong transcripts do not pass.
    for (const line of [
      '[1]+  Running                 sh -c "$W" &',
      '^C\nPROMPT> echo status=$?\nstatus=130',
      '^Z\n[1]+  Stopped                 sh -c "$W"\nPROMPT> echo status=$?\nstatus=148',
      'PROMPT> jobs\n[1]+  Stopped                 sh -c "$W"',
      'PROMPT> bg\n[1]+ sh -c "$W" &',
      'killed=143',
      "grep -c '[s]leep'\n0\n",
      'status 3',
    ])
      expect(nat.stdout).toContain(line);
    expect(sbx.stdout).toBe(nat.stdout);
  });

  it('the workload has a pty of the sandbox as stdio, controlling terminal and /dev/console, in its own session', () => {
    const script = [
      'tty',
      'readlink /proc/self/fd/0 /proc/self/fd/1 /proc/self/fd/2',
      'stat -c "%t:%T" /dev/console "$(tty)"',
      'ps -o sid=,pgid=,tpgid= -p $$',
      'echo hi > /dev/tty',
    ].join('; ');
    const r = tvisorDo(['sh', '-c', script], ['-t'], { env: ENV });
    expect(r.status).toBe(0);
    const lines = r.stdout.replace(/\r/g, '').trim().split('\n');
    expect(lines.slice(0, 4)).toEqual(['/dev/pts/0', '/dev/pts/0', '/dev/pts/0', '/dev/pts/0']);
    expect(lines[4]).toBe(lines[5]); // /dev/console is that pty
    expect(lines[6]!.trim().split(/\s+/)).toEqual(['2', '2', '2']); // session leader, foreground group
    expect(lines[7]).toBe('hi');
  });

  it('stdin that is not a terminal is typed into the pty, its end as EOF; exit status 128+signal kept', () => {
    const r = tvisorDo(['sh', '-c', 'cat; echo done'], ['-t'], { input: 'abc\n', env: ENV });
    expect(r.status).toBe(0);
    // The pty echoes what is typed (as a terminal does), then cat prints it.
    expect(r.stdout.replace(/\r/g, '')).toBe('abc\nabc\ndone\n');
    expect(tvisorDo(['sh', '-c', 'kill -TERM $$'], ['-t']).status).toBe(128 + 15);
    expect(tvisorDo(['sh', '-c', 'exit 7'], ['-t']).status).toBe(7);
  });
});

describe('real programs with many processes', { timeout: 300_000 }, () => {
  it('make -j4 of a 12-file C project builds and runs as natively', () => {
    const make = (at: string): void => {
      mkdirSync(at);
      const objs: string[] = [];
      let decls = '';
      let calls = '';
      for (let i = 0; i < 12; i++) {
        writeFileSync(join(at, `f${i}.c`), `int f${i}(int x) { int s = 0; for (int k = 0; k <= x; k++) s += k * ${i + 1}; return s; }\n`);
        objs.push(`f${i}.o`);
        decls += `int f${i}(int);\n`;
        calls += `  printf("f${i}=%d\\n", f${i}(${i * 10}));\n`;
      }
      writeFileSync(join(at, 'main.c'), `#include <stdio.h>\n${decls}int main(void) {\n${calls}  return 0;\n}\n`);
      writeFileSync(join(at, 'Makefile'), `prog: main.o ${objs.join(' ')}\n\tcc -o $@ $^\n%.o: %.c\n\tcc -O1 -c -o $@ $<\n`);
    };
    const a = join(dir, 'make-native');
    const b = join(dir, 'make-sandbox');
    make(a);
    make(b);
    const nat = native(['sh', '-c', 'make -s -j4 && ./prog'], { cwd: a, env: ENV });
    const sbx = tvisorDo(['sh', '-c', 'make -s -j4 && ./prog'], ['-v', `${b}:${b}`, '--cwd', b], { env: ENV });
    expect(nat.status).toBe(0);
    expect(nat.stdout).toContain('f11=' + 12 * ((110 * 111) / 2));
    expect(sbx.stderr).toBe(nat.stderr);
    expect(sbx.status).toBe(0);
    expect(sbx.stdout).toBe(nat.stdout);
  });

  it('a pipeline of 200 short processes gives the same output', () => {
    const script = 'seq 200 | while read i; do echo $i | cat | wc -c; done | sort | uniq -c';
    const nat = native(['sh', '-c', script], { env: ENV });
    const sbx = sandboxSh(script, [], { env: ENV });
    expect(nat.stdout.trim().split('\n').map((l) => l.trim())).toEqual(['9 2', '90 3', '101 4']);
    expect(sbx.status).toBe(0);
    expect(sbx.stdout).toBe(nat.stdout);
  });

  it('setsid and kill -- -PGID of a process group work as natively', () => {
    const script = [
      "setsid sh -c 'sleep 100 & sleep 100 & exec sleep 101' &",
      // Until the session's three sleeps run.
      'until [ "$(ps -eo args= | grep -c \'^sleep 10[01]$\')" = 3 ]; do sleep 0.05; done',
      'set -- $(ps -eo pgid=,sid=,args= | awk \'$3 == "sleep" && $4 == "101" { print $1, $2 }\')',
      '[ "$1" = "$2" ] && echo "own session"',
      '[ "$1" != "$(ps -o pgid= -p $$ | tr -d " ")" ] && echo "own group"',
      '[ "$(ps -eo pgid= | grep -c "^ *$1$")" = 3 ] && echo "3 in the group"',
      'kill -- -$1; echo "kill: $?"',
      'wait',
      'until [ "$(ps -eo stat=,args= | grep -c \' sleep 10[01]$\')" = 0 ]; do sleep 0.05; done; echo "all gone"',
    ].join('\n');
    const nat = native([...OWN_PIDNS, 'sh', '-c', script], { env: ENV });
    const sbx = sandboxSh(script, [], { env: ENV });
    expect(nat.stdout).toBe('own session\nown group\n3 in the group\nkill: 0\nall gone\n');
    expect(sbx.stdout).toBe(nat.stdout);
  });

  it('orphans are reaped by the sandbox init: no zombie is left', () => {
    // The orphan's parent subshell exits at once; the orphan ends later. Poll until no sleep 0.2 is listed:
    // an unreaped zombie would stay listed (state Z) and the loop would not end.
    const script = [
      '(sleep 0.2 &)',
      'until [ "$(ps -eo args= | grep -c \'^sleep 0.2$\')" = 0 ]; do sleep 0.05; done',
      'ps -eo stat= | grep -c Z',
    ].join('; ');
    const nat = native([...OWN_PIDNS, 'sh', '-c', script], { env: ENV, timeoutMs: 60_000 });
    const sbx = sandboxSh(script, [], { env: ENV, timeoutMs: 60_000 });
    expect(nat.stdout).toBe('0\n');
    expect(sbx.stdout).toBe(nat.stdout);
  });
});

describe('ps, kill and pkill see only the sandbox', { timeout: 120_000 }, () => {
  let host: ChildProcess;
  beforeAll(() => {
    host = spawn('sleep', ['987002'], { stdio: 'ignore' });
  });
  afterAll(() => {
    host.kill('SIGKILL');
  });

  it('a host process with a distinctive argument is not listed, not matched by pkill and stays alive', () => {
    expect(alive(host.pid!)).toBe(true);
    // The argument is put together at run time, so this script's own command line does not match it.
    const script = [
      'A=98700; A=${A}2',
      'ps -eo pid,args | grep -c "[9]${A#9}"',
      'pkill -f "$A"; echo "pkill: $?"',
      'kill -0 ' + host.pid + ' 2>/dev/null; echo "kill host pid: $?"',
      // Job control's kill %1 inside reaches the sandbox's own job.
      "bash -c 'set -m; sleep 100 & kill %1; wait $!; echo \"kill %1: $?\"'",
    ].join('; ');
    const r = sandboxSh(script, [], { env: ENV });
    // The pid may by chance name a sandbox task; pkill and grep are the real checks.
    const out = r.stdout.replace(/kill host pid: \d+/, 'kill host pid: N');
    expect(out).toBe('0\npkill: 1\nkill host pid: N\nkill %1: 143\n');
    expect(alive(host.pid!)).toBe(true);
  });

  it('a pidfd of a host process passed in over a unix socket (SCM_RIGHTS) cannot signal it: EINVAL', () => {
    const d = mkdtempSync(join(dir, 'pidfd-'));
    const r = native(['python3', PIDFD_PASS, d, process.execPath, TVISOR, 'do', '-v', `${d}:${d}`, '--'], { env: ENV });
    expect(r.stderr).toBe('');
    // The kernel: pidfd_send_signal(2) of a process outside the caller's pid namespace is EINVAL.
    expect(JSON.parse(r.stdout)).toEqual({ client: 'EINVAL', status: 0, victim_alive: true });
    // The probe can fail: without a pid namespace the same pidfd kills its process.
    const d2 = mkdtempSync(join(dir, 'pidfd-'));
    const control = native(['python3', PIDFD_PASS, d2, 'env'], { env: ENV });
    expect(JSON.parse(control.stdout)).toEqual({ client: 'ok', status: 0, victim_alive: false });
  });
});
