/**
 * Identity calls the sentry answers itself when a sandbox option asks for
 * it (sentry/syscalls/table.ts `Switch`): uname(2) with a configured kernel
 * release. Without the option uname is allowed and the kernel answers.
 */
import { constants } from 'node:os';
import { AT_FDCWD, O_CLOEXEC } from '../abi.js';
import { c, checkNeg, closeFd, openat2 } from '../native.js';
import { ok, SysError, type Handler } from './types.js';

const E = constants.errno;

/** struct utsname (linux/utsname.h, new_utsname): six fields of __NEW_UTS_LEN + 1 = 65 bytes, NUL-padded. */
export const UTS_FIELD = 65;
export const UTSNAME_SIZE = 6 * UTS_FIELD;
/** Field order of struct utsname. */
export const UTS_FIELDS = ['sysname', 'nodename', 'release', 'version', 'machine', 'domainname'] as const;
export type Utsname = Record<(typeof UTS_FIELDS)[number], string>;

/**
 * Encodes `u` as struct utsname bytes (390): each field latin1, NUL-padded to 65 bytes. Throws RangeError for a
 * field longer than 64 bytes (it would have no terminating NUL).
 */
export function encodeUtsname(u: Utsname): Buffer {
  const buf = Buffer.alloc(UTSNAME_SIZE);
  UTS_FIELDS.forEach((k, i) => {
    const b = Buffer.from(u[k], 'latin1');
    if (b.length >= UTS_FIELD) throw new RangeError(`utsname ${k}: ${b.length} bytes (at most ${UTS_FIELD - 1})`);
    b.copy(buf, i * UTS_FIELD);
  });
  return buf;
}

/** Decodes struct utsname bytes (each field up to its first NUL). */
export function decodeUtsname(buf: Buffer): Utsname {
  const out = {} as Utsname;
  UTS_FIELDS.forEach((k, i) => {
    const f = buf.subarray(i * UTS_FIELD, (i + 1) * UTS_FIELD);
    const nul = f.indexOf(0);
    out[k] = f.subarray(0, nul < 0 ? f.length : nul).toString('latin1');
  });
  return out;
}

let release: string | undefined;
/** This sentry thread's own UTS namespace (to return to after reading a caller's). */
let selfUts = -1;

/** Sets the release uname reports (undefined: uname is not trapped). Called once per sentry thread. */
export function configureIdentity(o: { kernelRelease?: string }): void {
  release = o.kernelRelease;
  if (release !== undefined && selfUts < 0) selfUts = openat2(AT_FDCWD, '/proc/thread-self/ns/uts', O_CLOEXEC, 0, 0);
}

const utsBuf = Buffer.alloc(UTSNAME_SIZE);

/**
 * uname(2): the caller's UTS namespace's names (nodename, domainname: the sentry joins that namespace for the
 * one call, since /proc/sys/kernel/hostname would show the reader's), the host kernel's sysname, version and
 * machine, and the configured release. EFAULT for a bad buffer, as the kernel.
 */
const uname: Handler = (ctx) => {
  if (release === undefined) throw new SysError(E.ENOSYS, 'uname trapped without a release');
  const ns = openat2(AT_FDCWD, `/proc/${ctx.tid}/ns/uts`, O_CLOEXEC, 0, 0);
  try {
    ctx.checkCaller(); // the namespace is the caller's, not a reused tid's
    checkNeg(c.unameIn(ns, selfUts, utsBuf));
  } finally {
    closeFd(ns);
  }
  const u = decodeUtsname(utsBuf);
  u.release = release;
  ctx.writeMemory(ctx.args[0]!, encodeUtsname(u));
  return ok(0);
};

export const identityHandlers = { uname } satisfies Record<string, Handler>;
