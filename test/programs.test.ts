/**
 * Real programs inside `tvisor do` give the same output as natively.
 *
 * Every check runs one command twice under the same fixed environment (ENV:
 * LC_ALL=C, TZ=UTC, a fixed PATH and HOME, fixed git dates) and the same
 * stdin: once in the sandbox, once natively, and compares stdout and exit
 * status. Every test also checks the output against values computed here
 * (file lists, hashes, counts), so two identical wrong answers (say, both
 * runs failing the same way) do not pass.
 *
 * Scratch directories: a test that writes makes an empty host directory WORK
 * with mkdtemp under /tmp. The sandbox runs first; it sees WORK through its
 * read-only view of the host / and writes into its throw-away layer, so after
 * it WORK must still be empty on the host (checked). Then the native run uses
 * the same WORK, so paths in the output are identical. Input fixtures (FIX)
 * are made here and mounted read-only with `-v FIX:FIX:ro`.
 *
 * Things that legitimately differ and are therefore left out of the compared
 * output: block counts and directory sizes of new files (the sandbox's
 * writable layer is tmpfs, the host's /tmp is ext4), inode numbers, and
 * current times.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  lutimesSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  rmSync,
  symlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DEBIAN_ROOTFS, native, tvisorDo, type Run } from './helpers.js';

const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
/** The whole environment of both runs (tvisor passes its own environment to the workload). */
const ENV: Record<string, string> = {
  PATH,
  HOME: '/root',
  LC_ALL: 'C',
  LANG: 'C',
  TZ: 'UTC',
  // git: no host or user configuration, fixed identities and dates.
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_AUTHOR_DATE: '2001-09-09T01:46:40Z',
  GIT_COMMITTER_DATE: '2001-09-09T01:46:40Z',
  PYTHONDONTWRITEBYTECODE: '1',
};
const FIXED_MTIME = 1_000_000_000; // 2001-09-09 01:46:40 UTC

/**
 * Native counterpart of `tvisor do --rootfs ROOTFS CMD`: the same rootfs's own
 * binaries under chroot(1), in private mount and pid namespaces, with a fresh
 * tmpfs on ROOTFS/tmp so that native writes never touch the cached rootfs (the
 * sandbox likewise sees ROOTFS/tmp, empty, under a throw-away writable layer)
 * and a /proc like the sandbox's (bash's <(...) needs /dev/fd -> /proc/self/fd).
 */
function inChroot(cmd: string[]): string[] {
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--pid',
    '--fork',
    '--',
    '/bin/sh',
    '-c',
    'r=$1; shift; mount -t tmpfs -o mode=1777 tmpfs "$r/tmp" && mount -t proc proc "$r/proc" && exec chroot "$r" "$@"',
    'sh',
    DEBIAN_ROOTFS,
    ...cmd,
  ];
}

interface CompareOptions {
  flags?: string[];
  input?: string;
  /** Run in the Debian rootfs (sandbox: --rootfs; native: inChroot). */
  rootfs?: boolean;
  /** Checked after the sandbox run, before the native one. */
  between?: () => void;
}

/**
 * Runs CMD in the sandbox, then natively; expects the same exit status and
 * stdout, and returns the sandbox's run.
 */
function compare(cmd: string[], o: CompareOptions = {}): Run {
  const flags = [...(o.rootfs ? ['--rootfs', DEBIAN_ROOTFS] : []), ...(o.flags ?? [])];
  const sandbox = tvisorDo(cmd, flags, { env: ENV, input: o.input ?? '', cwd: '/tmp' });
  o.between?.();
  const host = native(o.rootfs ? inChroot(cmd) : cmd, { env: ENV, input: o.input ?? '', cwd: '/tmp' });
  const why = `sandbox (status ${sandbox.status}) stderr:\n${sandbox.stderr}\nnative (status ${host.status}) stderr:\n${host.stderr}`;
  expect(sandbox.signal, why).toBeNull();
  expect({ status: sandbox.status, stdout: sandbox.stdout }, why).toEqual({ status: host.status, stdout: host.stdout });
  return sandbox;
}

/**
 * `compare(['/bin/bash', '--norc', '-c', script, 'bash', ...args])`. --norc:
 * node's stdio pipes are socketpairs, and Debian's bash sources ~/.bashrc
 * when its stdin is a socket (the rshd/sshd heuristic); the host's
 * /root/.bashrc runs `pyenv rehash`, which rewrites /root/.pyenv/shims.
 */
function compareBash(script: string, args: string[] = [], o: CompareOptions = {}): Run {
  return compare(['/bin/bash', '--norc', '-c', script, 'bash', ...args], o);
}

/** The lines printed after the marker line `== NAME` up to the next marker. */
function section(stdout: string, name: string): string[] {
  const lines = stdout.split('\n');
  const start = lines.indexOf(`== ${name}`);
  if (start < 0) throw new Error(`no section "${name}" in output:\n${stdout}`);
  const out: string[] = [];
  for (const l of lines.slice(start + 1)) {
    if (l.startsWith('== ')) break;
    out.push(l);
  }
  while (out.length && out[out.length - 1] === '') out.pop();
  return out;
}

const sha256 = (s: string | Buffer): string => createHash('sha256').update(s).digest('hex');
const md5 = (s: string | Buffer): string => createHash('md5').update(s).digest('hex');
const gitBlob = (s: string): string => createHash('sha1').update(`blob ${Buffer.byteLength(s)}\0${s}`).digest('hex');

/** Host scratch directories made by tests, removed after each test. */
const scratch: string[] = [];
function workDir(): string {
  const d = mkdtempSync('/tmp/tvisor-programs-');
  scratch.push(d);
  return d;
}
/** The check between the sandbox and native runs: sandbox writes did not reach the host. */
const stillEmpty = (dir: string) => (): void => {
  expect(readdirSync(dir), `sandbox writes reached the host in ${dir}`).toEqual([]);
};
afterEach(() => {
  for (const d of scratch.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** Deterministic pseudo-random numbers (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** 40 000 tab-separated lines "word<TAB>number<TAB>tag" with many repeats. */
function sortInput(): string[] {
  const rnd = prng(20240229);
  const letters = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-';
  const words: string[] = [];
  for (let i = 0; i < 400; i++) {
    let w = '';
    const n = 1 + Math.floor(rnd() * 10);
    for (let j = 0; j < n; j++) w += letters[Math.floor(rnd() * letters.length)];
    words.push(w);
  }
  const lines: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    const w = words[Math.floor(rnd() * words.length)]!;
    const num = Math.floor(rnd() * 2001) - 1000;
    lines.push(`${w}\t${num}\t${['x', 'y', 'z'][Math.floor(rnd() * 3)]}`);
  }
  return lines;
}

/** Expected hashes of the sort variants, computed here (C locale: byte order; input is ASCII). */
function expectedSorts(lines: string[]): Record<string, string> {
  const text = (ls: string[]): string => ls.map((l) => l + '\n').join('');
  const byte = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  const plain = [...lines].sort(byte);
  const unique = plain.filter((l, i) => i === 0 || l !== plain[i - 1]);
  // sort -t TAB -k2,2n -k1,1: number, then word, then the whole line (sort's last resort).
  const keyed = [...lines].sort((a, b) => {
    const [wa, na] = a.split('\t');
    const [wb, nb] = b.split('\t');
    return Number(na) - Number(nb) || byte(wa!, wb!) || byte(a, b);
  });
  return {
    plain: sha256(text(plain)),
    unique: sha256(text(unique)),
    reverse: sha256(text([...plain].reverse())),
    keyed: sha256(text(keyed)),
    uniqueCount: String(unique.length),
  };
}

/** The sort variants, each printed as `== NAME` then `SHA256  -`. */
const SORT_SCRIPT = `
set -e
f=$1
echo '== plain';     sort "$f" | sha256sum
echo '== unique';    sort -u "$f" | sha256sum
echo '== count';     sort -u "$f" | wc -l
echo '== reverse';   sort -r "$f" | sha256sum
echo '== keyed';     sort -t "$(printf '\\t')" -k2,2n -k1,1 "$f" | sha256sum
echo '== spill';     sort -S 64K -T /tmp "$f" | sha256sum   # small buffer: merges through temp files in /tmp
echo '== head';      sort "$f" | head -n 3
`;

function checkSorts(stdout: string, expected: Record<string, string>, names: string[]): void {
  for (const n of names) {
    const want = n === 'spill' || n.startsWith('busybox-') ? n.replace(/^busybox-/, '').replace('spill', 'plain') : n;
    expect(section(stdout, n), `sort variant ${n}`).toEqual([`${expected[want]}  -`]);
  }
  expect(section(stdout, 'count')).toEqual([expected.uniqueCount]);
}

/**
 * A small tree with fixed contents, modes and mtimes, made by the script under
 * "$1" (used by the cp and tar tests).
 */
const MAKE_TREE = `
umask 022
mkdir -p "$1/a/b" "$1/c" "$1/empty"
printf 'alpha\\n' > "$1/a/one.txt"
seq 1 5000 > "$1/a/b/numbers"
head -c 100000 /dev/zero | tr '\\0' z > "$1/c/big"
printf '#!/bin/sh\\necho run\\n' > "$1/c/run.sh"
: > "$1/c/zero-length"
chmod 750 "$1/c/run.sh"
chmod 640 "$1/a/b/numbers"
ln -s ../a/one.txt "$1/c/link"
ln "$1/a/one.txt" "$1/a/hard"
find "$1" -exec touch -h -d @${FIXED_MTIME} {} +
`;
const seq5000 = Array.from({ length: 5000 }, (_, i) => `${i + 1}\n`).join('');
/** What `find . ! -type d -printf '%p %y %m %s %n %T@ %l\n' | sort` prints for a copy of MAKE_TREE's tree. */
const TREE_FILES = [
  `./a/b/numbers f 640 ${seq5000.length} 1 ${FIXED_MTIME}.0000000000 `,
  `./a/hard f 644 6 2 ${FIXED_MTIME}.0000000000 `,
  `./a/one.txt f 644 6 2 ${FIXED_MTIME}.0000000000 `,
  `./c/big f 644 100000 1 ${FIXED_MTIME}.0000000000 `,
  `./c/link l 777 12 1 ${FIXED_MTIME}.0000000000 ../a/one.txt`,
  `./c/run.sh f 750 19 1 ${FIXED_MTIME}.0000000000 `,
  `./c/zero-length f 644 0 1 ${FIXED_MTIME}.0000000000 `,
];
const TREE_FILES_NO_LINK_TIME = TREE_FILES.map((l) => l.replace(/^(\.\/c\/link l 777 12 1) \S+/, '$1 -'));
const TREE_DIRS = ['. 755', './a 755', './a/b 755', './c 755', './empty 755'].map((l) => `${l} ${FIXED_MTIME}.0000000000`);
const TREE_DIRS_NO_TIME = TREE_DIRS.map((l) => l.replace(/ \S+$/, ' -'));
const TREE_MD5 = [
  `${md5(seq5000)}  ./a/b/numbers`,
  `${md5('alpha\n')}  ./a/hard`,
  `${md5('alpha\n')}  ./a/one.txt`,
  `${md5('z'.repeat(100000))}  ./c/big`,
  `${md5('#!/bin/sh\necho run\n')}  ./c/run.sh`,
  `${md5('')}  ./c/zero-length`,
];
/**
 * `list NAME DIR [nolinktime] [nodirtime]` prints `== NAME` and the listing
 * above of DIR (no inode numbers, block counts or directory sizes); with
 * nolinktime no symlink mtimes (busybox cp and tar do not restore them), with
 * nodirtime no directory mtimes (busybox tar does not restore them).
 */
const LIST_TREE = `
list() {
  echo "== $1"
  l='%T@'; d='%T@'
  case " $3 $4 " in *' nolinktime '*) l=-;; esac
  case " $3 $4 " in *' nodirtime '*) d=-;; esac
  ( cd "$2" &&
    { find . ! -type d ! -type l -printf '%p %y %m %s %n %T@ %l\\n'; find . -type l -printf "%p %y %m %s %n $l %l\\n"; } | sort &&
    find . -type d -printf "%p %m $d\\n" | sort &&
    find . -type f -exec md5sum {} + | sort -k2 )
}
`;

/**
 * `ls -la /` without the lines that are not the same directory in both runs:
 * `.` and `..` (the sandbox's root is the overlay's merged directory over a
 * tmpfs upper layer: like Linux overlayfs it reports nlink 1, the upper's size
 * and the sandbox's start time), proc, dev and sys (the sandbox's own mounts),
 * tmp and run (changed by other suites while this one runs), and `total` (it
 * sums the blocks of all entries, those included). Runs of spaces are
 * squeezed: ls pads columns to the widest value, excluded lines included.
 */
const LS_ROOT = `ls -la / | grep -Ev '^total | (\\.|\\.\\.|proc|dev|sys|tmp|run)$' | tr -s ' '`;
const LS_ROOT_EXCLUDED = new Set(['proc', 'dev', 'sys', 'tmp', 'run']);

describe('coreutils and busybox on the host root', () => {
  let fix = '';
  let lines: string[] = [];
  beforeAll(() => {
    fix = mkdtempSync('/tmp/tvisor-programs-fix-');
    // The find fixture: files of several sizes and modes, hidden files, empty
    // file and directory, symlinks (one dangling), a subtree to prune.
    const t = join(fix, 'tree');
    const files: [string, string, number][] = [
      ['a.txt', 'a'.repeat(10), 0o644],
      ['b.TXT', 'b'.repeat(2000), 0o644],
      ['.hidden.txt', 'h\n', 0o600],
      ['empty.txt', '', 0o644],
      ['bin/run.sh', '#!/bin/sh\necho hello from run.sh\n', 0o755],
      ['bin/tool', 't'.repeat(5000), 0o700],
      ['docs/readme.md', '# readme\n', 0o444],
      ['docs/deep/note.txt', 'note\n', 0o644],
      ['docs/deep/er/est/leaf.txt', 'leaf\n', 0o640],
      ['skip/ignored.txt', 'ignored\n', 0o644],
      ['skip/inner/x.txt', 'x\n', 0o644],
    ];
    for (const [p, data, mode] of files) {
      mkdirSync(join(t, p, '..'), { recursive: true });
      writeFileSync(join(t, p), data);
      chmodSync(join(t, p), mode);
    }
    mkdirSync(join(t, 'emptydir'));
    mkdirSync(join(t, 'links'));
    symlinkSync('../a.txt', join(t, 'links/to-a'));
    symlinkSync('../docs', join(t, 'links/to-docs'));
    symlinkSync('../nope', join(t, 'links/dangling'));
    for (const d of ['', 'bin', 'docs', 'docs/deep', 'docs/deep/er', 'docs/deep/er/est', 'skip', 'skip/inner', 'emptydir', 'links'])
      chmodSync(join(t, d), 0o755);
    // mtimes last, leaves before their directories.
    for (const l of ['links/to-a', 'links/to-docs', 'links/dangling']) lutimesSync(join(t, l), FIXED_MTIME, FIXED_MTIME);
    for (const [p] of files) utimesSync(join(t, p), FIXED_MTIME, FIXED_MTIME);
    for (const d of ['docs/deep/er/est', 'docs/deep/er', 'docs/deep', 'docs', 'bin', 'skip/inner', 'skip', 'emptydir', 'links', ''])
      utimesSync(join(t, d), FIXED_MTIME, FIXED_MTIME);
    // The sort input.
    lines = sortInput();
    writeFileSync(join(fix, 'data.txt'), lines.map((l) => l + '\n').join(''));
  });
  afterAll(() => {
    if (fix) rmSync(fix, { recursive: true, force: true });
  });

  it('ls -la of /usr/bin (coreutils and busybox) and of / match', () => {
    const entries = readdirSync('/usr/bin').length;
    const gnu = compare(['ls', '-la', '/usr/bin']).stdout.split('\n').filter(Boolean);
    expect(gnu).toHaveLength(entries + 3); // total, ., ..
    expect(gnu[0]).toMatch(/^total \d+$/);
    const bbSize = lstatSync('/usr/bin/busybox').size;
    expect(gnu).toContainEqual(expect.stringMatching(new RegExp(`^-rwxr-xr-x +1 root root +${bbSize} .* busybox$`)));
    expect(gnu).toContainEqual(expect.stringMatching(/^lrwxrwxrwx +1 root root +1 .* X11 -> \.$/));

    const bb = compare(['busybox', 'ls', '-la', '/usr/bin']).stdout.split('\n').filter(Boolean);
    expect(bb).toHaveLength(entries + 3);
    expect(bb).toContainEqual(expect.stringMatching(new RegExp(`^-rwxr-xr-x +1 root +root +${bbSize} .* busybox$`)));
    expect(bb).toContainEqual(expect.stringMatching(/^lrwxrwxrwx +1 root +root +1 .* X11 -> \.$/));

    const root = compareBash(LS_ROOT).stdout.split('\n').filter(Boolean);
    const kept = readdirSync('/').filter((n) => !LS_ROOT_EXCLUDED.has(n));
    expect(root).toHaveLength(kept.length);
    expect(root).toContainEqual(expect.stringMatching(/^lrwxrwxrwx 1 root root 7 .* bin -> usr\/bin$/));
    const usr = lstatSync('/usr');
    expect(root).toContainEqual(expect.stringMatching(new RegExp(`^drwxr-xr-x ${usr.nlink} root root ${usr.size} .* usr$`)));
  });

  it('cp -a (coreutils and busybox) copies a tree', () => {
    const work = workDir();
    const script = `${MAKE_TREE}
${LIST_TREE}
set -e
cd "$2"
cp -a src dst-gnu
busybox cp -a src dst-bb
list gnu dst-gnu
list busybox dst-bb nolinktime
echo '== diff'
diff -r src dst-gnu && echo gnu identical
diff -r src dst-bb && echo busybox identical
`;
    const r = compareBash(script, [join(work, 'src'), work], { between: stillEmpty(work) });
    expect(r.status).toBe(0);
    expect(section(r.stdout, 'gnu')).toEqual([...TREE_FILES, ...TREE_DIRS, ...TREE_MD5]);
    // busybox cp -a: the same, except that it does not restore the symlink's mtime.
    expect(section(r.stdout, 'busybox')).toEqual([...TREE_FILES_NO_LINK_TIME, ...TREE_DIRS, ...TREE_MD5]);
    expect(section(r.stdout, 'diff')).toEqual(['gnu identical', 'busybox identical']);
  });

  it('tar cz | tar xz round-trips a tree (GNU tar + gzip, busybox tar)', () => {
    const work = workDir();
    const script = `${MAKE_TREE}
${LIST_TREE}
set -eo pipefail
cd "$2"
mkdir x-gnu x-bb
tar -C src -czf - . | tar -C x-gnu -xzf -
busybox tar -C src -czf - . | busybox tar -C x-bb -xzf -
list gnu x-gnu
list busybox x-bb nolinktime nodirtime
echo '== diff'
diff -r src x-gnu && echo gnu identical
diff -r src x-bb && echo busybox identical
echo '== archive'
# A reproducible archive: same bytes in and out of the sandbox.
tar -C src --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . | gzip -n -9 > a.tgz
sha256sum < a.tgz
gzip -t a.tgz && echo gzip ok
echo '== members'
tar -tvzf a.tgz
echo '== bb-members'
busybox tar -tzf a.tgz
`;
    const r = compareBash(script, [join(work, 'src'), work], { between: stillEmpty(work) });
    expect(r.status).toBe(0);
    expect(section(r.stdout, 'gnu')).toEqual([...TREE_FILES, ...TREE_DIRS, ...TREE_MD5]);
    expect(section(r.stdout, 'busybox')).toEqual([...TREE_FILES_NO_LINK_TIME, ...TREE_DIRS_NO_TIME, ...TREE_MD5]);
    expect(section(r.stdout, 'diff')).toEqual(['gnu identical', 'busybox identical']);
    const archive = section(r.stdout, 'archive');
    expect(archive[0]).toMatch(/^[0-9a-f]{64} {2}-$/);
    expect(archive[1]).toBe('gzip ok');
    const members = ['./', './a/', './a/b/', './a/b/numbers', './a/hard', './a/one.txt', './c/', './c/big', './c/link', './c/run.sh', './c/zero-length', './empty/'];
    expect(section(r.stdout, 'bb-members')).toEqual(members);
    expect(section(r.stdout, 'members')).toEqual([
      'drwxr-xr-x 0/0               0 1970-01-01 00:00 ./',
      'drwxr-xr-x 0/0               0 1970-01-01 00:00 ./a/',
      'drwxr-xr-x 0/0               0 1970-01-01 00:00 ./a/b/',
      `-rw-r----- 0/0           ${seq5000.length} 1970-01-01 00:00 ./a/b/numbers`,
      '-rw-r--r-- 0/0               6 1970-01-01 00:00 ./a/hard',
      'hrw-r--r-- 0/0               0 1970-01-01 00:00 ./a/one.txt link to ./a/hard',
      'drwxr-xr-x 0/0               0 1970-01-01 00:00 ./c/',
      '-rw-r--r-- 0/0          100000 1970-01-01 00:00 ./c/big',
      'lrwxrwxrwx 0/0               0 1970-01-01 00:00 ./c/link -> ../a/one.txt',
      '-rwxr-x--- 0/0              19 1970-01-01 00:00 ./c/run.sh',
      '-rw-r--r-- 0/0               0 1970-01-01 00:00 ./c/zero-length',
      'drwxr-xr-x 0/0               0 1970-01-01 00:00 ./empty/',
    ]);
  });

  it('find (GNU and busybox) on a fixture tree', () => {
    const tree = join(fix, 'tree');
    const script = `
set -e
cd "$1"
echo '== all';      find .
echo '== txt';      find . -name '*.txt' | sort
echo '== itxt';     find . -iname '*.txt' | sort
echo '== big';      find . -type f -size +1k | sort
echo '== links';    find . -type l | sort
echo '== empty';    find . -empty | sort
echo '== exec';     find . -type f -perm -u+x | sort
echo '== pruned';   find . -path ./skip -prune -o -type f -print | sort
echo '== depth2';   find . -mindepth 2 -maxdepth 2 | sort
echo '== follow';   find -L . -type f | sort
echo '== printf';   find . -printf '%d %y %m %s %T@ %p -> %l\\n' | sort -k6
echo '== xargs';    find . -type f -name '*.txt' -print0 | sort -z | xargs -0 cat | md5sum
echo '== bb-all';   busybox find . | sort
echo '== bb-txt';   busybox find . -type f -name '*.txt' | sort
echo '== bb-links'; busybox find . -type l | sort
echo '== bb-exec';  busybox find . -type f -perm -100 | sort
`;
    const r = compareBash(script, [tree], { flags: ['-v', `${fix}:${fix}:ro`] });
    expect(r.status).toBe(0);
    const all = [
      '.', './.hidden.txt', './a.txt', './b.TXT', './bin', './bin/run.sh', './bin/tool', './docs', './docs/deep',
      './docs/deep/er', './docs/deep/er/est', './docs/deep/er/est/leaf.txt', './docs/deep/note.txt', './docs/readme.md',
      './empty.txt', './emptydir', './links', './links/dangling', './links/to-a', './links/to-docs', './skip',
      './skip/ignored.txt', './skip/inner', './skip/inner/x.txt',
    ];
    // The unsorted `find .` must equal the native one (same readdir order); as a set, the fixture.
    expect([...section(r.stdout, 'all')].sort()).toEqual(all);
    expect(section(r.stdout, 'bb-all')).toEqual(all);
    const txt = all.filter((p) => p.endsWith('.txt'));
    expect(section(r.stdout, 'txt')).toEqual(txt);
    expect(section(r.stdout, 'bb-txt')).toEqual(txt);
    expect(section(r.stdout, 'itxt')).toEqual([...txt, './b.TXT'].sort());
    expect(section(r.stdout, 'big')).toEqual(['./b.TXT', './bin/tool']);
    const links = ['./links/dangling', './links/to-a', './links/to-docs'];
    expect(section(r.stdout, 'links')).toEqual(links);
    expect(section(r.stdout, 'bb-links')).toEqual(links);
    expect(section(r.stdout, 'empty')).toEqual(['./empty.txt', './emptydir']);
    expect(section(r.stdout, 'exec')).toEqual(['./bin/run.sh', './bin/tool']);
    expect(section(r.stdout, 'bb-exec')).toEqual(['./bin/run.sh', './bin/tool']);
    expect(section(r.stdout, 'pruned')).toEqual([
      './.hidden.txt', './a.txt', './b.TXT', './bin/run.sh', './bin/tool', './docs/deep/er/est/leaf.txt',
      './docs/deep/note.txt', './docs/readme.md', './empty.txt',
    ]);
    expect(section(r.stdout, 'depth2')).toEqual([
      './bin/run.sh', './bin/tool', './docs/deep', './docs/readme.md', './links/dangling', './links/to-a',
      './links/to-docs', './skip/ignored.txt', './skip/inner',
    ]);
    // -L: to-a is a file, to-docs/ a directory with three files; dangling stays a link.
    expect(section(r.stdout, 'follow')).toEqual(
      [
        ...all.filter((p) => /\.(txt|TXT|md|sh)$|tool$/.test(p)),
        './links/to-a',
        './links/to-docs/deep/er/est/leaf.txt',
        './links/to-docs/deep/note.txt',
        './links/to-docs/readme.md',
      ].sort(),
    );
    const printf = section(r.stdout, 'printf');
    expect(printf).toHaveLength(all.length);
    expect(printf).toContain(`2 f 700 5000 ${FIXED_MTIME}.0000000000 ./bin/tool -> `);
    expect(printf).toContain(`2 l 777 8 ${FIXED_MTIME}.0000000000 ./links/to-a -> ../a.txt`);
    expect(printf).toContain(`2 f 444 9 ${FIXED_MTIME}.0000000000 ./docs/readme.md -> `);
    // The .txt files in byte order of their paths.
    const txtContents = ['h\n', 'a'.repeat(10), 'leaf\n', 'note\n', '', 'ignored\n', 'x\n'].join('');
    expect(section(r.stdout, 'xargs')).toEqual([`${md5(txtContents)}  -`]);
  });

  it('sort (GNU and busybox) of a generated file', () => {
    const data = join(fix, 'data.txt');
    const script = `${SORT_SCRIPT}
echo '== busybox-plain';  busybox sort "$f" | sha256sum
echo '== busybox-unique'; busybox sort -u "$f" | sha256sum
`;
    const r = compareBash(script, [data], { flags: ['-v', `${fix}:${fix}:ro`] });
    expect(r.status).toBe(0);
    const want = expectedSorts(lines);
    checkSorts(r.stdout, want, ['plain', 'unique', 'reverse', 'keyed', 'spill', 'busybox-plain', 'busybox-unique']);
    const byte = [...lines].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(section(r.stdout, 'head')).toEqual(byte.slice(0, 3));
  });
});

describe('bash', () => {
  it('runs a script with pipes, subshells, $(...) and mkdir d && cd d', () => {
    const work = workDir();
    const script = `
set -uo pipefail
umask 022
trap 'echo "trap EXIT status=$?"' EXIT
cd "$1"
echo '== pwd'
mkdir d && cd d && pwd
echo '== counts'
for i in $(seq 1 20); do echo "item$((i % 7))" >> list; done
sort list | uniq -c | sort -k1,1nr -k2,2
echo "lines=$(wc -l < list) item3=$(grep -c item3 list)"
echo '== subshells'
x=outer; (x=inner; cd /; echo "in subshell x=$x pwd=$PWD"); echo "after x=$x pwd=$PWD"
echo "nested=$(echo "$(basename "$(pwd)")-$(( $(wc -l < list) * 2 ))")"
{ echo b; echo a; echo c; } | sort | tr a-z A-Z | paste -sd, -
mkdir -p e/f && (cd e/f && pwd) && pwd
false | true; echo "pipestatus=\${PIPESTATUS[*]}"
echo '== procsubst'
while read -r n w; do echo "$w:$n"; done < <(sort list | uniq -c | sort -k2,2 | head -3)
diff <(sort -u list) <(sort list | uniq) && echo "sort -u = sort|uniq"
echo '== files'
printf 'x\\n' > "name with spaces"
ln -s list link
ls -1
cat link | wc -c
echo '== env'
env | sort
exit 3
`;
    const r = compareBash(script, [work], { between: stillEmpty(work) });
    expect(r.status).toBe(3);
    expect(section(r.stdout, 'pwd')).toEqual([`${work}/d`]);
    // i = 1..20, i % 7: 0 for 7 14; 1..6 for 1 8 15 / 2 9 16 / 3 10 17 / 4 11 18 / 5 12 19 / 6 13 20.
    expect(section(r.stdout, 'counts').map((l) => l.trim())).toEqual([
      '3 item1', '3 item2', '3 item3', '3 item4', '3 item5', '3 item6', '2 item0', 'lines=20 item3=3',
    ]);
    expect(section(r.stdout, 'subshells')).toEqual([
      'in subshell x=inner pwd=/',
      `after x=outer pwd=${work}/d`,
      'nested=d-40',
      'A,B,C',
      `${work}/d/e/f`,
      `${work}/d`,
      'pipestatus=1 0',
    ]);
    expect(section(r.stdout, 'procsubst')).toEqual(['item0:2', 'item1:3', 'item2:3', 'sort -u = sort|uniq']);
    expect(section(r.stdout, 'files')).toEqual(['e', 'link', 'list', 'name with spaces', '120']);
    const env = section(r.stdout, 'env');
    expect(env).toContain('LC_ALL=C');
    expect(env).toContain('TZ=UTC');
    expect(env).toContain(`PWD=${work}/d`);
    expect(r.stdout.trimEnd().split('\n').pop()).toBe('trap EXIT status=3');
  });
});

describe('python3', () => {
  it('imports json, sqlite3 and subprocess and runs child processes', () => {
    const work = workDir();
    const program = `
import json, os, sqlite3, subprocess, sys
os.chdir(sys.argv[1])
db = sqlite3.connect('t.db')
db.execute('create table t (k text primary key, v integer)')
db.executemany('insert into t values (?, ?)', [('k%d' % i, i * i) for i in range(100)])
db.commit()
rows = db.execute('select k, v from t where v % 3 = 0 order by v desc limit 5').fetchall()
total = db.execute('select sum(v), count(*) from t').fetchone()
db.close()
print(json.dumps({'rows': rows, 'total': total}, sort_keys=True))
r = subprocess.run(['/bin/sh', '-c', 'echo "child $0 $1"; ls; exit 5', 'a', 'b'], capture_output=True, text=True)
print(json.dumps({'rc': r.returncode, 'out': r.stdout, 'err': r.stderr}))
r = subprocess.run([sys.executable, '-c', 'import sqlite3; print(sqlite3.connect("t.db").execute("select count(*), max(v) from t").fetchone())'],
                   capture_output=True, text=True, check=True)
print('grandchild', r.stdout.strip())
p = subprocess.Popen(['sort', '-r'], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
out, _ = p.communicate('b\\na\\nc\\n')
print(json.dumps({'sorted': out.split(), 'rc': p.returncode}))
print(json.loads('{"x": [1, 2.5, null, true]}'))
sys.exit(4)
`;
    const r = compare(['/usr/bin/python3', '-c', program, work], { between: stillEmpty(work) });
    expect(r.status).toBe(4);
    const total = Array.from({ length: 100 }, (_, i) => i * i).reduce((a, b) => a + b, 0);
    const rows = [99, 96, 93, 90, 87].map((i) => `["k${i}", ${i * i}]`).join(', ');
    expect(r.stdout.split('\n')).toEqual([
      `{"rows": [${rows}], "total": [${total}, 100]}`,
      '{"rc": 5, "out": "child a b\\nt.db\\n", "err": ""}',
      'grandchild (100, 9801)',
      '{"sorted": ["c", "b", "a"], "rc": 0}',
      "{'x': [1, 2.5, None, True]}",
      '',
    ]);
  });
});

describe('gcc', () => {
  it('compiles a hello-world C program in /tmp and runs it', () => {
    const work = workDir();
    const script = `
set -e
cd "$1"
cat > hello.c <<'END'
#include <stdio.h>
#include <stdlib.h>
int main(int argc, char **argv) {
  printf("hello, world\\n");
  for (int i = 1; i < argc; i++) printf("argv[%d]=%s\\n", i, argv[i]);
  printf("TZ=%s\\n", getenv("TZ"));
  return 7;
}
END
gcc -O2 -Wall -Werror -o hello hello.c
./hello one 'two words' || echo "status=$?"
sha256sum hello
size=$(stat -c %s hello); [ "$size" -gt 1000 ] && echo "binary is $size > 1000 bytes"
`;
    const r = compareBash(script, [work], { between: stillEmpty(work) });
    expect(r.status).toBe(0);
    const out = r.stdout.split('\n');
    expect(out.slice(0, 5)).toEqual(['hello, world', 'argv[1]=one', 'argv[2]=two words', 'TZ=UTC', 'status=7']);
    expect(out[5]).toMatch(/^[0-9a-f]{64} {2}hello$/); // and equal to the native build's (compare above)
    expect(out[6]).toMatch(/^binary is \d+ > 1000 bytes$/);
  });
});

describe('git', () => {
  it('init, add, commit in /tmp', () => {
    const work = workDir();
    const script = `
set -e
cd "$1"
git init -q -b main repo && cd repo
printf 'hello\\n' > README
mkdir -p src && printf 'int x;\\n' > src/x.c
printf '#!/bin/sh\\n' > run.sh && chmod +x run.sh
git add .
git -c user.name='T Tester' -c user.email=t@example.com commit -q -m 'first commit'
printf 'more\\n' >> README
git add README
git -c user.name='T Tester' -c user.email=t@example.com commit -q -m 'second commit'
echo '== log';    git log --format=%s
echo '== tree';   git cat-file -p 'HEAD^{tree}'
echo '== head';   git rev-parse HEAD
echo '== commit'; git cat-file -p HEAD
echo '== status'; git status --porcelain; git ls-files -s
echo '== fsck';   git fsck --strict && echo fsck ok
`;
    const r = compareBash(script, [work], { between: stillEmpty(work) });
    expect(r.status).toBe(0);
    expect(section(r.stdout, 'log')).toEqual(['second commit', 'first commit']);
    const entry = Buffer.concat([Buffer.from('100644 x.c\0'), Buffer.from(gitBlob('int x;\n'), 'hex')]);
    const srcTree = createHash('sha1').update(Buffer.concat([Buffer.from(`tree ${entry.length}\0`), entry])).digest('hex');
    expect(section(r.stdout, 'tree')).toEqual([
      `100644 blob ${gitBlob('hello\nmore\n')}\tREADME`,
      `100755 blob ${gitBlob('#!/bin/sh\n')}\trun.sh`,
      `040000 tree ${srcTree}\tsrc`,
    ]);
    expect(section(r.stdout, 'head')[0]).toMatch(/^[0-9a-f]{40}$/);
    const commit = section(r.stdout, 'commit');
    expect(commit).toContain(`author T Tester <t@example.com> ${FIXED_MTIME} +0000`);
    expect(commit).toContain(`committer T Tester <t@example.com> ${FIXED_MTIME} +0000`);
    expect(section(r.stdout, 'status')).toEqual([
      `100644 ${gitBlob('hello\nmore\n')} 0\tREADME`,
      `100755 ${gitBlob('#!/bin/sh\n')} 0\trun.sh`,
      `100644 ${gitBlob('int x;\n')} 0\tsrc/x.c`,
    ]);
    expect(section(r.stdout, 'fsck')).toEqual(['fsck ok']);
  });
});

/**
 * The same kinds of checks inside the Debian bookworm minbase rootfs. The
 * native side runs the rootfs's own binaries under chroot(1) (see inChroot),
 * not the host's, so both sides run the same programs and libraries.
 */
describe('Debian minbase rootfs (--rootfs vs chroot)', () => {
  it('ls -la of /usr/bin, /etc/apt and /', () => {
    const entries = readdirSync(join(DEBIAN_ROOTFS, 'usr/bin')).length;
    const bin = compare(['ls', '-la', '/usr/bin'], { rootfs: true }).stdout.split('\n').filter(Boolean);
    expect(bin).toHaveLength(entries + 3);
    const bashSize = lstatSync(join(DEBIAN_ROOTFS, 'usr/bin/bash')).size;
    expect(bin).toContainEqual(expect.stringMatching(new RegExp(`^-rwxr-xr-x +1 root root +${bashSize} .* bash$`)));
    const apt = compare(['ls', '-laR', '/etc/apt'], { rootfs: true }).stdout;
    expect(apt).toMatch(/^\/etc\/apt:\ntotal \d+\n/);
    expect(apt).toContain(' sources.list\n');
    const root = compareBash(LS_ROOT, [], { rootfs: true }).stdout.split('\n').filter(Boolean);
    const kept = readdirSync(DEBIAN_ROOTFS).filter((n) => !LS_ROOT_EXCLUDED.has(n));
    expect(root).toHaveLength(kept.length);
    expect(root).toContainEqual(expect.stringMatching(/^lrwxrwxrwx 1 root root 7 .* bin -> usr\/bin$/));
  });

  it('bash script with pipes, subshells and mkdir d && cd d', () => {
    const script = `
set -uo pipefail
umask 022
mkdir -p /tmp/w && cd /tmp/w
mkdir d && cd d && pwd
for i in $(seq 1 20); do echo "item$((i % 7))" >> list; done
sort list | uniq -c | sort -k1,1nr -k2,2 | head -2
x=outer; (x=inner; cd /; echo "sub x=$x pwd=$PWD"); echo "x=$x pwd=$PWD"
echo "nested=$(echo "$(basename "$(pwd)")-$(( $(wc -l < list) * 2 ))")"
diff <(sort -u list) <(sort list | uniq) && echo "sort -u = sort|uniq"
cut -d. -f1 /etc/debian_version
exit 9
`;
    const r = compareBash(script, [], { rootfs: true });
    expect(r.status).toBe(9);
    expect(r.stdout.split('\n').map((l) => l.trim())).toEqual([
      '/tmp/w/d', '3 item1', '3 item2', 'sub x=inner pwd=/', 'x=outer pwd=/tmp/w/d', 'nested=d-40', 'sort -u = sort|uniq', '12', '',
    ]);
  });

  it('tar cz | tar xz round-trips a tree, and find lists it', () => {
    const script = `${MAKE_TREE}
${LIST_TREE}
set -eo pipefail
cd /tmp
mkdir x
tar -C src -czf - . | tar -C x -xzf -
list copy x
echo '== diff'
diff -r src x && echo identical
echo '== archive'
tar -C src --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - . | gzip -n -9 | sha256sum
echo '== find'
find x -type f -size +1k | sort
find x -type l -printf '%p -> %l\\n'
find x -empty | sort
echo '== etc-links'
find /etc -type l | sort
`;
    const r = compareBash(script, ['/tmp/src'], { rootfs: true });
    expect(r.status).toBe(0);
    expect(section(r.stdout, 'copy')).toEqual([...TREE_FILES, ...TREE_DIRS, ...TREE_MD5]);
    expect(section(r.stdout, 'diff')).toEqual(['identical']);
    expect(section(r.stdout, 'archive')[0]).toMatch(/^[0-9a-f]{64} {2}-$/);
    expect(section(r.stdout, 'find')).toEqual(['x/a/b/numbers', 'x/c/big', 'x/c/link -> ../a/one.txt', 'x/c/zero-length', 'x/empty']);
    const links: string[] = [];
    const walk = (d: string): void => {
      for (const e of readdirSync(join(DEBIAN_ROOTFS, d), { withFileTypes: true })) {
        if (e.isSymbolicLink()) links.push(`${d}/${e.name}`);
        else if (e.isDirectory()) walk(`${d}/${e.name}`);
      }
    };
    walk('/etc');
    expect(links.length).toBeGreaterThan(5);
    expect(section(r.stdout, 'etc-links')).toEqual(links.sort());
  });

  it('sort of a generated file (on stdin)', () => {
    const input = sortInput();
    const script = `cat > /tmp/data\n${SORT_SCRIPT}`;
    const r = compareBash(script, ['/tmp/data'], { rootfs: true, input: input.map((l) => l + '\n').join('') });
    expect(r.status).toBe(0);
    checkSorts(r.stdout, expectedSorts(input), ['plain', 'unique', 'reverse', 'keyed', 'spill']);
  });
});
