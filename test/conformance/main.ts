/**
 * `npm run conformance [-- MODULE...]`: every CPython file and path module
 * (test/conformance/cpython.ts MODULES, or the ones named) outside and
 * inside the sandbox, on the host's files and in the Debian minbase rootfs;
 * prints per-module outcome counts side by side and every differing test.
 * Exit status 1 when a test differs that is not a known difference (KNOWN_DIFFERENCES).
 */
import {
  compare,
  KNOWN_DIFFERENCES,
  MODULES,
  runHostNative,
  runHostSandbox,
  runRootfsNative,
  runRootfsSandbox,
  table,
  type SuiteRun,
} from './cpython.js';

const ROOTFS = process.env.TVISOR_DEBIAN_ROOTFS ?? '/var/cache/tvisor-fixtures/debian-bookworm-minbase-py311';
const modules = process.argv.length > 2 ? process.argv.slice(2) : [...MODULES];

const runs: Record<string, SuiteRun> = {};
const timed = (name: string, f: () => SuiteRun): void => {
  const t = Date.now();
  runs[name] = f();
  process.stderr.write(`${name}: ${((Date.now() - t) / 1000).toFixed(1)} s\n`);
};
timed('host', () => runHostNative(modules));
timed('do', () => runHostSandbox(modules));
timed('rootfs', () => runRootfsNative(ROOTFS, modules));
timed('do --rootfs', () => runRootfsSandbox(ROOTFS, modules));

console.log(table(runs, modules));
let unexplained = 0;
for (const [ref, sbx] of [['host', 'do'], ['rootfs', 'do --rootfs']] as const) {
  const d = compare(runs[ref]!, runs[sbx]!);
  const known = KNOWN_DIFFERENCES[sbx];
  console.log(`\n${sbx} vs ${ref}: ${d.length} test(s) differ`);
  for (const x of d) {
    const why = known[x.test];
    if (!why) unexplained++;
    const detail = x.detail ? '\n    ' + x.detail.trim().split('\n').slice(-3).join('\n    ') : '';
    console.log(`  ${x.test}: ${x.reference} -> ${x.sandbox}${why ? ` (known: ${why})` : detail}`);
  }
}
// Exit status 1 only for a difference that is not a known one (KNOWN_DIFFERENCES in cpython.ts).
process.exitCode = unexplained ? 1 : 0;
