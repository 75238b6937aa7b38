/**
 * Test helpers: run tvisor (the compiled CLI, as users do) and native
 * programs, and check that nothing is left behind.
 */
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ROOT = join(import.meta.dirname, '..');
export const TVISOR = join(ROOT, 'bin', 'tvisor.js');
/** Debian bookworm minbase rootfs (+ python3.11 and its test suite) made by test/global-setup.ts (debootstrap, cached). */
export const DEBIAN_ROOTFS = process.env.TVISOR_DEBIAN_ROOTFS ?? '/var/cache/tvisor-fixtures/debian-bookworm-minbase-py311';

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  input?: string;
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
}

/** Runs CMD natively to completion (cwd /tmp unless told, 120 s at most). */
export function native(cmd: string[], o: RunOptions = {}): Run {
  const r: SpawnSyncReturns<string> = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: 'utf8',
    input: o.input ?? '',
    cwd: o.cwd ?? '/tmp',
    env: o.env ?? process.env,
    timeout: o.timeoutMs ?? 120_000,
    maxBuffer: 64 << 20,
  });
  if (r.error) throw r.error;
  return { status: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

/** Runs `tvisor ARGS...` to completion, as a user runs the executable. */
export function tvisor(args: string[], o: RunOptions = {}): Run {
  return native([process.execPath, TVISOR, ...args], o);
}

/** Runs `tvisor do [flags] -- CMD...`. */
export function tvisorDo(cmd: string[], flags: string[] = [], o: RunOptions = {}): Run {
  return tvisor(['do', ...flags, '--', ...cmd], o);
}

/** Runs a shell script under `sh -c` inside the sandbox. */
export function sandboxSh(script: string, flags: string[] = [], o: RunOptions = {}): Run {
  return tvisorDo(['/bin/sh', '-c', script], flags, o);
}

/**
 * Host pids of launchers and sandbox inits (command line tvisor-launch)
 * started by the tvisor process `parent`: launchers by their
 * TVISOR_PARENT_PID, inits as their children. An init wipes that variable
 * (the sandbox must not read the host pid of tvisor in /proc/1/environ), so
 * an init whose launcher is gone is found as an orphan: any tvisor-launch
 * that is pid 1 of its namespace and whose parent is no tvisor-launch (none
 * should ever outlive its launcher, whoever started it).
 */
export function launcherPids(parent: number): number[] {
  const procs = new Map<number, { ppid: number; mine: boolean; init: boolean }>();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      if (!readFileSync(`/proc/${d}/cmdline`, 'latin1').includes('tvisor-launch')) continue;
      const status = readFileSync(`/proc/${d}/status`, 'latin1');
      const nspid = /\nNSpid:[\t ]*([\d\t ]+)\n/.exec(status)?.[1]?.trim().split(/\s+/) ?? [];
      procs.set(Number(d), {
        ppid: Number(/\nPPid:\s*(\d+)/.exec(status)?.[1]),
        mine: readFileSync(`/proc/${d}/environ`, 'latin1').split('\0').includes(`TVISOR_PARENT_PID=${parent}`),
        init: nspid.length > 1 && nspid[nspid.length - 1] === '1',
      });
    } catch {
      /* gone */
    }
  }
  const out: number[] = [];
  for (const [pid, p] of procs) {
    const launcher = procs.get(p.ppid);
    if (p.mine || launcher?.mine || (p.init && !launcher)) out.push(pid);
  }
  return out;
}

/** The host's mount table (to compare before/after). */
export function hostMounts(): string {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ').slice(3, 5).join(' '))
    .sort()
    .join('\n');
}

/** `NAME RESULT` lines (the probes in test/c print them) as a map. */
export function table(out: string): Map<string, string> {
  return new Map(out.trim().split('\n').map((l) => l.split(' ', 2) as [string, string]));
}

/** The entries of `b` that differ from `a`, as "A -> B". */
export function differences(a: Map<string, string>, b: Map<string, string>): Record<string, string> {
  const d: Record<string, string> = {};
  for (const k of new Set([...a.keys(), ...b.keys()])) if (a.get(k) !== b.get(k)) d[k] = `${a.get(k)} -> ${b.get(k)}`;
  return d;
}
