/**
 * Starting a sandbox: encodes the launch spec for native/tvisor-launch,
 * starts it, takes the seccomp listener from the sandbox's init with
 * pidfd_getfd(2), starts the sentry, lets the workload run and reports its
 * exit status. Used by `tvisor do` and, later, by the OCI commands.
 *
 * The record format on the launcher's fd 3 is documented in
 * native/launcher.c (tags T_*): u32 tag, u32 length, bytes.
 */
import { spawn } from 'node:child_process';
import { statSync } from 'node:fs';
import { constants } from 'node:os';
import type { Readable, Writable } from 'node:stream';
import { c, LAUNCHER_PATH, SYS } from '../sentry/native.js';
import { buildFilter } from '../sentry/platform/bpf.js';
import type { SandboxOption } from '../sentry/syscalls/table.js';
import { runSentry } from '../sentry/worker.js';
import type { MountStep } from './oci/mounts.js';
import { CgroupError, cgroupProcsFiles, createCgroup, newSandboxId, oomReport, removeCgroup, type CgroupRecord, type Resources } from './cgroups.js';

/** CLONE_NEW* flags (clone(2)) by OCI namespace type (runtime-spec config-linux.md "namespaces"). */
export const NS_FLAGS = {
  user: 0x10000000,
  ipc: 0x08000000,
  uts: 0x04000000,
  network: 0x40000000,
  pid: 0x20000000,
  cgroup: 0x02000000,
  time: 0x00000080,
  mount: 0x00020000,
} as const;
export type NamespaceType = keyof typeof NS_FLAGS;

/** One OCI-style namespace request: create a new one, or join the one at `path`. */
export interface Namespace {
  type: NamespaceType;
  path?: string;
}

/**
 * One line of a user namespace's id map (runtime-spec config-linux.md "User namespace mappings";
 * user_namespaces(7) uid_map): ids containerID..containerID+size-1 inside are hostID..hostID+size-1 on the host.
 */
export interface IdMapping {
  containerID: number;
  hostID: number;
  size: number;
}

/** The maps of a new user namespace (both required; written by the launcher, a privileged parent). */
export interface UserNamespaceMaps {
  uidMappings: IdMapping[];
  gidMappings: IdMapping[];
}

/** `tvisor do --userns`'s default: container ids 0..65535 are host ids 100000..165535. */
export const DEFAULT_USERNS_RANGE = { hostID: 100000, size: 65536 } as const;

/**
 * The uid_map / gid_map text of `maps` ("inside outside count" per line). Throws Error for an empty map, a
 * non-integer or negative field, a range past 2^32, or overlapping ranges (the kernel would refuse them with EINVAL).
 */
export function idMapText(maps: IdMapping[], what: string): string {
  if (!Array.isArray(maps) || maps.length === 0) throw new Error(`${what}: at least one mapping is required`);
  const seen: [number, number][] = [];
  for (const [i, m] of maps.entries()) {
    for (const k of ['containerID', 'hostID', 'size'] as const)
      if (!Number.isInteger(m?.[k]) || m[k] < 0 || m[k] > 0xffffffff) throw new Error(`${what}[${i}].${k}: want an integer 0..4294967295`);
    if (m.size === 0 || m.containerID + m.size > 0x100000000 || m.hostID + m.size > 0x100000000)
      throw new Error(`${what}[${i}]: empty, or past the 32-bit id space`);
    for (const [a, b] of seen)
      if (m.containerID < b && a < m.containerID + m.size) throw new Error(`${what}[${i}]: overlaps another mapping`);
    seen.push([m.containerID, m.containerID + m.size]);
  }
  return maps.map((m) => `${m.containerID} ${m.hostID} ${m.size}\n`).join('');
}

/**
 * The writable layer over the root: 'memory' (overlayfs, tmpfs upper, thrown away), { dir } (overlayfs with
 * upper and work directories DIR/upper and DIR/work on the host, kept; DIR must exist), 'none' (the rootfs
 * itself, bound read-write: only with a rootfs, never the host's /).
 */
export type Overlay = 'memory' | 'none' | { dir: string };

/** Everything needed to start one sandbox. */
export interface SandboxSpec {
  args: string[];
  env: string[];
  /** Working directory inside the sandbox; `optionalCwd` falls back to / when it is missing there. */
  cwd: string;
  optionalCwd?: boolean;
  /** Root directory; '' for the host's / (seen read-only with a throw-away layer). */
  rootfs: string;
  overlay: Overlay;
  /** The root mount read-only once every mount step is done (OCI root.readonly). */
  readonlyRoot?: boolean;
  /** Root setup steps in order (src/oci/mounts.ts: rootSetup(), or doFsConfig() for `tvisor do`'s defaults). */
  mounts: MountStep[];
  namespaces: Namespace[];
  /** Capability sets as bit masks (capabilities(7)). */
  caps: { bounding: bigint; effective: bigint; permitted: bigint; inheritable: bigint; ambient: bigint };
  noNewPrivileges: boolean;
  hostname?: string;
  /** The maps of the new user namespace, when `namespaces` creates one (required then). */
  userNamespace?: UserNamespaceMaps;
  /** uname(2)'s release field inside (default: the host's; `tvisor do --kernel-release`). */
  kernelRelease?: string;
  /**
   * A new pseudo-terminal of the sandbox's own devpts as the workload's stdin, stdout, stderr and controlling
   * terminal, in a session of its own (OCI config.md `process.terminal`); tvisor's own stdin/stdout are relayed to
   * its master by the launcher, stdin put in raw mode while it is a terminal (native/launcher.c setup_console).
   */
  tty?: boolean;
  user?: { uid: number; gid: number; additionalGids: number[] };
  /** Limits, enforced with the sandbox's cgroup (src/cgroups.ts); none: a cgroup without limits, when the host has one. */
  resources?: Resources;
  /** The sandbox's cgroup path from each hierarchy's root (OCI linux.cgroupsPath); default tvisor/<id>. */
  cgroupsPath?: string;
  /** The sandbox's id (names its cgroup); default: a random one. */
  id?: string;
  /** fd for strace lines (-1: off; on adds the `strace` setting to the table). */
  straceFd: number;
  /** Settings that change the syscall table for this sandbox (sentry/syscalls/table.ts SandboxOption); `strace` is implied by straceFd. */
  settings?: SandboxOption[];
  debugLog: string | null;
  /** TEST ONLY: syscall names the filter lets through (to show that a race test can fail). */
  allowOverride?: string[];
  /** TEST ONLY: a deliberately naive sentry path resolution (see sentry/vfs/resolve.ts). */
  testUnscopedResolve?: boolean;
  /** TEST ONLY: the kernel's /proc files unchanged (see sentry/vfs/procfs.ts). */
  testRawProc?: boolean;
}

/**
 * Whether `path` is the host's root directory by identity (same device and inode as /), whatever it is called:
 * "/", "//", a symlink to it, or a bind mount of it elsewhere. False when `path` cannot be read.
 */
export function isHostRoot(path: string): boolean {
  try {
    const a = statSync(path);
    const b = statSync('/');
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}

/** A setup failure before the workload ran (exit 125). */
export class LaunchError extends Error {}

const T = {
  END: 0, NS_NEW: 1, NS_JOIN: 2, ROOTFS: 3, OVERLAY: 4, CWD: 6, ENV: 7, ARG: 8, CAPS: 9, FILTER: 10,
  HOSTNAME: 11, NNP: 12, USER: 13, MOUNT: 14, ROOT_RO: 15, CGROUP: 16, UIDMAP: 17, GIDMAP: 18, TTY: 19,
} as const;

/** Step kinds (native/launcher.c enum step_kind). */
const S = { bind: 1, fs: 2, mask: 3, readonly: 4, device: 5, devlinks: 6 } as const;

/** One T_MOUNT record body: u32 kind, u32 a[5], source, destination, type, data (each NUL-terminated). */
function mountRecord(m: MountStep): Buffer {
  const a = [0, 0, 0, 0, 0];
  let source = '', destination = '', type = '', data = '';
  switch (m.kind) {
    case 'bind':
      [a[0], a[1], a[2], a[3]] = [m.attrSet, m.attrClear, m.propagation, m.recursive ? 1 : 0];
      ({ source, destination } = m);
      break;
    case 'fs':
      [a[0], a[2]] = [m.flags, m.propagation];
      ({ source, destination, type, data } = m);
      break;
    case 'mask':
    case 'readonly':
      destination = m.destination;
      break;
    case 'device':
      [a[0], a[1], a[2], a[3], a[4]] = [m.mode, m.major, m.minor, m.uid, m.gid];
      destination = m.destination;
      break;
    case 'devlinks':
      break;
  }
  for (const s of [source, destination, type, data]) if (s.includes('\0')) throw new LaunchError(`NUL in mount ${destination}`);
  return Buffer.concat([u32(S[m.kind]), ...a.map(u32), cstr(source), cstr(destination), cstr(type), cstr(data)]);
}

function record(tag: number, body: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32LE(tag, 0);
  h.writeUInt32LE(body.length, 4);
  return Buffer.concat([h, body]);
}
const u32 = (v: number): Buffer => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0, 0);
  return b;
};
const cstr = (s: string): Buffer => Buffer.from(s + '\0');

/**
 * The table settings of `spec` (sentry/syscalls/table.ts SandboxOption): its own, plus `strace` when strace lines
 * are written, `kernelRelease` when uname's release is overridden, and `sharedUts` when the sandbox has no UTS
 * namespace of its own (none, or one joined by path), where sethostname/setdomainname would change someone
 * else's names.
 */
export function sandboxSettings(spec: Pick<SandboxSpec, 'settings' | 'straceFd' | 'kernelRelease' | 'namespaces'>): SandboxOption[] {
  const s = new Set(spec.settings ?? []);
  if (spec.straceFd >= 0) s.add('strace');
  if (spec.kernelRelease !== undefined) s.add('kernelRelease');
  if (!spec.namespaces.some((n) => n.type === 'uts' && !n.path)) s.add('sharedUts');
  return [...s];
}

/** Throws LaunchError when `spec`'s user namespace cannot be made: a new one without maps, or a malformed map. */
function checkUserNamespace(spec: SandboxSpec): void {
  if (spec.userNamespace) {
    try {
      idMapText(spec.userNamespace.uidMappings, 'uidMappings');
      idMapText(spec.userNamespace.gidMappings, 'gidMappings');
    } catch (e) {
      throw new LaunchError((e as Error).message);
    }
  } else if (spec.namespaces.some((n) => n.type === 'user' && !n.path)) {
    throw new LaunchError('a new user namespace needs uid and gid mappings');
  }
}

/** Encodes `spec` as the launcher's config stream, with `cgroupProcs` the cgroup.procs files to join (exported for tests). */
export function encodeSpec(spec: SandboxSpec, cgroupProcs: string[] = []): Buffer {
  const parts: Buffer[] = [];
  for (const f of cgroupProcs) parts.push(record(T.CGROUP, Buffer.from(f)));
  for (const ns of spec.namespaces) {
    const flag = NS_FLAGS[ns.type];
    parts.push(ns.path ? record(T.NS_JOIN, Buffer.concat([u32(flag), cstr(ns.path)])) : record(T.NS_NEW, u32(flag)));
  }
  parts.push(record(T.ROOTFS, Buffer.from(spec.rootfs)));
  parts.push(record(T.OVERLAY, Buffer.from(typeof spec.overlay === 'string' ? spec.overlay : `dir=${spec.overlay.dir}`)));
  for (const m of spec.mounts) parts.push(record(T.MOUNT, mountRecord(m)));
  if (spec.readonlyRoot) parts.push(record(T.ROOT_RO, u32(1)));
  parts.push(record(T.CWD, Buffer.from((spec.optionalCwd ? '?' : '') + spec.cwd)));
  for (const e of spec.env) parts.push(record(T.ENV, Buffer.from(e)));
  for (const a of spec.args) parts.push(record(T.ARG, Buffer.from(a)));
  const caps = Buffer.alloc(40);
  [spec.caps.bounding, spec.caps.effective, spec.caps.permitted, spec.caps.inheritable, spec.caps.ambient].forEach((m, i) =>
    caps.writeBigUInt64LE(m, i * 8),
  );
  parts.push(record(T.CAPS, caps));
  if (spec.userNamespace) {
    parts.push(record(T.UIDMAP, Buffer.from(idMapText(spec.userNamespace.uidMappings, 'uidMappings'))));
    parts.push(record(T.GIDMAP, Buffer.from(idMapText(spec.userNamespace.gidMappings, 'gidMappings'))));
  } else if (spec.namespaces.some((n) => n.type === 'user' && !n.path)) {
    throw new LaunchError('a new user namespace needs uid and gid mappings');
  }
  parts.push(record(T.FILTER, buildFilter({ settings: new Set(sandboxSettings(spec)), allowOverride: new Set(spec.allowOverride ?? []) })));
  if (spec.hostname) parts.push(record(T.HOSTNAME, Buffer.from(spec.hostname)));
  if (spec.tty) parts.push(record(T.TTY, u32(1)));
  parts.push(record(T.NNP, u32(spec.noNewPrivileges ? 1 : 0)));
  if (spec.user) {
    const ids = [spec.user.uid, spec.user.gid, ...spec.user.additionalGids];
    parts.push(record(T.USER, Buffer.concat(ids.map(u32))));
  }
  parts.push(record(T.END, Buffer.alloc(0)));
  return Buffer.concat(parts);
}

/** Takes fd `fd` of process `pid` (pidfd_open(2), pidfd_getfd(2)); returns the new local fd. */
function takeFd(pid: number, fd: number): number {
  const pidfd = Number(c.pidfdOpen(SYS.pidfd_open, pid, 0));
  if (pidfd < 0) throw new LaunchError(`pidfd_open(${pid}) failed`);
  try {
    const r = Number(c.pidfdGetfd(SYS.pidfd_getfd, pidfd, fd, 0));
    if (r < 0) throw new LaunchError(`pidfd_getfd(${pid}, ${fd}) failed`);
    return r;
  } finally {
    c.close(pidfd);
  }
}

const FORWARDED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT', 'SIGUSR1', 'SIGUSR2'];

/** How a run is watched from outside (src/state.ts registers it). */
export interface RunHooks {
  /** Path of the sentry's control socket (sentry/control.ts); none when absent. */
  controlSocket?: string;
  /** Called once with the host pid of the sandbox's init and its cgroup (null: none), when the sentry starts. */
  onStart?: (initPid: number, cgroup: CgroupRecord | null) => void;
}

/**
 * Runs `spec` to completion. Resolves with the exit status tvisor should
 * exit with: the workload's (128+signal if killed), 126/127 when the command
 * cannot be run / is not found; rejects with LaunchError on a setup error
 * (a limit the host's cgroups cannot enforce among them). The sandbox's
 * cgroup is created first and removed at the end whatever happened; when
 * the OOM killer killed processes in it, one line says so on stderr.
 */
export async function runSandbox(spec: SandboxSpec, hooks: RunHooks = {}): Promise<number> {
  // The one rule every caller gets (do, the OCI commands, the library): the host's / is never writable.
  if (spec.overlay === 'none' && (spec.rootfs === '' || isHostRoot(spec.rootfs)))
    throw new LaunchError('overlay "none" on the host\u2019s /: the host\u2019s / is never writable');
  if (spec.kernelRelease !== undefined && (spec.kernelRelease === '' || Buffer.byteLength(spec.kernelRelease) > 64 || spec.kernelRelease.includes('\0')))
    throw new LaunchError(`kernel release ${JSON.stringify(spec.kernelRelease)}: want 1 to 64 bytes (struct utsname), no NUL`);
  checkUserNamespace(spec); // before anything starts: a bad map is an error that leaves nothing behind
  let cgroup: CgroupRecord | null;
  try {
    cgroup = createCgroup(spec.resources ?? {}, { id: spec.id ?? newSandboxId(), path: spec.cgroupsPath });
  } catch (e) {
    if (e instanceof CgroupError) throw new LaunchError(e.message);
    throw e;
  }
  try {
    return await launch(spec, cgroup, hooks);
  } finally {
    if (cgroup) {
      const oom = oomReport(cgroup);
      if (oom) process.stderr.write(`tvisor: ${oom}\n`);
      for (const d of removeCgroup(cgroup)) process.stderr.write(`tvisor: could not remove the sandbox's cgroup ${d}\n`);
    }
  }
}

/** Starts the launcher for `spec` in `cgroup` and runs the sentry until the sandbox is gone (see runSandbox). */
async function launch(spec: SandboxSpec, cgroup: CgroupRecord | null, hooks: RunHooks): Promise<number> {
  const child = spawn(LAUNCHER_PATH, [], {
    // The sandbox's pid 1 is a fork of the launcher: its /proc/1/cmdline must not name a host path.
    argv0: 'tvisor-launch',
    stdio: ['inherit', 'inherit', 'inherit', 'pipe', 'pipe'],
    env: { TVISOR_PARENT_PID: String(process.pid) },
  });
  const configPipe = child.stdio[3] as Writable;
  const status = child.stdio[4] as Readable;
  configPipe.on('error', () => {}); // EPIPE when the launcher fails early: reported through its status
  configPipe.write(encodeSpec(spec, cgroup ? cgroupProcsFiles(cgroup) : []));

  let initPid = 0;
  let errorLine = '';
  let sentryDone: Promise<void> | undefined;
  const forward = (sig: NodeJS.Signals): void => {
    if (initPid) c.kill(initPid, constants.signals[sig]);
  };
  for (const s of FORWARDED) process.on(s, forward);

  let buf = '';
  let listener: number | undefined;
  status.setEncoding('utf8');
  status.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (line.startsWith('init ')) initPid = Number(line.slice(5));
      else if (line.startsWith('error ')) errorLine = line.slice(6);
      else if (line.startsWith('listener ')) listener = Number(line.slice(9));
      if (initPid && listener !== undefined) {
        const fd = listener;
        listener = undefined;
        try {
          if (fd >= 0) {
            const listenerFd = takeFd(initPid, fd);
            configPipe.end('g');
            sentryDone = runSentry({
              listenerFd,
              initPid,
              straceFd: spec.straceFd,
              settings: sandboxSettings(spec),
              debugLog: spec.debugLog,
              controlSocket: hooks.controlSocket,
              testUnscopedResolve: spec.testUnscopedResolve,
              testRawProc: spec.testRawProc,
              cgroup: cgroup ?? undefined,
              kernelRelease: spec.kernelRelease,
            });
          } else configPipe.end('g');
          hooks.onStart?.(initPid, cgroup);
        } catch (e) {
          errorLine = (e as Error).message;
          child.kill('SIGKILL');
        }
      }
    }
  });

  const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
    child.on('exit', (code, signal) => resolve([code, signal])),
  );
  for (const s of FORWARDED) process.off(s, forward);
  void sentryDone;
  if (errorLine) throw new LaunchError(errorLine);
  if (signal) return 128 + (constants.signals[signal] ?? 0);
  return code ?? 125;
}
