/**
 * CPython's file and path regression tests (Debian's libpython3.11-testsuite)
 * give the same per-test outcomes inside the sandbox as outside it, on the
 * host's files and in the Debian minbase rootfs; so do the process suites'
 * CI-sized part (PROCESS_CI) on the host's files. `npm run conformance`
 * prints the full side-by-side tables.
 */
import { describe, expect, it } from 'vitest';
import {
  compare,
  compareWithRerun,
  KNOWN_DIFFERENCES,
  moduleOf,
  MODULES,
  PROCESS_CI,
  runHostNative,
  runHostSandbox,
  runRootfsNative,
  runRootfsSandbox,
  table,
  type Difference,
} from './conformance/cpython.js';
import { DEBIAN_ROOTFS } from './helpers.js';

/** The tests that differ, less the known ones; every known one must still show (or be removed from the list). */
function unexplained(d: Difference[], known: Record<string, string>): string[] {
  return d.filter((x) => !(x.test in known)).map((x) => `${x.test}: ${x.reference} -> ${x.sandbox}\n${x.detail ?? ''}`);
}

describe('CPython file and path test suites', { timeout: 900_000 }, () => {
  it('tvisor do on the host files: same outcomes as natively with the same capabilities', () => {
    const ref = runHostNative(MODULES);
    const sbx = runHostSandbox(MODULES);
    console.log(table({ host: ref, do: sbx }, MODULES));
    // The runs really ran the suites (a broken runner would compare two empty sets).
    expect(Object.keys(ref.results.test_os ?? {}).length).toBeGreaterThan(250);
    const d = compare(ref, sbx);
    expect(unexplained(d, KNOWN_DIFFERENCES.do)).toEqual([]);
    expect(d.map((x) => x.test).sort()).toEqual(Object.keys(KNOWN_DIFFERENCES.do).sort());
  });

  it('tvisor do --rootfs on the Debian minbase rootfs: same outcomes as chrooted natively', () => {
    const ref = runRootfsNative(DEBIAN_ROOTFS, MODULES);
    const sbx = runRootfsSandbox(DEBIAN_ROOTFS, MODULES);
    console.log(table({ rootfs: ref, 'do --rootfs': sbx }, MODULES));
    expect(Object.keys(ref.results.test_os ?? {}).length).toBeGreaterThan(250);
    const d = compare(ref, sbx);
    expect(unexplained(d, KNOWN_DIFFERENCES['do --rootfs'])).toEqual([]);
    expect(d.map((x) => x.test).sort()).toEqual(Object.keys(KNOWN_DIFFERENCES['do --rootfs']).sort());
  });
});

describe('CPython process test suites (CI-sized part)', { timeout: 1_800_000 }, () => {
  it('tvisor do: same outcomes as natively with the same capabilities (a differing test rerun once)', () => {
    const modules = [...new Set(PROCESS_CI.map(moduleOf))];
    const ref = runHostNative(PROCESS_CI);
    const sbx = runHostSandbox(PROCESS_CI);
    console.log(table({ host: ref, do: sbx }, modules));
    for (const m of modules) expect(Object.keys(ref.results[m] ?? {}).length, m).toBeGreaterThan(5);
    const c = compareWithRerun(ref, sbx, (side, names) => (side === 'reference' ? runHostNative(names) : runHostSandbox(names)));
    if (c.reruns.length) console.log(`rerun once (differed, then agreed):\n  ${c.reruns.join('\n  ')}`);
    const known = Object.fromEntries(
      Object.entries(KNOWN_DIFFERENCES.do).filter(([t]) => modules.some((m) => t.startsWith(`test.${m}.`))),
    );
    expect(unexplained(c.differences, known)).toEqual([]);
    expect(c.differences.map((x) => x.test).sort()).toEqual(Object.keys(known).sort());
  });
});
