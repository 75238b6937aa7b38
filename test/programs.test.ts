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
 * binaries under chroot(1), in a private mount namespace with a fresh tmpfs on
 * ROOTFS/tmp so that native writes never touch the cached rootfs (the sandbox
 * likewise sees ROOTFS/tmp, empty, under a throw-away writable layer).
 */
function inChroot(cmd: string[]): string[] {
  return [
    'unshare',
    '--mount',
    '--propagation',
    'private',
    '--',
    '/bin/sh',
    '-c',
    'r=$1; shift; mount -t tmpfs -o mode=1777 tmpfs "$r/tmp" && exec chroot "$r" "$@"',
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
const TREE_MD5 = [
  `${md5(seq5000)}  ./a/b/numbers`,
  `${md5('alpha\n')}  ./a/hard`,
  `${md5('alpha\n')}  ./a/one.txt`,
  `${md5('z'.repeat(100000))}  ./c/big`,
  `${md5('#!/bin/sh\necho run\n')}  ./c/run.sh`,
  `${md5('')}  ./c/zero-length`,
];
/**
 * `list NAME DIR [nolinktime]` prints `== NAME` and the listing above of DIR
 * (no inode numbers, block counts or directory sizes; with nolinktime, no
 * symlink mtimes: busybox cp and tar do not set them).
 */
const LIST_TREE = `
list() {
  echo "== $1"
  if [ "$3" = nolinktime ]; then t='%T@'; l='-'; else t='%T@'; l='%T@'; fi
  ( cd "$2" &&
    { find . ! -type d ! -type l -printf "%p %y %m %s %n $t %l\\n"; find . -type l -printf "%p %y %m %s %n $l %l\\n"; } | sort &&
    find . -type d -printf '%p %m %T@\\n' | sort &&
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
    // busybox cp -a: same contents, modes, mtimes and symlink (hard links aside).
    expect(section(r.stdout, 'busybox')).toEqual([...TREE_FILES_NO_LINK_TIME, ...TREE_DIRS, ...TREE_MD5]);
    expect(section(r.stdout, 'diff')).toEqual(['gnu identical', 'busybox identical']);
  });
});
