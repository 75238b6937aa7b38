/**
 * Mounts, from OCI runtime-spec semantics to the launcher's root setup steps.
 *
 * Input: the file-system parts of an OCI config (runtime-spec config.md
 * "root" and "mounts", config-linux.md "devices", "maskedPaths",
 * "readonlyPaths"). Output: an ordered list of MountStep records that
 * native/launcher.c applies inside the new root (T_MOUNT, step kinds S_*):
 *
 *   mounts (in the config's order), then, unless /dev is a bind mount (as
 *   runc does), the device nodes (runc's default six plus linux.devices) and
 *   the /dev symlinks, then readonlyPaths, then maskedPaths; root.readonly
 *   makes / read-only after the last step.
 *
 * Option names are runc's (libcontainer/specconv): mount(8) flags (ro, rw,
 * nosuid, suid, nodev, dev, noexec, exec, the atime family, nosymfollow...),
 * their recursive forms (rro, rnosuid, ... runc's mount_setattr attributes),
 * propagation (private, rprivate, slave, rslave, shared, rshared, unbindable,
 * runbindable) and bind/rbind. For a new file system every other option is
 * file-system data (size=, mode=, ...) checked against the keys that file
 * system takes. Anything else is a MountError naming the mount.
 *
 * `tvisor do` builds its own defaults (DEFAULT_MOUNTS, masked and read-only
 * paths, -v volumes, --tmpfs) as the same OCI records (doFsConfig), so there
 * is one code path; the OCI runtime commands will pass a bundle's config.json.
 */
import { isAbsolute, posix, resolve } from 'node:path';

/** runtime-spec config.md "mounts" entry. */
export interface OciMount {
  destination: string;
  type?: string;
  source?: string;
  options?: string[];
  uidMappings?: unknown[];
  gidMappings?: unknown[];
}

/** runtime-spec config-linux.md "devices" entry. */
export interface OciDevice {
  type: string;
  path: string;
  major?: number;
  minor?: number;
  fileMode?: number;
  uid?: number;
  gid?: number;
}

/** The file-system parts of an OCI config. */
export interface OciFsConfig {
  root?: { path: string; readonly?: boolean };
  mounts?: OciMount[];
  linux?: { maskedPaths?: string[]; readonlyPaths?: string[]; devices?: OciDevice[] };
}

/** File systems the launcher mounts anew (S_FS). */
export const FS_TYPES = ['proc', 'sysfs', 'devpts', 'mqueue', 'tmpfs', 'cgroup', 'cgroup2'] as const;
export type FsType = (typeof FS_TYPES)[number];

/**
 * One root setup step, as the launcher applies it (native/launcher.c, enum step_kind).
 * bind: attrSet/attrClear are MOUNT_ATTR_* bits (mount_setattr(2)); fs: flags are MS_* bits (mount(2));
 * propagation is MS_PRIVATE, MS_SHARED, MS_SLAVE or MS_UNBINDABLE, ORed with MS_REC, or 0 (unchanged).
 */
export type MountStep =
  | { kind: 'bind'; source: string; destination: string; recursive: boolean; attrSet: number; attrClear: number; propagation: number }
  | { kind: 'fs'; type: FsType; source: string; destination: string; flags: number; data: string; propagation: number }
  | { kind: 'mask'; destination: string }
  | { kind: 'readonly'; destination: string }
  | { kind: 'device'; destination: string; mode: number; major: number; minor: number; uid: number; gid: number }
  | { kind: 'devlinks' };

/** What the launcher needs for the root: the lower (or only) layer, / read-only or not, the steps. */
export interface RootSetup {
  /** Absolute host path of the root file system; '' for the host's /. */
  rootfs: string;
  readonly: boolean;
  mounts: MountStep[];
}

/** A mount (or device) the configuration gets wrong; the message names it. */
export class MountError extends Error {}

/* mount(2) flags (linux/mount.h). */
export const MS = {
  RDONLY: 1, NOSUID: 2, NODEV: 4, NOEXEC: 8, SYNCHRONOUS: 16, REMOUNT: 32, MANDLOCK: 64, DIRSYNC: 128,
  NOSYMFOLLOW: 256, NOATIME: 1024, NODIRATIME: 2048, BIND: 4096, REC: 0x4000, SILENT: 0x8000, POSIXACL: 1 << 16,
  UNBINDABLE: 1 << 17, PRIVATE: 1 << 18, SLAVE: 1 << 19, SHARED: 1 << 20, RELATIME: 1 << 21, I_VERSION: 1 << 23,
  STRICTATIME: 1 << 24, LAZYTIME: 1 << 25,
} as const;

/* mount_setattr(2) attributes (linux/mount.h). */
export const MOUNT_ATTR = {
  RDONLY: 0x1, NOSUID: 0x2, NODEV: 0x4, NOEXEC: 0x8, ATIME_MASK: 0x70, RELATIME: 0, NOATIME: 0x10, STRICTATIME: 0x20,
  NODIRATIME: 0x80, NOSYMFOLLOW: 0x200000,
} as const;

const PROPAGATION: Record<string, number> = {
  private: MS.PRIVATE, rprivate: MS.PRIVATE | MS.REC,
  shared: MS.SHARED, rshared: MS.SHARED | MS.REC,
  slave: MS.SLAVE, rslave: MS.SLAVE | MS.REC,
  unbindable: MS.UNBINDABLE, runbindable: MS.UNBINDABLE | MS.REC,
};

/** mount(2) flags by option name: [set, clear] (runc's mountFlags table). */
const FLAGS: Record<string, [number, number]> = {
  ro: [MS.RDONLY, 0], rw: [0, MS.RDONLY],
  nosuid: [MS.NOSUID, 0], suid: [0, MS.NOSUID],
  nodev: [MS.NODEV, 0], dev: [0, MS.NODEV],
  noexec: [MS.NOEXEC, 0], exec: [0, MS.NOEXEC],
  sync: [MS.SYNCHRONOUS, 0], async: [0, MS.SYNCHRONOUS],
  dirsync: [MS.DIRSYNC, 0],
  mand: [MS.MANDLOCK, 0], nomand: [0, MS.MANDLOCK],
  noatime: [MS.NOATIME, 0], atime: [0, MS.NOATIME],
  nodiratime: [MS.NODIRATIME, 0], diratime: [0, MS.NODIRATIME],
  relatime: [MS.RELATIME, 0], norelatime: [0, MS.RELATIME],
  strictatime: [MS.STRICTATIME, 0], nostrictatime: [0, MS.STRICTATIME],
  lazytime: [MS.LAZYTIME, 0], nolazytime: [0, MS.LAZYTIME],
  iversion: [MS.I_VERSION, 0], noiversion: [0, MS.I_VERSION],
  acl: [MS.POSIXACL, 0], noacl: [0, MS.POSIXACL],
  silent: [MS.SILENT, 0], loud: [0, MS.SILENT],
  nosymfollow: [MS.NOSYMFOLLOW, 0], symfollow: [0, MS.NOSYMFOLLOW],
  defaults: [0, 0],
};

/** Per-mount attributes for bind mounts: [set, clear] (mount_setattr(2); an atime mode clears the whole atime field). */
const A = MOUNT_ATTR;
const ATTRS: Record<string, [number, number]> = {
  ro: [A.RDONLY, 0], rw: [0, A.RDONLY],
  nosuid: [A.NOSUID, 0], suid: [0, A.NOSUID],
  nodev: [A.NODEV, 0], dev: [0, A.NODEV],
  noexec: [A.NOEXEC, 0], exec: [0, A.NOEXEC],
  noatime: [A.NOATIME, A.ATIME_MASK], relatime: [A.RELATIME, A.ATIME_MASK], strictatime: [A.STRICTATIME, A.ATIME_MASK],
  atime: [A.RELATIME, A.ATIME_MASK], norelatime: [A.STRICTATIME, A.ATIME_MASK], nostrictatime: [A.RELATIME, A.ATIME_MASK],
  nodiratime: [A.NODIRATIME, 0], diratime: [0, A.NODIRATIME],
  nosymfollow: [A.NOSYMFOLLOW, 0], symfollow: [0, A.NOSYMFOLLOW],
};
/** Options that mean nothing for a bind mount but are harmless (clearing a superblock flag, or no flag at all). */
const BIND_NOOPS = new Set(['defaults', 'async', 'loud', 'nomand', 'noiversion', 'nolazytime', 'noacl', 'silent']);
/** Superblock flags: a bind mount shares its source's superblock, so they cannot apply to it. */
const SUPERBLOCK_ONLY = new Set(['sync', 'dirsync', 'mand', 'lazytime', 'iversion', 'acl']);

/** Data keys each file system takes (Documentation/filesystems/*, kernel 6.x); value syntax is the kernel's to check. */
const DATA_KEYS: Record<FsType, readonly string[]> = {
  tmpfs: ['size', 'nr_blocks', 'nr_inodes', 'mode', 'uid', 'gid', 'huge', 'mpol', 'inode32', 'inode64', 'noswap', 'quota',
    'usrquota', 'grpquota', 'usrquota_block_hardlimit', 'usrquota_inode_hardlimit', 'grpquota_block_hardlimit',
    'grpquota_inode_hardlimit', 'casefold', 'strict_encoding'],
  proc: ['hidepid', 'gid', 'subset'],
  devpts: ['uid', 'gid', 'mode', 'ptmxmode', 'newinstance', 'max'],
  mqueue: [],
  sysfs: [],
  cgroup: [],
  cgroup2: ['nsdelegate', 'favordynmods', 'memory_localevents', 'memory_recursiveprot', 'memory_hugetlb_accounting', 'pids_localevents'],
};

const UNSUPPORTED: Record<string, string> = {
  remount: 'remounting is not supported',
  idmap: 'idmapped mounts are not supported',
  ridmap: 'idmapped mounts are not supported',
  tmpcopyup: 'tmpcopyup is not supported',
};

/** Applies [set, clear] to an accumulated pair: the later option wins. */
function apply(acc: { set: number; clear: number }, [s, c]: [number, number]): void {
  acc.set = (acc.set & ~c) | s;
  acc.clear = (acc.clear & ~s) | c;
}

/** "mounts[3] (/data)": how errors name a mount. */
function mountName(i: number, m: Partial<OciMount>): string {
  return `mounts[${i}] (${typeof m.destination === 'string' ? m.destination : '?'})`;
}

/** Checks and normalizes an in-container absolute path (destination, masked path...). */
function containerPath(p: unknown, what: string): string {
  if (typeof p !== 'string' || !p.startsWith('/')) throw new MountError(`${what}: the path must be absolute (got ${JSON.stringify(p)})`);
  if (p.includes('\0')) throw new MountError(`${what}: NUL in path`);
  return posix.normalize(p).replace(/(.)\/+$/, '$1');
}

/** True when `m` is a bind mount by runc's rule: type "bind", or a bind/rbind option. */
export function isBind(m: OciMount): boolean {
  return m.type === 'bind' || (m.options ?? []).some((o) => o === 'bind' || o === 'rbind');
}

/**
 * Converts one OCI mount to a launcher step.
 * `bundle`: the directory a relative bind source is relative to (runtime-spec: the bundle).
 * Throws MountError (naming `mounts[index] (destination)`, or `label` when given) on a bad destination, an unknown type or option.
 */
export function convertMount(m: OciMount, index: number, bundle = '/', label?: string): MountStep {
  const name = label ?? mountName(index, m);
  if (typeof m !== 'object' || m === null) throw new MountError(`${name}: not an object`);
  const destination = containerPath(m.destination, name);
  if (destination === '/') throw new MountError(`${name}: cannot mount over / (use root.path)`);
  if (m.uidMappings?.length || m.gidMappings?.length) throw new MountError(`${name}: idmapped mounts are not supported`);
  const options = m.options ?? [];
  if (!Array.isArray(options) || options.some((o) => typeof o !== 'string')) throw new MountError(`${name}: options must be strings`);
  let propagation = 0;
  if (isBind(m)) {
    if (m.type !== undefined && !['bind', 'none', ''].includes(m.type) && !FS_TYPES.includes(m.type as FsType))
      throw new MountError(`${name}: unsupported type "${m.type}"`);
    if (typeof m.source !== 'string' || !m.source) throw new MountError(`${name}: a bind mount needs a source`);
    const acc = { set: 0, clear: 0 };
    let recursive = false;
    for (const o of options) {
      if (o === 'bind') continue;
      if (o === 'rbind') recursive = true;
      else if (o in PROPAGATION) propagation = PROPAGATION[o]!;
      else if (o in ATTRS) apply(acc, ATTRS[o]!);
      else if (o.startsWith('r') && o.slice(1) in ATTRS) apply(acc, ATTRS[o.slice(1)]!); // runc's recursive forms: rro, rnosuid...
      else if (BIND_NOOPS.has(o)) continue;
      else if (SUPERBLOCK_ONLY.has(o)) throw new MountError(`${name}: option "${o}" is a file system (superblock) option; it cannot apply to a bind mount`);
      else if (o in UNSUPPORTED) throw new MountError(`${name}: ${UNSUPPORTED[o]} ("${o}")`);
      else throw new MountError(`${name}: unknown option "${o}" for a bind mount`);
    }
    const source = isAbsolute(m.source) ? resolve(m.source) : resolve(bundle, m.source);
    return { kind: 'bind', source, destination, recursive, attrSet: acc.set, attrClear: acc.clear, propagation };
  }
  const type = m.type;
  if (!FS_TYPES.includes(type as FsType)) throw new MountError(`${name}: unsupported type ${JSON.stringify(type ?? '(none)')} (supported: bind, rbind, ${FS_TYPES.join(', ')})`);
  const fs = type as FsType;
  const acc = { set: 0, clear: 0 };
  const data: string[] = [];
  for (const o of options) {
    if (o in PROPAGATION) propagation = PROPAGATION[o]!;
    else if (o in FLAGS) apply(acc, FLAGS[o]!);
    else if (o.startsWith('r') && o.slice(1) in ATTRS) apply(acc, FLAGS[o.slice(1)]!); // one mount: recursive = plain
    else if (o in UNSUPPORTED) throw new MountError(`${name}: ${UNSUPPORTED[o]} ("${o}")`);
    else {
      const key = o.split('=', 1)[0]!;
      if (!DATA_KEYS[fs].includes(key)) throw new MountError(`${name}: unknown option "${o}" for ${fs}${DATA_KEYS[fs].length ? ` (data options: ${DATA_KEYS[fs].join(', ')})` : ''}`);
      if (o.includes(',')) throw new MountError(`${name}: option "${o}" contains a comma`);
      data.push(o);
    }
  }
  const source = typeof m.source === 'string' && m.source ? m.source : fs;
  if (source.includes('\0')) throw new MountError(`${name}: NUL in source`);
  return { kind: 'fs', type: fs, source, destination, flags: acc.set, data: data.join(','), propagation };
}

const S_IFCHR = 0o020000;
const S_IFIFO = 0o010000;

/** runc's default devices (libcontainer/specconv AllowedDevices): created in every container with its own /dev. */
export const DEFAULT_DEVICES: readonly OciDevice[] = [
  { type: 'c', path: '/dev/null', major: 1, minor: 3, fileMode: 0o666 },
  { type: 'c', path: '/dev/zero', major: 1, minor: 5, fileMode: 0o666 },
  { type: 'c', path: '/dev/full', major: 1, minor: 7, fileMode: 0o666 },
  { type: 'c', path: '/dev/random', major: 1, minor: 8, fileMode: 0o666 },
  { type: 'c', path: '/dev/urandom', major: 1, minor: 9, fileMode: 0o666 },
  { type: 'c', path: '/dev/tty', major: 5, minor: 0, fileMode: 0o666 },
];

/**
 * Converts one linux.devices entry: char devices ("c", "u") and FIFOs ("p") are created; block devices are
 * refused (MountError naming `linux.devices[index] (path)`).
 */
export function convertDevice(d: OciDevice, index: number): MountStep {
  const name = `linux.devices[${index}] (${typeof d?.path === 'string' ? d.path : '?'})`;
  const destination = containerPath(d?.path, name);
  const perm = d.fileMode ?? 0o666;
  if (!Number.isInteger(perm) || perm < 0 || perm > 0o7777) throw new MountError(`${name}: bad fileMode ${perm}`);
  const id = (v: unknown, what: string): number => {
    if (v === undefined) return 0;
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffffffff) throw new MountError(`${name}: bad ${what} ${String(v)}`);
    return v as number;
  };
  if (d.type === 'p') return { kind: 'device', destination, mode: S_IFIFO | perm, major: 0, minor: 0, uid: id(d.uid, 'uid'), gid: id(d.gid, 'gid') };
  if (d.type === 'b') throw new MountError(`${name}: block devices are not supported`);
  if (d.type !== 'c' && d.type !== 'u') throw new MountError(`${name}: unknown device type ${JSON.stringify(d.type)} (c, u or p)`);
  if (d.major === undefined || d.minor === undefined) throw new MountError(`${name}: a char device needs major and minor`);
  return {
    kind: 'device', destination, mode: S_IFCHR | perm, major: id(d.major, 'major'), minor: id(d.minor, 'minor'),
    uid: id(d.uid, 'uid'), gid: id(d.gid, 'gid'),
  };
}

/**
 * Turns an OCI config's root, mounts, linux.devices, linux.maskedPaths and linux.readonlyPaths into the
 * launcher's root setup. `bundle` resolves a relative root.path and relative bind sources.
 * Throws MountError naming the offending entry.
 */
export function rootSetup(config: OciFsConfig, o: { bundle?: string } = {}): RootSetup {
  const bundle = o.bundle ?? process.cwd();
  const rootPath = config.root?.path;
  if (rootPath !== undefined && typeof rootPath !== 'string') throw new MountError('root.path must be a string');
  const mounts: OciMount[] = config.mounts ?? [];
  if (!Array.isArray(mounts)) throw new MountError('mounts must be an array');
  const steps = mounts.map((m, i) => convertMount(m, i, bundle));
  // runc sets /dev up (devices, links) unless /dev is bound from elsewhere.
  const devBound = steps.some((s) => s.kind === 'bind' && s.destination === '/dev');
  if (!devBound) {
    const devices = [...(config.linux?.devices ?? [])];
    const steps2 = devices.map(convertDevice);
    for (const def of DEFAULT_DEVICES) if (!steps2.some((s) => s.kind === 'device' && s.destination === def.path)) steps2.push(convertDevice(def, -1));
    steps.push(...steps2, { kind: 'devlinks' });
  } else if (config.linux?.devices?.length) {
    throw new MountError('linux.devices: /dev is a bind mount; devices cannot be created in it');
  }
  (config.linux?.readonlyPaths ?? []).forEach((p, i) => steps.push({ kind: 'readonly', destination: containerPath(p, `linux.readonlyPaths[${i}]`) }));
  (config.linux?.maskedPaths ?? []).forEach((p, i) => steps.push({ kind: 'mask', destination: containerPath(p, `linux.maskedPaths[${i}]`) }));
  return {
    rootfs: rootPath ? resolve(bundle, rootPath) : '',
    readonly: config.root?.readonly === true,
    mounts: steps,
  };
}

/** The mounts every `tvisor do` sandbox has (runc's `runc spec` defaults; /dev/shm without noexec). */
export const DEFAULT_MOUNTS: readonly OciMount[] = [
  { destination: '/proc', type: 'proc', source: 'proc', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/dev', type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'noexec', 'strictatime', 'mode=755', 'size=65536k'] },
  { destination: '/dev/pts', type: 'devpts', source: 'devpts', options: ['nosuid', 'noexec', 'newinstance', 'ptmxmode=0666', 'mode=0620', 'gid=5'] },
  { destination: '/dev/shm', type: 'tmpfs', source: 'shm', options: ['nosuid', 'nodev', 'mode=1777', 'size=65536k'] },
  { destination: '/dev/mqueue', type: 'mqueue', source: 'mqueue', options: ['nosuid', 'noexec', 'nodev'] },
  { destination: '/sys', type: 'sysfs', source: 'sysfs', options: ['nosuid', 'noexec', 'nodev', 'ro'] },
];

/**
 * Kernel interfaces masked by default (runc's and containerd's defaults): a root workload must not read
 * /proc/kcore or the host's keys, nor write firmware or power-capping knobs.
 */
export const DEFAULT_MASKED_PATHS: readonly string[] = [
  '/proc/acpi', '/proc/asound', '/proc/kcore', '/proc/keys', '/proc/latency_stats', '/proc/timer_list', '/proc/timer_stats',
  '/proc/sched_debug', '/proc/scsi', '/proc/kmsg', '/sys/firmware', '/sys/devices/virtual/powercap',
];

/** Read-only by default (runc's defaults): /proc/sys above all (kernel.core_pattern would run a program on the host). */
export const DEFAULT_READONLY_PATHS: readonly string[] = ['/proc/bus', '/proc/fs', '/proc/irq', '/proc/sys', '/proc/sysrq-trigger'];

/**
 * Parses `-v HOST:GUEST[:OPTIONS]` (docker's form; OPTIONS comma-separated bind options, e.g. `ro`,
 * `ro,noexec`, `rslave`) into an OCI bind mount: rbind, nosuid, nodev, then the given options.
 * Throws Error on a malformed volume; option errors come later from convertMount.
 */
export function parseVolume(text: string): OciMount {
  const parts = text.split(':');
  const opts = parts.length === 3 ? parts.pop()!.split(',').filter(Boolean) : [];
  if (parts.length !== 2 || !parts[0] || !parts[1]) throw new MountError(`invalid volume "${text}": want HOST:GUEST[:OPTIONS]`);
  if (!parts[1].startsWith('/')) throw new MountError(`invalid volume "${text}": GUEST must be absolute`);
  if (parts[1].replace(/\/+/g, '/').replace(/\/$/, '') === '') throw new MountError(`invalid volume "${text}": GUEST cannot be /`);
  return { destination: parts[1], type: 'bind', source: resolve(parts[0]), options: ['rbind', 'nosuid', 'nodev', ...opts] };
}

/** Parses `--tmpfs DEST[:OPTIONS]` (docker's form) into an OCI tmpfs mount: nosuid, nodev, noexec, then OPTIONS. */
export function parseTmpfs(text: string): OciMount {
  const i = text.indexOf(':');
  const dest = i < 0 ? text : text.slice(0, i);
  const opts = i < 0 ? [] : text.slice(i + 1).split(',').filter(Boolean);
  if (!dest.startsWith('/')) throw new MountError(`invalid --tmpfs "${text}": the destination must be absolute`);
  return { destination: dest, type: 'tmpfs', source: 'tmpfs', options: ['nosuid', 'nodev', 'noexec', ...opts] };
}

/**
 * `tvisor do`'s file-system configuration as an OCI config: the default mounts, then `extra` (volumes,
 * tmpfs mounts, in order), the default masked and read-only paths.
 */
export function doFsConfig(o: { rootfs: string; readonly?: boolean; extra: OciMount[] }): OciFsConfig {
  return {
    root: { path: o.rootfs, readonly: o.readonly ?? false },
    mounts: [...DEFAULT_MOUNTS, ...o.extra],
    linux: { maskedPaths: [...DEFAULT_MASKED_PATHS], readonlyPaths: [...DEFAULT_READONLY_PATHS] },
  };
}
