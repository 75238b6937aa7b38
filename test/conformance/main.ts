/**
 * `npm run conformance [-- MODULE...]`: every CPython file and path module
 * (test/conformance/cpython.ts MODULES, or the ones named) outside and
 * inside the sandbox, on the host's files and in the Debian minbase rootfs;
 * prints per-module outcome counts side by side and every differing test.
 * Exit status 1 when any test differs.
 */
import { compare, MODULES, runHostNative, runHostSandbox, runRootfsNative, runRootfsSandbox, table, type SuiteRun } from './cpython.js';

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
let differ = 0;
for (const [ref, sbx] of [['host', 'do'], ['rootfs', 'do --rootfs']] as const) {
  const d = compare(runs[ref]!, runs[sbx]!);
  differ += d.length;
  console.log(`\n${sbx} vs ${ref}: ${d.length} test(s) differ`);
  for (const x of d) console.log(`  ${x.test}: ${x.reference} -> ${x.sandbox}${x.detail ? '\n    ' + x.detail.trim().split('\n').slice(-3).join('\n    ') : ''}`);
}
process.exitCode = differ ? 1 : 0;
