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
