/**
 * `tvisor ps [--format table|json] [--threads] ID`: the sandbox's processes,
 * from the sentry's process table (sentry/kernel/proctable.ts).
 *
 * `--format json` prints what runc prints and containerd's shim parses: a
 * JSON array of the processes' HOST pids. The table has one line per
 * process (per thread with --threads), columns:
 *   UID    real uid (numeric: the sandbox's users are not the host's)
 *   PID    host pid           PPID   host pid of the parent
 *   SPID   pid in the sandbox SPPID  parent's pid in the sandbox (0: outside)
 *   LWP    host tid           SLWP   tid in the sandbox      (--threads only)
 *   NLWP   threads            STAT   state (proc(5): R S D T Z ...)
 *   STIME  start time         CWD    working directory inside the sandbox
 *   CMD    command line ([name] when it has none)
 * A stopped sandbox has no processes: an empty table, or [] in json.
 */
import { printable } from '../../sentry/strace/events.js';
import { Command, Option } from 'commander';
import type { TaskInfo } from '../../sentry/kernel/proctable.js';
import { lookup, rootOf, tasksOf } from './lookup.js';

const COLUMNS_HELP = `
Columns of the table: UID (real uid), PID and PPID (host pids), SPID and SPPID (pids inside the sandbox; SPPID 0:
the parent is outside), LWP and SLWP (host and sandbox thread ids, with --threads), NLWP (threads), STAT, STIME,
CWD (inside the sandbox), CMD. --format json prints the host pids of the processes as a JSON array (runc's format).`;

/** "HH:MM" for a start today, else "MonDD" (ps(1) STIME). */
function stime(iso: string, now = new Date()): string {
  const d = new Date(iso);
  const pad = (n: number): string => String(n).padStart(2, '0');
  if (d.toDateString() === now.toDateString()) return `${pad(d.getHours())}:${pad(d.getMinutes())}`;
  return d.toLocaleString('en-US', { month: 'short' }) + pad(d.getDate());
}

/** The table text for `tasks` (one row per process, or per thread with `threads`). Exported for unit tests. */
export function formatTable(tasks: readonly TaskInfo[], threads: boolean): string {
  const nlwp = new Map<number, number>();
  for (const t of tasks) nlwp.set(t.hostPid, (nlwp.get(t.hostPid) ?? 0) + 1);
  const rows = (threads ? tasks : tasks.filter((t) => t.tid === t.pid)).map((t) => [
    String(t.uid.real),
    String(t.hostPid),
    String(t.hostPpid),
    String(t.pid),
    String(t.ppid),
    ...(threads ? [String(t.hostTid), String(t.tid)] : []),
    String(nlwp.get(t.hostPid)),
    t.state,
    stime(t.started),
    printable(t.cwd),
    printable(t.cmdline.length ? t.cmdline.join(' ') : `[${t.comm}]`),
  ]);
  const head = ['UID', 'PID', 'PPID', 'SPID', 'SPPID', ...(threads ? ['LWP', 'SLWP'] : []), 'NLWP', 'STAT', 'STIME', 'CWD', 'CMD'];
  const width = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]): string => r.map((v, i) => (i === r.length - 1 ? v : v.padEnd(width[i]!))).join('  ').trimEnd();
  return [head, ...rows].map(line).join('\n') + '\n';
}

export function psCommand(): Command {
  return new Command('ps')
    .description('list the processes of a sandbox')
    .argument('<id>', 'the sandbox (tvisor do --name ID)')
    .addOption(new Option('-f, --format <format>', 'table, or json (host pids, runc\u2019s format)').choices(['table', 'json']).default('table'))
    .option('-L, --threads', 'one table line per thread')
    .addHelpText('after', COLUMNS_HELP)
    .action(async (id: string, o: { format: 'table' | 'json'; threads?: boolean }, cmd: Command) => {
      const st = lookup(rootOf(cmd), id);
      const tasks = (await tasksOf(st)) ?? [];
      if (o.format === 'json') {
        const pids = tasks.filter((t) => t.tid === t.pid).map((t) => t.hostPid);
        process.stdout.write(JSON.stringify(pids) + '\n');
      } else process.stdout.write(formatTable(tasks, o.threads === true));
    });
}
