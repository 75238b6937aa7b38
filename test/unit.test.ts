/**
 * Unit tests of pure logic: the syscall table, the generated BPF program
 * (run through a classic-BPF interpreter), /proc status parsing, CLI
 * parsing helpers, strace formatting.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  AUDIT_ARCH_X86_64,
  buildFilter,
  buildFilterInsns,
  runFilter,
  SECCOMP_RET_ALLOW,
  SECCOMP_RET_KILL_PROCESS,
  SECCOMP_RET_USER_NOTIF,
} from '../sentry/platform/bpf.js';
import { entryNamed, MAX_NR, TABLE, tableFor, type SandboxOption } from '../sentry/syscalls/table.js';
import { parseStatus } from '../sentry/kernel/task.js';
import { formatCall } from '../sentry/strace/format.js';
import { parseVolume } from '../src/cli/do.js';
import { syscallMarkdown, syscallRows } from '../src/cli/help.js';
import { ROOT } from './helpers.js';

describe('syscall table', () => {
  it('names every number as Debian\u2019s kernel headers do (0\u2013450)', () => {
    const hdr = readFileSync('/usr/include/x86_64-linux-gnu/asm/unistd_64.h', 'utf8');
    const fromHeader = [...hdr.matchAll(/#define __NR_(\w+) (\d+)/g)].map((m) => [Number(m[2]), m[1]] as const);
    expect(fromHeader.length).toBeGreaterThan(350);
    for (const [nr, name] of fromHeader) expect(TABLE.find((e) => e.nr === nr)?.name, `nr ${nr}`).toBe(name);
  });

  it('covers the kernel\u2019s numbers up to 469 and nothing else', () => {
    expect(MAX_NR).toBe(469);
    expect(TABLE[TABLE.length - 1]!.nr).toBe(469);
    expect(TABLE.find((e) => e.nr > 335 && e.nr < 424)).toBeUndefined();
    expect(entryNamed('fchmodat2')?.nr).toBe(452);
    expect(entryNamed('file_setattr')?.nr).toBe(469);
  });

  it('gives every trapped entry a handler and every denied one an errno', () => {
    for (const e of TABLE) {
      if (e.action === 'trap') expect(e.handler, e.name).toBeTypeOf('function');
      if (e.action === 'deny') expect(e.errno, e.name).toBeGreaterThan(0);
      expect(e.note.length, e.name).toBeGreaterThan(0);
    }
  });

  it('denies what the sandbox must never reach', () => {
    for (const n of ['ptrace', 'bpf', 'perf_event_open', 'kexec_load', 'init_module', 'keyctl', 'io_uring_setup',
      'userfaultfd', 'mount', 'umount2', 'pivot_root', 'chroot', 'setns', 'fsopen', 'open_tree',
      'mount_setattr', 'swapon', 'reboot', 'settimeofday', 'clock_settime', 'adjtimex', 'acct', 'quotactl',
      'open_by_handle_at', 'name_to_handle_at', 'iopl', 'ioperm', 'lookup_dcookie', 'nfsservctl',
      'process_vm_readv', 'process_vm_writev', 'open_tree_attr', 'move_mount', 'fsconfig', 'fsmount', 'fspick',
      'kexec_file_load', 'finit_module', 'delete_module', 'add_key', 'request_key', 'io_uring_enter',
      'io_uring_register', 'swapoff'])
      expect(entryNamed(n)?.action, n).toBe('deny');
    expect(entryNamed('clone3')?.errno).toBe(38);
    for (const n of ['clone', 'unshare']) expect(entryNamed(n)?.rules?.[0], n).toMatchObject({ op: 'mask', action: 'deny', errno: 1 });
  });

  it('docs/syscalls.md is the table, regenerated (npm run docs)', () => {
    expect(readFileSync(`${ROOT}/docs/syscalls.md`, 'utf8')).toBe(syscallMarkdown());
  });

  it('`help syscalls` rows come from the table', () => {
    const rows = syscallRows();
    expect(rows).toHaveLength(TABLE.length);
    expect(rows.find((r) => r.name === 'ptrace')).toMatchObject({ action: 'deny', errno: 'EPERM' });
  });
});

describe('generated seccomp filter', () => {
  const prog = buildFilterInsns();
  const run = (nr: number, args: bigint[] = [], arch = AUDIT_ARCH_X86_64) => runFilter(prog, nr, arch, args);

  it('kills another architecture and x32 numbers', () => {
    expect(run(39, [], 0x40000003 /* AUDIT_ARCH_I386 */)).toBe(SECCOMP_RET_KILL_PROCESS);
    expect(run(0x40000000 + 39)).toBe(SECCOMP_RET_KILL_PROCESS);
  });

  it('gives every table entry its action', () => {
    for (const e of TABLE) {
      const want =
        e.action === 'allow' ? SECCOMP_RET_ALLOW
        : e.action === 'kill' ? SECCOMP_RET_KILL_PROCESS
        : e.action === 'errno' ? (0x00050000 | e.errno!) >>> 0
        : SECCOMP_RET_USER_NOTIF;
      // 0x7f06 matches no argument rule of any entry (no O_DIRECTORY, CLONE_NEW*, TIOC*, prctl option...).
      expect(run(e.nr, [0x7f06n, 0x7f06n, 0x7f06n, 0x7f06n, 0x7f06n, 0x7f06n]).toString(16), e.name).toBe(want.toString(16));
    }
  });

  it('traps numbers not in the table (answered ENOSYS by the sentry)', () => {
    for (const nr of [336, 400, 423, 470, 1000, 0x3fffffff, 0xffffffff, 0x80000000]) expect(run(nr)).toBe(SECCOMP_RET_USER_NOTIF);
  });

  it('checks ioctl requests on the low 32 bits', () => {
    const ioctl = entryNamed('ioctl')!.nr;
    expect(run(ioctl, [0n, 0x5401n])).toBe(SECCOMP_RET_ALLOW); // TCGETS
    expect(run(ioctl, [0n, 0x5412n])).toBe(SECCOMP_RET_USER_NOTIF); // TIOCSTI
    expect(run(ioctl, [0n, 0xffffffff00005412n])).toBe(SECCOMP_RET_USER_NOTIF);
    expect(run(ioctl, [0n, 0x541cn])).toBe(SECCOMP_RET_USER_NOTIF); // TIOCLINUX
  });

  it('allows futimens (utimensat with a NULL path, all 64 bits) and traps every path form', () => {
    const nr = entryNamed('utimensat')!.nr;
    expect(run(nr, [3n, 0n, 0n, 0n])).toBe(SECCOMP_RET_ALLOW);
    expect(run(nr, [3n, 0x7ffd0000n, 0n, 0n])).toBe(SECCOMP_RET_USER_NOTIF);
    expect(run(nr, [3n, 0x100000000n, 0n, 0n])).toBe(SECCOMP_RET_USER_NOTIF); // low half 0, high half not
  });

  it('allows read-only directory opens (O_DIRECTORY, no write mode, O_CREAT, O_TRUNC or O_TMPFILE) and traps the rest', () => {
    const openat = entryNamed('openat')!.nr;
    const open = entryNamed('open')!.nr;
    const at = (flags: number) => run(openat, [1n, 1n, BigInt(flags), 0n]);
    expect(at(0o200000)).toBe(SECCOMP_RET_ALLOW); // O_RDONLY|O_DIRECTORY
    expect(at(0o200000 | 0o4000 | 0o2000000 | 0o400)).toBe(SECCOMP_RET_ALLOW); // fts: |O_NONBLOCK|O_CLOEXEC|O_NOCTTY
    expect(run(open, [1n, 0o200000n])).toBe(SECCOMP_RET_ALLOW);
    expect(at(0)).toBe(SECCOMP_RET_USER_NOTIF); // a plain read-only open
    for (const bad of [0o1, 0o2, 0o100, 0o1000, 0o20000000]) expect(at(0o200000 | bad), bad.toString(8)).toBe(SECCOMP_RET_USER_NOTIF);
    expect(at(0o20200000 | 0o2)).toBe(SECCOMP_RET_USER_NOTIF); // O_TMPFILE|O_RDWR
    expect(run(openat, [1n, 1n, 0xffffffff00000000n | 0o200001n, 0n])).toBe(SECCOMP_RET_USER_NOTIF);
  });

  it('honours a test-only allow override and fits the kernel limit', () => {
    const p2 = buildFilterInsns({ allowOverride: new Set(['openat']) });
    expect(runFilter(p2, 257, AUDIT_ARCH_X86_64)).toBe(SECCOMP_RET_ALLOW);
    expect(prog.length).toBeLessThan(4096);
    expect(buildFilter().length).toBe(prog.length * 8);
  });
});

describe('/proc/<tid>/status parsing', () => {
  it('reads ids, groups, capabilities and umask', () => {
    const t = parseStatus(
      4242,
      'Name:\tsh\nUmask:\t0027\nState:\tS\nTgid:\t4242\nNgid:\t0\nPid:\t4242\nPPid:\t1\nUid:\t1000\t1001\t1002\t1003\n' +
        'Gid:\t2000\t2001\t2002\t2003\nGroups:\t10 20 \nNStgid:\t4242\t7\nNSpid:\t4243\t8\nCapEff:\t00000000a80425fb\n',
    );
    expect(t).toMatchObject({ tid: 4242, spid: 7, stid: 8 });
    expect(t.creds).toMatchObject({ fsuid: 1003, fsgid: 2003, groups: [10, 20], umask: 0o027, capEff: [0xa80425fb, 0] });
  });
});

describe('CLI helpers', () => {
  it('parses -v HOST:GUEST[:OPTIONS] into an OCI bind mount', () => {
    expect(parseVolume('/a:/b')).toEqual({ destination: '/b', type: 'bind', source: '/a', options: ['rbind', 'nosuid', 'nodev'] });
    expect(parseVolume('/a:/b:ro,noexec').options).toEqual(['rbind', 'nosuid', 'nodev', 'ro', 'noexec']);
    expect(() => parseVolume('/a')).toThrow(/HOST:GUEST/);
    expect(() => parseVolume('/a:rel')).toThrow(/absolute/);
  });
});

describe('strace formatting', () => {
  it('decodes paths, flags, modes and results', () => {
    const line = formatCall(3, 'openat', [BigInt.asUintN(64, -100n), 0x1000n, 0o2000101n, 0o644n], new Map([[0x1000n, '/etc/x']]), '3');
    expect(line).toBe('[pid 3] openat(AT_FDCWD, "/etc/x", O_WRONLY|O_CREAT|O_CLOEXEC, 0644) = 3');
    expect(formatCall(1, 'unlink', [0x10n], new Map([[0x10n, 'a\u009b"\n\\\u00e6']]), '0')).toBe('[pid 1] unlink("a\\233\\"\\n\\\\\\346") = 0');
    expect(formatCall(1, 'clone', [0x20000000n | 17n], new Map(), '? <continued>')).toBe(
      '[pid 1] clone(CLONE_NEWPID|SIGCHLD, NULL, NULL, NULL, 0) = ? <continued>',
    );
  });

  it('decodes signals, wait options, pids and unshare flags', () => {
    expect(formatCall(2, 'kill', [BigInt.asUintN(64, -7n), 15n], new Map(), '0')).toBe('[pid 2] kill(-7, SIGTERM) = 0');
    expect(formatCall(2, 'tgkill', [5n, 6n, 34n], new Map(), '0')).toBe('[pid 2] tgkill(5, 6, SIGRT_2) = 0');
    expect(formatCall(2, 'wait4', [0xffffffffn, 0x10n, 3n, 0n], new Map(), '0')).toBe('[pid 2] wait4(-1, 0x10, WNOHANG|WUNTRACED, NULL) = 0');
    expect(formatCall(2, 'waitid', [3n, 4n, 0x10n, 4n, 0n], new Map(), '0')).toBe('[pid 2] waitid(P_PIDFD, 4, 0x10, WEXITED, NULL) = 0');
    expect(formatCall(2, 'unshare', [0x10000080n], new Map(), '0')).toBe('[pid 2] unshare(CLONE_NEWTIME|CLONE_NEWUSER) = 0');
    expect(formatCall(2, 'setresuid', [0xffffffffn, 1000n, 1000n], new Map(), '0')).toBe('[pid 2] setresuid(-1, 1000, 1000) = 0');
    expect(formatCall(2, 'clone', [0x50f00n | 0n], new Map(), '0')).toBe(
      '[pid 2] clone(CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, NULL, NULL, NULL, 0) = 0',
    );
  });
});

describe('process rules in the filter', () => {
  const at = (settings: SandboxOption[]) => buildFilterInsns({ settings: new Set(settings) });
  const nr = (n: string) => entryNamed(n)!.nr;
  const base = at([]);
  const nested = at(['nestedNamespaces']);
  const go = (prog: ReturnType<typeof at>, name: string, args: bigint[]) => runFilter(prog, nr(name), AUDIT_ARCH_X86_64, args);

  it('refuses CLONE_NEW* on the clone and unshare flag registers, unless nested namespaces are granted', () => {
    const thread = 0x3d0f00n;
    expect(go(base, 'clone', [thread])).toBe(SECCOMP_RET_ALLOW); // threads and processes: the kernel's
    expect(go(at(['strace']), 'clone', [thread])).toBe(SECCOMP_RET_USER_NOTIF); // shown with --strace
    expect(go(base, 'fork', [])).toBe(SECCOMP_RET_ALLOW);
    expect(go(base, 'unshare', [0x400n])).toBe(SECCOMP_RET_ALLOW); // CLONE_FILES
    for (const f of [0x20000n, 0x2000000n, 0x4000000n, 0x8000000n, 0x10000000n, 0x20000000n, 0x40000000n]) {
      expect(go(base, 'clone', [f | 17n])).toBe(SECCOMP_RET_USER_NOTIF); // refused (EPERM) by the sentry
      expect(go(nested, 'clone', [f | 17n])).toBe(f === 0x10000000n ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW);
      expect(go(base, 'unshare', [f]), f.toString(16)).toBe(SECCOMP_RET_USER_NOTIF);
      // Granted, every namespace but a user namespace (the sentry must never lend a nested root's capabilities).
      expect(go(nested, 'unshare', [f]), f.toString(16)).toBe(f === 0x10000000n ? SECCOMP_RET_USER_NOTIF : SECCOMP_RET_ALLOW);
    }
    expect(go(base, 'unshare', [0x80n])).toBe(SECCOMP_RET_USER_NOTIF); // CLONE_NEWTIME
    expect(go(base, 'clone', [0x80n])).toBe(SECCOMP_RET_ALLOW); // exit signal 128: the kernel's EINVAL
    const clone = tableFor(new Set()).find((e) => e.name === 'clone')!;
    expect(clone.rules?.[0]).toMatchObject({ action: 'deny', errno: 1 });
    expect(tableFor(new Set(['nestedNamespaces'])).find((e) => e.name === 'clone')!.rules).toMatchObject([{ value: 0x10000000n, errno: 1 }]);
    expect(tableFor(new Set(['nestedNamespaces'])).find((e) => e.name === 'setns')!.action).toBe('deny');
  });

  it('vets prctl options and personality personas; a seccomp filter with its own listener is refused', () => {
    expect(go(base, 'prctl', [15n])).toBe(SECCOMP_RET_ALLOW); // PR_SET_NAME
    expect(go(base, 'prctl', [22n])).toBe(SECCOMP_RET_ALLOW); // PR_SET_SECCOMP
    expect(go(base, 'prctl', [35n])).toBe(SECCOMP_RET_USER_NOTIF); // PR_SET_MM: EPERM
    expect(go(base, 'prctl', [0x7fffn])).toBe(SECCOMP_RET_USER_NOTIF); // unknown: EINVAL
    expect(go(base, 'personality', [0n])).toBe(SECCOMP_RET_ALLOW);
    expect(go(base, 'personality', [0x40000n])).toBe(SECCOMP_RET_ALLOW);
    expect(go(base, 'personality', [0xffffffffn])).toBe(SECCOMP_RET_ALLOW);
    expect(go(base, 'personality', [0x8n])).toBe(SECCOMP_RET_USER_NOTIF); // PER_LINUX32
    expect(go(base, 'seccomp', [1n, 0n, 0x1000n])).toBe(SECCOMP_RET_ALLOW);
    expect(go(base, 'seccomp', [1n, 8n, 0x1000n])).toBe(SECCOMP_RET_USER_NOTIF);
    expect(entryNamed('seccomp')!.rules![0]!.errno).toBe(16); // EBUSY
  });

  it('--strace traps the signal and wait calls to show them; without it they run in the kernel', () => {
    const traced = at(['strace']);
    for (const n of ['kill', 'tgkill', 'wait4', 'waitid', 'pidfd_send_signal']) {
      expect(go(base, n, [1n, 0n]), n).toBe(SECCOMP_RET_ALLOW);
      expect(go(traced, n, [1n, 0n]), n).toBe(SECCOMP_RET_USER_NOTIF);
    }
  });
});
