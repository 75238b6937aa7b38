/**
 * CPython's own regression tests (Debian's libpython3.11-testsuite, run by
 * Debian's /usr/bin/python3.11) inside the sandbox and outside it, with the
 * per-test outcomes compared. Used by `npm run conformance` (every module,
 * a table) and by test/conformance.test.ts (the CI-sized set).
 *
 * The reference runs have the same uid (root), the same capability sets
 * (the 14 of `tvisor do`, via setpriv(1)) and no_new_privs:
 *   - host:   the host's files, as `tvisor do` sees them;
 *   - rootfs: the Debian minbase rootfs, chrooted under a throw-away overlay
 *             in a private mount and pid namespace (unshare(1)), as
 *             `tvisor do --rootfs` sees it.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_CAPS } from '../../src/caps.js';

/** The package root (the directory with package.json), from source or from dist/. */
const ROOT = ((): string => {
  let d = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(d, 'package.json'))) d = dirname(d);
  return d;
})();
const TVISOR = join(ROOT, 'bin', 'tvisor.js');
const RUNNER_PATH = join(ROOT, 'test', 'py', 'conformance.py');
const RUNNER = readFileSync(RUNNER_PATH);
const PYTHON = '/usr/bin/python3.11';
const MARK = '--tvisor-conformance-result--';

/** The file and path modules the filesystem issue names, in its order. */
export const MODULES = [
  'test_os', 'test_posix', 'test_shutil', 'test_tempfile', 'test_pathlib', 'test_glob', 'test_fileio',
  'test_stat', 'test_fnmatch', 'test_zipfile', 'test_tarfile', 'test_filecmp', 'test_genericpath', 'test_posixpath',
] as const;

/**
 * The process modules the process issue names: processes, signals, threads, process groups and sessions,
 * rlimits, ptys, and multiprocessing's forkserver (unix sockets, fd passing). test_posix is also in MODULES.
 */
export const PROCESS_MODULES = [
  'test_subprocess', 'test_signal', 'test_threading', 'test_posix', 'test_resource', 'test_pty',
  'test_multiprocessing_forkserver',
] as const;

/**
 * The CI-sized part of PROCESS_MODULES for `npm test`: the whole of the fast modules (test_posix runs with the
 * file modules) and the forkserver classes that exercise process start, exit codes, signals, queues and pipes
 * between processes, fd passing over unix sockets, and the forkserver's own sockets (the whole module takes
 * minutes; `npm run conformance` runs it).
 */
export const PROCESS_CI = [
  'test_subprocess', 'test_signal', 'test_threading', 'test_resource', 'test_pty',
  'test_multiprocessing_forkserver.WithProcessesTestProcess',
  'test_multiprocessing_forkserver.WithProcessesTestQueue',
  'test_multiprocessing_forkserver.WithProcessesTestConnection',
  'test_multiprocessing_forkserver.WithProcessesTestSubclassingProcess',
  'test_multiprocessing_forkserver.TestStartMethod',
] as const;

/** The module of a name given to the runner ("test_os" of "test_os.TestX.test_y"). */
export const moduleOf = (name: string): string => name.split('.')[0]!;

/** unittest outcomes, as test/py/conformance.py names them. */
export type Outcome = 'ok' | 'fail' | 'error' | 'skip' | 'xfail' | 'xpass';

/** One run: module -> test id -> outcome, and the traceback of each failure or error. */
export interface SuiteRun {
  results: Record<string, Record<string, Outcome>>;
  details: Record<string, string>;
}

/** A test whose outcome differs between the reference and the sandbox. */
export interface Difference {
  module: string;
  test: string;
  reference: Outcome | 'missing';
  sandbox: Outcome | 'missing';
  /** The sandbox's traceback, when it failed. */
  detail?: string;
}

/** setpriv(1) capability list: exactly the capabilities `tvisor do` grants (src/caps.ts DEFAULT_CAPS). */
const CAPS = ['-all', ...DEFAULT_CAPS.map((c) => '+' + c.slice('CAP_'.length).toLowerCase())].join(',');
/**
 * The prefix that runs a command natively as `tvisor do` runs it: root with the same capability sets (bounding,
 * inheritable, and so permitted and effective at exec) and no_new_privs. Shared by the native reference runs.
 */
export const SETPRIV = ['setpriv', `--bounding-set=${CAPS}`, `--inh-caps=${CAPS}`, '--no-new-privs'];
/** The same environment everywhere (bytecode off: the host's and the fixture's files stay as they are). */
const ENV = { PATH: '/usr/sbin:/usr/bin:/sbin:/bin', HOME: '/root', LANG: 'C.UTF-8', PYTHONDONTWRITEBYTECODE: '1' };

/**
 * Runs the runner script under `cmd`; parses the JSON after the marker on stdout. On the host's files it is run
 * by its path, which the sandbox sees too (multiprocessing's forkserver imports the main module again: a script
 * read from stdin left the forkserver tests waiting forever); in a rootfs, which lacks it, it is given on stdin.
 */
function run(cmd: string[], modules: readonly string[], timeoutMs: number, fromStdin = false): SuiteRun {
  const r = spawnSync(cmd[0]!, [...cmd.slice(1), PYTHON, fromStdin ? '-' : RUNNER_PATH, MARK, ...modules], {
    input: fromStdin ? RUNNER : '',
    cwd: '/tmp',
    env: ENV,
    encoding: 'utf8',
    timeout: timeoutMs,
    maxBuffer: 256 << 20,
  });
  const at = r.stdout?.lastIndexOf(MARK) ?? -1;
  if (at < 0)
    throw new Error(`${cmd.join(' ')}: no result (status ${r.status}, signal ${r.signal})\n${(r.stderr ?? '').slice(-3000)}`);
  return JSON.parse(r.stdout.slice(at + MARK.length)) as SuiteRun;
}

/** The reference run on the host's own files. */
export function runHostNative(modules: readonly string[], timeoutMs = 900_000): SuiteRun {
  return run(SETPRIV, modules, timeoutMs);
}

/** The same modules inside `tvisor do` (extra `flags` before `--`). */
export function runHostSandbox(modules: readonly string[], flags: string[] = [], timeoutMs = 900_000): SuiteRun {
  return run([process.execPath, TVISOR, 'do', ...flags, '--'], modules, timeoutMs, flags.includes('--rootfs'));
}

/**
 * The reference run in `rootfs`: chroot(2) into an overlay of it (tmpfs
 * upper, so the fixture is never written) with its own /proc and the host's
 * /dev, in new mount and pid namespaces that vanish with the run.
 */
export function runRootfsNative(rootfs: string, modules: readonly string[], timeoutMs = 900_000): SuiteRun {
  const w = mkdtempSync('/tmp/tvisor-conformance-');
  const script = [
    'set -e',
    `mount -t tmpfs tvisor-conformance "${w}"`,
    `mkdir "${w}/u" "${w}/w" "${w}/m"`,
    `mount -t overlay overlay -o "lowerdir=${rootfs},upperdir=${w}/u,workdir=${w}/w,xino=on" "${w}/m"`,
    `mount -t proc proc "${w}/m/proc"`,
    `mount --rbind /dev "${w}/m/dev"`,
    `exec chroot "${w}/m" "$@"`,
  ].join('\n');
  try {
    return run(['unshare', '--mount', '--pid', '--fork', '--propagation', 'private', 'sh', '-c', script, 'sh', ...SETPRIV], modules, timeoutMs, true);
  } finally {
    rmSync(w, { recursive: true, force: true });
  }
}

/** The same modules inside `tvisor do --rootfs ROOTFS`. */
export function runRootfsSandbox(rootfs: string, modules: readonly string[], timeoutMs = 900_000): SuiteRun {
  return runHostSandbox(modules, ['--rootfs', rootfs, '--cwd', '/tmp'], timeoutMs);
}

/** Every test whose outcome differs (a test missing on one side counts). */
export function compare(reference: SuiteRun, sandbox: SuiteRun): Difference[] {
  const out: Difference[] = [];
  for (const module of Object.keys(reference.results)) {
    const a = reference.results[module] ?? {};
    const b = sandbox.results[module] ?? {};
    for (const test of [...new Set([...Object.keys(a), ...Object.keys(b)])].sort()) {
      if (a[test] === b[test]) continue;
      out.push({ module, test, reference: a[test] ?? 'missing', sandbox: b[test] ?? 'missing', detail: sandbox.details[test] });
    }
  }
  return out;
}

/** What compareWithRerun found. */
export interface Comparison {
  /** Tests whose outcome still differs after their rerun. */
  differences: Difference[];
  /** Tests that differed in the first runs and agreed when rerun once on both sides (timing-sensitive). */
  reruns: string[];
}

/** Reruns at most this many differing tests; more than that is no timing accident. */
const MAX_RERUNS = 40;

/**
 * compare(), then each differing test is run once more on both sides (`rerun(side, names)` runs the runner's
 * NAMEs: "test_x.Class.test_y"), and its new outcomes replace the first ones: a timing-sensitive test may
 * differ once (the issue allows one rerun), and the tests that needed it are listed in `reruns`. A
 * module-level error (setUpModule) reruns its module.
 */
export function compareWithRerun(
  reference: SuiteRun,
  sandbox: SuiteRun,
  rerun: (side: 'reference' | 'sandbox', names: string[]) => SuiteRun,
): Comparison {
  const first = compare(reference, sandbox);
  if (first.length === 0 || first.length > MAX_RERUNS) return { differences: first, reruns: [] };
  const nameOf = (d: Difference): string => (d.test.startsWith('test.') ? d.test.slice(5) : d.module);
  const names = [...new Set(first.map(nameOf))];
  const again = { reference: rerun('reference', names), sandbox: rerun('sandbox', names) };
  const differences: Difference[] = [];
  const reruns: string[] = [];
  for (const d of first) {
    const a = again.reference.results[d.module]?.[d.test] ?? 'missing';
    const b = again.sandbox.results[d.module]?.[d.test] ?? 'missing';
    if (a === b) reruns.push(d.test);
    else differences.push({ ...d, reference: a, sandbox: b, detail: again.sandbox.details[d.test] ?? d.detail });
  }
  return { differences, reruns };
}

/** Counts of each outcome in one module, as "ok/fail/error/skip" plus x-outcomes when present. */
export function counts(run: SuiteRun, module: string): string {
  const n: Record<Outcome, number> = { ok: 0, fail: 0, error: 0, skip: 0, xfail: 0, xpass: 0 };
  for (const o of Object.values(run.results[module] ?? {})) n[o]++;
  let s = `${n.ok}/${n.fail}/${n.error}/${n.skip}`;
  if (n.xfail || n.xpass) s += ` x${n.xfail}/${n.xpass}`;
  return s;
}

/** A side-by-side table: per module, outcome counts of each named run, then the differing tests. */
export function table(runs: Record<string, SuiteRun>, modules: readonly string[]): string {
  const names = Object.keys(runs);
  const rows = [['module', ...names.map((n) => `${n} ok/fail/err/skip`)]];
  for (const m of modules) rows.push([m, ...names.map((n) => counts(runs[n]!, m))]);
  const width = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => c.padEnd(width[i]!)).join('  ')).join('\n');
}

/**
 * Differences the sandbox keeps on purpose, by run ("do" vs the host,
 * "do --rootfs" vs the chrooted rootfs), with the reason.
 */
export const KNOWN_DIFFERENCES: Record<'do' | 'do --rootfs', Record<string, string>> = {
  do: {
    // statfs(2) of an overlay reports its upper layer: `do`'s writable layer is a fresh tmpfs, so
    // `used` is 0 until the workload writes. The chrooted reference, under the same overlay, fails it too.
    'test.test_shutil.TestMisc.test_disk_usage':
      'statfs of the overlay reports the fresh tmpfs upper layer (used = 0), as any overlay with a tmpfs upper does',
  },
  'do --rootfs': {},
};
