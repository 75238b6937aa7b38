/**
 * The text of the sandbox's virtual /proc files, made from what the kernel
 * itself shows (pure functions; sentry/vfs/procfs.ts serves them).
 *
 * The kernel's mount tables name things of the host: the path a bind mount
 * or volume has on its host file system (the `root` field of mountinfo),
 * block devices and network sources (`/dev/vda`, `server:/export`), and
 * file-system options that carry host or staging paths (overlayfs
 * `lowerdir=`, `upperdir=`, `workdir=`; cgroup v1 `release_agent=`) or host
 * addresses (NFS `addr=`). The rewrite keeps every line, its mount id,
 * parent id, device number, mount point, mount flags and propagation
 * fields, so tools (findmnt, df, mount, libmount) still build the same
 * tree; only those host-side names are replaced. Formats: proc(5)
 * /proc/pid/mountinfo, /proc/pid/mounts, /proc/pid/mountstats
 * (fs/proc_namespace.c), /proc/meminfo, /proc/cpuinfo.
 */

/**
 * File systems the sandbox makes itself (launcher, and cgroup mounts to come):
 * their source is a free label, not a device or a host path, and their
 * options carry no host path (any option whose value has a `/` is dropped
 * anyway).
 */
const OWN_TYPES = new Set(['proc', 'sysfs', 'tmpfs', 'devpts', 'mqueue', 'cgroup', 'cgroup2']);
/** Types whose source is a label worth keeping (the root overlay is labelled `overlay` by the launcher). */
const LABELLED_TYPES = new Set([...OWN_TYPES, 'overlay']);
/**
 * Options every file system shows, from the mount and superblock flags
 * (show_mnt_opts, show_sb_opts in fs/proc_namespace.c): kept for any type.
 */
const GENERIC_OPTS = new Set([
  'rw', 'ro', 'sync', 'dirsync', 'mand', 'lazytime',
  'nosuid', 'nodev', 'noexec', 'noatime', 'nodiratime', 'relatime', 'nosymfollow',
]);

/** The source field as the sandbox shows it: a label of a sandbox-made file system, else `none`. */
function source(src: string, type: string): string {
  return LABELLED_TYPES.has(type) && !src.includes('/') && !src.includes(':') ? src : 'none';
}

/** A comma-separated option list with host-side options removed (see OWN_TYPES, GENERIC_OPTS). */
function options(opts: string, type: string): string {
  const keep = opts.split(',').filter((o) => (OWN_TYPES.has(type) ? !o.includes('/') : GENERIC_OPTS.has(o)));
  return keep.join(',') || 'rw';
}

/**
 * Rewrites /proc/<pid>/mountinfo. Each line is
 * `id parent major:minor root mountpoint mntopts [optional...] - type source superopts`.
 * - `root` (the mount's path inside its file system) is kept only when that
 *   file system is also mounted whole (root `/`) in the same table: it is
 *   then a path the sandbox sees anyway (`/null` of the sandbox's /dev tmpfs
 *   over /proc/kcore, `/sys` of its procfs). Otherwise (a volume, a host
 *   directory as root) it becomes `/`.
 * - `source` and `superopts`: see source() and options().
 * Lines that do not parse are dropped (the kernel never writes them).
 */
export function rewriteMountinfo(text: string): string {
  const lines = text.split('\n').filter((l) => l !== '');
  const rows = lines
    .map((l) => l.split(' '))
    .filter((f) => {
      const sep = f.indexOf('-', 6);
      return sep >= 6 && f.length >= sep + 4;
    });
  const whole = new Set(rows.filter((f) => f[3] === '/').map((f) => f[2]));
  const out: string[] = [];
  for (const f of rows) {
    const sep = f.indexOf('-', 6);
    const type = f[sep + 1]!;
    const root = whole.has(f[2]!) ? f[3]! : '/';
    out.push([...f.slice(0, 3), root, ...f.slice(4, sep + 2), source(f[sep + 2]!, type), options(f.slice(sep + 3).join(' '), type)].join(' '));
  }
  return out.map((l) => l + '\n').join('');
}

/**
 * Rewrites /proc/<pid>/mounts (and /proc/mounts, a link to it): each line
 * `source mountpoint type opts 0 0` gets the source and options of
 * rewriteMountinfo (mount and superblock options are merged in this format).
 */
export function rewriteMounts(text: string): string {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const f = l.split(' ');
    if (f.length < 6) continue;
    out.push([source(f[0]!, f[2]!), f[1], f[2], options(f[3]!, f[2]!), ...f.slice(4)].join(' '));
  }
  return out.map((l) => l + '\n').join('');
}

/**
 * Rewrites /proc/<pid>/mountstats: each record
 * `device SOURCE mounted on MOUNTPOINT with fstype TYPE[ statistics...]`
 * keeps its mount point and type, gets the source of rewriteMountinfo, and
 * loses the per-file-system statistics (NFS prints its server address,
 * export and options there).
 */
export function rewriteMountstats(text: string): string {
  const out: string[] = [];
  for (const l of text.split('\n')) {
    const f = l.split(' ');
    // "device", src, "mounted", "on", mp, "with", "fstype", type, ...
    if (f[0] !== 'device' || f[2] !== 'mounted' || f[5] !== 'with' || f[6] !== 'fstype' || f.length < 8) continue;
    out.push(`device ${source(f[1]!, f[7]!)} mounted on ${f[4]} with fstype ${f[7]}`);
  }
  return out.map((l) => l + '\n').join('');
}

/** /proc/meminfo fields (kB) that are not amounts of the machine's RAM, so a memory limit leaves them alone. */
const NOT_RAM = /^(Swap|Vmalloc|Hugepagesize|Hugetlb|DirectMap|CommitLimit|Committed_AS)/;

/**
 * /proc/meminfo under a memory limit (bytes; null: none, and the kernel's
 * text is returned unchanged). MemTotal becomes the limit (or the host's
 * total if smaller); MemFree and MemAvailable what is left of it, given the
 * sandbox's `usage` (bytes), and never more than the host has free; every
 * other amount of RAM is capped at MemTotal, so `free` never shows more used
 * or cached than there is. With a known usage, the host's caches are not the
 * sandbox's: Buffers and SReclaimable become 0 and Cached the sandbox's page
 * cache (`cache`, bytes; the host's when null) within its usage, so
 * total - free - buffers - cached (`free`'s "used") is never negative.
 * Swap, vmalloc and huge page lines are kept.
 */
export function rewriteMeminfo(text: string, limit: number | null, usage: number | null, cache: number | null = null): string {
  if (limit === null) return text;
  const kb = new Map<string, number>();
  for (const m of text.matchAll(/^([^:\n]+):\s+(\d+) kB$/gm)) kb.set(m[1]!, Number(m[2]));
  const hostTotal = kb.get('MemTotal');
  if (hostTotal === undefined) return text;
  const total = Math.min(Math.floor(limit / 1024), hostTotal);
  const room = usage === null ? total : Math.max(0, total - Math.ceil(usage / 1024));
  const set = new Map<string, number>([
    ['MemTotal', total],
    ['MemFree', Math.min(kb.get('MemFree') ?? room, room)],
    ['MemAvailable', Math.min(kb.get('MemAvailable') ?? room, room)],
  ]);
  if (usage !== null) {
    const used = total - set.get('MemFree')!;
    set.set('Buffers', 0).set('SReclaimable', 0);
    set.set('Cached', Math.min(cache === null ? (kb.get('Cached') ?? 0) : Math.floor(cache / 1024), used));
  }
  return text.replace(/^([^:\n]+):(\s+)(\d+) kB$/gm, (line, key: string, space: string, value: string) => {
    const v = set.get(key) ?? (NOT_RAM.test(key) ? Number(value) : Math.min(Number(value), total));
    // Keep the kernel's column: the value is right-aligned with the spaces before it.
    const width = space.length + value.length;
    return `${key}:${String(v).padStart(width)} kB`;
  });
}

/**
 * /proc/cpuinfo restricted to `cpus`: the kernel prints one block per
 * online CPU (`processor\t: N`, blank-line separated); the blocks of other
 * CPUs are dropped. CPU numbers are kept, so they match the affinity masks
 * the sandbox sees (sched_getaffinity(2), /proc/self/status). If no block
 * matches (an unknown format), the text is returned unchanged.
 */
export function filterCpuinfo(text: string, cpus: number[]): string {
  const want = new Set(cpus);
  const blocks = text.split(/\n\n+/).filter((b) => b.trim() !== '');
  const keep = blocks.filter((b) => {
    const m = /^processor\s*:\s*(\d+)/m.exec(b);
    return m !== null && want.has(Number(m[1]));
  });
  if (keep.length === 0) return text;
  return keep.map((b) => b.replace(/\n+$/, '') + '\n\n').join('');
}

/**
 * /proc/cmdline: the host kernel's command line names its boot files and
 * devices and, on some hosts, the host's init and its arguments. The
 * sandbox sees a neutral one (as gVisor's), with the kernel release.
 */
export function cmdline(release: string): string {
  return `BOOT_IMAGE=/vmlinuz-${release} quiet\n`;
}

/** /proc/swaps: the header only (the kernel lists host swap files and partitions by their host path). */
export function swaps(text: string): string {
  const nl = text.indexOf('\n');
  return nl < 0 ? text : text.slice(0, nl + 1);
}
