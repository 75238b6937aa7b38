/*
 * Fires a table of malformed and edge-case process, signal, identity and
 * limit syscalls (raw syscall(2), so libc cannot pre-empt the kernel) and
 * prints one line per call:
 *   NAME RESULT
 * where RESULT is "ok" or the errno name. Run natively (same uid,
 * capabilities and no_new_privs, via setpriv) and inside the sandbox; the
 * outputs must be identical except for the sandbox's documented policies
 * (test/proccalls.test.ts). Calls that would change the probe itself
 * (credentials, limits, clone that succeeds) run in a forked child.
 *
 * Usage: proccalls [--ns]   (--ns: also the namespace-creating calls)
 *        proccalls --seccomp  (installs filters of its own: prints what they did)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/sched.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/personality.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "report.h"

#define S(...) syscall(__VA_ARGS__)

/* Runs `fn` in a forked child and reports what it returned (the child exits with 0 or the errno). */
static void in_child(const char *name, long (*fn)(void)) {
  pid_t p = fork();
  if (p == 0) {
    long r = fn();
    _exit(r >= 0 ? 0 : errno);
  }
  int st = 0;
  if (p < 0 || waitpid(p, &st, 0) < 0) {
    report(name, -1);
    return;
  }
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) report(name, 0);
  else if (WIFEXITED(st)) { errno = WEXITSTATUS(st); report(name, -1); }
  else printf("%s signal-%d\n", name, WTERMSIG(st));
}

/* A raw clone that behaves like fork: the child exits at once. */
static long raw_clone(unsigned long flags) {
  long r = S(SYS_clone, flags, 0, 0, 0, 0);
  if (r == 0) _exit(0);
  if (r > 0) waitpid((pid_t)r, NULL, __WALL);
  return r;
}

static long huge_nofile(void) {
  struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
  return S(SYS_setrlimit, RLIMIT_NOFILE, &r);
}
static long nofile_over_nr_open(void) {
  struct rlimit r = {1UL << 30, 1UL << 30};
  return S(SYS_prlimit64, 0, RLIMIT_NOFILE, &r, NULL);
}
static long raise_hard_nproc(void) {
  struct rlimit cur;
  getrlimit(RLIMIT_NPROC, &cur);
  struct rlimit r = {RLIM_INFINITY, RLIM_INFINITY};
  if (cur.rlim_max == RLIM_INFINITY) { errno = EPERM; return -1; } /* nothing to raise: report as refused */
  return S(SYS_prlimit64, 0, RLIMIT_NPROC, &r, NULL);
}
static long soft_over_hard(void) {
  struct rlimit r = {100, 10};
  return S(SYS_setrlimit, RLIMIT_CPU, &r);
}
static long lower_stack(void) {
  struct rlimit r = {1 << 20, RLIM_INFINITY};
  return S(SYS_prlimit64, 0, RLIMIT_STACK, &r, NULL);
}
static long setuid_nobody(void) { return S(SYS_setresuid, 65534, 65534, 65534); }
static long setuid_back(void) {
  if (S(SYS_setresuid, 65534, 65534, 65534) < 0) return -1;
  return S(SYS_setuid, 0); /* no CAP_SETUID left: EPERM */
}
static long setgroups_huge(void) {
  static gid_t g[70000];
  return S(SYS_setgroups, 70000, g);
}
static long setsid_twice(void) {
  if (S(SYS_setsid) < 0) return -1;
  return S(SYS_setsid); /* a session leader: EPERM */
}
static long setpgid_to_other_session(void) {
  if (S(SYS_setsid) < 0) return -1;
  return S(SYS_setpgid, 0, getppid()); /* another session's group: EPERM */
}

/*
 * A filter of the workload's own (below tvisor's): getppid gets EACCES, everything else is allowed. Then a second
 * filter asking for a user-notify listener: the kernel allows one listener per filter chain.
 */
static int own_filters(void) {
  struct sock_filter insns[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | EACCES),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = 4, .filter = insns};
  if (S(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return 1;
  report("prctl.set-seccomp-filter", S(SYS_prctl, PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog, 0, 0));
  report("getppid.after-own-filter", S(SYS_getppid));
  report("getpid.after-own-filter", S(SYS_getpid));
  struct sock_filter allow[] = {BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW)};
  struct sock_fprog all = {.len = 1, .filter = allow};
  report("seccomp.filter-tsync", S(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_TSYNC, &all));
  long l = S(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &all);
  report("seccomp.new-listener", l);
  report("after.open", S(SYS_openat, AT_FDCWD, "/etc/hostname", 0));
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "--seccomp") == 0) return own_filters();
  int ns = argc > 1 && strcmp(argv[1], "--ns") == 0;
  /* An ignored SIGCHLD (inherited) would reap the children before waitpid sees them. */
  signal(SIGCHLD, SIG_DFL);
  pid_t me = getpid();
  siginfo_t si;
  memset(&si, 0, sizeof si);
  si.si_code = SI_QUEUE;

  /* clone/fork with garbage flags. */
  report("clone.thread-without-sighand", raw_clone(CLONE_THREAD | SIGCHLD));
  report("clone.sighand-without-vm", raw_clone(CLONE_SIGHAND | SIGCHLD));
  report("clone.pidfd-and-detached", raw_clone(CLONE_PIDFD | CLONE_DETACHED | SIGCHLD));
  report("clone.exit-signal-65", raw_clone(65));
  report("clone.plain", raw_clone(SIGCHLD));
  report("clone3.null", S(SYS_clone3, NULL, 0));
  report("unshare.bad-thread", S(SYS_unshare, CLONE_THREAD | CLONE_VM));
  report("unshare.files", S(SYS_unshare, CLONE_FILES));
  report("unshare.fs-sysvsem", S(SYS_unshare, CLONE_FS | CLONE_SYSVSEM));
  if (ns) {
    /* In a child: natively these succeed, and the probe must not end up in a new namespace itself. */
    pid_t p = fork();
    if (p == 0) {
      report("clone.newuser", raw_clone(CLONE_NEWUSER | SIGCHLD));
      report("clone.newns", raw_clone(CLONE_NEWNS | SIGCHLD));
      report("clone.fs-and-newns", raw_clone(CLONE_FS | CLONE_NEWNS | SIGCHLD));
      report("clone.all-ones", raw_clone(~0UL));
      report("unshare.all-ones", S(SYS_unshare, ~0UL));
      report("setns.bad-fd", S(SYS_setns, -1, 0));
      report("unshare.newtime", S(SYS_unshare, 0x80));
      report("unshare.newuser", S(SYS_unshare, CLONE_NEWUSER));
      _exit(0);
    }
    waitpid(p, NULL, 0);
  }

  /* Signals: bad numbers, bad pids, signal 0 and 65. */
  report("kill.self-0", S(SYS_kill, me, 0));
  report("kill.self-65", S(SYS_kill, me, 65));
  report("kill.self-minus1", S(SYS_kill, me, -1));
  report("kill.neg-pgrp-absent", S(SYS_kill, -999999, 0));
  report("kill.pid-absent", S(SYS_kill, 999999, 0));
  report("kill.int-min", S(SYS_kill, INT32_MIN, 0));
  report("tkill.neg", S(SYS_tkill, -1, 0));
  report("tkill.zero", S(SYS_tkill, 0, 0));
  report("tgkill.neg-tid", S(SYS_tgkill, me, -5, 0));
  report("tgkill.wrong-group", S(SYS_tgkill, 999999, me, 0));
  report("tgkill.self-65", S(SYS_tgkill, me, me, 65));
  report("rt_sigqueueinfo.65", S(SYS_rt_sigqueueinfo, me, 65, &si));
  report("rt_sigqueueinfo.null", S(SYS_rt_sigqueueinfo, me, SIGUSR1, NULL));
  report("rt_sigqueueinfo.si-user", (si.si_code = SI_USER, S(SYS_rt_sigqueueinfo, me, 0, &si)));
  report("rt_tgsigqueueinfo.bad-tid", S(SYS_rt_tgsigqueueinfo, me, -1, 0, &si));
  report("pidfd_open.neg", S(SYS_pidfd_open, -1, 0));
  report("pidfd_open.absent", S(SYS_pidfd_open, 999999, 0));
  report("pidfd_open.bad-flags", S(SYS_pidfd_open, me, 0xffff));
  long pfd = S(SYS_pidfd_open, me, 0);
  report("pidfd_open.self", pfd);
  report("pidfd_send_signal.bad-fd", S(SYS_pidfd_send_signal, -1, 0, NULL, 0));
  report("pidfd_send_signal.not-pidfd", S(SYS_pidfd_send_signal, 1, 0, NULL, 0));
  report("pidfd_send_signal.self-0", S(SYS_pidfd_send_signal, pfd, 0, NULL, 0));
  report("pidfd_send_signal.bad-flags", S(SYS_pidfd_send_signal, pfd, 0, NULL, 0xff));
  report("pidfd_send_signal.65", S(SYS_pidfd_send_signal, pfd, 65, NULL, 0));
  report("pidfd_getfd.bad-fd", S(SYS_pidfd_getfd, -1, 0, 0));
  report("pidfd_getfd.self-stdout", S(SYS_pidfd_getfd, pfd, 1, 0));
  report("pidfd_getfd.bad-flags", S(SYS_pidfd_getfd, pfd, 1, 1));
  report("pidfd_getfd.absent-fd", S(SYS_pidfd_getfd, pfd, 4000, 0));
  report("rt_sigaction.kill", S(SYS_rt_sigaction, SIGKILL, (void *)8, NULL, 8));
  report("rt_sigaction.65", S(SYS_rt_sigaction, 65, NULL, NULL, 8));
  report("rt_sigprocmask.bad-size", S(SYS_rt_sigprocmask, SIG_BLOCK, NULL, NULL, 4));

  /* wait with nothing to wait for, bad options and ids. */
  report("wait4.no-child", S(SYS_wait4, -1, NULL, WNOHANG, NULL));
  report("wait4.absent", S(SYS_wait4, 999999, NULL, 0, NULL));
  report("wait4.bad-options", S(SYS_wait4, -1, NULL, 0x10000, NULL));
  report("waitid.bad-idtype", S(SYS_waitid, 42, 0, &si, WEXITED, NULL));
  report("waitid.no-options", S(SYS_waitid, P_ALL, 0, &si, 0, NULL));
  report("waitid.pidfd-self", S(SYS_waitid, P_PIDFD, pfd, &si, WEXITED | WNOHANG, NULL));

  /* Process groups and sessions. */
  report("setpgid.neg", S(SYS_setpgid, -1, 0));
  report("setpgid.absent", S(SYS_setpgid, 999999, 0));
  report("getpgid.absent", S(SYS_getpgid, 999999));
  report("getsid.absent", S(SYS_getsid, 999999));
  in_child("setsid.twice", setsid_twice);
  in_child("setpgid.other-session", setpgid_to_other_session);

  /* Limits. */
  report("getrlimit.bad-resource", S(SYS_getrlimit, 99, (void *)8));
  report("prlimit64.bad-resource", S(SYS_prlimit64, 0, 99, NULL, NULL));
  report("prlimit64.absent", S(SYS_prlimit64, 999999, RLIMIT_NOFILE, NULL, NULL));
  report("prlimit64.neg", S(SYS_prlimit64, -1, RLIMIT_NOFILE, NULL, NULL));
  report("prlimit64.bad-ptr", S(SYS_prlimit64, 0, RLIMIT_NOFILE, (void *)8, NULL));
  in_child("setrlimit.nofile-infinity", huge_nofile);
  in_child("prlimit64.nofile-over-nr_open", nofile_over_nr_open);
  in_child("prlimit64.raise-hard-nproc", raise_hard_nproc);
  in_child("setrlimit.soft-over-hard", soft_over_hard);
  in_child("prlimit64.lower-stack", lower_stack);

  /* Identity. */
  in_child("setresuid.nobody", setuid_nobody);
  in_child("setuid.back-after-drop", setuid_back);
  in_child("setgroups.over-ngroups_max", setgroups_huge);
  report("setresuid.unchanged", S(SYS_setresuid, -1, -1, -1));
  report("setfsuid.query", (long)(S(SYS_setfsuid, -1) >= 0 ? 0 : -1));
  report("capset.bad-version", S(SYS_capset, &(int[2]){0x1234, 0}, NULL));

  /* personality and prctl: the allowed set works. */
  report("personality.query", S(SYS_personality, 0xffffffff));
  report("personality.addr-no-randomize", S(SYS_personality, ADDR_NO_RANDOMIZE));
  report("personality.linux", S(SYS_personality, PER_LINUX));
  report("prctl.set-name", S(SYS_prctl, PR_SET_NAME, "probe", 0, 0, 0));
  report("prctl.get-no-new-privs", S(SYS_prctl, PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0));
  report("prctl.set-pdeathsig-65", S(SYS_prctl, PR_SET_PDEATHSIG, 65, 0, 0, 0));
  report("prctl.set-mm", S(SYS_prctl, PR_SET_MM, PR_SET_MM_START_CODE, 0, 0, 0));
  report("prctl.unknown", S(SYS_prctl, 0x7fff, 0, 0, 0, 0));
  report("prctl.capbset-read-64", S(SYS_prctl, PR_CAPBSET_READ, 64, 0, 0, 0));

  /* execve with bad arguments (each fails, so the probe goes on). */
  report("execve.null", S(SYS_execve, NULL, NULL, NULL));
  report("execve.empty", S(SYS_execve, "", NULL, NULL));
  report("execve.dir", S(SYS_execve, "/", NULL, NULL));
  report("execve.not-executable", S(SYS_execve, "/etc/passwd", NULL, NULL));
  report("execve.absent", S(SYS_execve, "/nonexistent/x", NULL, NULL));
  report("execve.through-file", S(SYS_execve, "/etc/passwd/x", NULL, NULL));
  report("execve.bad-argv", S(SYS_execve, "/bin/true", (void *)8, NULL));
  report("execveat.bad-fd", S(SYS_execveat, 4000, "x", NULL, NULL, 0));
  report("execveat.bad-flags", S(SYS_execveat, AT_FDCWD, "/bin/true", NULL, NULL, 0xffff));
  report("execveat.empty-no-flag", S(SYS_execveat, 0, "", NULL, NULL, 0));

  /* The sentry is still there: a trapped call works. */
  report("after.open", S(SYS_openat, AT_FDCWD, "/etc/hostname", 0));
  return 0;
}
