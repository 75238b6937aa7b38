/**
 * The sentry's process table: every task (thread) of the sandbox, with its
 * sandbox and host ids, parent, credentials, cwd, exe, command and state.
 * `tvisor ps`, `state` and `events` read it through the control socket
 * (sentry/control.ts).
 *
 * User-notify never reports a syscall's exit, so membership is built from
 * what is reliable:
 * - the kernel's proc connector (sentry/kernel/cnproc.ts) for live updates:
 *   a fork whose parent (or, for a thread, whose thread group) is a sandbox
 *   task adds the child, an exit removes the task, an exec by a non-leader
 *   thread takes over the leader's id (de_thread in execve(2): the other
 *   threads are gone), uid/gid events update the credentials. The connector
 *   is host-wide: events of other tasks are ignored.
 * - /proc, to seed and to resync: at start, the sandbox's init and its
 *   descendants (the `children` file of each task, proc(5)); when events
 *   were lost (ENOBUFS) or there is no connector, a scan of every host
 *   process: members are the tasks in the init's pid namespace
 *   (/proc/<pid>/ns/pid, when the init is pid 1 of its own namespace) and
 *   the descendants of members (a nested pid namespace is a descendant).
 * Membership is all the table keeps up to date; what a task looks like now
 * (cwd, exe, state, ids) is read from /proc/<pid>/task/<tid> when a snapshot
 * is taken, and a task whose files have gone is dropped then. Tasks leave
 * the table at exit, so zombies are not listed.
 *
 * Paths: readlink of /proc/<pid>/{cwd,exe} by the sentry (whose root is the
 * host's /) prints the path up to the root of the task's mount namespace
 * (d_path stops at the namespace's root when the reader's root is not on
 * the way). The launcher pivot_roots the sandbox root onto that namespace
 * root, so the kernel's text already is the path inside the sandbox; the
 * init's own root (/proc/<init>/root) is read once to check it, and a
 * launcher that chroots instead shows its prefix there, which is then
 * removed from paths under it (and only from those).
 */
import { readdirSync, readFileSync, readlinkSync, statSync } from 'node:fs';
import type { ProcEvent, ProcEventSource } from './cnproc.js';
import { statFields } from './task.js';
import { execLine, exitLine, forkLine, idChangeLine, type Who } from '../strace/events.js';

/** One task of the sandbox as `tvisor ps` shows it. */
export interface TaskInfo {
  /** Thread id and process id (thread group id) in the sandbox's pid namespace. */
  tid: number;
  pid: number;
  /** The parent's pid in the sandbox (0 for the sandbox's init, whose parent is outside). */
  ppid: number;
  /** The same ids in the host's (initial) pid namespace. */
  hostTid: number;
  hostPid: number;
  hostPpid: number;
  /** Real and effective ids (credentials(7)), as the host sees them. */
  uid: { real: number; effective: number };
  gid: { real: number; effective: number };
  /** The command name (comm, 15 bytes at most: proc(5) /proc/pid/comm). */
  comm: string;
  /** The arguments (/proc/pid/cmdline; empty for a zombie). */
  cmdline: string[];
  /** Working directory and executable, as paths inside the sandbox ('' when unreadable). */
  cwd: string;
  exe: string;
  /** Scheduler state letter (proc(5) /proc/pid/stat field 3: R, S, D, T, t, Z, X, I). */
  state: string;
  /** Start time, RFC 3339 (stat field 22, clock ticks after boot, plus the boot time of /proc/stat). */
  started: string;
}

/** Table options. */
export interface ProcTableOptions {
  /** Host pid of the sandbox's init. */
  initPid: number;
  /** Live events (the connector), or null: then every snapshot rescans /proc. */
  source: ProcEventSource | null;
  /** Where strace-style event lines go (sentry/strace/events.ts); none when absent. */
  strace?: (line: string) => void;
}

interface Entry {
  hostTid: number;
  hostPid: number;
  /** A thread group leader that has exited while other threads of its group run. */
  exited?: boolean;
  /** Sandbox tid once read (needed for strace lines of a task that has since gone). */
  tid?: number;
  uid?: number;
  gid?: number;
}

/** proc(5) status fields of one task. */
function statusFields(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) m.set(line.slice(0, i), line.slice(i + 1).trim());
  }
  return m;
}

const numbers = (s: string | undefined): number[] => (s ? s.split(/\s+/).map(Number) : []);

function readOr(path: string, fallback: string): string {
  try {
    return readFileSync(path, 'latin1');
  } catch {
    return fallback;
  }
}

function linkOr(path: string): string {
  try {
    return readlinkSync(path);
  } catch {
    return '';
  }
}

/** Boot time in ms since the epoch (/proc/stat btime) and clock ticks per second (x86_64: USER_HZ 100). */
const USER_HZ = 100;
let bootMs: number | undefined;
function bootTimeMs(): number {
  if (bootMs === undefined) {
    const m = /\nbtime (\d+)/.exec(readFileSync('/proc/stat', 'latin1'));
    bootMs = m ? Number(m[1]) * 1000 : 0;
  }
  return bootMs;
}

export class ProcTable {
  private readonly entries = new Map<number, Entry>();
  /** Host tgid → host tids of that thread group in the table. */
  private readonly groups = new Map<number, Set<number>>();
  private readonly initPid: number;
  private source: ProcEventSource | null;
  private readonly strace?: (line: string) => void;
  /** The init's pid namespace (dev:ino) and its depth (index in NSpid lists: 0 is the host's). */
  private readonly nsKey: string;
  private readonly level: number;
  /** The init is pid 1 of its pid namespace (every task of that namespace belongs to the sandbox). */
  private readonly nsInit: boolean;
  /** The init's root as the kernel prints it for the sentry ('/' for a pivot_root'd sandbox). */
  private readonly rootPrefix: string;
  /** Rescans done (for tests and the debug log). */
  resyncs = 0;

  /**
   * Seeds the table from /proc: the init, then its descendants. Subscribe `o.source` first, so that no fork
   * falls between the seed and the first event. Throws when the init has gone (ENOENT from /proc).
   */
  constructor(o: ProcTableOptions) {
    this.initPid = o.initPid;
    this.source = o.source;
    this.strace = o.strace;
    const st = statSync(`/proc/${o.initPid}/ns/pid`);
    this.nsKey = `${st.dev}:${st.ino}`;
    const nspid = numbers(statusFields(readFileSync(`/proc/${o.initPid}/status`, 'latin1')).get('NSpid'));
    this.level = Math.max(0, nspid.length - 1);
    this.nsInit = nspid.length > 1 && nspid[nspid.length - 1] === 1;
    this.rootPrefix = linkOr(`/proc/${o.initPid}/root`) || '/';
    this.seed();
  }

  /** Number of tasks (threads) in the table after applying queued events: pids.current of a pids cgroup. */
  taskCount(): number {
    this.update();
    return this.entries.size;
  }

  /** Applies queued events; resyncs from /proc when some were lost. Cheap when nothing is queued. */
  update(): void {
    if (!this.source) return;
    let drained: { events: ProcEvent[]; lost: boolean };
    try {
      drained = this.source.drain();
    } catch {
      // The socket failed for good: from now on every snapshot rescans.
      this.source.close();
      this.source = null;
      this.rescan();
      return;
    }
    for (const ev of drained.events) this.apply(ev);
    if (drained.lost) this.rescan();
  }

  /** Applies one event (exported through the class for tests with a fake source). */
  apply(ev: ProcEvent): void {
    switch (ev.kind) {
      case 'fork': {
        const thread = ev.childPid !== ev.childTgid;
        // A thread's parent is its group's parent (CLONE_THREAD keeps real_parent): look at its group.
        if (!(thread ? this.groups.has(ev.childTgid) : this.groups.has(ev.parentTgid))) return;
        const e = this.add(ev.childPid, ev.childTgid);
        if (this.strace) {
          this.resolve(e);
          // The event names no creating thread for a thread (only the group's parent): the group speaks for it.
          const by = thread ? ev.childTgid : ev.parentPid;
          this.strace(forkLine(this.who(this.entries.get(by) ?? { hostTid: by, hostPid: thread ? ev.childTgid : ev.parentTgid }), this.who(e), thread));
        }
        return;
      }
      case 'exec': {
        const group = this.groups.get(ev.tgid);
        if (!group) return;
        // execve by another thread: it now has the leader's id; every other thread is gone.
        for (const t of [...group]) if (t !== ev.tgid) this.remove(t);
        const e = this.add(ev.pid, ev.tgid);
        if (this.strace) this.strace(execLine(this.who(e), this.sandboxPath(linkOr(`/proc/${ev.tgid}/exe`))));
        return;
      }
      case 'uid':
      case 'gid': {
        const e = this.entries.get(ev.pid);
        if (!e) return;
        const before = ev.kind === 'uid' ? e.uid : e.gid;
        if (ev.kind === 'uid') e.uid = ev.real;
        else e.gid = ev.real;
        this.strace?.(idChangeLine(this.who(e), ev.kind, before, ev.real, ev.effective));
        return;
      }
      case 'exit': {
        const e = this.entries.get(ev.pid);
        if (!e) return;
        this.strace?.(exitLine(this.who(e), ev.exitCode));
        // A leader that left by exit(2) (pthread_exit) while other threads run: the process lives on, a zombie
        // leader standing for it (ps shows it Zl), until its last thread exits.
        if (ev.pid === e.hostPid && (this.groups.get(e.hostPid)?.size ?? 0) > 1) {
          e.exited = true;
          return;
        }
        this.remove(ev.pid);
        const rest = this.groups.get(e.hostPid);
        if (rest?.size === 1 && this.entries.get(e.hostPid)?.exited) this.remove(e.hostPid);
        return;
      }
      case 'sid':
      case 'comm':
        return; // read from /proc when a snapshot is taken
    }
  }

  /** Host pids of the sandbox's processes (thread group ids), ascending: what `tvisor ps --format json` prints. */
  hostPids(): number[] {
    return this.snapshot()
      .filter((t) => t.tid === t.pid)
      .map((t) => t.hostPid)
      .sort((a, b) => a - b);
  }

  /** Every task now, ordered by sandbox pid then tid; tasks whose /proc entry has gone are dropped. */
  snapshot(): TaskInfo[] {
    if (this.source) this.update();
    else this.rescan();
    const out: TaskInfo[] = [];
    for (const e of [...this.entries.values()]) {
      const t = this.read(e);
      if (t) out.push(t);
      else this.remove(e.hostTid);
    }
    const sandboxPid = new Map(out.map((t) => [t.hostPid, t.pid]));
    for (const t of out) t.ppid = sandboxPid.get(t.hostPpid) ?? 0;
    return out.sort((a, b) => a.pid - b.pid || a.tid - b.tid);
  }

  /** Rereads membership from /proc (after lost events, or without a connector). */
  rescan(): void {
    this.resyncs++;
    const procs = new Map<number, { ppid: number; inNs: boolean }>();
    for (const d of readdirSync('/proc')) {
      if (d.charCodeAt(0) > 57 || d.charCodeAt(0) < 48) continue;
      const pid = Number(d);
      try {
        const ppid = Number(statFields(readFileSync(`/proc/${pid}/stat`, 'latin1'))[1]);
        let inNs = false;
        if (this.nsInit) {
          const st = statSync(`/proc/${pid}/ns/pid`);
          inNs = `${st.dev}:${st.ino}` === this.nsKey;
        }
        procs.set(pid, { ppid, inNs });
      } catch {
        /* gone meanwhile */
      }
    }
    const members = new Set<number>();
    const children = new Map<number, number[]>();
    for (const [pid, p] of procs) {
      if (pid === this.initPid || p.inNs) members.add(pid);
      const list = children.get(p.ppid);
      if (list) list.push(pid);
      else children.set(p.ppid, [pid]);
    }
    const queue = [...members];
    while (queue.length) for (const ch of children.get(queue.pop()!) ?? []) if (!members.has(ch)) members.add(ch), queue.push(ch);
    const old = new Map(this.entries);
    this.entries.clear();
    this.groups.clear();
    for (const pid of members) this.addProcess(pid, old);
  }

  /**
   * Waits (blocking, up to `ms`) until the init's exit event has been applied, for the last strace line: the
   * kernel reports an exit after the parent may already have reaped the task.
   */
  settle(ms: number): void {
    const end = Date.now() + ms;
    const nap = new Int32Array(new SharedArrayBuffer(4));
    for (;;) {
      this.update();
      if (!this.entries.has(this.initPid) || !this.source || Date.now() >= end) return;
      Atomics.wait(nap, 0, 0, 2);
    }
  }

  /** Unsubscribes from the event source. */
  close(): void {
    this.source?.close();
    this.source = null;
  }

  /** The init and its descendants, through the `children` files (or a whole scan without them). */
  private seed(): void {
    const queue = [this.initPid];
    while (queue.length) {
      const pid = queue.pop()!;
      for (const tid of this.addProcess(pid)) {
        let kids: string;
        try {
          kids = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code === 'ENOENT' && pid === this.initPid && tid === pid) {
            // No CONFIG_PROC_CHILDREN on this kernel (or the init has gone): scan everything.
            statSync(`/proc/${pid}`);
            return this.rescan();
          }
          continue;
        }
        for (const k of numbers(kids.trim())) queue.push(k);
      }
    }
  }

  /** Adds every thread of process `pid` (keeping what `old` knew of them); returns their tids. */
  private addProcess(pid: number, old?: Map<number, Entry>): number[] {
    let tids: number[];
    try {
      tids = readdirSync(`/proc/${pid}/task`).map(Number);
    } catch {
      return [];
    }
    for (const tid of tids) {
      const e = this.add(tid, pid);
      const prev = old?.get(tid);
      if (prev?.hostPid === pid) Object.assign(e, { tid: prev.tid, uid: prev.uid, gid: prev.gid });
    }
    return tids;
  }

  private add(hostTid: number, hostPid: number): Entry {
    let e = this.entries.get(hostTid);
    if (!e || e.hostPid !== hostPid) {
      if (e) this.remove(hostTid);
      e = { hostTid, hostPid };
      this.entries.set(hostTid, e);
      const g = this.groups.get(hostPid);
      if (g) g.add(hostTid);
      else this.groups.set(hostPid, new Set([hostTid]));
    }
    return e;
  }

  private remove(hostTid: number): void {
    const e = this.entries.get(hostTid);
    if (!e) return;
    this.entries.delete(hostTid);
    const g = this.groups.get(e.hostPid);
    g?.delete(hostTid);
    if (g?.size === 0) this.groups.delete(e.hostPid);
  }

  /** Reads the sandbox tid and credentials of `e` now (for strace lines), when the task is still there. */
  private resolve(e: Entry): void {
    const s = readOr(`/proc/${e.hostPid}/task/${e.hostTid}/status`, '');
    if (!s) return;
    const f = statusFields(s);
    e.tid = numbers(f.get('NSpid'))[this.level];
    e.uid = numbers(f.get('Uid'))[0];
    e.gid = numbers(f.get('Gid'))[0];
  }

  /** How strace lines name `e`: its sandbox tid, read now if not yet known. */
  private who(e: Entry): Who {
    if (e.tid === undefined) this.resolve(e);
    return e.tid ?? `host ${e.hostTid}`;
  }

  /** A path as the kernel prints it for the sentry → the same path inside the sandbox (see the file comment). */
  private sandboxPath(p: string): string {
    if (this.rootPrefix === '/' || !p.startsWith('/')) return p;
    if (p === this.rootPrefix) return '/';
    return p.startsWith(this.rootPrefix + '/') ? p.slice(this.rootPrefix.length) : p;
  }

  /** The task now, or null when it has gone. */
  private read(e: Entry): TaskInfo | null {
    const dir = `/proc/${e.hostPid}/task/${e.hostTid}`;
    let status: string;
    let stat: string;
    try {
      status = readFileSync(`${dir}/status`, 'latin1');
      stat = readFileSync(`${dir}/stat`, 'latin1');
    } catch {
      return null;
    }
    const f = statusFields(status);
    const nspid = numbers(f.get('NSpid'));
    const nstgid = numbers(f.get('NStgid'));
    // A host task that took a dead member's tid before its exit event was read: not ours.
    if (nspid.length <= this.level || Number(f.get('Tgid')) !== e.hostPid) return null;
    const uid = numbers(f.get('Uid'));
    const gid = numbers(f.get('Gid'));
    e.tid = nspid[this.level];
    e.uid = uid[0];
    e.gid = gid[0];
    const sf = statFields(stat);
    const cmdline = readOr(`/proc/${e.hostPid}/cmdline`, '');
    return {
      tid: nspid[this.level]!,
      pid: nstgid[this.level]!,
      ppid: 0,
      hostTid: e.hostTid,
      hostPid: e.hostPid,
      hostPpid: Number(f.get('PPid')),
      uid: { real: uid[0]!, effective: uid[1]! },
      gid: { real: gid[0]!, effective: gid[1]! },
      comm: f.get('Name') ?? '',
      cmdline: cmdline ? cmdline.replace(/\0$/, '').split('\0').map((a) => Buffer.from(a, 'latin1').toString('utf8')) : [],
      cwd: this.sandboxPath(linkOr(`/proc/${e.hostPid}/cwd`)),
      exe: this.sandboxPath(linkOr(`/proc/${e.hostPid}/exe`)),
      state: sf[0] ?? '?',
      started: new Date(bootTimeMs() + (Number(sf[19]) * 1000) / USER_HZ).toISOString(),
    };
  }
}
