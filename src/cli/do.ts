/**
 * `tvisor do [flags] -- CMD [ARGS...]`: runs one command in a sandbox, like
 * `runsc do` or `bwrap`. By default the host's / is seen read-only under a
 * throw-away in-memory writable layer (overlayfs with a tmpfs upper), in new
 * mount, pid, ipc, uts, cgroup and network namespaces (loopback only), with
 * the 14 capabilities containerd gives a container and no_new_privs.
 *
 * Exit status: the command's (128+signal when killed by a signal); 125 for
 * tvisor's own errors, 126 when the command cannot be executed, 127 when it
 * is not found (the docker/podman convention).
 */
import { Command, Option } from 'commander';
import { appendFileSync, existsSync, mkdirSync, openSync, realpathSync, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { capMask, DEFAULT_CAPS } from '../caps.js';
import {
  DEFAULT_USERNS_RANGE,
  isHostRoot,
  runSandbox,
  type Namespace,
  type Overlay,
  type SandboxSpec,
  type UserNamespaceMaps,
} from '../sandbox.js';
import { convertMount, doFsConfig, parseTmpfs, parseVolume, rootSetup, type OciMount } from '../oci/mounts.js';
import { fatal } from './errors.js';
import { DEFAULT_ROOT, generateId, Registration } from '../state.js';
import { createHash } from 'node:crypto';
import type { Resources } from '../cgroups.js';
import { c } from '../../sentry/native.js';

export { parseVolume };

/** The nearest existing ancestor of `p` (itself when it exists). */
function nearestExisting(p: string): string {
  let d = p;
  while (!existsSync(d) && dirname(d) !== d) d = dirname(d);
  return d;
}

/** `p` with its existing part resolved (realpath of the nearest existing ancestor, then the rest). */
function existingReal(p: string): string {
  const d = nearestExisting(p);
  return join(realpathSync(d), relative(d, p));
}

const inside = (p: string, dir: string): boolean => p === dir || dir === '/' || p.startsWith(dir + '/');

/**
 * Whether `p` is `dir` or lies under it by identity: some directory on the way from `p` up to / has the device
 * and inode of `dir` (so a bind mount or symlink of `dir` elsewhere counts). False when either cannot be read.
 */
function within(p: string, dir: string): boolean {
  let d: ReturnType<typeof statSync>;
  try {
    d = statSync(dir);
  } catch {
    return false;
  }
  for (let cur = realpathSync(p); ; cur = dirname(cur)) {
    const st = statSync(cur);
    if (st.dev === d.dev && st.ino === d.ino) return true;
    if (cur === '/') return false;
  }
}

/**
 * Parses `--overlay` (memory | none | dir=PATH) against the root (`rootfs`, '' for the host's /).
 * dir=PATH: PATH is made absolute and created (mode 0700) when missing. Refused (Error): none without a rootfs or
 * with the host's / as the rootfs (the host's / is never writable); PATH inside the lower layer (under the rootfs, or on the host root's
 * file system when the lower is the host's /), or the rootfs inside PATH; an existing PATH that other users
 * can reach (the upper layer holds what the sandbox wrote, setuid programs included).
 */
export function parseOverlay(text: string, rootfs: string): Overlay {
  if (text === 'memory') return 'memory';
  if (text === 'none') {
    if (!rootfs) throw new Error('--overlay=none needs --rootfs: the host\u2019s / is never writable');
    if (isHostRoot(rootfs)) throw new Error('--overlay=none with --rootfs /: the host\u2019s / is never writable');
    return 'none';
  }
  if (!text.startsWith('dir=') || text.length === 4) throw new Error(`--overlay ${text}: want memory, none or dir=PATH`);
  const path = resolve(text.slice(4));
  const real = existingReal(path);
  if (rootfs) {
    const lower = realpathSync(rootfs);
    if (inside(real, lower)) throw new Error(`--overlay=dir=${path}: inside the lower layer (the rootfs ${lower})`);
    if (inside(lower, real)) throw new Error(`--overlay=dir=${path}: the rootfs ${lower} is inside it`);
  } else if (statSync(nearestExisting(path)).dev === statSync('/').dev) {
    throw new Error(`--overlay=dir=${path}: inside the lower layer (the host\u2019s / file system); use a directory on another file system, or --rootfs`);
  }
  if (existsSync(path)) {
    const st = statSync(path);
    if (!st.isDirectory()) throw new Error(`--overlay=dir=${path}: not a directory`);
    if (st.mode & 0o077) throw new Error(`--overlay=dir=${path}: other users can reach it (mode ${(st.mode & 0o777).toString(8)}); chmod 700 it (the upper layer may hold setuid files)`);
  } else {
    mkdirSync(path, { recursive: true, mode: 0o700 });
  }
  return { dir: realpathSync(path) }; // the launcher opens it with O_NOFOLLOW
}

const SIZE_UNITS: Record<string, number> = { '': 1, b: 1, k: 2 ** 10, m: 2 ** 20, g: 2 ** 30, t: 2 ** 40 };

/**
 * Parses a memory size as docker does (`--memory`): a number, optionally with a fraction, then an optional
 * binary unit b, k, m, g or t (any case, optionally followed by "b" or "ib": 128m, 1.5G, 512MiB); bytes,
 * rounded down. Throws Error (naming `flag`) on anything else, and below 6 MiB (docker's minimum: less cannot
 * start a process).
 */
export function parseMemory(text: string, flag = '--memory'): number {
  const m = /^(\d+(?:\.\d+)?)\s*([bkmgt]?)(?:i?b)?$/i.exec(text.trim());
  if (!m) throw new Error(`${flag} ${text}: want a size like 128m or 1.5g (units b, k, m, g, t)`);
  const bytes = Math.floor(Number(m[1]) * SIZE_UNITS[m[2]!.toLowerCase()]!);
  if (!Number.isSafeInteger(bytes)) throw new Error(`${flag} ${text}: too large`);
  if (bytes < 6 * 2 ** 20) throw new Error(`${flag} ${text}: the minimum is 6m`);
  return bytes;
}

/** Parses `--pids N`: a positive integer, the most tasks (processes and threads) the sandbox may hold. */
export function parsePids(text: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1 || !Number.isSafeInteger(Number(text)))
    throw new Error(`--pids ${text}: want a positive number of tasks`);
  return Number(text);
}

/**
 * Parses `--cpus N` as docker does: CPUs as a decimal from 0.01 to the host's CPU count (`ncpu`), turned into a
 * CFS quota per 100 ms period (cpu.max "150000 100000" for 1.5). Throws Error on anything else.
 */
export function parseCpus(text: string, ncpu: number = availableParallelism()): { cpuQuota: number; cpuPeriod: number } {
  const cpus = /^\d+(?:\.\d+)?$/.test(text.trim()) ? Number(text) : NaN;
  if (!(cpus >= 0.01 && cpus <= ncpu)) throw new Error(`--cpus ${text}: want a number of CPUs from 0.01 to ${ncpu} (the host has ${ncpu})`);
  return { cpuQuota: Math.round(cpus * 100000), cpuPeriod: 100000 };
}

/** The Resources of `do`'s --memory, --pids and --cpus (Error naming the flag on bad input). */
export function doResources(o: { memory?: string; pids?: string; cpus?: string }): Resources {
  const r: Resources = { origin: { memory: '--memory', pids: '--pids', cpu: '--cpus' } };
  if (o.memory !== undefined) r.memory = parseMemory(o.memory);
  if (o.pids !== undefined) r.pids = parsePids(o.pids);
  if (o.cpus !== undefined) Object.assign(r, parseCpus(o.cpus));
  return r;
}

/**
 * Parses `--userns[=HOSTID:COUNT]`: container ids 0..COUNT-1 become host ids HOSTID..HOSTID+COUNT-1, for uids
 * and gids alike (`true`, the flag alone: 100000:65536). Throws Error for anything else, a COUNT of 0, a range
 * past 2^32, or one that maps host root (HOSTID 0: root inside would be root outside).
 */
export function parseUserns(v: string | true): UserNamespaceMaps {
  let hostID: number = DEFAULT_USERNS_RANGE.hostID;
  let size: number = DEFAULT_USERNS_RANGE.size;
  if (v !== true) {
    const m = /^(\d+):(\d+)$/.exec(v);
    if (!m) throw new Error(`--userns=${v}: want HOSTID:COUNT (e.g. 100000:65536)`);
    [hostID, size] = [Number(m[1]), Number(m[2])];
    if (size === 0 || hostID + size > 0x100000000) throw new Error(`--userns=${v}: COUNT must be 1 or more and the range within 32 bits`);
    if (hostID === 0) throw new Error(`--userns=${v}: host id 0 would make root inside root outside`);
  }
  const map = [{ containerID: 0, hostID, size }];
  return { uidMappings: map, gidMappings: map };
}

interface DoOptions {
  rootfs?: string;
  overlay: string;
  readOnly?: boolean;
  volume: string[];
  tmpfs: string[];
  cwd?: string;
  env: string[];
  network: 'none' | 'host';
  strace?: string | boolean;
  debugLog?: string;
  hostname?: string;
  nestedNamespaces?: boolean;
  name?: string;
  memory?: string;
  pids?: string;
  cpus?: string;
  userns?: string | true;
  kernelRelease?: string;
  tty?: boolean;
  testAllowSyscall: string[];
  testUnscopedResolve?: boolean;
  testRawProc?: boolean;
}

const collect = (v: string, prev: string[]): string[] => [...prev, v];

export function doCommand(): Command {
  return new Command('do')
    .description('run a command in a sandbox (host / read-only with a throw-away writable layer by default)')
    .usage('[flags] -- CMD [ARGS...]')
    .argument('<command...>', 'command and its arguments')
    .option('--rootfs <dir>', 'root directory for the sandbox (default: the host /)')
    .option('--overlay <mode>', 'writable layer: memory (thrown away), dir=PATH (kept in PATH/upper), none (the rootfs itself, rw)', 'memory')
    .option('--read-only', 'the root file system read-only (mounts stay as they are)')
    .option('-v, --volume <host:guest[:opts]>', 'bind-mount a host path (repeatable; opts: ro, noexec, rslave... comma-separated)', collect, [])
    .option('--tmpfs <dest[:opts]>', 'mount a tmpfs (repeatable; opts: size=64m, mode=1777, exec... comma-separated)', collect, [])
    .option('--cwd <dir>', 'working directory inside the sandbox (default: the current one, or / with --rootfs)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .addOption(new Option('--network <mode>', 'network namespace').choices(['none', 'host']).default('none'))
    .option('--strace [file]', 'print every trapped syscall (to stderr, or to FILE)')
    .option('--debug-log <file>', 'write the sentry\u2019s JSON log (denied calls, errors) to FILE')
    .option('--hostname <name>', 'hostname inside the sandbox')
    .option('--nested-namespaces', 'let the workload create namespaces (clone/unshare CLONE_NEW*, setns); mount(2) stays denied')
    .option('--name <id>', 'register the sandbox as ID under --root, for `tvisor ps|state|events ID` (default: a generated id, written only to --debug-log)')
    .option('--memory <size>', 'memory limit, no swap (cgroup; e.g. 128m, 1g): past it the OOM killer ends processes')
    .option('--pids <n>', 'most tasks (processes and threads) at once (cgroup): fork fails with EAGAIN past it')
    .option('--cpus <n>', 'CPU time, in CPUs (cgroup CFS quota; e.g. 0.5, 1.5)')
    .option(
      '--userns [hostid:count]',
      'a user namespace: container ids 0..count-1 are host ids hostid.. (default 100000:65536); root inside is not root outside',
    )
    .option('--kernel-release <release>', 'the kernel release uname(2) reports inside (default: the host\u2019s)')
    .option('-t, --tty', 'give the command a new terminal (a pty of the sandbox), relayed to this one')
    .addOption(new Option('--test-allow-syscall <name>', 'TEST ONLY: let the filter pass NAME').argParser(collect).default([]).hideHelp())
    .addOption(new Option('--test-unscoped-resolve', 'TEST ONLY: a deliberately vulnerable path resolution').hideHelp())
    .addOption(new Option('--test-raw-proc', 'TEST ONLY: the kernel\u2019s /proc files, not rewritten').hideHelp())
    .passThroughOptions()
    .action(async (command: string[], o: DoOptions, cmd: Command) => {
      const code = await runDo(command, o, (cmd.optsWithGlobals() as { root: string }).root);
      // _exit(2), not process.exit(): a slow-path thread may still sit in a blocking open of the dead
      // sandbox's FIFO, and Node would wait for it forever.
      c._exit(code);
    });
}

async function runDo(command: string[], o: DoOptions, stateRoot: string): Promise<number> {
  const rootfs = o.rootfs ? resolve(o.rootfs) : '';
  if (rootfs && !(existsSync(rootfs) && statSync(rootfs).isDirectory())) fatal(`--rootfs ${o.rootfs}: no such directory`);
  let overlay: Overlay;
  let root;
  let resources: Resources;
  try {
    resources = doResources(o);
    overlay = parseOverlay(o.overlay, rootfs);
    const extra: OciMount[] = [];
    for (const v of o.volume) {
      const m = parseVolume(v);
      convertMount(m, 0, '/', `volume ${v}`); // its own errors name it
      if (!existsSync(m.source!)) fatal(`volume ${m.source}: no such file or directory`);
      // The overlay's upper and work directories must be reachable only through overlayfs.
      if (typeof overlay === 'object' && (within(overlay.dir, m.source!) || within(m.source!, overlay.dir)))
        fatal(`volume ${m.source}: contains or lies inside the --overlay directory ${overlay.dir}`);
      extra.push(m);
    }
    for (const t of o.tmpfs) {
      const m = parseTmpfs(t);
      convertMount(m, 0, '/', `--tmpfs ${t}`);
      extra.push(m);
    }
    root = rootSetup(doFsConfig({ rootfs, readonly: o.readOnly, extra }));
  } catch (e) {
    fatal((e as Error).message);
  }
  const env = { ...process.env } as Record<string, string>;
  for (const kv of o.env) {
    const i = kv.indexOf('=');
    if (i <= 0) fatal(`invalid --env "${kv}": want KEY=VALUE`);
    env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  let userNamespace: UserNamespaceMaps | undefined;
  try {
    if (o.userns !== undefined) userNamespace = parseUserns(o.userns);
  } catch (e) {
    fatal((e as Error).message);
  }
  const namespaces: Namespace[] = [
    ...(userNamespace ? [{ type: 'user' } as const] : []),
    { type: 'ipc' },
    { type: 'uts' },
    { type: 'pid' },
    { type: 'cgroup' },
    { type: 'mount' },
  ];
  if (o.network === 'none') namespaces.push({ type: 'network' });
  let straceFd = -1;
  if (o.strace === true) straceFd = 2;
  else if (typeof o.strace === 'string') {
    try {
      straceFd = openSync(o.strace, 'w');
    } catch (e) {
      fatal(`--strace ${o.strace}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  const caps = capMask(DEFAULT_CAPS);
  const id = o.name ?? generateId();
  const spec: SandboxSpec = {
    args: command,
    env: Object.entries(env).map(([k, v]) => `${k}=${v}`),
    cwd: o.cwd ?? (rootfs ? '/' : process.cwd()),
    optionalCwd: o.cwd === undefined,
    rootfs: root.rootfs,
    overlay,
    readonlyRoot: root.readonly,
    mounts: root.mounts,
    namespaces,
    caps: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: 0n },
    noNewPrivileges: true,
    hostname: o.hostname,
    userNamespace,
    kernelRelease: o.kernelRelease,
    tty: o.tty === true,
    straceFd,
    settings: o.nestedNamespaces ? ['nestedNamespaces'] : [],
    debugLog: o.debugLog ?? null,
    allowOverride: o.testAllowSyscall,
    testUnscopedResolve: o.testUnscopedResolve,
    testRawProc: o.testRawProc,
    resources,
    // The cgroup's name (tvisor/<id>): ids are unique per --root only, so another root's are told apart.
    // ("@" is not allowed in ids, so no id of the default root can take another root's name).
    id: resolve(stateRoot) === DEFAULT_ROOT ? id : `${id}@${createHash('sha256').update(resolve(stateRoot)).digest('hex').slice(0, 8)}`,
  };
  let reg: Registration;
  try {
    reg = Registration.create(stateRoot, id, { bundle: process.cwd(), rootfs: rootfs || '/', generatedId: !o.name });
  } catch (e) {
    fatal((e as Error).message);
  }
  if (o.debugLog) {
    // The id of an unnamed sandbox is told here only; the sentry's pino log appends to the same file.
    const line = { level: 30, time: Date.now(), component: 'tvisor', id, state: reg.dir, msg: 'sandbox registered' };
    try {
      appendFileSync(o.debugLog, JSON.stringify(line) + '\n');
    } catch (e) {
      reg.remove();
      fatal(`--debug-log ${o.debugLog}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
  }
  try {
    return await runSandbox(spec, { controlSocket: reg.controlSocket, onStart: (pid, cgroup) => reg.update({ status: 'running', pid, ...(cgroup ? { cgroup } : {}) }),
    });
  } catch (e) {
    reg.remove();
    fatal((e as Error).message);
  } finally {
    reg.remove();
  }
}
