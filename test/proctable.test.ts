/**
 * The process table seen from outside: `tvisor ps`, `state` and `events` on
 * running sandboxes registered under a private --root, the registry's locking
 * and stale entries, and the strace lines of process events.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_ROOTFS, TVISOR, tvisor } from './helpers.js';
import { controlRequest } from '../sentry/control.js';
import type { TaskInfo } from '../sentry/kernel/proctable.js';

let root: string;
const started: ChildProcess[] = [];

beforeAll(() => {
  root = mkdtempSync('/tmp/tvisor-ptable-');
});
afterAll(() => rmSync(root, { recursive: true, force: true }));
afterEach(async () => {
  for (const p of started.splice(0)) await stop(p);
  // Every sandbox removed its entry.
  expect(readdirSync(root)).toEqual([]);
});

/** Starts `tvisor --root ROOT do --name ID FLAGS -- CMD` in the background. */
function start(id: string, cmd: string[], flags: string[] = []): ChildProcess & { out: () => string; err: () => string } {
  const p = spawn(process.execPath, [TVISOR, '--root', root, 'do', '--name', id, ...flags, '--', ...cmd], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  p.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  p.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  started.push(p);
  return Object.assign(p, { out: () => out, err: () => err });
}

function exited(p: ChildProcess): Promise<number | null> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve(p.exitCode);
  return new Promise((r) => p.on('exit', (code) => r(code)));
}

async function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode === null && p.signalCode === null) p.kill('SIGTERM');
  await exited(p);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls `cond` every 50 ms, up to `ms`; returns its last value. */
async function until<T>(cond: () => T | Promise<T>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await cond();
    if (v || Date.now() > end) return v;
    await sleep(50);
  }
}

const ps = (id: string, ...flags: string[]) => tvisor(['--root', root, 'ps', ...flags, id]);
const psJson = (id: string): number[] => {
  const r = ps(id, '--format', 'json');
  return r.status === 0 ? (JSON.parse(r.stdout) as number[]) : [];
};
const state = (id: string) => tvisor(['--root', root, 'state', id]);
async function tasks(id: string): Promise<TaskInfo[]> {
  const st = JSON.parse(readFileSync(`${root}/${id}/state.json`, 'utf8')) as { controlSocket: string };
  const res = await controlRequest(st.controlSocket, { op: 'ps' });
  if (!res.ok) throw new Error(res.error);
  return res.tasks;
}

/** Host pids of every process in the pid namespace of host process `pid` (from /proc, independently of tvisor). */
function pidsInNamespaceOf(pid: number): number[] {
  const ns = readlinkSync(`/proc/${pid}/ns/pid`);
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (readlinkSync(`/proc/${d}/ns/pid`) === ns) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out.sort((a, b) => a - b);
}

/** The table's lines as column → value records. */
function rows(table: string): Record<string, string>[] {
  const [head, ...lines] = table.trimEnd().split('\n');
  const cols = head!.split(/\s+/);
  return lines.map((l) => {
    const parts = l.split(/\s+/);
    return Object.fromEntries(cols.map((c, i) => [c, i === cols.length - 1 ? parts.slice(i).join(' ') : parts[i]!]));
  });
}

describe('tvisor ps', () => {
  it('keeps a process whose leader thread left by pthread_exit while another thread runs (ps shows it Zl)', async () => {
    const dir = mkdtempSync('/tmp/tvisor-leaderexit-');
    try {
      writeFileSync(
        join(dir, 'l.c'),
        '#include <pthread.h>\n#include <unistd.h>\nstatic void *t(void *a) { (void)a; sleep(100); return 0; }\n' +
          'int main(void) { pthread_t th; pthread_create(&th, 0, t, 0); pthread_exit(0); }\n',
      );
      execFileSync('gcc', ['-O2', '-pthread', '-o', join(dir, 'l'), join(dir, 'l.c')]);
      start('lx', [join(dir, 'l')], ['-v', `${dir}:${dir}:ro`]);
      const st = await until(() => {
        const s = JSON.parse(state('lx').stdout || '{}') as { pid?: number };
        return s.pid ? s : null;
      });
      // Natively the process is there: its pid in the sandbox's namespace, the leader a zombie with a live thread.
      const inNs = await until(() => (pidsInNamespaceOf(st!.pid!).length === 2 ? pidsInNamespaceOf(st!.pid!) : null));
      expect(inNs).not.toBeNull();
      await sleep(500); // the leader's exit report has been read by now
      expect(psJson('lx')).toEqual(inNs);
      expect(rows(ps('lx').stdout).find((r) => r.SPID === '2')).toMatchObject({ NLWP: '2', STAT: 'Z' });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lists exactly the sandbox\u2019s processes: host pids in json, sandbox pids, commands and paths in the table', async () => {
    const host = spawn('sleep', ['100'], { stdio: 'ignore' }); // a host process that must never appear
    try {
      start('ps1', ['/bin/sh', '-c', 'cd /usr/lib; sleep 100 & sleep 100 & wait'], ['--rootfs', DEBIAN_ROOTFS, '--memory', '256m', '--pids', '100']);
      const pids = await until(() => (psJson('ps1').length === 4 ? psJson('ps1') : null));
      expect(pids).not.toBeNull();
      const st = JSON.parse(state('ps1').stdout) as { pid: number; status: string };
      expect(st.status).toBe('running');
      expect(pids).toEqual(pidsInNamespaceOf(st.pid));
      expect(pids).not.toContain(host.pid);
      expect(pids).not.toContain(process.pid);

      const t = rows(ps('ps1').stdout);
      expect(t.map((r) => r.SPID)).toEqual(['1', '2', '3', '4']);
      expect(t.map((r) => r.PID)).toEqual(pids.map(String));
      expect(t.map((r) => r.SPPID)).toEqual(['0', '1', '2', '2']);
      expect(t[0]!.CMD).toBe('tvisor-launch');
      expect(t[1]!.CMD).toMatch(/^\/bin\/sh -c /);
      expect(t.slice(2).map((r) => r.CMD)).toEqual(['sleep 100', 'sleep 100']);
      expect(t.slice(2).map((r) => r.CWD)).toEqual(['/usr/lib', '/usr/lib']);

      const all = await tasks('ps1');
      const sleeps = all.filter((x) => x.comm === 'sleep');
      expect(sleeps.map((x) => x.exe)).toEqual(['/usr/bin/sleep', '/usr/bin/sleep']);
      expect(sleeps.map((x) => x.cwd)).toEqual(['/usr/lib', '/usr/lib']);
      // Sandbox paths, not host ones: nothing names the rootfs directory.
      expect(JSON.stringify(all)).not.toContain(DEBIAN_ROOTFS);

      const ev = tvisor(['--root', root, 'events', '--stats', 'ps1']);
      expect(ev.status).toBe(0);
      const line = JSON.parse(ev.stdout) as {
        type: string;
        id: string;
        data: { pids: { current: number; limit: number }; memory: { usage: { usage: number; limit: number } }; cpu: { usage: { total: number } } };
      };
      expect(line.type).toBe('stats');
      expect(line.id).toBe('ps1');
      const threads = pids.reduce((n, p) => n + readdirSync(`/proc/${p}/task`).length, 0);
      expect(line.data.pids.current).toBe(threads);
      // From the sandbox's cgroup: its limits and what it uses.
      expect(line.data.pids.limit).toBe(100);
      expect(line.data.memory.usage.limit).toBe(256 * 1024 * 1024);
      expect(line.data.memory.usage.usage).toBeGreaterThan(0);
      expect(line.data.cpu.usage.total).toBeGreaterThan(0);
    } finally {
      host.kill();
    }
  });

  it('shows the threads of a threaded program as tasks', async () => {
    const prog = 'import threading, time\nfor _ in range(8): threading.Thread(target=time.sleep, args=(100,), daemon=True).start()\ntime.sleep(100)';
    start('ps2', ['/usr/bin/python3.11', '-c', prog], ['--rootfs', DEBIAN_ROOTFS]);
    const py = await until(async () => {
      const all = psJson('ps2').length ? await tasks('ps2') : [];
      const t = all.filter((x) => x.comm.startsWith('python'));
      return t.length === 9 ? t : null;
    });
    expect(py).not.toBeNull();
    expect(new Set(py!.map((x) => x.pid)).size).toBe(1);
    expect(py!.map((x) => x.hostTid).sort()).toEqual(readdirSync(`/proc/${py![0]!.hostPid}/task`).map(Number).sort());
    const lines = rows(ps('ps2', '--threads').stdout).filter((r) => r.CMD.startsWith('/usr/bin/python3.11'));
    expect(lines).toHaveLength(9);
    expect(lines.every((r) => r.NLWP === '9')).toBe(true);
  });

  it('drops processes that exit, and shows a uid change', async () => {
    start('ps3', ['/bin/sh', '-c', 'sleep 0.5 & /usr/bin/python3.11 -c "import os, time; os.setuid(1000); time.sleep(100)" & wait'], [
      '--rootfs',
      DEBIAN_ROOTFS,
    ]);
    const py = await until(() => rows(ps('ps3').stdout).find((r) => r.CMD.startsWith('/usr/bin/python3.11') && r.UID === '1000'));
    expect(py).toBeTruthy();
    const gone = await until(() => !rows(ps('ps3').stdout).some((r) => r.CMD === 'sleep 0.5'));
    expect(gone).toBe(true);
    expect(rows(ps('ps3').stdout).map((r) => r.SPID)).toHaveLength(3);
  });
});

describe('the state directory', () => {
  it('state is running during the run, and the entry is gone after', async () => {
    const p = start('st1', ['/bin/sleep', '100']);
    const running = await until(() => state('st1').status === 0 && (JSON.parse(state('st1').stdout) as { status: string }).status === 'running');
    expect(running).toBe(true);
    const s = JSON.parse(state('st1').stdout) as Record<string, unknown>;
    expect(Object.keys(s).sort()).toEqual(['bundle', 'created', 'id', 'ociVersion', 'owner', 'pid', 'rootfs', 'status']);
    expect(s.rootfs).toBe('/');
    expect(new Date(s.created as string).toISOString()).toBe(s.created);
    expect(readlinkSync(`/proc/${s.pid as number}/ns/pid`)).not.toBe(readlinkSync('/proc/self/ns/pid'));
    await stop(p);
    const after = state('st1');
    expect(after.status).toBe(1);
    expect(after.stderr).toBe('tvisor: container "st1" does not exist\n');
  });

  it('unknown ids fail as runc does', () => {
    for (const cmd of [['state'], ['ps'], ['ps', '--format', 'json'], ['events', '--stats']]) {
      const r = tvisor(['--root', root, ...cmd, 'nosuch']);
      expect(r.status).toBe(1);
      expect(r.stderr).toBe('tvisor: container "nosuch" does not exist\n');
    }
  });

  it('a second do --name X fails clearly while X runs', async () => {
    start('dup', ['/bin/sleep', '100']);
    expect(await until(() => psJson('dup').length === 2)).toBe(true);
    const r = tvisor(['--root', root, 'do', '--name', 'dup', '--', '/bin/true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('tvisor: container "dup" already exists (a sandbox with that name is running)\n');
    expect(psJson('dup')).toHaveLength(2); // the first is untouched
  });

  it('an entry left by a SIGKILLed tvisor is stopped, and the name can be used again', async () => {
    const p = start('killed', ['/bin/sleep', '100']);
    expect(await until(() => psJson('killed').length === 2)).toBe(true);
    p.kill('SIGKILL');
    await exited(p);
    const s = state('killed');
    expect(s.status).toBe(0);
    expect(JSON.parse(s.stdout)).toMatchObject({ id: 'killed', status: 'stopped', pid: 0 });
    expect(psJson('killed')).toEqual([]);
    const again = tvisor(['--root', root, 'do', '--name', 'killed', '--', '/bin/sh', '-c', 'exit 7']);
    expect(again.status).toBe(7);
    expect(readdirSync(root)).toEqual([]);
  });

  it('a bad name is refused before anything starts', () => {
    const r = tvisor(['--root', root, 'do', '--name', '../x', '--', '/bin/true']);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe('tvisor: invalid container id format: ../x\n');
  });
});

describe('strace lines for process events', () => {
  it('decodes exit statuses, kill signals, forks, execs and uid changes', async () => {
    const script = '(exit 3); sh -c "kill -KILL \\$\\$"; python3.11 -c "import os; os.setuid(1000)"; true';
    const p = start('strace', ['/bin/sh', '-c', script], ['--rootfs', DEBIAN_ROOTFS, '--strace']);
    expect(await exited(p)).toBe(0);
    const events = p.err().split('\n').filter((l) => / (\+\+\+|---) /.test(l));
    // A task reaped before the sentry read its fork event is named by its host pid.
    expect(events).toContainEqual(expect.stringMatching(/^\[pid (host )?\d+\] \+\+\+ exited with 3 \+\+\+$/));
    expect(events).toContainEqual(expect.stringMatching(/^\[pid (host )?\d+\] \+\+\+ killed by SIGKILL \+\+\+$/));
    expect(events).toContainEqual(expect.stringMatching(/^\[pid \d+\] --- uid change: 0 -> 1000 \(euid 1000\) ---$/));
    expect(events).toContainEqual(expect.stringMatching(/^\[pid 1\] --- forked child 2 ---$/));
    expect(events).toContainEqual(expect.stringMatching(/^\[pid \d+\] --- execve done: \/usr\/bin\/python3\.11 ---$/));
    expect(events[events.length - 1]).toBe('[pid 1] +++ exited with 0 +++');
  });
});
