/**
 * The tvisor command line (commander). One file per command under src/cli/.
 * Errors exit 125 with one line on stderr (`tvisor: ...`).
 */
import { Command } from 'commander';
import { readFileSync } from 'node:fs';
import { doCommand } from './do.js';
import { helpCommand } from './help.js';
import { psCommand } from './ps.js';
import { stateCommand } from './state.js';
import { eventsCommand } from './events.js';
import { DEFAULT_ROOT } from '../state.js';
import { PACKAGE_ROOT } from '../../sentry/native.js';
import { join } from 'node:path';
import { EXIT_TVISOR_ERROR } from './errors.js';

const pkg = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string };

/** commander's errors as one `tvisor: ...` line. */
const output = {
  writeErr: (s: string): void => void process.stderr.write(s.startsWith('error: ') ? `tvisor: ${s.slice(7)}` : s),
};

export function buildProgram(): Command {
  const program = new Command('tvisor')
    .description('a gVisor-style sandbox runtime: seccomp user-notify and a TypeScript sentry')
    .version(`tvisor version ${pkg.version}`, '-V, --version')
    .helpCommand(false)
    .option('--root <dir>', 'directory of the sandboxes’ state (runc’s --root)', DEFAULT_ROOT)
    .enablePositionalOptions()
    .exitOverride((err) => {
      if (err.exitCode === 0) process.exit(0);
      process.exit(EXIT_TVISOR_ERROR);
    })
    .configureOutput(output);
  program.addCommand(doCommand());
  program.addCommand(psCommand());
  program.addCommand(stateCommand());
  program.addCommand(eventsCommand());
  program.addCommand(helpCommand(program));
  for (const c of program.commands) {
    c.exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : EXIT_TVISOR_ERROR));
    c.configureOutput(output);
  }
  return program;
}

export async function main(argv: string[]): Promise<void> {
  // A closed pipe (`tvisor help syscalls | head`) ends the output, not the program with a trace.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => process.exit(e.code === 'EPIPE' ? 0 : EXIT_TVISOR_ERROR));
  await buildProgram().parseAsync(argv);
}
