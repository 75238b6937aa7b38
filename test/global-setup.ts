/**
 * Fixtures shared by the suites, made once and cached between runs:
 * a Debian bookworm minbase rootfs (debootstrap from Debian's mirror).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { DEBIAN_ROOTFS } from './helpers.js';

export function setup(): void {
  if (existsSync(`${DEBIAN_ROOTFS}/usr/bin/bash`)) return;
  const tmp = `${DEBIAN_ROOTFS}.tmp`;
  mkdirSync(dirname(DEBIAN_ROOTFS), { recursive: true });
  rmSync(tmp, { recursive: true, force: true });
  execFileSync('debootstrap', ['--variant=minbase', 'bookworm', tmp, 'http://deb.debian.org/debian'], {
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  renameSync(tmp, DEBIAN_ROOTFS);
}
