/*
 * The floor of seccomp user-notify on this machine, in C, no Node: a
 * supervisor answers the main thread's trapped calls.
 *   notif_floor getppid N [process]   emulated getppid (RECV + SEND), ns/call
 *   notif_floor openat N [process]    openat emulated with ADDFD+SEND, then close, ns/pair
 * The supervisor is a thread of the same process, or with "process" a
 * separate process (as tvisor's sentry is: every round trip then switches
 * address spaces).
 * Used by test/bench/bench.ts to show how much of tvisor's cost is the
 * mechanism itself rather than the TypeScript sentry.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <sys/uio.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static volatile int listener = -1;
static int remote; /* the supervisor is another process: read paths with process_vm_readv */
static pid_t target;

static void *supervisor(void *arg) {
  (void)arg;
  struct seccomp_notif req;
  struct seccomp_notif_resp resp;
  while (listener < 0) sched_yield();
  for (;;) {
    memset(&req, 0, sizeof req);
    if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return NULL;
    memset(&resp, 0, sizeof resp);
    resp.id = req.id;
    if (req.data.nr == SYS_openat) {
      char path[256] = {0};
      const char *p = (const char *)req.data.args[1];
      if (remote) {
        struct iovec l = {path, sizeof path - 1}, r = {(void *)req.data.args[1], sizeof path - 1};
        if (process_vm_readv(target, &l, 1, &r, 1, 0) < 0) return NULL;
        p = path;
      }
      int fd = openat(AT_FDCWD, p, (int)req.data.args[2]);
      struct seccomp_notif_addfd a = {.id = req.id, .flags = SECCOMP_ADDFD_FLAG_SEND, .srcfd = (unsigned)fd};
      ioctl(listener, SECCOMP_IOCTL_NOTIF_ADDFD, &a);
      close(fd);
      continue;
    }
    resp.val = 4242;
    ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int nr = strcmp(argv[1], "openat") == 0 ? SYS_openat : SYS_getppid;
  long n = atol(argv[2]);
  struct sock_filter f[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {.len = 4, .filter = f};
  pthread_t t;
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) return 1;
  remote = argc > 3 && strcmp(argv[3], "process") == 0;
  int pfd[2];
  if (pipe(pfd) < 0) return 1;
  target = getpid();
  if (remote && fork() == 0) {
    /* The supervisor process takes the listener from the workload with pidfd_getfd(2). */
    int lfd;
    if (read(pfd[0], &lfd, sizeof lfd) != sizeof lfd) _exit(1);
    int pidfd = (int)syscall(SYS_pidfd_open, target, 0);
    listener = (int)syscall(SYS_pidfd_getfd, pidfd, lfd, 0);
    if (listener < 0) _exit(1);
    prctl(PR_SET_PDEATHSIG, 9);
    supervisor(NULL);
    _exit(0);
  }
  /* Without "process": the filter applies to this thread only (no TSYNC); the supervisor thread exists first. */
  if (!remote) pthread_create(&t, NULL, supervisor, NULL);
  int lfd = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &prog);
  if (lfd < 0) { perror("seccomp"); return 1; }
  if (remote && write(pfd[1], &lfd, sizeof lfd) != sizeof lfd) return 1;
  listener = lfd;
  struct timespec a, b;
  for (long i = 0; i < n / 10; i++) { /* warm-up */
    if (nr == SYS_openat) close((int)syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY));
    else syscall(SYS_getppid);
  }
  clock_gettime(CLOCK_MONOTONIC, &a);
  for (long i = 0; i < n; i++) {
    if (nr == SYS_openat) {
      int fd = (int)syscall(SYS_openat, AT_FDCWD, "/etc/hostname", O_RDONLY);
      if (fd < 0) return 3;
      close(fd);
    } else if (syscall(SYS_getppid) != 4242) return 3;
  }
  clock_gettime(CLOCK_MONOTONIC, &b);
  printf("%.1f\n", ((b.tv_sec - a.tv_sec) * 1e9 + (b.tv_nsec - a.tv_nsec)) / n);
  return 0;
}
