/**
 * `npm run conformance [-- NAME...]`: CPython's regression tests outside and inside the sandbox, with per-module
 * outcome counts side by side and every differing test.
 *   - the file and path modules (test/conformance/cpython.ts MODULES) four ways: on the host's files and in the
 *     Debian minbase rootfs, natively and in `tvisor do`;
 *   - the process modules (PROCESS_MODULES) on the host's files, natively and in `tvisor do`; a test whose
 *     outcome differs is rerun once on both sides, and the tests that needed it are listed.
 * Named modules (or module.Class[.test]) replace both lists; they run as the process group.
 * Exit status 1 when a test differs that is not a known difference (KNOWN_DIFFERENCES).
 */
import {
  compare,
  compareWithRerun,
  KNOWN_DIFFERENCES,
  moduleOf,
  MODULES,
  PROCESS_MODULES,
  runHostNative,
  runHostSandbox,
  runRootfsNative,
  runRootfsSandbox,
  table,
  type Difference,
  type SuiteRun,
} from './cpython.js';

const ROOTFS = process.env.TVISOR_DEBIAN_ROOTFS ?? '/var/cache/tvisor-fixtures/debian-bookworm-minbase-py311';
const named = process.argv.slice(2);
const fileModules: string[] = named.length ? [] : [...MODULES];
const processNames: string[] = named.length ? named : PROCESS_MODULES.filter((m) => !(MODULES as readonly string[]).includes(m));

const timed = (name: string, f: () => SuiteRun): SuiteRun => {
  const t = Date.now();
  const r = f();
  process.stderr.write(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
  return r;
};

let unexplained = 0;
function report(label: string, d: Difference[], known: Record<string, string>): void {
  console.log(`\n${label}: ${d.length} test(s) differ`);
  for (const x of d) {
    const why = known[x.test];
    if (!why) unexplained++;
    const detail = x.detail ? '\n    ' + x.detail.trim().split('\n').slice(-3).join('\n    ') : '';
    console.log(`  ${x.test}: ${x.reference} -> ${x.sandbox}${why ? ` (known: ${why})` : detail}`);
  }
}

if (fileModules.length) {
  const runs: Record<string, SuiteRun> = {};
  runs.host = timed('host', () => runHostNative(fileModules));
  runs.do = timed('do', () => runHostSandbox(fileModules));
  runs.rootfs = timed('rootfs', () => runRootfsNative(ROOTFS, fileModules));
  runs['do --rootfs'] = timed('do --rootfs', () => runRootfsSandbox(ROOTFS, fileModules));
  console.log(table(runs, fileModules));
  for (const [ref, sbx] of [['host', 'do'], ['rootfs', 'do --rootfs']] as const)
    report(`${sbx} vs ${ref}`, compare(runs[ref]!, runs[sbx]!), KNOWN_DIFFERENCES[sbx]);
}

if (processNames.length) {
  const modules = [...new Set(processNames.map(moduleOf))];
  const host = timed('host (process modules)', () => runHostNative(processNames));
  const sbx = timed('do (process modules)', () => runHostSandbox(processNames));
  console.log('\n' + table({ host, do: sbx }, modules));
  const c = compareWithRerun(host, sbx, (side, names) =>
    timed(`rerun (${side}, ${names.length})`, () => (side === 'reference' ? runHostNative(names) : runHostSandbox(names))),
  );
  report('do vs host (process modules, after reruns)', c.differences, KNOWN_DIFFERENCES.do);
  console.log(`\nrerun once (differed, then agreed): ${c.reruns.length ? '\n  ' + c.reruns.join('\n  ') : 'none'}`);
}
// Exit status 1 only for a difference that is not a known one (KNOWN_DIFFERENCES in cpython.ts).
process.exitCode = unexplained ? 1 : 0;
