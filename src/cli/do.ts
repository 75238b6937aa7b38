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
import { existsSync, openSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { capMask, DEFAULT_CAPS } from '../caps.js';
import { runSandbox, type Namespace, type SandboxSpec, type Volume } from '../sandbox.js';
import { fatal } from './errors.js';
import { c } from '../../sentry/native.js';

/** Parses `-v HOST:GUEST[:ro]` (docker's form). */
export function parseVolume(text: string): Volume {
  const parts = text.split(':');
  let ro = false;
  if (parts.length === 3 && (parts[2] === 'ro' || parts[2] === 'rw')) ro = parts.pop() === 'ro';
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new Error(`invalid volume "${text}": want HOST:GUEST[:ro]`);
  if (!parts[1].startsWith('/')) throw new Error(`invalid volume "${text}": GUEST must be absolute`);
  if (parts[1].replace(/\/+/g, '/').replace(/\/$/, '') === '') throw new Error(`invalid volume "${text}": GUEST cannot be /`);
  return { host: resolve(parts[0]), guest: parts[1], readonly: ro };
}

interface DoOptions {
  rootfs?: string;
  volume: string[];
  cwd?: string;
  env: string[];
  network: 'none' | 'host';
  strace?: string | boolean;
  debugLog?: string;
  hostname?: string;
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
    .option('-v, --volume <host:guest[:ro]>', 'bind-mount a host path into the sandbox (repeatable)', collect, [])
    .option('--cwd <dir>', 'working directory inside the sandbox (default: the current one, or / with --rootfs)')
    .option('-e, --env <KEY=VALUE>', 'set an environment variable (repeatable)', collect, [])
    .addOption(new Option('--network <mode>', 'network namespace').choices(['none', 'host']).default('none'))
    .option('--strace [file]', 'print every trapped syscall (to stderr, or to FILE)')
    .option('--debug-log <file>', 'write the sentry\u2019s JSON log (denied calls, errors) to FILE')
    .option('--hostname <name>', 'hostname inside the sandbox')
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
  let volumes: Volume[];
  try {
    volumes = o.volume.map(parseVolume);
  } catch (e) {
    fatal((e as Error).message);
  }
  for (const v of volumes) if (!existsSync(v.host)) fatal(`volume ${v.host}: no such file or directory`);
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
    rootfs,
    overlay: 'memory',
    volumes,
    namespaces,
    caps: { bounding: caps, effective: caps, permitted: caps, inheritable: caps, ambient: 0n },
    noNewPrivileges: true,
    hostname: o.hostname,
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
