/**
 * Fixtures shared by the suites, made once and cached between runs:
 * a Debian bookworm minbase rootfs (debootstrap from Debian's mirror) with
 * Debian's python3.11 and its regression test suite (libpython3.11-testsuite)
 * added, for the conformance runs.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEBIAN_ROOTFS } from './helpers.js';

/** Packages added to minbase; changing this list needs a new DEBIAN_ROOTFS name (the cache key). */
const ROOTFS_EXTRA_PACKAGES = ['python3.11', 'libpython3.11-testsuite'];

export function setup(): void {
  if (existsSync(`${DEBIAN_ROOTFS}/usr/bin/bash`)) return;
  const tmp = `${DEBIAN_ROOTFS}.tmp`;
  mkdirSync(dirname(DEBIAN_ROOTFS), { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  execFileSync('debootstrap', ['--variant=minbase', `--include=${ROOTFS_EXTRA_PACKAGES.join(',')}`, 'bookworm', tmp, 'http://deb.debian.org/debian'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  renameSync(tmp, DEBIAN_ROOTFS);
}
