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
import { CLONE_NS_FLAGS, processHandlers } from './process.js';
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
  | 'kill';

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
}

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

const SPECS: Record<string, Spec> = {
  // --- Memory, time, signals, scheduling: the host kernel, at native speed.
  ...group(
    `mmap mprotect munmap brk mremap msync mincore madvise mlock munlock mlockall munlockall mlock2
     pkey_mprotect pkey_alloc pkey_free remap_file_pages membarrier mseal map_shadow_stack cachestat
     mbind set_mempolicy get_mempolicy set_mempolicy_home_node process_madvise`,
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
    `kill tkill tgkill rt_sigqueueinfo rt_tgsigqueueinfo pidfd_send_signal pidfd_open pidfd_getfd waitid wait4`,
    allow('the pid namespace makes host pids unnameable'),
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
     capget setpgid setsid uname sysinfo getrusage getrlimit prlimit64 setrlimit kcmp personality`,
    allow('identity and limits of the caller'),
  ),
  ...group(
    `setuid setgid setreuid setregid setresuid setresgid setfsuid setfsgid setgroups capset umask`,
    trap(p.credentials, 'continued; the sentry drops its cached credentials of the caller'),
  ),
  ...group(
    `sethostname setdomainname`,
    allow('the sandbox has its own UTS namespace'),
  ),
  exit: allow('ends the calling thread'),
  exit_group: allow('ends the calling process'),
  prctl: {
    ...allow('process attributes of the caller'),
    rules: [{ index: 0, op: 'eq', value: PR_SET_MM, action: 'deny', errno: E.EPERM, note: 'PR_SET_MM' }],
  },
  seccomp: allow('adds filters below tvisor\u2019s; a second listener in the chain is refused by the kernel (EBUSY)'),
  // --- Processes.
  // Not trapped: a trapped call interrupted by a caught signal before the sentry takes it fails with EINTR, which
  // fork never does natively (a shell's SIGCHLD handler made `sh` report "Cannot fork").
  ...group('fork vfork', allow('the kernel creates the process, in the sandbox\u2019s namespaces')),
  clone: {
    ...allow('threads and processes, created by the kernel in the sandbox\u2019s namespaces'),
    rules: [
      { index: 0, op: 'mask', value: CLONE_NS_FLAGS, action: 'deny', errno: E.EPERM, note: 'namespace flags (CLONE_NEW*) on the flags register' },
    ],
  },
  clone3: deny(E.ENOSYS, 'libc falls back to clone, whose flags the register check can see'),
  ...group(
    'execve execveat',
    trap(p.execve, 'continued after an advisory check; the walls are the mount namespace, noexec and no_new_privs', 'partial'),
  ),
  ...group('chdir fchdir', trap(p.chdir, 'continued; the mount namespace confines the new cwd')),
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
  process_vm_readv: deny(E.EPERM, 'cross-process memory access'),
  process_vm_writev: deny(E.EPERM, 'cross-process memory access'),
  process_mrelease: deny(E.EPERM, 'cross-process memory'),
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
    `mount umount2 pivot_root chroot setns unshare fsopen fsconfig fsmount fspick move_mount open_tree
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

/** Every known syscall, sorted by number. */
export const TABLE: readonly SyscallEntry[] = build();

const byNr: (SyscallEntry | undefined)[] = [];
for (const e of TABLE) byNr[e.nr] = e;
const byName = new Map(TABLE.map((e) => [e.name, e]));

/** The entry of syscall number `nr`, or undefined (the filter answers ENOSYS). */
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
