/**
 * CPython's file and path regression tests (Debian's libpython3.11-testsuite)
 * give the same per-test outcomes inside the sandbox as outside it, on the
 * host's files and in the Debian minbase rootfs. `npm run conformance`
 * prints the full side-by-side table.
 */
import { describe, expect, it } from 'vitest';
import {
  compare,
  KNOWN_DIFFERENCES,
  MODULES,
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
