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
import { existsSync, mkdirSync, openSync, realpathSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { capMask, DEFAULT_CAPS } from '../caps.js';
import { isHostRoot, runSandbox, type Namespace, type Overlay, type SandboxSpec } from '../sandbox.js';
import { convertMount, doFsConfig, parseTmpfs, parseVolume, rootSetup, type OciMount } from '../oci/mounts.js';
import { fatal } from './errors.js';
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
  tty?: boolean;
  testAllowSyscall: string[];
  testUnscopedResolve?: boolean;
  testRawProc?: boolean;
  testMemoryLimit?: number;
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
    .option('-t, --tty', 'give the command a new terminal (a pty of the sandbox), relayed to this one')
    .addOption(new Option('--test-allow-syscall <name>', 'TEST ONLY: let the filter pass NAME').argParser(collect).default([]).hideHelp())
    .addOption(new Option('--test-unscoped-resolve', 'TEST ONLY: a deliberately vulnerable path resolution').hideHelp())
    .addOption(new Option('--test-raw-proc', 'TEST ONLY: the kernel\u2019s /proc files, not rewritten').hideHelp())
    .addOption(new Option('--test-memory-limit <bytes>', 'TEST ONLY: a memory limit for /proc/meminfo').argParser(Number).hideHelp())
    .passThroughOptions()
    .action(async (command: string[], o: DoOptions) => {
      const code = await runDo(command, o);
      // _exit(2), not process.exit(): a slow-path thread may still sit in a blocking open of the dead
      // sandbox's FIFO, and Node would wait for it forever.
      c._exit(code);
    });
}

async function runDo(command: string[], o: DoOptions): Promise<number> {
  const rootfs = o.rootfs ? resolve(o.rootfs) : '';
  if (rootfs && !(existsSync(rootfs) && statSync(rootfs).isDirectory())) fatal(`--rootfs ${o.rootfs}: no such directory`);
  let overlay: Overlay;
  let root;
  try {
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
  const namespaces: Namespace[] = [
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
    tty: o.tty === true,
    straceFd,
    debugLog: o.debugLog ?? null,
    allowOverride: o.testAllowSyscall,
    testUnscopedResolve: o.testUnscopedResolve,
    testRawProc: o.testRawProc,
    testMemoryLimit: o.testMemoryLimit,
  };
  try {
    return await runSandbox(spec);
  } catch (e) {
    fatal((e as Error).message);
  }
}
