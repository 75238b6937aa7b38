/**
 * The state directory: a registry of running sandboxes, so that commands
 * outside (`tvisor ps`, `state`, `events`, and the OCI commands later) can
 * find a sandbox's sentry. Layout, as runc's `--root`:
 *
 *   <root>/                  mode 0700 (default /run/tvisor)
 *   <root>/<id>/             mode 0700; flock(2)ed (LOCK_EX) by the tvisor process serving the sandbox
 *   <root>/<id>/state.json   SandboxState, written atomically (temporary file, then rename(2))
 *   <root>/<id>/ctl.sock     the sentry's control socket (sentry/control.ts), mode 0600
 *
 * The lock makes an id unique: a second registration of a live id fails
 * (StateError 'exists'). The entry is removed when the sandbox ends. When
 * the tvisor process dies without removing it (SIGKILL), the lock goes with
 * it and the entry is stale: readers see status "stopped" (the recorded
 * tvisor pid is gone, or has been reused: its start time differs), and the
 * next registration of that id cleans it up.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants as fsc, fstatSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmdirSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { c, errno } from '../sentry/native.js';

/** Default `--root` (runc's is /run/runc). */
export const DEFAULT_ROOT = '/run/tvisor';
/** The OCI runtime-spec version reported by `state`. */
export const OCI_VERSION = '1.0.2';
/** File names inside `<root>/<id>/`. */
export const STATE_FILE = 'state.json';
export const CONTROL_SOCKET = 'ctl.sock';
/** How old a state directory without state.json must be before a sweep removes it, ms. */
const UNWRITTEN_MS = 10_000;

/** Container status (runtime-spec runtime.md "State"; paused comes with the OCI commands). */
export type Status = 'created' | 'running' | 'stopped';

import type { CgroupRecord } from '../sentry/kernel/limits.js';

/** The content of state.json. */
export interface SandboxState {
  ociVersion: string;
  id: string;
  status: Status;
  /** Host pid of the sandbox's init (0 before it is started). */
  pid: number;
  /** The bundle directory (`do`: its working directory). */
  bundle: string;
  /** The root directory ('/' for the host's). */
  rootfs: string;
  /** Creation time, RFC 3339. */
  created: string;
  /** Absolute path of the control socket. */
  controlSocket: string;
  /** The tvisor process serving the sandbox: pid and start time (clock ticks after boot, proc(5) stat field 22). */
  sentry: { pid: number; startTime: number };
  cgroup?: CgroupRecord;
  annotations?: Record<string, string>;
  /** The id was generated (`do` without --name): nobody can name the entry, so a stale one is swept by the next registration. */
  generatedId?: boolean;
}

/** runc's `state` output (runc state.go cState). */
export interface RuncState {
  ociVersion: string;
  id: string;
  pid: number;
  status: Status;
  bundle: string;
  rootfs: string;
  created: string;
  owner: string;
  annotations?: Record<string, string>;
}

/** A registry error: `exists` (the id is taken by a live sandbox), `invalid` (a bad id), `io` (the directory). */
export class StateError extends Error {
  constructor(
    message: string,
    readonly code: 'exists' | 'invalid' | 'io',
  ) {
    super(message);
  }
}

const ID_RE = /^[\w+.-]+$/;
/** Checks an id as runc does (letters, digits, `_+-.`, not `.` or `..`); throws StateError('invalid'). */
export function validateId(id: string): void {
  if (!ID_RE.test(id) || id === '.' || id === '..' || id.length > 1024) throw new StateError(`invalid container id format: ${id}`, 'invalid');
}

/** A fresh id for an unnamed sandbox: 24 hex digits. */
export function generateId(): string {
  return randomBytes(12).toString('hex');
}

/** Start time of process `pid` (proc(5) stat field 22, clock ticks after boot), or -1 when it has gone. */
export function processStartTime(pid: number): number {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return Number(s.slice(s.lastIndexOf(')') + 2).split(' ')[19]);
  } catch {
    return -1;
  }
}

/** Whether the tvisor process recorded in `st` still runs (same pid and start time). */
export function isLive(st: SandboxState): boolean {
  return st.sentry.pid > 0 && processStartTime(st.sentry.pid) === st.sentry.startTime;
}

/** `<root>/<id>`. */
export function sandboxDir(root: string, id: string): string {
  return join(root, id);
}

/**
 * The recorded state of `id` under `root`, with status "stopped" (and pid 0) when its tvisor process has gone;
 * null when there is no such entry. Throws StateError('invalid') for a bad id.
 */
export function readState(root: string, id: string): SandboxState | null {
  validateId(id);
  let text: string;
  try {
    text = readFileSync(join(sandboxDir(root, id), STATE_FILE), 'utf8');
  } catch {
    return null;
  }
  let st: SandboxState;
  try {
    st = JSON.parse(text) as SandboxState;
  } catch {
    return null; // a torn file cannot exist (rename); anything else is not ours
  }
  if (!isLive(st)) return { ...st, status: 'stopped', pid: 0 };
  return st;
}

/** runc's `state` JSON for `st`. */
export function runcState(st: SandboxState): RuncState {
  const out: RuncState = {
    ociVersion: st.ociVersion,
    id: st.id,
    pid: st.pid,
    status: st.status,
    bundle: st.bundle,
    rootfs: st.rootfs,
    created: st.created,
    owner: '',
  };
  if (st.annotations) out.annotations = st.annotations;
  return out;
}

const LOCK_EX = 2;
const LOCK_NB = 4;
const EWOULDBLOCK = 11;

/** What the registering command knows up front. */
export interface RegisterInfo {
  /** The id was generated rather than chosen (see SandboxState.generatedId). */
  generatedId?: boolean;
  bundle: string;
  rootfs: string;
  cgroup?: CgroupRecord;
  annotations?: Record<string, string>;
}

/** A live registration, held by the tvisor process serving the sandbox. */
export class Registration {
  private state: SandboxState;
  private constructor(
    readonly dir: string,
    private lockFd: number,
    state: SandboxState,
  ) {
    this.state = state;
    this.write();
  }

  /** The control socket's path. */
  get controlSocket(): string {
    return this.state.controlSocket;
  }

  get current(): Readonly<SandboxState> {
    return this.state;
  }

  /**
   * Registers `id` under `root` (created mode 0700 when missing) with status "created". Throws StateError:
   * 'exists' when a live sandbox holds the id, 'invalid' for a bad id, 'io' when the directory cannot be made.
   * A stale entry of the same id (its tvisor process died) is removed first.
   */
  static create(root: string, id: string, info: RegisterInfo): Registration {
    validateId(id);
    const dir = sandboxDir(root, id);
    // unix(7): sun_path holds 107 bytes and a NUL; a longer path would be cut short silently (by libuv).
    if (Buffer.byteLength(join(dir, CONTROL_SOCKET)) > 107)
      throw new StateError(`container id "${id}" too long: its control socket path under ${root} would exceed 107 bytes (use a shorter id or --root)`, 'invalid');
    for (;;) {
      let fd: number;
      try {
        mkdirSync(root, { recursive: true, mode: 0o700 });
        try {
          mkdirSync(dir, { mode: 0o700 });
        } catch (e) {
          if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
        }
        fd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
      } catch (e) {
        throw new StateError(`state directory ${dir}: ${(e as Error).message}`, 'io');
      }
      if (c.flock(fd, LOCK_EX | LOCK_NB) < 0) {
        const e = errno();
        closeSync(fd);
        if (e === EWOULDBLOCK) throw new StateError(`container "${id}" already exists (a sandbox with that name is running)`, 'exists');
        throw new StateError(`state directory ${dir}: flock failed (errno ${e})`, 'io');
      }
      // The previous holder may have removed the directory between our open and our lock: lock the one at the path.
      let same = false;
      try {
        const a = fstatSync(fd);
        const b = statSync(dir);
        same = a.dev === b.dev && a.ino === b.ino;
      } catch {
        /* removed */
      }
      if (!same) {
        closeSync(fd);
        continue;
      }
      clearDir(dir); // a stale entry (its tvisor died without removing it)
      const now = new Date().toISOString();
      return new Registration(dir, fd, {
        ociVersion: OCI_VERSION,
        id,
        status: 'created',
        pid: 0,
        bundle: info.bundle,
        rootfs: info.rootfs,
        created: now,
        controlSocket: join(dir, CONTROL_SOCKET),
        sentry: { pid: process.pid, startTime: processStartTime(process.pid) },
        ...(info.cgroup ? { cgroup: info.cgroup } : {}),
        ...(info.annotations ? { annotations: info.annotations } : {}),
        ...(info.generatedId ? { generatedId: true } : {}),
      }).sweep(root);
    }
  }

  /** Records changes (e.g. `{ status: 'running', pid }`, or the cgroup once made) and rewrites state.json atomically. */
  update(patch: Partial<Pick<SandboxState, 'status' | 'pid' | 'cgroup' | 'annotations'>>): void {
    this.state = { ...this.state, ...patch };
    this.write();
  }

  /** Removes the entry (every file, then the directory) and releases the lock. Idempotent. */
  remove(): void {
    if (this.lockFd < 0) return;
    clearDir(this.dir);
    try {
      rmdirSync(this.dir);
    } catch {
      /* already gone */
    }
    closeSync(this.lockFd);
    this.lockFd = -1;
  }

  /**
   * Removes the stale entries of unnamed sandboxes under `root`, and directories left without a state file (their tvisor died; no command can name them),
   * each under its lock, and returns this registration.
   */
  private sweep(root: string): this {
    for (const name of readdirSync(root)) {
      const dir = sandboxDir(root, name);
      if (dir === this.dir) continue;
      let st: SandboxState | null = null;
      try {
        st = JSON.parse(readFileSync(join(dir, STATE_FILE), 'utf8')) as SandboxState;
      } catch {
        // No state at all: a tvisor killed between making the directory and its first write. Removed once old
        // enough that no tvisor can still be between those two steps (and only under its lock, below).
        try {
          if (Date.now() - statSync(dir).mtimeMs < UNWRITTEN_MS) continue;
        } catch {
          continue;
        }
      }
      if (st && (!st.generatedId || isLive(st))) continue;
      let fd: number;
      try {
        fd = openSync(dir, fsc.O_RDONLY | fsc.O_DIRECTORY | fsc.O_NOFOLLOW);
      } catch {
        continue;
      }
      try {
        if (c.flock(fd, LOCK_EX | LOCK_NB) < 0) continue;
        clearDir(dir);
        rmdirSync(dir);
      } catch {
        /* raced with another sweep */
      } finally {
        closeSync(fd);
      }
    }
    return this;
  }

  private write(): void {
    const tmp = join(this.dir, `.${STATE_FILE}.${process.pid}`);
    writeFileSync(tmp, JSON.stringify(this.state) + '\n', { mode: 0o600 });
    renameSync(tmp, join(this.dir, STATE_FILE));
  }
}

/** Unlinks every entry of `dir` (files and sockets only: the registry makes nothing else there). */
function clearDir(dir: string): void {
  for (const name of readdirSync(dir)) {
    try {
      unlinkSync(join(dir, name));
    } catch {
      /* gone, or a directory someone else put there: left alone */
    }
  }
}
