/**
 * `tvisor state ID`: the sandbox's state as runc prints it (runtime-spec
 * runtime.md "State"; runc state.go): {"ociVersion","id","pid","status",
 * "bundle","rootfs","created","owner"}, status "running" while the sandbox
 * runs, "created" before its init is started, "stopped" (pid 0) for an entry
 * whose tvisor process has gone. Unknown id: `container "X" does not exist`,
 * exit 1.
 */
import { Command } from 'commander';
import { runcState } from '../state.js';
import { lookup, rootOf } from './lookup.js';

export function stateCommand(): Command {
  return new Command('state')
    .description('print the state of a sandbox as JSON (runc\u2019s format)')
    .argument('<id>', 'the sandbox (tvisor do --name ID)')
    .action((id: string, _o: unknown, cmd: Command) => {
      const st = lookup(rootOf(cmd), id);
      process.stdout.write(JSON.stringify(runcState(st), null, 2) + '\n');
    });
}
