/**
 * Unit tests of the process table's parts: the proc connector's parser, the
 * table with a fake event source (events, and the resync after lost ones),
 * the strace decoders, the state directory, and the stats event.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseProcEvents, type ProcEvent, type ProcEventSource } from '../sentry/kernel/cnproc.js';
import { ProcTable } from '../sentry/kernel/proctable.js';
import { serveControl } from '../sentry/control.js';
import { createConnection } from 'node:net';
import { decodeWaitStatus, exitLine, idChangeLine, printable, signalName, waitStatusText } from '../sentry/strace/events.js';
import { readState, Registration, StateError } from '../src/state.js';
import { parseDuration, statsEvent } from '../src/cli/events.js';

/** A hand-made connector datagram holding one proc_event: `what` and the u32 words of event_data. */
function datagram(what: number, words: number[], comm?: string): Buffer {
  const b = Buffer.alloc(16 + 20 + 16 + 24);
  b.writeUInt32LE(b.length, 0);
  b.writeUInt16LE(3, 4);
  b.writeUInt32LE(1, 16); // CN_IDX_PROC
  b.writeUInt32LE(1, 20);
  b.writeUInt16LE(40, 32);
  b.writeUInt32LE(what, 36);
  words.forEach((w, i) => b.writeUInt32LE(w >>> 0, 52 + 4 * i));
  if (comm) b.write(comm, 52 + 8, 'latin1');
  return b;
}

describe('parseProcEvents', () => {
  it('decodes fork, exec, uid, comm and exit events; skips others', () => {
    const bufs = [
      datagram(1, [10, 10, 11, 11]),
      datagram(2, [11, 11]),
      datagram(4, [11, 11, 1000, 1001]),
      datagram(0x200, [11, 11], 'worker'),
      datagram(0x80000000, [11, 11, 9 | 0x80, 17]),
      datagram(0x100, [11, 11, 5, 5]), // ptrace: skipped
    ];
    const all = Buffer.concat(bufs);
    expect(parseProcEvents(all, all.length)).toEqual([
      { kind: 'fork', parentPid: 10, parentTgid: 10, childPid: 11, childTgid: 11 },
      { kind: 'exec', pid: 11, tgid: 11 },
      { kind: 'uid', pid: 11, tgid: 11, real: 1000, effective: 1001 },
      { kind: 'comm', pid: 11, tgid: 11, comm: 'worker' },
      { kind: 'exit', pid: 11, tgid: 11, exitCode: 0x89, exitSignal: 17 },
    ]);
    // A truncated datagram yields what is whole.
    expect(parseProcEvents(all, bufs[0]!.length + 10)).toHaveLength(1);
  });
});

describe('strace decoders', () => {
  it('prints what a workload names (files, commands) on one line, control characters escaped', () => {
    expect(printable('/tmp/x\n[pid 1] +++ exited with 0 +++')).toBe('/tmp/x\\n[pid 1] +++ exited with 0 +++');
    expect(printable('a\x1b[2Jb\tc\\d\x9be')).toBe('a\\033[2Jb\\tc\\\\d\\233e');
    expect(printable('plain /usr/bin/ls')).toBe('plain /usr/bin/ls');
  });

  it('names signals as strace does', () => {
    expect(signalName(9)).toBe('SIGKILL');
    expect(signalName(6)).toBe('SIGABRT');
    expect(signalName(29)).toBe('SIGIO');
    expect(signalName(34)).toBe('SIGRT_2');
    expect(signalName(64)).toBe('SIGRT_32');
    expect(signalName(0)).toBe('0');
    expect(signalName(65)).toBe('65');
  });
  it('decodes wait statuses', () => {
    expect(waitStatusText(3 << 8)).toBe('exited with 3');
    expect(waitStatusText(0)).toBe('exited with 0');
    expect(waitStatusText(9)).toBe('killed by SIGKILL');
    expect(waitStatusText(11 | 0x80)).toBe('killed by SIGSEGV (core dumped)');
    expect(decodeWaitStatus((19 << 8) | 0x7f)).toEqual({ kind: 'stopped', signal: 19 });
    expect(decodeWaitStatus(0xffff)).toEqual({ kind: 'continued' });
    expect(exitLine(4, 2 << 8)).toBe('[pid 4] +++ exited with 2 +++');
    expect(idChangeLine(4, 'gid', 0, 100, 100)).toBe('[pid 4] --- gid change: 0 -> 100 (egid 100) ---');
  });
});

/** A fake event source: tests queue events and losses. */
class FakeSource implements ProcEventSource {
  events: ProcEvent[] = [];
  lost = false;
  closed = false;
  drain(): { events: ProcEvent[]; lost: boolean } {
    const out = { events: this.events, lost: this.lost };
    this.events = [];
    this.lost = false;
    return out;
  }
  close(): void {
    this.closed = true;
  }
}

const procs: ChildProcess[] = [];
afterAll(() => {
  for (const p of procs) p.kill('SIGKILL');
});

/** A native shell that starts a `sleep 100` for each line it reads, and its children's host pids. */
async function shellTree(): Promise<{ sh: ChildProcess; more: () => Promise<number> }> {
  const sh = spawn('/bin/sh', ['-c', 'while read x; do sleep 100 & echo $!; done'], { stdio: ['pipe', 'pipe', 'ignore'] });
  procs.push(sh);
  const waiting: ((pid: number) => void)[] = [];
  sh.stdout!.setEncoding('utf8');
  sh.stdout!.on('data', (d: string) => {
    for (const l of d.trim().split('\n')) waiting.shift()?.(Number(l));
  });
  // The child's pid is printed before it has exec'd sleep: wait until it has (its comm says so).
  const execd = async (pid: number): Promise<number> => {
    for (let i = 0; i < 200; i++) {
      try {
        if (readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep') return pid;
      } catch {
        /* not there yet */
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    return pid;
  };
  const more = (): Promise<number> =>
    new Promise<number>((r) => {
      waiting.push(r);
      sh.stdin!.write('x\n');
    }).then(execd);
  return { sh, more };
}

const children = (pid: number): number[] =>
  readFileSync(`/proc/${pid}/task/${pid}/children`, 'latin1').trim().split(/\s+/).filter(Boolean).map(Number).sort((a, b) => a - b);

describe('ProcTable', () => {
  it('seeds from /proc, follows events, and resyncs when events were lost', async () => {
    const { sh, more } = await shellTree();
    const a = await more();
    const b = await more();
    const src = new FakeSource();
    const lines: string[] = [];
    const table = new ProcTable({ initPid: sh.pid!, source: src, strace: (l) => lines.push(l) });
    // Seed: the init (here a native shell) and its descendants.
    expect(table.hostPids()).toEqual([sh.pid!, a, b].sort((x, y) => x - y));
    const snap = table.snapshot();
    expect(snap.find((t) => t.hostPid === a)).toMatchObject({ comm: 'sleep', cmdline: ['sleep', '100'], ppid: sh.pid!, state: 'S' });

    // An exit event removes a task; an event about a host process outside the tree is ignored.
    src.events.push({ kind: 'exit', pid: a, tgid: a, exitCode: 9, exitSignal: 17 });
    src.events.push({ kind: 'fork', parentPid: process.pid, parentTgid: process.pid, childPid: 1, childTgid: 1 });
    expect(table.hostPids()).toEqual([sh.pid!, b].sort((x, y) => x - y));
    expect(lines).toEqual([`[pid ${a}] +++ killed by SIGKILL +++`]);

    // A new child whose fork event was lost: invisible until the source reports the loss, then found by a rescan.
    const c = await more();
    expect(table.hostPids()).not.toContain(c);
    const before = table.resyncs;
    src.lost = true;
    const pids = table.hostPids();
    expect(table.resyncs).toBe(before + 1);
    expect(pids).toEqual([sh.pid!, ...children(sh.pid!)].sort((x, y) => x - y));
    expect(pids).toContain(c);
    expect(pids).toContain(a); // still alive: the rescan trusts /proc, not the (fake) exit event
    expect(pids).not.toContain(process.pid);

    // A fork event whose parent is a member adds the child.
    const d = await more();
    src.events.push({ kind: 'fork', parentPid: sh.pid!, parentTgid: sh.pid!, childPid: d, childTgid: d });
    expect(table.hostPids()).toContain(d);
    expect(lines[lines.length - 1]).toBe(`[pid ${sh.pid}] --- forked child ${d} ---`);
    table.close();
    expect(src.closed).toBe(true);
  });

  it('the control socket answers a request ended by the end of the stream as one ended by a newline', async () => {
    const { sh } = await shellTree();
    const table = new ProcTable({ initPid: sh.pid!, source: null });
    const dir = mkdtempSync('/tmp/tvisor-ctl-unit-');
    const path = join(dir, 'ctl.sock');
    const server = serveControl(path, table, () => {});
    try {
      await new Promise((r) => setTimeout(r, 100));
      for (const end of ['\n', '']) {
        const answer = await new Promise<string>((resolve, reject) => {
          let out = '';
          const c = createConnection(path, () => c.end('{"op":"ps"}' + end));
          c.setEncoding('utf8');
          c.on('data', (d: string) => (out += d));
          c.on('end', () => resolve(out));
          c.on('error', reject);
        });
        expect(JSON.parse(answer)).toMatchObject({ ok: true });
      }
    } finally {
      server.close();
      table.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('without an event source, every snapshot rescans', async () => {
    const { sh, more } = await shellTree();
    const table = new ProcTable({ initPid: sh.pid!, source: null });
    const a = await more();
    expect(table.hostPids()).toEqual([sh.pid!, a].sort((x, y) => x - y));
  });
});

describe('state directory', () => {
  const root = mkdtempSync('/tmp/tvisor-state-unit-');
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('sweeps a directory a killed tvisor left without a state file, once it is old enough', () => {
    const left = join(root, 'half-made');
    mkdirSync(left);
    const young = Registration.create(root, 'sweeper1', { bundle: '/b', rootfs: '/' });
    expect(readdirSync(root)).toContain('half-made'); // may still be a tvisor between mkdir and its first write
    young.remove();
    const old = new Date(Date.now() - 60_000);
    utimesSync(left, old, old);
    const reg = Registration.create(root, 'sweeper2', { bundle: '/b', rootfs: '/' });
    expect(readdirSync(root)).not.toContain('half-made');
    reg.remove();
  });

  it('refuses an id whose control socket path would not fit sun_path (107 bytes), leaving nothing', () => {
    const long = 'c'.repeat(120 - root.length);
    expect(() => Registration.create(root, long, { bundle: '/b', rootfs: '/r' })).toThrow(/too long/);
    expect(readdirSync(root)).not.toContain(long);
  });

  it('registers an id once, atomically, and removes it', () => {
    const reg = Registration.create(root, 'one', { bundle: '/b', rootfs: '/r', cgroup: { version: 1, paths: { pids: '/sys/fs/cgroup/pids/x' } } });
    expect(() => Registration.create(root, 'one', { bundle: '/b', rootfs: '/r' })).toThrow(StateError);
    const st = readState(root, 'one')!;
    expect(st).toMatchObject({ id: 'one', status: 'created', pid: 0, bundle: '/b', rootfs: '/r', cgroup: { version: 1 } });
    reg.update({ status: 'running', pid: 42 });
    expect(readState(root, 'one')).toMatchObject({ status: 'running', pid: 42 });
    expect(readdirSync(join(root, 'one'))).toEqual(['state.json']); // no temporary file left
    reg.remove();
    expect(readdirSync(root)).toEqual([]);
    expect(readState(root, 'one')).toBeNull();
  });

  it('reports a stale entry as stopped and lets the id be registered again', () => {
    mkdirSync(join(root, 'stale'), { mode: 0o700 });
    const dead = { ociVersion: '1.0.2', id: 'stale', status: 'running', pid: 5, bundle: '/', rootfs: '/', created: new Date().toISOString(), controlSocket: join(root, 'stale', 'ctl.sock'), sentry: { pid: process.pid, startTime: 1 } };
    writeFileSync(join(root, 'stale', 'state.json'), JSON.stringify(dead));
    writeFileSync(join(root, 'stale', 'ctl.sock'), '');
    expect(readState(root, 'stale')).toMatchObject({ status: 'stopped', pid: 0 });
    const reg = Registration.create(root, 'stale', { bundle: '/b', rootfs: '/' });
    expect(readdirSync(join(root, 'stale'))).toEqual(['state.json']);
    expect(readState(root, 'stale')).toMatchObject({ status: 'created', bundle: '/b' });
    reg.remove();
    expect(readdirSync(root)).toEqual([]);
  });

  it('sweeps stale entries of unnamed sandboxes, and keeps stale named ones for `state`', () => {
    const stale = (id: string, generatedId: boolean): void => {
      mkdirSync(join(root, id), { mode: 0o700 });
      const st = { ociVersion: '1.0.2', id, status: 'running', pid: 5, bundle: '/', rootfs: '/', created: '', controlSocket: '', sentry: { pid: process.pid, startTime: 1 }, generatedId };
      writeFileSync(join(root, id, 'state.json'), JSON.stringify(st));
    };
    stale('0123abcd', true);
    stale('named', false);
    const reg = Registration.create(root, 'other', { bundle: '/', rootfs: '/' });
    expect(readdirSync(root).sort()).toEqual(['named', 'other']);
    reg.remove();
    rmSync(join(root, 'named'), { recursive: true });
  });

  it('refuses ids runc refuses', () => {
    for (const id of ['', '.', '..', 'a/b', 'a b', '../x']) expect(() => readState(root, id)).toThrow('invalid container id format');
  });
});

describe('events', () => {
  it('parses Go-style durations', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('250ms')).toBe(250);
    expect(parseDuration('1m30s')).toBe(90_000);
    for (const bad of ['', '5', 's', '-1s', '0s', '5x']) expect(() => parseDuration(bad)).toThrow();
  });
  it('takes pids from the table and the rest from the cgroup reader', () => {
    const st = readState('/nonexistent', 'x') ?? {
      ociVersion: '1.0.2', id: 'x', status: 'running' as const, pid: 1, bundle: '/', rootfs: '/', created: '', controlSocket: '', sentry: { pid: 1, startTime: 0 },
    };
    expect(statsEvent(st, 3, null)).toEqual({ type: 'stats', id: 'x', data: { pids: { current: 3 } } });
    const withCg = { ...st, cgroup: { version: 2 as const, paths: { '': '/sys/fs/cgroup/x' } } };
    const reader = () => ({ memory: { usage: { usage: 5 } }, pids: { current: 99, limit: 64 } });
    expect(statsEvent(withCg, 3, reader)).toEqual({ type: 'stats', id: 'x', data: { memory: { usage: { usage: 5 } }, pids: { current: 3, limit: 64 } } });
  });
});
