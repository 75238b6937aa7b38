/**
 * Finding a registered sandbox for the commands that act on one (ps, state,
 * events): runc's errors for an unknown id (`container "X" does not exist`,
 * exit 1) and for a bad one.
 */
import { readState, StateError, type SandboxState } from '../state.js';
import { controlRequest } from '../../sentry/control.js';
import type { TaskInfo } from '../../sentry/kernel/proctable.js';

/** runc's exit status for a failed command. */
export const EXIT_RUNC_ERROR = 1;

/** Prints `tvisor: MESSAGE` and exits 1 (runc's status for every error of these commands). */
export function fail(message: string): never {
  process.stderr.write(`tvisor: ${message}\n`);
  process.exit(EXIT_RUNC_ERROR);
}

/** The state of `id` under `root`; exits 1 with runc's message when there is none. */
export function lookup(root: string, id: string): SandboxState {
  let st: SandboxState | null;
  try {
    st = readState(root, id);
  } catch (e) {
    fail(e instanceof StateError ? e.message : String(e));
  }
  if (!st) fail(`container "${id}" does not exist`);
  return st;
}

/**
 * The process table of a running sandbox, from its sentry's control socket; null when the sandbox is not running
 * (stopped, or ended between the state read and the request). Exits 1 when the sentry answers an error.
 */
export async function tasksOf(st: SandboxState): Promise<TaskInfo[] | null> {
  if (st.status !== 'running') return null;
  let res;
  try {
    res = await controlRequest(st.controlSocket, { op: 'ps' });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ECONNREFUSED') return null;
    fail(`control socket ${st.controlSocket}: ${code ?? (e as Error).message}`);
  }
  if (!res.ok) fail(`sandbox ${st.id}: ${res.error}`);
  return res.tasks;
}

/** The `--root` global option of `cmd`'s program. */
export function rootOf(cmd: { optsWithGlobals(): Record<string, unknown> }): string {
  return cmd.optsWithGlobals().root as string;
}
