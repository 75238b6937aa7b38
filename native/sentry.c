/*
 * libtvisor-sentry.so: the few helpers the sentry (Node, through koffi) needs
 * in C because they take pointers Node cannot form or must run as raw
 * per-thread syscalls (glibc's set*id wrappers act on every thread).
 * Every function returns -errno on failure.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <linux/capability.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>
#include <signal.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>

/* Reads LEN bytes at ADDR of process PID into BUF (process_vm_readv(2)). */
long tv_vm_read(int pid, uint64_t addr, void *buf, size_t len) {
  size_t done = 0;
  while (done < len) {
    struct iovec l = {.iov_base = (char *)buf + done, .iov_len = len - done};
    struct iovec r = {.iov_base = (void *)(uintptr_t)(addr + done), .iov_len = len - done};
    ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n < 0) return -errno;
    if (n == 0) return -EFAULT;
    done += (size_t)n;
  }
  return (long)done;
}

/* Writes LEN bytes of BUF at ADDR of process PID (process_vm_writev(2)). */
long tv_vm_write(int pid, uint64_t addr, const void *buf, size_t len) {
  struct iovec l = {.iov_base = (void *)buf, .iov_len = len};
  struct iovec r = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
  ssize_t n = process_vm_writev(pid, &l, 1, &r, 1, 0);
  if (n < 0) return -errno;
  return n == (ssize_t)len ? n : -EFAULT;
}

/*
 * Reads a NUL-terminated string at ADDR of PID into BUF (capacity MAX),
 * never crossing into a page it does not need. Returns its length without
 * the NUL, -EFAULT on a bad address, -ENAMETOOLONG when no NUL is found
 * in MAX bytes.
 */
long tv_vm_read_string(int pid, uint64_t addr, char *buf, size_t max) {
  size_t done = 0;
  while (done < max) {
    uint64_t a = addr + done;
    size_t chunk = 4096 - (a & 4095);
    if (chunk > max - done) chunk = max - done;
    struct iovec l = {.iov_base = buf + done, .iov_len = chunk};
    struct iovec r = {.iov_base = (void *)(uintptr_t)a, .iov_len = chunk};
    ssize_t n = process_vm_readv(pid, &l, 1, &r, 1, 0);
    if (n <= 0) return n < 0 && errno != EFAULT ? -errno : -EFAULT;
    char *nul = memchr(buf + done, 0, (size_t)n);
    if (nul) return (long)(nul - buf);
    done += (size_t)n;
  }
  return -ENAMETOOLONG;
}

/*
 * Gives the calling thread the file-system identity of a workload task:
 * fsuid, fsgid, supplementary groups and capabilities (effective and
 * permitted; effective is raised last because a fsuid change clears the
 * file capabilities from it). Raw syscalls: they change this thread only.
 * CAPS: effective low/high, permitted low/high.
 */
long tv_set_creds(uint32_t fsuid, uint32_t fsgid, const uint32_t *groups, int ngroups, const uint32_t *caps) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  if (syscall(SYS_capget, &h, d) < 0) return -errno;
  /* Raise effective to permitted first: the previous caller's set may lack CAP_SETUID/CAP_SETGID. */
  d[0].effective = d[0].permitted;
  d[1].effective = d[1].permitted;
  if (syscall(SYS_capset, &h, d) < 0) return -errno;
  if (syscall(SYS_setgroups, ngroups, groups) < 0) return -errno;
  syscall(SYS_setfsgid, fsgid);
  syscall(SYS_setfsuid, fsuid);
  if ((uint32_t)syscall(SYS_setfsuid, -1) != fsuid) return -EPERM;
  if ((uint32_t)syscall(SYS_setfsgid, -1) != fsgid) return -EPERM;
  d[0].effective = caps[0] & d[0].permitted;
  d[1].effective = caps[1] & d[1].permitted;
  if (syscall(SYS_capset, &h, d) < 0) return -errno;
  return 0;
}

static void tv_wake(int sig) { (void)sig; }

/*
 * Slow-path threads block in syscalls (a FIFO open) on a caller's behalf.
 * When the caller gets a signal it would handle, the sentry interrupts that
 * syscall with SIG: an empty handler without SA_RESTART makes it fail with
 * EINTR (signal(7)). Installs the handler and unblocks SIG in this thread.
 */
long tv_wake_setup(int sig) {
  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = tv_wake;
  sigemptyset(&sa.sa_mask);
  if (sigaction(sig, &sa, NULL) < 0) return -errno;
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  if (pthread_sigmask(SIG_UNBLOCK, &set, NULL) != 0) return -EINVAL;
  return syscall(SYS_gettid);
}

/* tgkill(2): SIG to thread TID of this process. */
long tv_wake_thread(int tid, int sig) {
  return syscall(SYS_tgkill, getpid(), tid, sig) < 0 ? -errno : 0;
}

/*
 * uname(2) as seen in the UTS namespace NSFD (an fd of /proc/<tid>/ns/uts), written to OUT (struct utsname,
 * 390 bytes). This thread joins that namespace (setns(2): UTS namespaces are per thread), calls uname and
 * returns to SELFNS, its own. setns needs CAP_SYS_ADMIN effective, which the sentry thread may have lowered to a
 * caller's set: the effective set is raised to the permitted one for the switch and restored after.
 */
long tv_uname_in(int nsfd, int selfns, void *out) {
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct saved[2], raised[2];
  if (syscall(SYS_capget, &h, saved) < 0) return -errno;
  memcpy(raised, saved, sizeof raised);
  raised[0].effective = raised[0].permitted;
  raised[1].effective = raised[1].permitted;
  if (syscall(SYS_capset, &h, raised) < 0) return -errno;
  long r = 0;
  if (syscall(SYS_setns, nsfd, CLONE_NEWUTS) < 0) r = -errno;
  else {
    if (syscall(SYS_uname, out) < 0) r = -errno;
    if (syscall(SYS_setns, selfns, CLONE_NEWUTS) < 0) abort(); /* a sentry thread in a sandbox's namespace must not go on */
  }
  if (syscall(SYS_capset, &h, saved) < 0 && r == 0) r = -errno;
  return r;
}
