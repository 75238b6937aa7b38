/**
 * `tvisor help [syscalls]`: `help syscalls` prints the syscall table (the
 * same table the seccomp filter is generated from), as text or
 * `--format json`.
 */
import { Command, Option } from 'commander';
import { constants } from 'node:os';
import { TABLE } from '../../sentry/syscalls/table.js';

const ERRNO = new Map(Object.entries(constants.errno).map(([k, v]) => [v, k]));

/** The table as JSON-ready rows. */
export function syscallRows(): { nr: number; name: string; action: string; errno?: string; support: string; note: string }[] {
  return TABLE.map((e) => ({
    nr: e.nr,
    name: e.name,
    action: e.action,
    ...(e.errno ? { errno: ERRNO.get(e.errno) ?? String(e.errno) } : {}),
    support: e.support,
    note: e.note + (e.rules?.length ? ` (refused: ${e.rules.map((r) => r.note).join(', ')})` : ''),
  }));
}

export function helpCommand(program: Command): Command {
  return new Command('help')
    .description('show help for a command, or `help syscalls` for the syscall table')
    .argument('[topic]', 'a command name, or "syscalls"')
    .addOption(new Option('--format <format>', 'output format for syscalls').choices(['text', 'json']).default('text'))
    .action((topic: string | undefined, o: { format: string }) => {
      if (topic === 'syscalls') {
        const rows = syscallRows();
        if (o.format === 'json') {
          process.stdout.write(JSON.stringify(rows, null, 2) + '\n');
          return;
        }
        const w = Math.max(...rows.map((r) => r.name.length));
        process.stdout.write(`${'NR'.padStart(3)}  ${'NAME'.padEnd(w)}  ${'ACTION'.padEnd(12)}  ${'SUPPORT'.padEnd(13)}  NOTE\n`);
        for (const r of rows) {
          const action = r.errno ? `${r.action} ${r.errno}` : r.action;
          process.stdout.write(`${String(r.nr).padStart(3)}  ${r.name.padEnd(w)}  ${action.padEnd(12)}  ${r.support.padEnd(13)}  ${r.note}\n`);
        }
        return;
      }
      const sub = topic ? program.commands.find((c) => c.name() === topic) : undefined;
      if (topic && !sub) {
        process.stderr.write(`tvisor: unknown help topic "${topic}"\n`);
        process.exit(125);
      }
      (sub ?? program).outputHelp();
    });
}
