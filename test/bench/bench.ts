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
 * Usage: node dist/test/bench/bench.js [--json] [--reps N]
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { cpus, release, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The repository root (this file runs as dist/test/bench/bench.js). */
const ROOT = join(import.meta.dirname, '..', '..', '..');
const TVISOR = join(ROOT, 'bin', 'tvisor.js');
const MICRO_C = join(ROOT, 'test', 'bench', 'micro.c');
const FLOOR_C = join(ROOT, 'test', 'bench', 'notif_floor.c');
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

const log = (s: string): void => void process.stderr.write(`${s}\n`);

// ---------------------------------------------------------------- running

interface Outcome {
  ok: boolean;
  /** Wall time from spawn to exit, ms. */
  ms: number;
  stdout: string;
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
  return { ok: !error, ms, stdout: r.stdout ?? '', error };
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
  unit: 'ns' | 'µs' | 'ms';
  iterations: number;
  /** Target for tvisor, shown in the table (never asserted). */
  target?: { text: string; met: (r: Row) => boolean };
  samples: Partial<Record<Variant, number[]>>;
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

function table(rows: Row[]): string {
  const out = [
    '| # | Benchmark | native | tvisor | tvisor / native | bwrap | bwrap / native | target (tvisor) |',
    '|---|---|---:|---:|---:|---:|---:|---|',
  ];
  for (const r of rows) {
    const u = r.unit;
    const cell = (v: Variant): string => (r.samples[v]?.length ? `${fmt(med(r, v))} ${u}` : r.errors.length ? 'failed' : '–');
    const hasBwrap = !!r.samples.bwrap?.length;
    const target = r.target ? `${r.target.text} ${r.target.met(r) ? '(met)' : '(missed)'}` : '';
    out.push(
      `| ${r.id} | ${r.name} | ${cell('native')} | ${cell(sandboxed(r))} | ${fmtRatio(ratio(r, sandboxed(r)))} | ` +
        `${hasBwrap ? cell('bwrap') : '–'} | ${hasBwrap ? fmtRatio(ratio(r, 'bwrap')) : '–'} | ${target} |`,
    );
  }
  return out.join('\n');
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
  need(TVISOR, 'tvisor (bin/tvisor.js)');
  need(join(ROOT, 'dist', 'src', 'cli', 'main.js'), 'compiled tvisor (run npm run build)');
  need(MICRO_C, 'micro.c');
  need(FLOOR_C, 'notif_floor.c');
  need(BWRAP, 'bubblewrap');
  need(PYTHON, 'python3');

  const tmp = mkdtempSync(join(tmpdir(), 'tvisor-bench-'));
  try {
    const micro = join(tmp, 'micro');
    const cc = run(['gcc', '-O2', '-Wall', '-o', micro, MICRO_C]);
    if (!cc.ok) {
      log(`bench: gcc failed: ${cc.error}`);
      process.exit(2);
    }
    const sanity = run(tvisor(['/bin/true']));
    if (!sanity.ok) log(`bench: warning: tvisor do /bin/true failed: ${sanity.error}`);

    const ratioAtMost = (limit: number) => (r: Row) => ratio(r, 'tvisor') <= limit;
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

    const all = [...rows, ...floorRows.map(([r]) => r), startup, nodeFloor, python];
    const info = machine();
    const secs = (Date.now() - started) / 1000;
    const lines = [
      `tvisor benchmark — ${info.cpu}, ${info.vcpus} vCPUs, Linux ${info.kernel}, Node ${info.node}, ${String(info.date).slice(0, 10)}.`,
      `Everything pinned to CPU 0 (\`taskset -c 0\`). Rows 1–5: time per iteration measured inside the workload ` +
        `(clock_gettime), median of ${REPS} interleaved runs. Rows 6–7: wall time of the whole command.`,
      '',
      table(all),
      '',
      `(${secs.toFixed(0)} s in all; medians on this VM vary by ±30 % from run to run.)`,
    ];
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
