/**
 * Lifetime and bad input: exit codes, one-line errors, signals, and nothing
 * left behind (processes, mounts) whatever happens, SIGKILL included.
 */
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync, chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hostMounts, launcherPids, TVISOR, tvisor, tvisorDo } from './helpers.js';

/** Host pids whose command line contains `marker`. */
function pidsWith(marker: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${d}/cmdline`, 'latin1').includes(marker)) out.push(Number(d));
    } catch {
      /* gone */
    }
  }
  return out;
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return cond();
}

let mountsBefore: string;
let dir: string;
beforeAll(() => {
  mountsBefore = hostMounts();
  dir = mkdtempSync('/tmp/tvisor-life-');
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('exit status', () => {
  it('is the workload\u2019s', () => {
    expect(tvisorDo(['/bin/true']).status).toBe(0);
    expect(tvisorDo(['/bin/sh', '-c', 'exit 3']).status).toBe(3);
  });
  it('is 128+signal when the workload is killed', () => {
    expect(tvisorDo(['/bin/sh', '-c', 'kill -KILL $$']).status).toBe(137);
    expect(tvisorDo(['/bin/sh', '-c', 'kill -SEGV $$']).status).toBe(139);
  });
  it('is 127 for a command not found, 126 for one that cannot be executed', () => {
    const nf = tvisorDo(['/no/such/command']);
    expect(nf.status).toBe(127);
    expect(nf.stderr).toMatch(/^tvisor: \/no\/such\/command: No such file or directory\n$/);
    expect(tvisorDo(['no-such-command-on-path']).status).toBe(127);
    const f = join(dir, 'notexec');
    writeFileSync(f, 'data');
    chmodSync(f, 0o644);
    const ne = tvisorDo([f]);
    expect(ne.status).toBe(126);
    expect(ne.stderr).toMatch(/Permission denied/);
  });
});

describe('bad input gives one line and exit 125', () => {
  const cases: [string, string[]][] = [
    ['an unknown flag', ['do', '--no-such-flag', '--', '/bin/true']],
    ['a missing command', ['do']],
    ['a nonexistent --rootfs', ['do', '--rootfs', '/no/such/dir', '--', '/bin/true']],
    ['a malformed volume', ['do', '-v', 'nocolon', '--', '/bin/true']],
    ['a missing volume source', ['do', '-v', '/no/such/src:/x', '--', '/bin/true']],
    ['an invalid --network', ['do', '--network', 'bogus', '--', '/bin/true']],
    ['an unknown command', ['frobnicate']],
    ['a volume over /', ['do', '-v', '/tmp:/', '--', '/bin/true']],
    ['an --strace file that cannot be created', ['do', '--strace=/no/such/dir/x', '--', '/bin/true']],
    ['a hostname the kernel refuses', ['do', '--hostname', 'x'.repeat(100), '--', '/bin/true']],
  ];
  for (const [what, args] of cases) {
    it(what, () => {
      const r = tvisor(args);
      expect(r.status).toBe(125);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^tvisor: /);
      expect(r.stdout).toBe('');
    });
  }
  it('a missing --cwd inside the sandbox', () => {
    const r = tvisorDo(['/bin/true'], ['--cwd', '/no/such/dir']);
    expect(r.status).toBe(125);
    expect(r.stderr).toBe("tvisor: cwd: /no/such/dir: No such file or directory\n");
  });
});

describe('signals and SIGKILL', () => {
  it('SIGTERM to tvisor reaches the workload', async () => {
    const marker = `tvisor-term-${process.pid}`;
    const child = spawn(process.execPath, [TVISOR, 'do', '--', '/bin/sh', '-c', `trap 'echo got TERM; exit 42' TERM; echo ready; while :; do sleep 0.05; done; : ${marker}`], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    expect(await waitFor(() => out.includes('ready'), 10_000)).toBe(true);
    child.kill('SIGTERM');
    const code = await new Promise<number | null>((r) => child.on('exit', (c) => r(c)));
    expect(out).toContain('got TERM');
    expect(code).toBe(42);
  });

  it('SIGKILL of tvisor while the workload runs kills every sandbox process', async () => {
    const marker = `4242.${process.pid}`;
    const child = spawn(process.execPath, [TVISOR, 'do', '--', '/bin/sh', '-c', `sleep ${marker} & sleep ${marker}; wait`], {
      stdio: 'ignore',
    });
    expect(await waitFor(() => pidsWith(marker).length >= 2, 10_000)).toBe(true);
    child.kill('SIGKILL');
    expect(await waitFor(() => pidsWith(marker).length === 0, 5_000)).toBe(true);
    expect(await waitFor(() => launcherPids(child.pid!).length === 0, 5_000)).toBe(true);
  });

  it('SIGKILL at odd moments of startup and run leaves nothing behind (12 tries)', async () => {
    for (let i = 0; i < 12; i++) {
      const marker = `4343.${process.pid}${i}`;
      const child = spawn(process.execPath, [TVISOR, 'do', '--', '/bin/sh', '-c', `sleep ${marker}`], { stdio: 'ignore' });
      await new Promise((r) => setTimeout(r, i * 30));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      expect(await waitFor(() => pidsWith(marker).length === 0, 5_000), `try ${i}`).toBe(true);
      expect(await waitFor(() => launcherPids(child.pid!).length === 0, 5_000), `try ${i}`).toBe(true);
    }
  });
});

describe('nothing left behind', () => {
  it('no host mount remains', () => {
    expect(hostMounts()).toBe(mountsBefore);
  });
});
