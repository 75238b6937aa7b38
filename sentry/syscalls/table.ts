/**
 * The syscall table: the single source of truth for what a sandboxed
 * workload may do. The seccomp filter (sentry/platform/bpf.ts), `tvisor help
 * syscalls`, the README's table and the per-syscall tests are all generated
 * from it. Numbers are x86_64 (arch/x86/entry/syscalls/syscall_64.tbl) up to
 * 469, carried here because Debian 12's headers stop at 450.
 *
 * A number not in the table gets ENOSYS from the filter; nothing is allowed
 * by default. x32 numbers (bit 30 set) and any other architecture kill the
 * process.
 */
import { constants } from 'node:os';
import { __O_TMPFILE, O_CREAT, O_DIRECTORY, O_RDWR, O_TRUNC, O_WRONLY } from '../abi.js';
import { fileHandlers } from './file.js';
import { infoHandlers } from './info.js';
import { processHandlers } from './process.js';
import { identityHandlers } from './identity.js';
import type { Handler } from './types.js';

const E = constants.errno;

/** How the filter treats a call. */
export type Action =
  /** The host kernel runs it at native speed. */
  | 'allow'
  /** User-notify: the sentry's handler emulates it or continues it after a check. */
  | 'trap'
  /** Trapped, logged, and answered with `errno` (errno(3) name in `errnoName`). */
  | 'deny'
  /** The filter kills the process (SECCOMP_RET_KILL_PROCESS). */
  | 'kill'
  /**
   * The filter itself answers with `errno` (SECCOMP_RET_ERRNO), not logged: for a call libc tries before its
   * fallback on every use (clone3 in every pthread_create), where a trap would cost a round trip each time.
   */
  | 'errno';

/** gVisor-style support level, shown by `tvisor help syscalls`. */
export type Support = 'full' | 'passthrough' | 'partial' | 'denied' | 'unimplemented';

/**
 * An argument rule evaluated in BPF before the entry's action: when
 * `args[index] == value` (`eq`: the low 32 bits, as the kernel truncates int
 * arguments), `(args[index] & value) != 0` (`mask`: low 32 bits) or
 * `args[index] == 0` on all 64 bits (`zero`: a NULL pointer; `value` unused),
 * or every bit of `value` set and every bit of `clear` clear (`flags`: low
 * 32 bits, e.g. open(2) flags), the call gets `action` instead.
 */
export interface ArgRule {
  index: number;
  op: 'eq' | 'mask' | 'zero' | 'flags';
  value: bigint;
  /** For `flags`: the bits that must be clear. */
  clear?: bigint;
  action: Action;
  errno?: number;
  note: string;
}

export interface SyscallEntry {
  nr: number;
  name: string;
  action: Action;
  /** For `deny`: the errno returned (positive). */
  errno?: number;
  support: Support;
  note: string;
  /** For `trap`: the emulation. */
  handler?: Handler;
  rules?: ArgRule[];
  /**
   * How the entry changes in a sandbox that has a setting on: the fields given replace the entry's own (e.g.
   * `nestedNamespaces: { rules: [] }` drops the namespace-flag rules). See `tableFor`.
   */
  when?: Partial<Record<SandboxOption, Variant>>;
}

/**
 * Per-sandbox settings that change how calls are treated, so one table still describes every sandbox:
 * - `nestedNamespaces`: `tvisor do --nested-namespaces`: clone/unshare may create namespaces other than user
 *   namespaces, for callers with the capability to (CAP_SYS_ADMIN); the mount calls and setns stay denied, so a
 *   nested mount namespace is a fixed copy;
 * - `strace`: `--strace` traps (and continues) the signal and wait calls too, so they are shown;
 * - `kernelRelease`: `--kernel-release` is set: uname(2) is answered by the sentry;
 * - `sharedUts`: the sandbox has no UTS namespace of its own (none, or one joined by path): sethostname and
 *   setdomainname are denied.
 */
export type SandboxOption = 'nestedNamespaces' | 'strace' | 'kernelRelease' | 'sharedUts';
export const SANDBOX_OPTIONS: readonly SandboxOption[] = ['nestedNamespaces', 'strace', 'kernelRelease', 'sharedUts'];

/** The fields a sandbox setting may change. */
export type Variant = Partial<Pick<SyscallEntry, 'action' | 'errno' | 'support' | 'note' | 'handler' | 'rules'>>;

/** Numbers → names of every x86_64 syscall (0–335 and 424–469). */
const NAMES: Record<number, string> = {};
`read write open close stat fstat lstat poll lseek mmap mprotect munmap brk rt_sigaction rt_sigprocmask
rt_sigreturn ioctl pread64 pwrite64 readv writev access pipe select sched_yield mremap msync mincore madvise
shmget shmat shmctl dup dup2 pause nanosleep getitimer alarm setitimer getpid sendfile socket connect accept
sendto recvfrom sendmsg recvmsg shutdown bind listen getsockname getpeername socketpair setsockopt getsockopt
clone fork vfork execve exit wait4 kill uname semget semop semctl shmdt msgget msgsnd msgrcv msgctl fcntl flock
fsync fdatasync truncate ftruncate getdents getcwd chdir fchdir rename mkdir rmdir creat link unlink symlink
readlink chmod fchmod chown fchown lchown umask gettimeofday getrlimit getrusage sysinfo times ptrace getuid
syslog getgid setuid setgid geteuid getegid setpgid getppid getpgrp setsid setreuid setregid getgroups
setgroups setresuid getresuid setresgid getresgid getpgid setfsuid setfsgid getsid capget capset rt_sigpending
rt_sigtimedwait rt_sigqueueinfo rt_sigsuspend sigaltstack utime mknod uselib personality ustat statfs fstatfs
sysfs getpriority setpriority sched_setparam sched_getparam sched_setscheduler sched_getscheduler
sched_get_priority_max sched_get_priority_min sched_rr_get_interval mlock munlock mlockall munlockall vhangup
modify_ldt pivot_root _sysctl prctl arch_prctl adjtimex setrlimit chroot sync acct settimeofday mount umount2
swapon swapoff reboot sethostname setdomainname iopl ioperm create_module init_module delete_module
get_kernel_syms query_module quotactl nfsservctl getpmsg putpmsg afs_syscall tuxcall security gettid readahead
setxattr lsetxattr fsetxattr getxattr lgetxattr fgetxattr listxattr llistxattr flistxattr removexattr
lremovexattr fremovexattr tkill time futex sched_setaffinity sched_getaffinity set_thread_area io_setup
io_destroy io_getevents io_submit io_cancel get_thread_area lookup_dcookie epoll_create epoll_ctl_old
epoll_wait_old remap_file_pages getdents64 set_tid_address restart_syscall semtimedop fadvise64 timer_create
timer_settime timer_gettime timer_getoverrun timer_delete clock_settime clock_gettime clock_getres
clock_nanosleep exit_group epoll_wait epoll_ctl tgkill utimes vserver mbind set_mempolicy get_mempolicy mq_open
mq_unlink mq_timedsend mq_timedreceive mq_notify mq_getsetattr kexec_load waitid add_key request_key keyctl
ioprio_set ioprio_get inotify_init inotify_add_watch inotify_rm_watch migrate_pages openat mkdirat mknodat
fchownat futimesat newfstatat unlinkat renameat linkat symlinkat readlinkat fchmodat faccessat pselect6 ppoll
unshare set_robust_list get_robust_list splice tee sync_file_range vmsplice move_pages utimensat epoll_pwait
signalfd timerfd_create eventfd fallocate timerfd_settime timerfd_gettime accept4 signalfd4 eventfd2
epoll_create1 dup3 pipe2 inotify_init1 preadv pwritev rt_tgsigqueueinfo perf_event_open recvmmsg fanotify_init
fanotify_mark prlimit64 name_to_handle_at open_by_handle_at clock_adjtime syncfs sendmmsg setns getcpu
process_vm_readv process_vm_writev kcmp finit_module sched_setattr sched_getattr renameat2 seccomp getrandom
memfd_create kexec_file_load bpf execveat userfaultfd membarrier mlock2 copy_file_range preadv2 pwritev2
pkey_mprotect pkey_alloc pkey_free statx io_pgetevents rseq uretprobe`
  .split(/\s+/)
  .forEach((n, i) => (NAMES[i] = n));
`pidfd_send_signal io_uring_setup io_uring_enter io_uring_register open_tree move_mount fsopen fsconfig fsmount
fspick pidfd_open clone3 close_range openat2 pidfd_getfd faccessat2 process_madvise epoll_pwait2 mount_setattr
quotactl_fd landlock_create_ruleset landlock_add_rule landlock_restrict_self memfd_secret process_mrelease
futex_waitv set_mempolicy_home_node cachestat fchmodat2 map_shadow_stack futex_wake futex_wait futex_requeue
statmount listmount lsm_get_self_attr lsm_set_self_attr lsm_list_modules mseal setxattrat getxattrat
listxattrat removexattrat open_tree_attr file_getattr file_setattr`
  .split(/\s+/)
  .forEach((n, i) => (NAMES[424 + i] = n));

/** The highest syscall number the table knows (the running kernel's, 6.18). */
export const MAX_NR = 469;

type Spec = Omit<SyscallEntry, 'nr' | 'name'>;
const allow = (note: string): Spec => ({ action: 'allow', support: 'passthrough', note });
const trap = (handler: Handler, note: string, support: Support = 'full'): Spec => ({
  action: 'trap',
  support,
  note,
  handler,
});
const deny = (errno: number, note: string): Spec => ({ action: 'deny', errno, support: 'denied', note });
const gone = (note: string): Spec => ({ action: 'deny', errno: E.ENOSYS, support: 'unimplemented', note });

/** Allows open/openat of a directory for reading: O_DIRECTORY set; no write mode, O_CREAT, O_TRUNC or O_TMPFILE. */
const readDirRule = (index: number): ArgRule => ({
  index,
  op: 'flags',
  value: BigInt(O_DIRECTORY),
  clear: BigInt(O_WRONLY | O_RDWR | O_CREAT | O_TRUNC | __O_TMPFILE),
  action: 'allow',
  note: 'O_DIRECTORY read-only opens, by the kernel in the sandbox mount namespace',
});

/** The `strace` variant of an allowed call: trapped, shown and continued. */
const TRACED: Variant = { action: 'trap', handler: processHandlers.observe, note: 'traced (--strace): trapped, shown and continued' };

const group = (names: string, spec: Spec): Record<string, Spec> =>
  Object.fromEntries(names.trim().split(/\s+/).map((n) => [n, spec]));

const f = fileHandlers;
const p = processHandlers;

/** TIOCSTI and TIOCLINUX: typing into / controlling the user's terminal. */
const TIOCSTI = 0x5412n;
const TIOCLINUX = 0x541cn;
/** TIOCSETD (line discipline: can break the terminal, or autoload host ldisc modules), TIOCCONS, TIOCVHANGUP. */
const TIOCSETD = 0x5423n;
const TIOCCONS = 0x541dn;
const TIOCVHANGUP = 0x5437n;
/** TIOCEXCL: exclusive mode outlives the sandbox and locks the user out of their own terminal. */
const TIOCEXCL = 0x540cn;
/** prctl(PR_SET_MM): rewriting the caller's memory map descriptors. */
const PR_SET_MM = 35n;

/**
 * prctl(2) options a sandboxed process may use, each acting on the caller itself (or, for PR_CAPBSET_DROP,
 * PR_CAP_AMBIENT and PR_SET_SECUREBITS, only narrowing what the caller holds). Everything else gets EINVAL,
 * as an unknown option does; PR_SET_MM gets EPERM.
 */
const PRCTL_ALLOWED: [number, string][] = [
  [1, 'PR_SET_PDEATHSIG'], [2, 'PR_GET_PDEATHSIG'], [3, 'PR_GET_DUMPABLE'], [4, 'PR_SET_DUMPABLE'],
  [7, 'PR_GET_KEEPCAPS'], [8, 'PR_SET_KEEPCAPS'], [13, 'PR_GET_TIMING'], [15, 'PR_SET_NAME'],
  [16, 'PR_GET_NAME'], [19, 'PR_GET_ENDIAN'], [21, 'PR_GET_SECCOMP'],
  [22, 'PR_SET_SECCOMP (adds a filter below tvisor\u2019s)'], [23, 'PR_CAPBSET_READ'], [24, 'PR_CAPBSET_DROP'],
  [25, 'PR_GET_TSC'], [27, 'PR_GET_SECUREBITS'], [28, 'PR_SET_SECUREBITS'], [29, 'PR_SET_TIMERSLACK'],
  [30, 'PR_GET_TIMERSLACK'], [31, 'PR_TASK_PERF_EVENTS_DISABLE'], [32, 'PR_TASK_PERF_EVENTS_ENABLE'],
  [33, 'PR_MCE_KILL'], [34, 'PR_MCE_KILL_GET'], [36, 'PR_SET_CHILD_SUBREAPER'], [37, 'PR_GET_CHILD_SUBREAPER'],
  [38, 'PR_SET_NO_NEW_PRIVS'], [39, 'PR_GET_NO_NEW_PRIVS'], [40, 'PR_GET_TID_ADDRESS'],
  [41, 'PR_SET_THP_DISABLE'], [42, 'PR_GET_THP_DISABLE'], [47, 'PR_CAP_AMBIENT'],
  [52, 'PR_GET_SPECULATION_CTRL'], [53, 'PR_SET_SPECULATION_CTRL'], [65, 'PR_SET_MDWE'], [66, 'PR_GET_MDWE'],
  [0x41555856, 'PR_GET_AUXV'], [0x53564d41, 'PR_SET_VMA (names anonymous mappings)'],
  [0x59616d61, 'PR_SET_PTRACER (Yama; ptrace is denied anyway)'],
];

/** personality(2) personas allowed: PER_LINUX, PER_LINUX | ADDR_NO_RANDOMIZE, and the query 0xffffffff. */
const PERSONALITY_ALLOWED: [bigint, string][] = [
  [0n, 'PER_LINUX'],
  [0x0040000n, 'PER_LINUX|ADDR_NO_RANDOMIZE'],
  [0xffffffffn, 'query (0xffffffff)'],
];

/**
 * CLONE_NEWNS | NEWCGROUP | NEWUTS | NEWIPC | NEWUSER | NEWPID | NEWNET (clone(2)). CLONE_NEWTIME (0x80) is
 * only a namespace flag for unshare(2) and clone3(2): in clone() the low byte is the exit signal.
 */
const CLONE_NS_FLAGS = 0x00020000n | 0x02000000n | 0x04000000n | 0x08000000n | 0x10000000n | 0x20000000n | 0x40000000n;
const CLONE_NEWTIME = 0x80n;
/**
 * CLONE_NEWUSER stays refused with --nested-namespaces: in a user namespace of its own a task holds every
 * capability, and the sentry, which acts with the caller's capabilities in the initial namespace, must never
 * lend them.
 */
const NEWUSER_RULE: ArgRule = { index: 0, op: 'mask', value: 0x10000000n, action: 'deny', errno: E.EPERM, note: 'CLONE_NEWUSER (user namespaces)' };
/** seccomp(2) SECCOMP_FILTER_FLAG_NEW_LISTENER (linux/seccomp.h). */
const SECCOMP_FILTER_FLAG_NEW_LISTENER = 8n;

const SPECS: Record<string, Spec> = {
  // --- Memory, time, signals, scheduling: the host kernel, at native speed.
  ...group(
    `mmap mprotect munmap brk mremap msync mincore madvise mlock munlock mlockall munlockall mlock2
     pkey_mprotect pkey_alloc pkey_free remap_file_pages membarrier mseal map_shadow_stack cachestat
     mbind set_mempolicy get_mempolicy set_mempolicy_home_node`,
    allow('memory of the caller only'),
  ),
  ...group(
    `futex futex_waitv futex_wake futex_wait futex_requeue set_robust_list get_robust_list set_tid_address
     rseq arch_prctl set_thread_area get_thread_area restart_syscall`,
    allow('thread state of the caller only'),
  ),
  ...group(
    `rt_sigaction rt_sigprocmask rt_sigreturn rt_sigpending rt_sigtimedwait rt_sigsuspend sigaltstack pause
     signalfd signalfd4`,
    allow('signal state of the caller'),
  ),
  ...group(
    `kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal pidfd_open waitid wait4`,
    {
      ...allow('the pid namespace makes host pids unnameable; a pidfd from outside is refused by the kernel (EINVAL)'),
      when: { strace: TRACED },
    },
  ),
  ...group(
    `nanosleep clock_nanosleep clock_gettime clock_getres gettimeofday time times getitimer setitimer alarm
     timer_create timer_settime timer_gettime timer_getoverrun timer_delete timerfd_create timerfd_settime
     timerfd_gettime`,
    allow('clocks and timers'),
  ),
  ...group(
    `sched_yield sched_setparam sched_getparam sched_setscheduler sched_getscheduler sched_get_priority_max
     sched_get_priority_min sched_rr_get_interval sched_setaffinity sched_getaffinity sched_setattr
     sched_getattr getpriority setpriority ioprio_set ioprio_get getcpu`,
    allow('scheduling; the pid namespace limits the targets'),
  ),
  ...group(
    `getpid getppid gettid getuid geteuid getgid getegid getresuid getresgid getgroups getpgrp getpgid getsid
     capget setpgid setsid getrusage getrlimit prlimit64 setrlimit kcmp`,
    allow('identity and limits of the caller; prlimit64 and kcmp name other tasks by pid, which the pid namespace confines'),
  ),
  personality: {
    ...deny(E.EPERM, 'execution domains other than PER_LINUX widen the kernel surface (READ_IMPLIES_EXEC, PER_LINUX32...)'),
    support: 'partial',
    rules: PERSONALITY_ALLOWED.map(([value, note]) => ({ index: 0, op: 'eq' as const, value, action: 'allow' as const, note })),
  },
  sysinfo: trap(infoHandlers.sysinfo, 'answered by the sentry: totalram and freeram are the sandbox\u2019s memory limit and what is left of it'),
  uname: {
    ...allow('the sandbox\u2019s UTS namespace names it'),
    when: {
      kernelRelease: {
        action: 'trap',
        handler: identityHandlers.uname,
        note: 'the sentry writes struct utsname: the release configured, the rest the caller\u2019s UTS namespace\u2019s',
      },
    },
  },
  ...group(
    `setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups capset umask`,
    trap(p.credentials, 'continued; the sentry drops its cached credentials of the caller'),
  ),
  ...group(`sethostname setdomainname`, {
    ...allow('changes the sandbox\u2019s own UTS namespace'),
    when: {
      sharedUts: {
        action: 'deny',
        errno: E.EPERM,
        support: 'denied',
        note: 'the UTS namespace is the host\u2019s or joined: its names are not the sandbox\u2019s to change',
      },
    },
  }),
  exit: allow('ends the calling thread'),
  exit_group: allow('ends the calling process'),
  prctl: {
    ...deny(E.EINVAL, 'vetted option by option; any other option gets EINVAL, as an unknown one does'),
    support: 'partial',
    rules: [
      { index: 0, op: 'eq', value: PR_SET_MM, action: 'deny', errno: E.EPERM, note: 'PR_SET_MM' },
      ...PRCTL_ALLOWED.map(([v, note]) => ({ index: 0, op: 'eq' as const, value: BigInt(v), action: 'allow' as const, note })),
    ],
  },
  seccomp: {
    ...allow('adds filters below tvisor\u2019s (they can only narrow what the workload may do)'),
    rules: [
      {
        index: 1, op: 'mask', value: SECCOMP_FILTER_FLAG_NEW_LISTENER, action: 'deny', errno: E.EBUSY,
        note: 'SECCOMP_FILTER_FLAG_NEW_LISTENER: tvisor holds the listener of this filter chain, and a chain has only one',
      },
    ],
  },
  // --- Processes.
  // Threads and processes: the kernel's, at native speed (a continued clone would fail with EINTR when a signal
  // came while it waited for the sentry, where natively fork restarts). The sentry's task cache learns of exits
  // from the proc connector (sentry/kernel/task.ts). With --strace they are trapped to be shown.
  clone: {
    ...allow('threads and processes'),
    rules: [{ index: 0, op: 'mask', value: CLONE_NS_FLAGS, action: 'deny', errno: E.EPERM, note: 'CLONE_NEW* flags (namespaces)' }],
    when: {
      nestedNamespaces: { rules: [NEWUSER_RULE], note: 'threads, processes and (--nested-namespaces) new namespaces but user namespaces' },
      strace: TRACED,
    },
  },
  ...group('fork vfork', { ...allow('processes'), when: { strace: TRACED } }),
  unshare: {
    ...allow('CLONE_FILES, CLONE_FS, CLONE_SYSVSEM: the caller\u2019s own state'),
    rules: [{ index: 0, op: 'mask', value: CLONE_NS_FLAGS | CLONE_NEWTIME, action: 'deny', errno: E.EPERM, note: 'CLONE_NEW* flags (namespaces)' }],
    when: { nestedNamespaces: { rules: [NEWUSER_RULE], note: 'new namespaces but user namespaces (--nested-namespaces)' } },
  },
  setns: deny(E.EPERM, 'the sandbox\u2019s namespaces are fixed by the launcher (a pidfd or /proc/<pid>/ns file may name a host process\u2019s)'),
  clone3: {
    action: 'errno',
    errno: E.ENOSYS,
    support: 'denied',
    note: 'libc falls back to clone, whose flags the register check can see; answered by the filter (pthread_create tries it each time)',
  },
  ...group(
    'execve execveat',
    trap(p.execve, 'continued after an advisory check; the walls are the mount namespace, noexec and no_new_privs', 'partial'),
  ),
  ...group('chdir fchdir', { ...allow('the mount namespace confines the new cwd'), when: { strace: TRACED } }),
  getcwd: allow('the kernel prints the path inside the sandbox root'),
  // --- I/O on fds the workload already holds.
  ...group(
    `read write pread64 pwrite64 readv writev preadv pwritev preadv2 pwritev2 lseek close close_range dup dup2
     dup3 fcntl flock fsync fdatasync syncfs sync sync_file_range fadvise64 readahead ftruncate fallocate
     getdents getdents64 fstat fstatfs fchmod fchown fsetxattr fgetxattr flistxattr fremovexattr sendfile splice
     tee vmsplice copy_file_range pipe pipe2 eventfd eventfd2 memfd_create select pselect6 poll ppoll
     epoll_create epoll_create1 epoll_ctl epoll_wait epoll_pwait epoll_pwait2 inotify_init inotify_init1
     inotify_rm_watch io_setup io_destroy io_getevents io_submit io_cancel io_pgetevents file_getattr`,
    allow('works on an fd the workload already holds'),
  ),
  ioctl: {
    ...allow('device control on an fd the workload already holds'),
    rules: [
      { index: 1, op: 'eq', value: TIOCSTI, action: 'deny', errno: E.EPERM, note: 'TIOCSTI types into the terminal' },
      { index: 1, op: 'eq', value: TIOCLINUX, action: 'deny', errno: E.EPERM, note: 'TIOCLINUX' },
      { index: 1, op: 'eq', value: TIOCSETD, action: 'deny', errno: E.EPERM, note: 'TIOCSETD changes the line discipline' },
      { index: 1, op: 'eq', value: TIOCCONS, action: 'deny', errno: E.EPERM, note: 'TIOCCONS redirects the console' },
      { index: 1, op: 'eq', value: TIOCVHANGUP, action: 'deny', errno: E.EPERM, note: 'TIOCVHANGUP' },
      { index: 1, op: 'eq', value: TIOCEXCL, action: 'deny', errno: E.EPERM, note: 'TIOCEXCL locks others out of the terminal' },
    ],
  },
  // --- Paths: resolved by the sentry inside the sandbox root, performed with the caller's credentials.
  ...group('openat2 creat', trap(f.open, 'the sentry opens in the sandbox root and injects the fd')),
  // A read-only directory open (find, ls -R, git, scandir) only lists names, as the allowed stat family reads
  // metadata: the kernel resolves it in the sandbox mount namespace. O_TMPFILE (which carries O_DIRECTORY) and
  // every creating or writing flag stay trapped. The flags are a register, so this is a BPF decision, not a check
  // on memory the workload could change.
  open: { ...trap(f.open, 'the sentry opens in the sandbox root and injects the fd'), rules: [readDirRule(1)] },
  openat: { ...trap(f.open, 'the sentry opens in the sandbox root and injects the fd'), rules: [readDirRule(2)] },
  ...group('mkdir mkdirat', trap(f.mkdir, 'performed by the sentry')),
  ...group('mknod mknodat', trap(f.mknod, 'fifos, sockets and regular files; device nodes EPERM', 'partial')),
  // Removing and renaming names are left to the kernel, in the caller's own mount namespace and credentials:
  // only there does the kernel know the sandbox's mount points (EBUSY), whichever path reaches them. From the
  // sentry (the host's namespace) an rmdir of /proc, or of a volume that aliases it, would detach the mount.
  ...group(
    'rmdir unlink unlinkat rename renameat renameat2',
    allow('the kernel resolves and checks it in the sandbox mount namespace (EBUSY for mount points, EROFS, EXDEV, sticky)'),
  ),
  ...group('link linkat', trap(f.link, 'performed by the sentry')),
  ...group('symlink symlinkat', trap(f.symlink, 'performed by the sentry')),
  ...group('chmod fchmodat fchmodat2', trap(f.chmod, 'performed by the sentry')),
  ...group('chown lchown fchownat', trap(f.chown, 'performed by the sentry')),
  ...group('utime utimes futimesat', trap(f.utimes, 'performed by the sentry; fd-only forms continue')),
  utimensat: {
    ...trap(f.utimes, 'performed by the sentry'),
    // futimens(3) acts on an fd the caller holds; tar, cp -p and rsync call it once per file.
    rules: [{ index: 1, op: 'zero', value: 0n, action: 'allow', note: 'futimens(3), a NULL path: the caller\u2019s own fd, in BPF' }],
  },
  truncate: trap(f.truncate, 'performed by the sentry'),
  ...group('setxattr lsetxattr setxattrat', trap(f.setxattr, 'performed by the sentry')),
  ...group('removexattr lremovexattr removexattrat', trap(f.removexattr, 'performed by the sentry')),
  ...group(
    `stat lstat newfstatat statx access faccessat faccessat2 readlink readlinkat statfs getxattr lgetxattr
     listxattr llistxattr getxattrat listxattrat`,
    allow('information only: the kernel resolves it in the sandbox mount namespace (trapping measured 25\u00d7 slower)'),
  ),
  inotify_add_watch: allow('watches a path in the sandbox mount namespace'),
  fanotify_init: allow('unprivileged fanotify (FAN_REPORT_FID); the privileged classes need CAP_SYS_ADMIN, which the sandbox lacks'),
  fanotify_mark: allow('inode marks on a path in the sandbox mount namespace; mount and filesystem marks need CAP_SYS_ADMIN'),
  // --- Sockets and IPC: the network and IPC namespaces confine them.
  ...group(
    `socket socketpair connect accept accept4 bind listen sendto recvfrom sendmsg recvmsg sendmmsg recvmmsg
     shutdown getsockname getpeername setsockopt getsockopt`,
    allow('confined by the network namespace (--network none by default); AF_UNIX paths by the mount namespace'),
  ),
  ...group(
    `shmget shmat shmctl shmdt semget semop semctl semtimedop msgget msgsnd msgrcv msgctl mq_open mq_unlink
     mq_timedsend mq_timedreceive mq_notify mq_getsetattr`,
    allow('confined by the IPC namespace'),
  ),
  getrandom: allow('entropy'),
  landlock_create_ruleset: allow('unprivileged self-restriction'),
  landlock_add_rule: allow('unprivileged self-restriction'),
  landlock_restrict_self: allow('unprivileged self-restriction'),
  lsm_get_self_attr: allow('reads the caller\u2019s own LSM attributes'),
  lsm_list_modules: allow('lists LSMs'),
  // --- Denied: the host kernel's attack surface and host-wide state.
  ptrace: deny(E.EPERM, 'no tracing inside the sandbox'),
  // pidfd_getfd checks ptrace access only, not the pid namespace: a pidfd of a host process (SO_PEERPIDFD on a
  // socket a host process listens on, SCM_PIDFD) would hand the workload that process's files.
  pidfd_getfd: deny(E.EPERM, 'takes another process\u2019s fd (a ptrace-class access, PTRACE_MODE_ATTACH); the pid namespace does not confine it'),
  process_vm_readv: deny(E.EPERM, 'cross-process memory access'),
  process_vm_writev: deny(E.EPERM, 'cross-process memory access'),
  process_mrelease: deny(E.EPERM, 'cross-process memory'),
  process_madvise: deny(E.EPERM, 'advises on another process\u2019s memory by pidfd, which may name a host process'),
  move_pages: deny(E.EPERM, 'cross-process memory'),
  migrate_pages: deny(E.EPERM, 'cross-process memory'),
  bpf: deny(E.EPERM, 'eBPF'),
  perf_event_open: deny(E.EPERM, 'perf events'),
  ...group('kexec_load kexec_file_load', deny(E.EPERM, 'kernel replacement')),
  ...group('init_module finit_module delete_module', deny(E.EPERM, 'kernel modules')),
  ...group('keyctl add_key request_key', deny(E.EPERM, 'the kernel keyring is not namespaced')),
  ...group('io_uring_setup io_uring_enter io_uring_register', deny(E.EPERM, 'io_uring bypasses seccomp')),
  userfaultfd: deny(E.EPERM, 'userfaultfd widens kernel races'),
  ...group(
    `mount umount2 pivot_root chroot fsopen fsconfig fsmount fspick move_mount open_tree
     open_tree_attr mount_setattr statmount listmount`,
    deny(E.EPERM, 'the mount tree and namespaces are fixed by the launcher'),
  ),
  ...group('swapon swapoff', deny(E.EPERM, 'host swap')),
  reboot: deny(E.EPERM, 'host power'),
  ...group('settimeofday clock_settime adjtimex clock_adjtime', deny(E.EPERM, 'the host clock')),
  acct: deny(E.EPERM, 'process accounting'),
  ...group('quotactl quotactl_fd', deny(E.EPERM, 'disk quotas')),
  ...group('open_by_handle_at name_to_handle_at', deny(E.EPERM, 'file handles bypass path confinement')),
  ...group('iopl ioperm modify_ldt', deny(E.EPERM, 'I/O ports and segment tables')),
  lookup_dcookie: deny(E.EPERM, 'profiling'),
  syslog: deny(E.EPERM, 'the host kernel log'),
  vhangup: deny(E.EPERM, 'hangs up the terminal'),
  memfd_secret: deny(E.EPERM, 'unmapped from the kernel'),
  lsm_set_self_attr: deny(E.EPERM, 'LSM attributes'),
  uretprobe: allow('seccomp never filters it (kernel 6.11+); outside a uprobe trampoline it raises SIGILL'),
  file_setattr: deny(E.EPERM, 'not emulated yet'),
  // --- Removed from Linux or never implemented on x86_64.
  ...group(
    `uselib create_module get_kernel_syms query_module nfsservctl getpmsg putpmsg afs_syscall tuxcall security
     vserver epoll_ctl_old epoll_wait_old _sysctl ustat sysfs`,
    gone('obsolete'),
  ),
};

function build(): SyscallEntry[] {
  const out: SyscallEntry[] = [];
  const seen = new Set<string>();
  for (const [nrText, name] of Object.entries(NAMES)) {
    const spec = SPECS[name];
    if (!spec) throw new Error(`syscall table: no entry for ${name}`);
    seen.add(name);
    out.push({ nr: Number(nrText), name, ...spec });
  }
  for (const name of Object.keys(SPECS)) if (!seen.has(name)) throw new Error(`syscall table: unknown name ${name}`);
  return out.sort((a, b) => a.nr - b.nr);
}

/** Every known syscall, sorted by number, as a sandbox with no settings (SandboxOption) on sees it. */
export const TABLE: readonly SyscallEntry[] = build();

const variants = new Map<string, readonly SyscallEntry[]>();
/**
 * The table of a sandbox with `options` on: each entry with its `when` variants for those options applied (in
 * SANDBOX_OPTIONS order). The filter and the dispatcher of one sandbox both use this table.
 */
export function tableFor(options: ReadonlySet<SandboxOption>): readonly SyscallEntry[] {
  const on = SANDBOX_OPTIONS.filter((o) => options.has(o));
  if (on.length === 0) return TABLE;
  const key = on.join(',');
  let t = variants.get(key);
  if (!t) {
    t = TABLE.map((e) => on.reduce<SyscallEntry>((acc, o) => (e.when?.[o] ? { ...acc, ...e.when[o] } : acc), e));
    variants.set(key, t);
  }
  return t;
}

/** Lookup by number in `table` (from tableFor), as an array indexed by syscall number. */
export function indexByNr(table: readonly SyscallEntry[]): (SyscallEntry | undefined)[] {
  const out: (SyscallEntry | undefined)[] = [];
  for (const e of table) out[e.nr] = e;
  return out;
}
const byNr = indexByNr(TABLE);
const byName = new Map(TABLE.map((e) => [e.name, e]));

/** The entry of syscall number `nr` in TABLE (no sandbox settings), or undefined (the filter answers ENOSYS). */
export function entryOf(nr: number): SyscallEntry | undefined {
  return byNr[nr];
}

/** The entry named `name` (x86_64 name as in syscall_64.tbl), or undefined. */
export function entryNamed(name: string): SyscallEntry | undefined {
  return byName.get(name);
}

/** Name of syscall `nr`, or `syscall_<nr>` for an unknown number. */
export function syscallName(nr: number): string {
  return byNr[nr]?.name ?? `syscall_${nr}`;
}
