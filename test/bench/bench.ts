/**
 * tvisor benchmark (`npm run bench`): ratios of sandboxed to native cost,
 * both measured in the same run. It is a benchmark, not a test: it never
 * fails on a slow result, it prints a markdown table (stdout) that can be
 * pasted into the README, and with `--json` the raw numbers as JSON on the
 * last line. Progress goes to stderr.
 *
 * Everything runs pinned to CPU 0 (`taskset -c 0 ...`): the sentry and the
 * workload share one vCPU, which is what tvisor is tuned for (a user-notify
 * round trip across two vCPUs of this VM costs 10x more; see
 * /work/shared/notes/interception-costs.md).
 *
 * Micro rows (1-5) time the loop inside the workload (test/bench/micro.c,
 * compiled here with gcc into a temp dir), so process and sandbox startup
 * are excluded; each is run REPS times, native and tvisor interleaved, and
 * the median is reported. Startup rows (6-7) time the whole command from
 * Node (spawn to exit), interleaving native, bwrap and tvisor runs.
 *
 * Filesystem rows (8-12) run real programs (find, git status, dd, tar,
 * python3.11 imports) under test/bench/timeit.c, a timer process that is
 * the command natively and the sandbox's command in tvisor: the figure is
 * the workload's own time, fork to exit, without tvisor's startup (row 6);
 * the whole command's wall time of the same runs is printed in a second
 * table. Fixtures (a committed git repo of 20,000 files, a tarball of
 * /usr/lib/python3.11) are made once and cached in /var/tmp/tvisor-bench;
 * scratch files go to a temp dir under /var/tmp, which tvisor sees through
 * `-v` at the same path, so native and tvisor write to the same filesystem.
 *
 * Process rows (13-16): fork+exit, thread create+join and a pipe ping-pong
 * between two processes are loops timed inside micro.c like rows 1-5 (row 5
 * is fork+exec+wait); `make -j2` of a generated C project (row 16) is timed
 * under timeit like the filesystem rows, the project on a `-v` volume.
 *
 * Usage: node dist/test/bench/bench.js [--json] [--reps N] [GROUP...]
 * GROUP is micro (rows 1-5, 2c, 3c), startup (6-7), fs (8-12) or proc (13-16); none: all.
 */
import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  statfsSync,
  statSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { basename, join } from 'node:path';

/** The repository root (this file runs as dist/test/bench/bench.js). */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const TVISOR = join(ROOT, 'bin', 'tvisor.js');
const MICRO_C = join(ROOT, 'test', 'bench', 'micro.c');
const FLOOR_C = join(ROOT, 'test', 'bench', 'notif_floor.c');
const TIMEIT_C = join(ROOT, 'test', 'bench', 'timeit.c');
const BWRAP = '/usr/bin/bwrap';
const PYTHON = '/usr/bin/python3';
const PIN = ['taskset', '-c', '0'];

const args = process.argv.slice(2);
const JSON_OUT = args.includes('--json');
const repsAt = args.indexOf('--reps');
const REPS = repsAt >= 0 ? Math.max(1, Number(args[repsAt + 1]) || 5) : 5;
const STARTUP_RUNS = 20;
const PYTHON_RUNS = 10;
/** Runs of the `node -e 0` reference row. */
const NODE_RUNS = 10;

/** Row groups, chosen by name on the command line (`npm run bench -- fs`); none named: all of them. */
const GROUPS = ['micro', 'startup', 'fs', 'proc'] as const;
type Group = (typeof GROUPS)[number];
const chosen = args.filter((a, i) => !a.startsWith('-') && args[i - 1] !== '--reps');
/** Whether the rows of group `g` run in this invocation. */
const wanted = (g: Group): boolean => chosen.length === 0 || chosen.includes(g);

const log = (s: string): void => void process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- running

interface Outcome {
  ok: boolean;
  /** Wall time from spawn to exit, ms. */
  ms: number;
  stdout: string;
  stderr: string;
  /** Why the run failed (exit status, signal, stderr), when !ok. */
  error: string;
}

function run(cmd: string[], timeoutMs = 120_000): Outcome {
  const t0 = process.hrtime.bigint();
  const r = spawnSync(cmd[0]!, cmd.slice(1), {
    encoding: 'utf8',
    cwd: '/tmp',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
    maxBuffer: 16 << 20,
  });
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  let error = '';
  if (r.error) error = String(r.error.message);
  else if (r.signal) error = `killed by ${r.signal}`;
  else if (r.status !== 0) error = `exit status ${r.status}`;
  if (error && r.stderr) error += `: ${r.stderr.trim().split('\n').slice(-3).join(' | ')}`;
  return { ok: !error, ms, stdout: r.stdout ?? '', stderr: r.stderr ?? '', error };
}

const native = (cmd: string[]): string[] => [...PIN, ...cmd];
const tvisor = (cmd: string[]): string[] => [...PIN, process.execPath, TVISOR, 'do', '--', ...cmd];
const bwrap = (cmd: string[]): string[] => [...PIN, BWRAP, '--ro-bind', '/', '/', ...cmd];

// ---------------------------------------------------------------- statistics

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

// ---------------------------------------------------------------- rows

type Variant = 'native' | 'tvisor' | 'bwrap' | 'node' | 'cfloor';

interface Row {
  id: string;
  name: string;
  /** Times (lower is better) or, for MB/s, throughput (higher is better). */
  unit: 'ns' | 'µs' | 'ms' | 'MB/s';
  iterations: number;
  /** Target for tvisor, shown in the table (never asserted). */
  target?: { text: string; met: (r: Row) => boolean };
  samples: Partial<Record<Variant, number[]>>;
  /** Filesystem rows: the same runs' whole-command wall time, in the row's unit (second table). */
  wall?: Partial<Record<Variant, number[]>>;
  errors: string[];
}

function addSample(row: Row, v: Variant, x: number): void {
  (row.samples[v] ??= []).push(x);
}

function med(row: Row, v: Variant): number {
  return median(row.samples[v] ?? []);
}

function ratio(row: Row, v: Variant): number {
  return med(row, v) / med(row, 'native');
}

/** The variant shown in the table's tvisor column: tvisor, or `node -e 0` in the reference row. */
function sandboxed(row: Row): Variant {
  return row.samples.tvisor ? 'tvisor' : row.samples.node ? 'node' : row.samples.cfloor ? 'cfloor' : 'tvisor';
}

/**
 * A loop timed inside micro.c: REPS runs each of native and tvisor,
 * interleaved (the order flips every repetition). micro prints ns/iteration.
 */
function microRow(row: Row, micro: string, mode: string, scale: number): void {
  const cmd = [micro, mode, String(row.iterations)];
  for (let rep = 0; rep < REPS; rep++) {
    const order: Variant[] = rep % 2 ? ['tvisor', 'native'] : ['native', 'tvisor'];
    for (const v of order) {
      const o = run(v === 'native' ? native(cmd) : tvisor(cmd));
      const ns = Number(o.stdout.trim().split('\n').pop());
      if (!o.ok || !Number.isFinite(ns)) {
        row.errors.push(`${v} rep ${rep + 1}: ${o.error || `unparsable output ${JSON.stringify(o.stdout)}`}`);
        continue;
      }
      addSample(row, v, ns / scale);
    }
    log(
      `  ${row.id} rep ${rep + 1}/${REPS}: native ${fmt(last(row, 'native'))} ${row.unit}, tvisor ${fmt(last(row, 'tvisor'))} ${row.unit}`,
    );
  }
}

function last(row: Row, v: Variant): number {
  const xs = row.samples[v] ?? [];
  return xs.length ? xs[xs.length - 1]! : NaN;
}

/** Whole-command wall time, `runs` rounds; each round runs every variant once, in a rotating order. */
function wallRow(row: Row, variants: Partial<Record<Variant, string[]>>, runs: number): void {
  const names = Object.keys(variants) as Variant[];
  // One unrecorded warm-up of each (page cache, first exec of node).
  for (const v of names) run(variants[v]!);
  for (let i = 0; i < runs; i++) {
    for (let k = 0; k < names.length; k++) {
      const v = names[(i + k) % names.length]!;
      const o = run(variants[v]!);
      if (!o.ok) row.errors.push(`${v} run ${i + 1}: ${o.error}`);
      else addSample(row, v, o.ms);
    }
  }
  log(`  ${row.id}: ${names.map((v) => `${v} ${fmt(med(row, v))} ms`).join(', ')}`);
}

// ---------------------------------------------------------------- output

function fmt(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  if (x >= 100) return Math.round(x).toLocaleString('en-US');
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(2);
}

function fmtRatio(x: number): string {
  if (!Number.isFinite(x)) return 'n/a';
  return x >= 10 ? `${x.toFixed(1)}×` : `${x.toFixed(2)}×`;
}

/** "(met)", "(missed)", or "(n/a)" when a median is missing: the row's target checked against its medians. */
function verdict(r: Row): string {
  if (!r.target) return '';
  if (!Number.isFinite(ratio(r, sandboxed(r)))) return '(n/a)';
  return r.target.met(r) ? '(met)' : '(missed)';
}

/** The filesystem rows again, with the whole command's wall time of the same runs (tvisor startup included). */
function wallTable(rows: Row[]): string {
  const out = [
    '| # | native, whole command | tvisor, whole command | tvisor / native | target applied to it |',
    '|---|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    if (!r.wall) continue;
    const w: Row = { ...r, samples: r.wall };
    const cell = (v: Variant): string => (w.samples[v]?.length ? `${fmt(med(w, v))} ${w.unit}` : 'failed');
    const target = w.target ? `${w.target.text} ${verdict(w)}` : '';
    out.push(`| ${r.id} | ${cell('native')} | ${cell('tvisor')} | ${fmtRatio(ratio(w, 'tvisor'))} | ${target} |`);
  }
  return out.join('\n');
}

function table(rows: Row[]): string {
  const out = [
    '| # | Benchmark | native | tvisor | tvisor / native | bwrap | bwrap / native | target (tvisor) |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const u = r.unit;
    const cell = (v: Variant): string => (r.samples[v]?.length ? `${fmt(med(r, v))} ${u}` : r.errors.length ? 'failed' : '–');
    const hasBwrap = !!r.samples.bwrap?.length;
    const target = r.target ? `${r.target.text} ${verdict(r)}` : '';
    out.push(
      `| ${r.id} | ${r.name} | ${cell('native')} | ${cell(sandboxed(r))} | ${fmtRatio(ratio(r, sandboxed(r)))} | ` +
        `${hasBwrap ? cell('bwrap') : '–'} | ${hasBwrap ? fmtRatio(ratio(r, 'bwrap')) : '–'} | ${target} |`,
    );
  }
  return out.join('\n');
}

// ---------------------------------------------------------------- micro and startup rows (1-7)

/** A target met when tvisor costs at most `limit` times native. */
const ratioAtMost = (limit: number) => (r: Row): boolean => ratio(r, 'tvisor') <= limit;

/** Rows 1-5 (loops timed inside micro.c) and the C user-notify reference rows 2c and 3c. */
function microRows(tmp: string): Row[] {
  const micro = join(tmp, 'micro');
  const cc = run(['gcc', '-O2', '-Wall', '-pthread', '-o', micro, MICRO_C]);
  if (!cc.ok) {
    log(`bench: gcc failed: ${cc.error}`);
    process.exit(2);
  }
  const rows: Row[] = [
    {
      id: '1',
      name: 'allowed syscall: `syscall(SYS_getppid)`, ns/call (1M loop)',
      unit: 'ns',
      iterations: 1_000_000,
      target: { text: '≤ 1.05×', met: ratioAtMost(1.05) },
      samples: {},
      errors: [],
    },
    {
      id: '2',
      name: 'trapped, answered by the sentry: `mkdirat(/tmp)` → EEXIST, ns/call (100k)',
      unit: 'ns',
      iterations: 100_000,
      samples: {},
      errors: [],
    },
    {
      id: '2b',
      name: 'trapped, continued by the sentry: `umask(022)`, ns/call (10k)',
      unit: 'ns',
      iterations: 10_000,
      samples: {},
      errors: [],
    },
    {
      id: '3',
      name: '`openat(/etc/hostname, O_RDONLY)` + `close`, ns/pair (100k)',
      unit: 'ns',
      iterations: 100_000,
      target: { text: '≤ 5×', met: ratioAtMost(5) },
      samples: {},
      errors: [],
    },
    {
      id: '4',
      name: '`stat(/etc/hostname)`, ns/call (1M)',
      unit: 'ns',
      iterations: 1_000_000,
      samples: {},
      errors: [],
    },
    {
      id: '5',
      name: '`fork` + `execve(/bin/true)` + `waitpid`, µs each (500)',
      unit: 'µs',
      iterations: 500,
      target: { text: '≤ 1.5×', met: ratioAtMost(1.5) },
      samples: {},
      errors: [],
    },
  ];
  const modes: Record<string, [string, number]> = {
    '1': ['getppid', 1],
    '2': ['mkdirat', 1],
    '2b': ['umask', 1],
    '3': ['openclose', 1],
    '4': ['stat', 1],
    '5': ['forkexec', 1000],
  };
  for (const r of rows) {
    log(`bench: row ${r.id}: ${r.name}`);
    const [mode, scale] = modes[r.id]!;
    microRow(r, micro, mode, scale);
  }

  // Reference points: the user-notify mechanism alone, answered by a C supervisor in another process
  // (as tvisor's sentry is), so every round trip switches address spaces. Nothing tvisor can beat.
  const floorBin = join(tmp, 'notif_floor');
  const fcc = run(['gcc', '-O2', '-Wall', '-pthread', '-o', floorBin, FLOOR_C]);
  if (!fcc.ok) log(`bench: gcc notif_floor failed: ${fcc.error}`);
  const floorRows: [Row, string, string][] = [
    [{ id: '2c', name: 'reference: one call answered by a C user-notify supervisor process (getppid), ns/call (20k)', unit: 'ns', iterations: 20_000, samples: {}, errors: [] }, 'getppid', 'getppid'],
    [{ id: '3c', name: 'reference: `openat`+`close`, openat injected by a C user-notify supervisor process, ns/pair (20k)', unit: 'ns', iterations: 20_000, samples: {}, errors: [] }, 'openat', 'openclose'],
  ];
  for (const [r, floorMode, microMode] of floorRows) {
    log(`bench: row ${r.id}: ${r.name}`);
    for (let rep = 0; rep < REPS; rep++) {
      const a = run(native([micro, microMode, String(r.iterations)]));
      const b = run(native([floorBin, floorMode, String(r.iterations), 'process']));
      if (a.ok) addSample(r, 'native', Number(a.stdout.trim()));
      else r.errors.push(`native: ${a.error}`);
      if (b.ok) addSample(r, 'cfloor', Number(b.stdout.trim()));
      else r.errors.push(`C supervisor: ${b.error}`);
    }
  }

  return [...rows, ...floorRows.map(([r]) => r)];
}

/** Rows 6, 6r and 7: whole-command wall time of starting /bin/true, node and python3. */
function startupRows(): Row[] {
  const startup: Row = {
    id: '6',
    name: 'startup: `/bin/true` (whole command, wall), ms (median of 20)',
    unit: 'ms',
    iterations: STARTUP_RUNS,
    target: { text: '≤ 150 ms', met: (r) => med(r, 'tvisor') <= 150 },
    samples: {},
    errors: [],
  };
  log(`bench: row 6: ${startup.name}`);
  wallRow(startup, { native: native(['/bin/true']), bwrap: bwrap(['/bin/true']), tvisor: tvisor(['/bin/true']) }, STARTUP_RUNS);

  // Reference point: what starting Node alone costs here (tvisor's floor).
  const nodeFloor: Row = {
    id: '6r',
    name: 'reference: `node -e 0` in the tvisor column (Node startup alone, tvisor\'s floor), ms (median of 10)',
    unit: 'ms',
    iterations: NODE_RUNS,
    samples: {},
    errors: [],
  };
  log(`bench: row 6r: ${nodeFloor.name}`);
  wallRow(nodeFloor, { native: native(['/bin/true']), node: native([process.execPath, '-e', '0']) }, NODE_RUNS);

  const python: Row = {
    id: '7',
    name: 'startup: `python3 -c pass` (whole command, wall), ms (median of 10)',
    unit: 'ms',
    iterations: PYTHON_RUNS,
    samples: {},
    errors: [],
  };
  log(`bench: row 7: ${python.name}`);
  const py = [PYTHON, '-c', 'pass'];
  wallRow(python, { native: native(py), bwrap: bwrap(py), tvisor: tvisor(py) }, PYTHON_RUNS);

  return [startup, nodeFloor, python];
}

// ---------------------------------------------------------------- filesystem rows (8-12)

/** Fixtures kept between runs: the committed 20,000-file git repo and the tarball (made once, renamed into place). */
const CACHE = '/var/tmp/tvisor-bench';
/** Where each run's scratch dir goes: on disk, and bound into tvisor at the same path with -v. */
const SCRATCH_PARENT = '/var/tmp';
const SH = '/bin/sh';
const FIND = '/usr/bin/find';
const MAKE = '/usr/bin/make';
const WC = '/usr/bin/wc';
const GIT = '/usr/bin/git';
const DD = '/usr/bin/dd';
const ENV = '/usr/bin/env';
const TAR = '/usr/bin/tar';
const CAT = '/usr/bin/cat';
/** Debian's interpreter, named by its full path (not whatever python3 comes first on PATH). */
const PYTHON311 = '/usr/bin/python3.11';
const FIND_RUNS = 5;
const GIT_RUNS = 10;
const GIT_FILES = 20_000;
const DD_MIB = 1024;
const DD_BYTES = DD_MIB * 1024 * 1024;
const DD_REPS = 5;
/** Reads of the file after each write (warm page cache). */
const DD_READS = 3;
/** Times the reference row 10c reads the file in one `cat` process. */
const CAT_TIMES = 8;
const UNTAR_RUNS = 5;
const IMPORT_RUNS = 10;
/** The 50 standard-library modules of row 12 (a fixed list, all shipped by Debian's python3.11). */
const PY_MODULES = [
  'json', 're', 'collections', 'functools', 'typing', 'dataclasses', 'pathlib', 'subprocess', 'threading', 'asyncio',
  'logging', 'argparse', 'datetime', 'decimal', 'fractions', 'statistics', 'random', 'hashlib', 'base64', 'struct',
  'csv', 'sqlite3', 'ssl', 'socket', 'http.client', 'urllib.request', 'email.message', 'email.parser',
  'xml.etree.ElementTree', 'xml.dom.minidom', 'html.parser', 'tarfile', 'zipfile', 'gzip', 'bz2', 'lzma', 'shutil',
  'tempfile', 'glob', 'inspect', 'ast', 'unittest', 'pickle', 'pprint', 'textwrap', 'difflib', 'enum',
  'configparser', 'uuid', 'ipaddress',
];

/** One run under timeit: `inner` is the workload's time (fork to exit) as timeit measured it, ms; NaN when absent. */
interface Timed extends Outcome {
  inner: number;
}

/**
 * Runs `cmd` under the timeit binary, natively or as the command of `tvisor do [flags]`,
 * pinned like every other row.
 */
function timed(where: 'native' | 'tvisor', timeit: string, cmd: string[], flags: string[] = []): Timed {
  const full =
    where === 'native'
      ? native([timeit, ...cmd])
      : [...PIN, process.execPath, TVISOR, 'do', ...flags, '--', timeit, ...cmd];
  const o = run(full);
  const marks = [...o.stderr.matchAll(/^timeit-ns (\d+)$/gm)];
  const ns = marks.length ? Number(marks[marks.length - 1]![1]) : NaN;
  return { ...o, inner: ns / 1e6 };
}

/**
 * Records one timed run as a sample of `row` (the workload's time in `samples`, the whole command's in `wall`),
 * both converted by `toUnit` (ms → the row's unit); a failed run, or one `check` rejects, becomes an error instead.
 */
function record(
  row: Row,
  v: Variant,
  t: Timed,
  label: string,
  check?: (t: Timed) => string | undefined,
  toUnit: (ms: number) => number = (ms) => ms,
): void {
  const bad = !t.ok ? t.error : !Number.isFinite(t.inner) ? 'no timeit line on stderr' : check?.(t);
  if (bad) {
    row.errors.push(`${v} ${label}: ${bad}`);
    return;
  }
  addSample(row, v, toUnit(t.inner));
  ((row.wall ??= {})[v] ??= []).push(toUnit(t.ms));
}

/** `items` rotated left by `i` (the order of round i, so no variant always goes first). */
function rotated<T>(items: T[], i: number): T[] {
  return items.map((_, k) => items[(i + k) % items.length]!);
}

/**
 * Flushes the scratch filesystem (`sync -f`, untimed) after a cleanup, so the next timed run does not pay for the
 * previous one's writeback or (on a `discard` mount) its freed blocks.
 */
function settle(dir: string): void {
  const o = run(['sync', '-f', dir]);
  if (!o.ok) log(`bench: warning: sync -f ${dir}: ${o.error}`);
}

/**
 * The run with `inner` replaced by dd's own account of its copy loop ("... copied, 0.0682 s, ..." on stderr, C
 * locale): the throughput of the reads and writes themselves, without starting dd (exec, loader, locale), which
 * a fresh sandbox pays once. NaN (so the run is rejected) when dd did not say.
 */
function ddOwnTime(t: Timed): Timed {
  const m = /copied, ([0-9.e+-]+) s,/.exec(t.stderr);
  return { ...t, inner: m ? Number(m[1]) * 1000 : NaN };
}

/** MB/s (10^6 bytes per second) of moving DD_BYTES in `ms`. */
const mbps = (ms: number): number => DD_BYTES / 1e6 / (ms / 1000);

/**
 * The committed git repo of GIT_FILES files (20 directories × 10 subdirectories × 100 files), made once in CACHE.
 * File times are set in the past before `git add`, so no index entry is racily clean and `git status` only lstats.
 */
function gitFixture(): string {
  const dir = join(CACHE, `git-${GIT_FILES}`);
  if (existsSync(join(dir, '.git', 'index'))) return dir;
  log(`bench: making the ${GIT_FILES.toLocaleString('en-US')}-file git repo fixture in ${dir} (once)`);
  mkdirSync(CACHE, { recursive: true });
  const work = mkdtempSync(join(CACHE, `.git-${GIT_FILES}-`));
  try {
    const past = new Date('2020-01-01T00:00:00Z');
    const per = GIT_FILES / 200;
    for (let a = 0; a < 20; a++) {
      for (let b = 0; b < 10; b++) {
        const d = join(work, `dir${a}`, `sub${b}`);
        mkdirSync(d, { recursive: true });
        for (let c = 0; c < per; c++) {
          const f = join(d, `file${c}.txt`);
          writeFileSync(f, `fixture file ${a}/${b}/${c}\n${'x'.repeat(64 + ((a * 31 + b * 7 + c) % 512))}\n`);
          utimesSync(f, past, past);
        }
      }
    }
    const git = (...a: string[]): void => {
      const o = run([GIT, '-C', work, '-c', 'user.name=tvisor bench', '-c', 'user.email=bench@tvisor.invalid', ...a]);
      if (!o.ok) throw new Error(`git ${a[0]} in the fixture: ${o.error}`);
    };
    git('init', '-q');
    git('add', '-A');
    git('commit', '-q', '--no-gpg-sign', '-m', 'tvisor bench fixture');
    renameSync(work, dir);
  } catch (e) {
    rmSync(work, { recursive: true, force: true });
    if (!existsSync(join(dir, '.git', 'index'))) throw e; // else another bench made it meanwhile
  }
  return dir;
}

/** A tarball of /usr/lib/python3.11 (a few thousand small files), made once in CACHE; returns it and its file count. */
function tarFixture(): { path: string; files: number } {
  const path = join(CACHE, 'python3.11-lib.tar');
  if (!existsSync(path)) {
    log(`bench: making the tarball fixture ${path} (once)`);
    mkdirSync(CACHE, { recursive: true });
    const part = `${path}.${process.pid}.part`;
    const o = run([TAR, '-cf', part, '-C', '/usr/lib', 'python3.11']);
    if (!o.ok) {
      rmSync(part, { force: true });
      throw new Error(`tar -cf: ${o.error}`);
    }
    renameSync(part, path);
  }
  const list = run([TAR, '-tvf', path]);
  if (!list.ok) throw new Error(`tar -tvf: ${list.error}`);
  return { path, files: list.stdout.split('\n').filter((l) => l.startsWith('-')).length };
}

/** Rows 8-12: filesystem workloads, each natively and in tvisor in the same run, interleaved. */
function fsRows(tmp: string): Row[] {
  const timeit = join(tmp, 'timeit');
  const cc = run(['gcc', '-O2', '-Wall', '-o', timeit, TIMEIT_C]);
  if (!cc.ok) {
    log(`bench: gcc timeit failed: ${cc.error}`);
    process.exit(2);
  }
  const rows: Row[] = [];
  const scratch = mkdtempSync(join(SCRATCH_PARENT, 'tvisor-bench-run-'));
  const volume = ['-v', `${scratch}:${scratch}`];
  try {
    // 8: find over /usr (directory opens are trapped; the stat family is not).
    const find: Row = {
      id: '8',
      name: `stat-heavy: \`find /usr -type f \\| wc -l\`, ms (median of ${FIND_RUNS})`,
      unit: 'ms',
      iterations: FIND_RUNS,
      target: { text: '≤ 2×', met: ratioAtMost(2) },
      samples: {},
      errors: [],
    };
    rows.push(find);
    log(`bench: row 8: ${find.name}`);
    const findCmd = [SH, '-c', `${FIND} /usr -type f | ${WC} -l`];
    const counts: Partial<Record<Variant, number>> = {};
    const countCheck =
      (v: Variant) =>
      (t: Timed): string | undefined => {
        const n = Number(t.stdout.trim());
        if (!Number.isInteger(n) || n <= 0) return `unparsable count ${JSON.stringify(t.stdout)}`;
        counts[v] = n;
        return undefined;
      };
    for (const v of ['native', 'tvisor'] as const) timed(v, timeit, findCmd); // warm-up: dentry and inode caches
    for (let i = 0; i < FIND_RUNS; i++) {
      for (const v of rotated(['native', 'tvisor'] as const, i)) {
        record(find, v, timed(v, timeit, findCmd), `run ${i + 1}`, countCheck(v));
      }
    }
    if (counts.native !== undefined) {
      find.name = find.name.replace('`, ms', `\` (${counts.native.toLocaleString('en-US')} files), ms`);
    }
    if (counts.native !== counts.tvisor) {
      find.errors.push(`tvisor counted ${counts.tvisor} files, native ${counts.native}`);
    }
    log(`  8: native ${fmt(med(find, 'native'))} ms, tvisor ${fmt(med(find, 'tvisor'))} ms`);

    // 9: git status in a clean 20k-file repo, bound at the same path.
    const gitRow: Row = {
      id: '9',
      name: `stat-heavy: \`git status\`, clean repo of ${GIT_FILES.toLocaleString('en-US')} committed files, -v at the same path, ms (median of ${GIT_RUNS})`,
      unit: 'ms',
      iterations: GIT_RUNS,
      target: { text: '≤ 2×', met: ratioAtMost(2) },
      samples: {},
      errors: [],
    };
    rows.push(gitRow);
    log(`bench: row 9: ${gitRow.name}`);
    try {
      const repo = gitFixture();
      const gitCmd = [GIT, '-C', repo, 'status'];
      const gitFlags = ['-v', `${repo}:${repo}`];
      const clean = (t: Timed): string | undefined =>
        t.stdout.includes('nothing to commit')
          ? undefined
          : `not clean: ${t.stdout.trim().split('\n').slice(0, 3).join(' | ')}`;
      for (const v of ['native', 'tvisor'] as const) timed(v, timeit, gitCmd, gitFlags);
      for (let i = 0; i < GIT_RUNS; i++) {
        for (const v of rotated(['native', 'tvisor'] as const, i)) {
          record(gitRow, v, timed(v, timeit, gitCmd, gitFlags), `run ${i + 1}`, clean);
        }
      }
    } catch (e) {
      gitRow.errors.push(String(e));
    }
    log(`  9: native ${fmt(med(gitRow, 'native'))} ms, tvisor ${fmt(med(gitRow, 'tvisor'))} ms`);

    // 10: 1 GiB sequential write (fsync'ed) then reads of the same file, on the scratch dir (a -v volume in tvisor).
    const ddWrite: Row = {
      id: '10w',
      name: `sequential write: \`dd if=/dev/zero of=F bs=1M count=${DD_MIB} conv=fsync\` on a -v volume (/var/tmp), MB/s (median of ${DD_REPS})`,
      unit: 'MB/s',
      iterations: DD_REPS,
      target: { text: '≥ 0.95×', met: (r) => ratio(r, 'tvisor') >= 0.95 },
      samples: {},
      errors: [],
    };
    const ddRead: Row = {
      id: '10r',
      name: `sequential read from the disk (F's cached pages dropped first): \`dd if=F of=/dev/null bs=1M\`, MB/s (median of ${DD_REPS * DD_READS})`,
      unit: 'MB/s',
      iterations: DD_REPS * DD_READS,
      target: { text: '≥ 0.95×', met: (r) => ratio(r, 'tvisor') >= 0.95 },
      samples: {},
      errors: [],
    };
    const catRead: Row = {
      id: '10c',
      name: `reference: the same file read ${CAT_TIMES} times by one process, \`sh -c 'cat F F ... > /dev/null'\` (warm), MB/s (median of ${DD_REPS})`,
      unit: 'MB/s',
      iterations: DD_REPS,
      samples: {},
      errors: [],
    };
    rows.push(ddWrite, ddRead, catRead);
    log(`bench: row 10: ${ddWrite.name}; ${ddRead.name}`);
    const fs = statfsSync(scratch);
    const free = fs.bavail * fs.bsize;
    const needed = DD_BYTES + (2 << 30);
    if (free < needed) {
      const gib = (x: number): string => (x / 2 ** 30).toFixed(1);
      const msg = `skipped: ${gib(free)} GiB free in ${SCRATCH_PARENT}, ${gib(needed)} GiB needed`;
      for (const r of [ddWrite, ddRead, catRead]) r.errors.push(msg);
    } else {
      const file = join(scratch, 'dd-1GiB');
      const written = (t: Timed): string | undefined => {
        const size = existsSync(file) ? statSync(file).size : -1;
        return size === DD_BYTES ? undefined : `${file} has ${size} bytes on the host after the write`;
      };
      // One unrecorded write first: on this VM the first 1 GiB written after a pause ran at a third of the speed
      // of the next ones (probably the host behind /dev/vda), which would penalize whichever variant goes first.
      const write = [ENV, 'LC_ALL=C', DD, 'if=/dev/zero', `of=${file}`, 'bs=1M', `count=${DD_MIB}`, 'conv=fsync'];
      const read = [ENV, 'LC_ALL=C', DD, `if=${file}`, 'of=/dev/null', 'bs=1M'];
      // posix_fadvise(POSIX_FADV_DONTNEED) on F alone (GNU dd's iflag=nocache with count=0): a cold read of F
      // without dropping the whole machine's caches.
      const dropCache = [DD, `if=${file}`, 'iflag=nocache', 'count=0', 'status=none'];
      const cat = [SH, '-c', `${CAT} ${Array<string>(CAT_TIMES).fill(file).join(' ')} > /dev/null`];
      run(native(write));
      for (let i = 0; i < DD_REPS; i++) {
        for (const v of rotated(['native', 'tvisor'] as const, i)) {
          const flags = v === 'tvisor' ? volume : [];
          rmSync(file, { force: true });
          settle(scratch);
          const w = ddOwnTime(timed(v, timeit, write, flags));
          record(ddWrite, v, w, `rep ${i + 1}`, written, mbps);
          if (!w.ok) continue;
          for (let k = 0; k < DD_READS; k++) {
            // From the disk: the file's pages are dropped from the page cache first (untimed, natively).
            run(dropCache);
            record(ddRead, v, ddOwnTime(timed(v, timeit, read, flags)), `rep ${i + 1}.${k + 1}`, undefined, mbps);
          }
          record(catRead, v, timed(v, timeit, cat, flags), `rep ${i + 1}`, undefined, (ms) => CAT_TIMES * mbps(ms));
          rmSync(file, { force: true });
          settle(scratch);
        }
        const [n, t] = [fmt(last(ddWrite, 'native')), fmt(last(ddWrite, 'tvisor'))];
        log(`  10 rep ${i + 1}/${DD_REPS}: write native ${n}, tvisor ${t} MB/s`);
      }
    }

    // 11: small-file creation, untar, onto the volume and into the sandbox's throw-away layer.
    const untarVol: Row = {
      id: '11v',
      name: `small files: untar of /usr/lib/python3.11 into a fresh dir on a -v volume (native: the same host dir), ms (median of ${UNTAR_RUNS})`,
      unit: 'ms',
      iterations: UNTAR_RUNS,
      target: { text: '≤ 3×', met: ratioAtMost(3) },
      samples: {},
      errors: [],
    };
    const untarLayer: Row = {
      id: '11t',
      name: `small files: the same untar, tvisor into its throw-away layer (/tmp inside: overlayfs, tmpfs upper); native column = row 11v's native runs, ms (median of ${UNTAR_RUNS})`,
      unit: 'ms',
      iterations: UNTAR_RUNS,
      target: { text: '≤ 3×', met: ratioAtMost(3) },
      samples: {},
      errors: [],
    };
    rows.push(untarVol, untarLayer);
    try {
      const tarball = tarFixture();
      const files = tarball.files.toLocaleString('en-US');
      untarVol.name = untarVol.name.replace('python3.11 ', `python3.11 (${files} files) `);
      log(`bench: row 11: ${untarVol.name}; ${untarLayer.name}`);
      const tag = basename(scratch);
      type Where = 'native' | 'volume' | 'layer';
      const untar = (where: Where, name: string): Timed => {
        const parent = where === 'layer' ? '/tmp' : scratch;
        const cmd = [TAR, '-xf', tarball.path, '-C', parent, `--one-top-level=${name}`];
        return timed(where === 'native' ? 'native' : 'tvisor', timeit, cmd, where === 'volume' ? volume : []);
      };
      const landed = (name: string) => (): string | undefined =>
        existsSync(join(scratch, name, 'python3.11', 'os.py'))
          ? undefined
          : `nothing extracted in ${join(scratch, name)}`;
      for (const w of ['native', 'volume', 'layer'] as const) {
        untar(w, `${tag}-warmup-${w}`);
        rmSync(join(scratch, `${tag}-warmup-${w}`), { recursive: true, force: true });
      }
      settle(scratch);
      for (let i = 0; i < UNTAR_RUNS; i++) {
        for (const w of rotated<Where>(['native', 'volume', 'layer'], i)) {
          const name = w === 'layer' ? `${tag}-untar-${i}` : `untar-${w}-${i}`;
          const t = untar(w, name);
          if (w === 'layer') record(untarLayer, 'tvisor', t, `run ${i + 1}`);
          else record(untarVol, w === 'native' ? 'native' : 'tvisor', t, `run ${i + 1}`, landed(name));
          rmSync(join(scratch, name), { recursive: true, force: true });
          settle(scratch);
        }
      }
      untarLayer.samples.native = [...(untarVol.samples.native ?? [])];
      (untarLayer.wall ??= {}).native = [...(untarVol.wall?.native ?? [])];
    } catch (e) {
      untarVol.errors.push(String(e));
    }
    log(
      `  11: native ${fmt(med(untarVol, 'native'))} ms, volume ${fmt(med(untarVol, 'tvisor'))} ms, ` +
        `layer ${fmt(med(untarLayer, 'tvisor'))} ms`,
    );

    // 12: python3.11 importing 50 stdlib modules; bare start alongside, and the difference.
    const imports: Row = {
      id: '12',
      name: `\`python3.11 -B -c 'import <50 stdlib modules>'\` (json, asyncio, email, sqlite3, unittest...), ms (median of ${IMPORT_RUNS})`,
      unit: 'ms',
      iterations: IMPORT_RUNS,
      samples: {},
      errors: [],
    };
    const bare: Row = {
      id: '12b',
      name: `\`python3.11 -B -c pass\` (bare interpreter start, same rounds), ms (median of ${IMPORT_RUNS})`,
      unit: 'ms',
      iterations: IMPORT_RUNS,
      samples: {},
      errors: [],
    };
    rows.push(imports, bare);
    log(`bench: row 12: ${imports.name}`);
    const imp = [PYTHON311, '-B', '-c', `import ${PY_MODULES.join(', ')}`];
    const pass = [PYTHON311, '-B', '-c', 'pass'];
    type Step = ['native' | 'tvisor', string[], Row];
    const steps: Step[] = [
      ['native', imp, imports],
      ['tvisor', imp, imports],
      ['native', pass, bare],
      ['tvisor', pass, bare],
    ];
    for (const [v, cmd] of steps) timed(v, timeit, cmd);
    for (let i = 0; i < IMPORT_RUNS; i++) {
      for (const [v, cmd, row] of rotated(steps, i)) record(row, v, timed(v, timeit, cmd), `run ${i + 1}`);
    }
    type Series = Partial<Record<Variant, number[]>> | undefined;
    const diff = (xs: Series, ys: Series, v: Variant): number[] => {
      const d = median(xs?.[v] ?? []) - median(ys?.[v] ?? []);
      return Number.isFinite(d) ? [d] : [];
    };
    rows.push({
      id: '12i',
      name: 'imports alone: row 12 minus row 12b (difference of the medians), ms',
      unit: 'ms',
      iterations: IMPORT_RUNS,
      samples: {
        native: diff(imports.samples, bare.samples, 'native'),
        tvisor: diff(imports.samples, bare.samples, 'tvisor'),
      },
      wall: { native: diff(imports.wall, bare.wall, 'native'), tvisor: diff(imports.wall, bare.wall, 'tvisor') },
      errors: [],
    });
    log(`  12: native ${fmt(med(imports, 'native'))} ms, tvisor ${fmt(med(imports, 'tvisor'))} ms`);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return rows;
}

// ---------------------------------------------------------------- process rows (13-16)

/** Runs of the `make -j2` row. */
const MAKE_RUNS = 5;
/** Translation units in the generated project of row 16. */
const MAKE_UNITS = 24;

/** A small C project (MAKE_UNITS files of a few functions each, a Makefile) in `dir`; `make -B` rebuilds it all. */
function makeProject(dir: string): void {
  mkdirSync(dir, { recursive: true });
  const objs: string[] = [];
  for (let i = 0; i < MAKE_UNITS; i++) {
    const fns = Array.from({ length: 12 }, (_, k) =>
      `static unsigned f${k}(unsigned x) { for (int j = 0; j < ${k + 3}; j++) x = x * 2654435761u + ${i * 31 + k}; return x; }`,
    ).join('\n');
    writeFileSync(
      join(dir, `u${i}.c`),
      `#include <stdio.h>\n#include <string.h>\n#include <stdlib.h>\n${fns}\nunsigned u${i}(unsigned x) { return ${Array.from({ length: 12 }, (_, k) => `f${k}(x)`).join(' ^ ')}; }\n`,
    );
    objs.push(`u${i}.o`);
  }
  const decls = Array.from({ length: MAKE_UNITS }, (_, i) => `unsigned u${i}(unsigned);`).join(' ');
  const calls = Array.from({ length: MAKE_UNITS }, (_, i) => `u${i}(1)`).join(' ^ ');
  writeFileSync(join(dir, 'main.c'), `#include <stdio.h>\n${decls}\nint main(void) { printf("%u\\n", ${calls}); return 0; }\n`);
  writeFileSync(
    join(dir, 'Makefile'),
    `CFLAGS = -O2\nOBJS = ${objs.join(' ')} main.o\nprog: $(OBJS)\n\t$(CC) -o $@ $(OBJS)\n%.o: %.c\n\t$(CC) $(CFLAGS) -c -o $@ $<\n`,
  );
}

/** Rows 13-16: process creation, threads, a pipe ping-pong, and a parallel build. */
function procRows(tmp: string): Row[] {
  const micro = join(tmp, 'micro');
  if (!existsSync(micro)) {
    const cc = run(['gcc', '-O2', '-Wall', '-pthread', '-o', micro, MICRO_C]);
    if (!cc.ok) {
      log(`bench: gcc failed: ${cc.error}`);
      process.exit(2);
    }
  }
  const loops: [Row, string, number][] = [
    [{ id: '13', name: '`fork` + `_exit` + `waitpid`, µs each (1000)', unit: 'µs', iterations: 1000, samples: {}, errors: [] }, 'forkexit', 1000],
    [{ id: '14', name: 'thread `pthread_create` + `pthread_join`, µs each (5000)', unit: 'µs', iterations: 5000, samples: {}, errors: [] }, 'thread', 1000],
    [
      {
        id: '15',
        name: 'pipe ping-pong between two processes, one byte each way, µs per round trip (100k)',
        unit: 'µs',
        iterations: 100_000,
        target: { text: '≤ 1.1×', met: ratioAtMost(1.1) },
        samples: {},
        errors: [],
      },
      'pingpong',
      1000,
    ],
  ];
  for (const [r, mode, scale] of loops) {
    log(`bench: row ${r.id}: ${r.name}`);
    microRow(r, micro, mode, scale);
  }

  const timeit = join(tmp, 'timeit');
  if (!existsSync(timeit)) {
    const cc = run(['gcc', '-O2', '-Wall', '-o', timeit, TIMEIT_C]);
    if (!cc.ok) {
      log(`bench: gcc timeit failed: ${cc.error}`);
      process.exit(2);
    }
  }
  const scratch = mkdtempSync(join(SCRATCH_PARENT, 'tvisor-bench-make-'));
  const build: Row = {
    id: '16',
    name: `\`make -j2 -B\` of a ${MAKE_UNITS + 1}-file C project (gcc -O2), ms (median of ${MAKE_RUNS})`,
    unit: 'ms',
    iterations: MAKE_RUNS,
    target: { text: '≤ 1.1×', met: ratioAtMost(1.1) },
    samples: {},
    errors: [],
  };
  try {
    makeProject(scratch);
    log(`bench: row 16: ${build.name}`);
    const cmd = [MAKE, '-s', '-j2', '-B', '-C', scratch];
    const flags = ['-v', `${scratch}:${scratch}`];
    const outputs: Partial<Record<Variant, string>> = {};
    const check = (v: Variant) => (t: Timed): string | undefined => {
      const out = run([join(scratch, 'prog')]);
      if (!out.ok) return `prog: ${out.error}`;
      outputs[v] = out.stdout;
      return outputs.native !== undefined && outputs[v] !== outputs.native ? `prog printed ${out.stdout.trim()}, natively ${outputs.native.trim()}` : undefined;
    };
    for (const v of ['native', 'tvisor'] as const) timed(v, timeit, cmd, flags); // warm-up: gcc, headers in the page cache
    for (let i = 0; i < MAKE_RUNS; i++) {
      for (const v of rotated(['native', 'tvisor'] as const, i)) record(build, v, timed(v, timeit, cmd, flags), `run ${i + 1}`, check(v));
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return [...loops.map(([r]) => r), build];
}

// ---------------------------------------------------------------- main

function need(path: string, what: string): void {
  if (!existsSync(path)) {
    log(`bench: ${what} not found at ${path}`);
    process.exit(2);
  }
}

function machine(): Record<string, string | number> {
  let cpu = cpus()[0]?.model ?? 'unknown';
  try {
    const m = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'));
    if (m) cpu = m[1]!;
  } catch {}
  return { cpu, vcpus: cpus().length, kernel: release(), node: process.version, date: new Date().toISOString() };
}

function main(): void {
  const started = Date.now();
  const unknown = chosen.filter((a) => !(GROUPS as readonly string[]).includes(a));
  if (unknown.length) {
    log(`bench: unknown group ${unknown.join(', ')}; groups: ${GROUPS.join(', ')} (none named: all)`);
    process.exit(2);
  }
  need(TVISOR, 'tvisor (bin/tvisor.js)');
  need(join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'compiled tvisor (run npm run build)');
  if (wanted('micro')) {
    need(MICRO_C, 'micro.c');
    need(FLOOR_C, 'notif_floor.c');
  }
  if (wanted('startup')) {
    need(BWRAP, 'bubblewrap');
    need(PYTHON, 'python3');
  }
  if (wanted('proc')) {
    need(MICRO_C, 'micro.c');
    need(TIMEIT_C, 'timeit.c');
    need(MAKE, 'make');
  }
  if (wanted('fs')) {
    need(TIMEIT_C, 'timeit.c');
    need(PYTHON311, 'python3.11');
    need(GIT, 'git');
    need(TAR, 'tar');
  }

  const tmp = mkdtempSync(join(tmpdir(), 'tvisor-bench-'));
  try {
    const sanity = run(tvisor(['/bin/true']));
    if (!sanity.ok) log(`bench: warning: tvisor do /bin/true failed: ${sanity.error}`);

    const all: Row[] = [];
    if (wanted('micro')) all.push(...microRows(tmp));
    if (wanted('startup')) all.push(...startupRows());
    if (wanted('fs')) all.push(...fsRows(tmp));
    if (wanted('proc')) all.push(...procRows(tmp));
    const info = machine();
    const secs = (Date.now() - started) / 1000;
    const how = [`Everything pinned to CPU 0 (\`taskset -c 0\`).`];
    if (wanted('micro')) {
      how.push(
        `Rows 1–5: time per iteration measured inside the workload (clock_gettime), median of ${REPS} interleaved runs.`,
      );
    }
    if (wanted('startup')) how.push('Rows 6–7: wall time of the whole command.');
    if (wanted('proc'))
      how.push(
        'Rows 13–15 are loops timed inside the workload like rows 1–5; row 16 is timed like rows 8–12 (the workload alone, ' +
          'the project on a `-v` volume at the same path natively and in tvisor).',
      );
    if (wanted('fs')) {
      how.push(
        'Rows 8–12: time of the workload alone, fork to exit, as measured by a timer process (test/bench/timeit.c) ' +
          'that is the command natively and the sandbox\'s command in tvisor, so tvisor\'s startup (row 6) is not in it; ' +
          'native and tvisor runs interleaved. Time rows: the ratio is tvisor time / native time (lower is better). ' +
          'MB/s rows (10w, 10r, 10c): the ratio is tvisor throughput / native throughput (higher is better), ' +
          `MB/s = bytes moved / time (F is ${DD_BYTES.toLocaleString('en-US')} bytes; 10c reads it ${CAT_TIMES} times), ` +
          '1 MB = 10^6 bytes. Rows 10w and 10r take dd\'s own time for its copy (the "copied, N s" it prints), ' +
          'natively and in tvisor alike: the throughput of the reads and writes, not of starting dd. ' +
          'Row 10r reads F from the disk: its pages are dropped from the page cache before each read ' +
          '(`dd iflag=nocache count=0`, untimed); row 10c reads it warm. Before each timed write and untar the scratch filesystem is flushed ' +
          '(`sync -f`, untimed), and row 10w starts with one unrecorded 1 GiB write. ' +
          'Nothing is subtracted except in row 12i, which says so.',
      );
    }
    const lines = [
      `tvisor benchmark — ${info.cpu}, ${info.vcpus} vCPUs, Linux ${info.kernel}, Node ${info.node}, ${String(info.date).slice(0, 10)}.`,
      how.join(' '),
      '',
      table(all),
      '',
    ];
    if (all.some((r) => r.wall)) {
      lines.push(
        'Rows 8–12 again, whole-command wall time of the same runs (spawn to exit, as in rows 6–7: ' +
          "tvisor's startup and teardown included; MB/s rows: bytes / that time):",
        '',
        wallTable(all),
        '',
      );
    }
    lines.push(`(${secs.toFixed(0)} s in all; medians on this VM vary by ±30 % from run to run.)`);
    const failures = all.filter((r) => r.errors.length);
    if (failures.length) {
      lines.push('', 'Failed runs:');
      for (const r of failures) for (const e of r.errors) lines.push(`- row ${r.id}: ${e}`);
    }
    process.stdout.write(`${lines.join('\n')}\n`);

    if (JSON_OUT) {
      const json = {
        machine: info,
        reps: REPS,
        seconds: secs,
        rows: all.map((r) => ({
          id: r.id,
          name: r.name,
          unit: r.unit,
          iterations: r.iterations,
          samples: r.samples,
          wall: r.wall,
          medians: Object.fromEntries(Object.keys(r.samples).map((v) => [v, med(r, v as Variant)])),
          ratios: Object.fromEntries(
            Object.keys(r.samples)
              .filter((v) => v !== 'native')
              .map((v) => [v, ratio(r, v as Variant)]),
          ),
          errors: r.errors,
        })),
      };
      process.stdout.write(`${JSON.stringify(json)}\n`);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

main();
