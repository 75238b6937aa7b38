/**
 * The sandbox's user namespace as the sentry needs it: its id maps, read
 * once from /proc/<init>/uid_map and gid_map (user_namespaces(7); the sentry
 * reads them from the initial namespace, so "outside" ids are host ids). All
 * sandbox tasks share it: nested user namespaces are refused by the filter.
 * Without a user namespace (the maps are the identity) nothing here is used.
 */
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { SysError } from '../syscalls/types.js';

const E = constants.errno;

/** One uid_map/gid_map line: ids inside..inside+count-1 are outside..outside+count-1. */
export interface IdRange {
  inside: number;
  outside: number;
  count: number;
}

/** A user namespace's uid and gid maps. */
export interface UserNamespace {
  uid: IdRange[];
  gid: IdRange[];
}

/** Parses uid_map/gid_map text ("inside outside count" lines). */
export function parseIdMap(text: string): IdRange[] {
  return text
    .split('\n')
    .map((l) => l.trim().split(/\s+/).map(Number))
    .filter((f) => f.length === 3 && f.every(Number.isInteger))
    .map(([inside, outside, count]) => ({ inside: inside!, outside: outside!, count: count! }));
}

/** Whether `map` is the initial namespace's (every id maps to itself). */
const isIdentity = (map: IdRange[]): boolean =>
  map.length === 1 && map[0]!.inside === 0 && map[0]!.outside === 0 && map[0]!.count === 4294967295;

/**
 * The user namespace of host process `pid` (the sandbox's init), or null when it is the sentry's own (the
 * identity map). Throws (ENOENT) when the process has gone.
 */
export function userNamespaceOf(pid: number): UserNamespace | null {
  const uid = parseIdMap(readFileSync(`/proc/${pid}/uid_map`, 'latin1'));
  const gid = parseIdMap(readFileSync(`/proc/${pid}/gid_map`, 'latin1'));
  return isIdentity(uid) && isIdentity(gid) ? null : { uid, gid };
}

/** The host id of id `id` of the namespace, or -1 when it is unmapped. */
export function toHost(map: IdRange[], id: number): number {
  for (const r of map) if (id >= r.inside && id - r.inside < r.count) return r.outside + (id - r.inside);
  return -1;
}

/** The namespace's id for host id `id`, or -1 when it has none. */
export function fromHost(map: IdRange[], id: number): number {
  for (const r of map) if (id >= r.outside && id - r.outside < r.count) return r.inside + (id - r.outside);
  return -1;
}

let current: UserNamespace | null = null;

/** Sets the sandbox's user namespace (null: none). Called once per sentry thread, before any call. */
export function setUserNamespace(ns: UserNamespace | null): void {
  current = ns;
}

/** The sandbox's user namespace, or null. */
export function sandboxUserNamespace(): UserNamespace | null {
  return current;
}

const NO_ID = 0xffffffff;

/**
 * An id argument of a chown-family call (uid or gid, u32; 0xffffffff = leave unchanged), given in the caller's
 * namespace, as the host id the sentry passes to the kernel. EINVAL for an id the namespace does not map, as the
 * kernel answers (chown(2): make_kuid fails). Identity without a user namespace.
 */
export function hostIdArg(kind: 'uid' | 'gid', id: number): number {
  if (!current || id === NO_ID) return id;
  const h = toHost(current[kind], id);
  if (h < 0) throw new SysError(constants.errno.EINVAL, `${kind} ${id} is not mapped in the sandbox's user namespace`);
  return h;
}

/** The overflow id shown for a host id the namespace does not map (/proc/sys/kernel/overflowuid's default). */
export const OVERFLOW_ID = 65534;

/**
 * /proc/<pid>/status text as a task of the namespace reads it: the kernel renders the Uid, Gid and Groups lines
 * in the opener's namespace (the sentry's: host ids), so they are mapped back (unmapped ids: 65534).
 */
export function statusInNamespace(text: string, ns: UserNamespace): string {
  const map = (m: IdRange[], v: string): string => {
    const id = fromHost(m, Number(v));
    return String(id < 0 ? OVERFLOW_ID : id);
  };
  return text.replace(/^(Uid|Gid|Groups):([^\n]*)$/gm, (_all, name: string, rest: string) => {
    const m = name === 'Uid' ? ns.uid : ns.gid;
    return `${name}:${rest.replace(/\d+/g, (v) => map(m, v))}`;
  });
}

/** security.capability (linux/capability.h VFS_CAP_REVISION_2/3) and POSIX ACL (linux/posix_acl_xattr.h) layouts. */
const VFS_CAP_REVISION_MASK = 0xff000000;
const VFS_CAP_REVISION_2 = 0x02000000;
const VFS_CAP_REVISION_3 = 0x03000000;
const VFS_CAP_V2_SIZE = 20;
const VFS_CAP_V3_SIZE = 24;
const POSIX_ACL_XATTR_VERSION = 2;
const ACL_USER = 0x02;
const ACL_GROUP = 0x08;

/**
 * An xattr value given by a task of the sandbox's user namespace, as the kernel would store it had that task set
 * it itself (the sentry sets it from the initial namespace, where the kernel translates nothing):
 * - `security.capability`: a v2 or v3 file capability becomes v3 with its root id the host id of the namespace's
 *   root (v3: of the root id given), so it grants nothing outside the namespace (capabilities(7) "Namespaced file
 *   capabilities"; the kernel's cap_convert_nscap);
 * - `system.posix_acl_access` / `system.posix_acl_default`: ACL_USER and ACL_GROUP entries' ids become host ids
 *   (the kernel's posix_acl_from_xattr in the caller's namespace).
 * Other names, or no user namespace: unchanged. Throws SysError EINVAL for a malformed value or an unmapped id.
 */
export function xattrValueToHost(name: string, value: Buffer): Buffer {
  const ns = sandboxUserNamespace();
  if (!ns) return value;
  const host = (map: IdRange[], id: number): number => {
    const h = toHost(map, id);
    if (h < 0) throw new SysError(E.EINVAL, `id ${id} not mapped`);
    return h;
  };
  if (name === 'security.capability') {
    if (value.length < 4) throw new SysError(E.EINVAL);
    const magic = value.readUInt32LE(0);
    const rev = (magic & VFS_CAP_REVISION_MASK) >>> 0;
    if (!((rev === VFS_CAP_REVISION_2 && value.length === VFS_CAP_V2_SIZE) || (rev === VFS_CAP_REVISION_3 && value.length === VFS_CAP_V3_SIZE)))
      throw new SysError(E.EINVAL);
    const out = Buffer.alloc(VFS_CAP_V3_SIZE);
    value.copy(out, 0, 0, VFS_CAP_V2_SIZE);
    out.writeUInt32LE(((magic & ~VFS_CAP_REVISION_MASK) | VFS_CAP_REVISION_3) >>> 0, 0);
    out.writeUInt32LE(host(ns.uid, rev === VFS_CAP_REVISION_3 ? value.readUInt32LE(20) : 0), 20);
    return out;
  }
  if (name === 'system.posix_acl_access' || name === 'system.posix_acl_default') {
    if (value.length < 4 || (value.length - 4) % 8 !== 0 || value.readUInt32LE(0) !== POSIX_ACL_XATTR_VERSION) throw new SysError(E.EINVAL);
    const out = Buffer.from(value);
    for (let off = 4; off < out.length; off += 8) {
      const tag = out.readUInt16LE(off);
      if (tag === ACL_USER) out.writeUInt32LE(host(ns.uid, out.readUInt32LE(off + 4)), off + 4);
      else if (tag === ACL_GROUP) out.writeUInt32LE(host(ns.gid, out.readUInt32LE(off + 4)), off + 4);
    }
    return out;
  }
  return value;
}
