/**
 * Decoders for process events, strace(1) style, as pure functions: signal
 * names, wait statuses, and the lines the sentry prints for the events the
 * kernel's proc connector reports (sentry/kernel/proctable.ts):
 *   [pid 7] --- forked child 8 ---
 *   [pid 7] --- new thread 9 ---
 *   [pid 8] --- execve done: /usr/bin/ls ---
 *   [pid 8] --- uid change: 0 -> 1000 (euid 1000) ---
 *   [pid 8] +++ exited with 3 +++
 *   [pid 9] +++ killed by SIGSEGV (core dumped) +++
 * (`---` marks an event, `+++` the end of a task, as strace prints them next
 * to the `[pid N] call(args) = result` lines of sentry/strace/format.ts.)
 */
import { constants } from 'node:os';

/** Names Node knows that are aliases of a canonical one (signal(7)). */
const ALIASES = new Set(['SIGIOT', 'SIGPOLL', 'SIGUNUSED', 'SIGLOST', 'SIGINFO']);
const SIGNAL_NAME = new Map<number, string>();
for (const [name, n] of Object.entries(constants.signals)) if (!ALIASES.has(name) && !SIGNAL_NAME.has(n)) SIGNAL_NAME.set(n, name);
/** The kernel's first real-time signal (glibc's SIGRTMIN is 34: it keeps 32 and 33 for itself). */
const KERNEL_SIGRTMIN = 32;
const KERNEL_SIGRTMAX = 64;

/**
 * The name of signal `sig` (signal(7)), as strace prints it: `SIGKILL`, `SIGRT_2` for real-time signal
 * 32 + 2 (glibc's SIGRTMIN is SIGRT_2), and the bare number for 0 or anything above 64.
 */
export function signalName(sig: number): string {
  const name = SIGNAL_NAME.get(sig);
  if (name) return name;
  if (sig >= KERNEL_SIGRTMIN && sig <= KERNEL_SIGRTMAX) return `SIGRT_${sig - KERNEL_SIGRTMIN}`;
  return String(sig);
}

/** A wait(2) status decoded (the W* macros of <sys/wait.h>). */
export type WaitStatus =
  | { kind: 'exited'; code: number }
  | { kind: 'signaled'; signal: number; core: boolean }
  | { kind: 'stopped'; signal: number }
  | { kind: 'continued' };

/**
 * Decodes a wait status (wait(2): WIFEXITED/WEXITSTATUS, WIFSIGNALED/WTERMSIG/WCOREDUMP, WIFSTOPPED/WSTOPSIG,
 * WIFCONTINUED). `status` is the int the kernel reports: wait4's `*wstatus`, or a task's exit_code in the
 * proc connector's exit event (linux/cn_proc.h), which has the same encoding.
 */
export function decodeWaitStatus(status: number): WaitStatus {
  const s = status & 0xffff;
  if (s === 0xffff) return { kind: 'continued' };
  if ((s & 0xff) === 0x7f) return { kind: 'stopped', signal: (s >> 8) & 0xff };
  if ((s & 0x7f) === 0) return { kind: 'exited', code: (s >> 8) & 0xff };
  return { kind: 'signaled', signal: s & 0x7f, core: (s & 0x80) !== 0 };
}

/** A wait status as strace words a task's end: `exited with 3`, `killed by SIGKILL (core dumped)`, ... */
export function waitStatusText(status: number): string {
  const w = decodeWaitStatus(status);
  switch (w.kind) {
    case 'exited': return `exited with ${w.code}`;
    case 'signaled': return `killed by ${signalName(w.signal)}${w.core ? ' (core dumped)' : ''}`;
    case 'stopped': return `stopped by ${signalName(w.signal)}`;
    case 'continued': return 'continued';
  }
}

/** Who an event line is about: the sandbox tid, or `host N` when the task was gone before it could be named. */
export type Who = number | string;

/** `[pid N] +++ exited with 3 +++`: the end of a task, from its wait status. */
export function exitLine(who: Who, status: number): string {
  return `[pid ${who}] +++ ${waitStatusText(status)} +++`;
}

/** `[pid N] --- forked child M ---`, or `--- new thread M ---` for a thread. */
export function forkLine(who: Who, child: Who, thread: boolean): string {
  return `[pid ${who}] --- ${thread ? 'new thread' : 'forked child'} ${child} ---`;
}

/** `[pid N] --- execve done: /usr/bin/ls ---` (the new executable, as a sandbox path). */
export function execLine(who: Who, exe: string): string {
  return `[pid ${who}] --- execve done: ${printable(exe)} ---`;
}

/**
 * `s` safe for one line of a terminal: every control character (C0, DEL, C1; a workload names its own files and
 * commands, and a newline or an escape sequence would forge lines or drive the terminal) as a C escape
 * (\n, \t, \033...), backslashes doubled.
 */
export function printable(s: string): string {
  return s.replace(/[\x00-\x1f\x7f-\x9f\\]/g, (ch) =>
    ch === '\\' ? '\\\\' : ch === '\n' ? '\\n' : ch === '\t' ? '\\t' : `\\${ch.charCodeAt(0).toString(8).padStart(3, '0')}`,
  );
}

/**
 * `[pid N] --- uid change: 0 -> 1000 (euid 1000) ---`: the real id before and after, and the effective one after
 * (the proc connector's UID/GID events carry the new real and effective ids; credentials(7)).
 */
export function idChangeLine(who: Who, kind: 'uid' | 'gid', before: number | undefined, real: number, effective: number): string {
  return `[pid ${who}] --- ${kind} change: ${before ?? '?'} -> ${real} (e${kind} ${effective}) ---`;
}
