/**
 * `tvisor events [--stats] [--interval 5s] ID`: runc's event stream, one JSON
 * object per line: {"type":"stats","id":ID,"data":{...}} every interval
 * while the sandbox runs (ends when it stops), or one line with --stats.
 * `data` follows runc's types (libcontainer/cgroups stats as runc events.go
 * prints them): `pids.current` is the number of tasks (threads) in the
 * sentry's process table, as a pids cgroup counts them; cpu and memory come
 * from the sandbox's cgroup (its `cgroup` record in state.json, read by
 * src/cgroups.ts readCgroupStats). With no cgroup recorded (a host without
 * cgroup controllers), the data has pids only and a one-line notice on
 * stderr says so.
 */
import { Command } from 'commander';
import type { CgroupRecord } from '../../sentry/kernel/limits.js';
import { readCgroupStats } from '../cgroups.js';
import type { SandboxState } from '../state.js';
import { readState } from '../state.js';
import { fail, lookup, rootOf, tasksOf } from './lookup.js';

/** runc's stats data (part of it): what a cgroup reader fills in, and the pids from the process table. */
export interface StatsData {
  cpu?: unknown;
  memory?: unknown;
  pids: { current: number; limit?: number };
  [key: string]: unknown;
}

/** Reads a sandbox's cgroup usage in runc's stats shape (cpu, memory, pids.limit...). */
export type CgroupStatsReader = (cg: CgroupRecord) => { pids?: { current?: number; limit?: number } };

/** The cgroup reader `events` uses. */
const CGROUP_STATS: CgroupStatsReader = readCgroupStats;

/** One stats event for sandbox `st` with `taskCount` tasks; exported for unit tests. */
export function statsEvent(
  st: SandboxState,
  taskCount: number,
  reader: CgroupStatsReader | null,
): { type: 'stats'; id: string; data: StatsData } {
  const cg = st.cgroup && reader ? reader(st.cgroup) : {};
  return { type: 'stats', id: st.id, data: { ...cg, pids: { ...cg.pids, current: taskCount } } };
}

/** Parses a Go-style duration (`5s`, `500ms`, `1m30s`, `2h`) into ms; throws on anything else. */
export function parseDuration(text: string): number {
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  if (!rest) throw new Error('empty duration');
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new Error(`invalid duration "${text}"`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (total <= 0) throw new Error(`invalid duration "${text}": must be positive`);
  return total;
}

export function eventsCommand(): Command {
  return new Command('events')
    .description('print stats of a sandbox as runc\u2019s JSON events (pids from the process table, cpu and memory from its cgroup)')
    .argument('<id>', 'the sandbox (tvisor do --name ID)')
    .option('--stats', 'print one stats event and exit')
    .option('--interval <duration>', 'time between stats events (5s, 500ms, 1m)', '5s')
    .action(async (id: string, o: { stats?: boolean; interval: string }, cmd: Command) => {
      const root = rootOf(cmd);
      let interval: number;
      try {
        interval = parseDuration(o.interval);
      } catch (e) {
        fail(`--interval: ${(e as Error).message}`);
      }
      let st = lookup(root, id);
      if (st.status === 'stopped') fail(`container "${id}" is stopped`);
      if (!st.cgroup) process.stderr.write(`tvisor: sandbox "${id}" has no cgroup (no controllers on this host): only pids are reported\n`);
      for (;;) {
        const tasks = await tasksOf(st);
        if (!tasks) {
          if (o.stats) fail(`container "${id}" is stopped`);
          return;
        }
        process.stdout.write(JSON.stringify(statsEvent(st, tasks.length, CGROUP_STATS)) + '\n');
        if (o.stats) return;
        await new Promise((r) => setTimeout(r, interval));
        const next = readState(root, id);
        if (!next || next.status === 'stopped') return;
        st = next;
      }
    });
}
