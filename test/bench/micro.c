/*
 * Micro-benchmark workload for test/bench/bench.ts (compiled by the bench
 * into a temp dir at run time). Usage: micro MODE N
 * Modes: getppid, umask, mkdirat, openclose, stat, forkexec (fork + execve
 * /bin/true + waitpid), forkexit (fork + _exit + waitpid), thread
 * (pthread_create + pthread_join), pingpong (one byte to another process and
 * back through two pipes; the peer is forked before the timed loop).
 * Runs N iterations of MODE after a short warm-up, timed with
 * clock_gettime(CLOCK_MONOTONIC), and prints one line: "<ns per iteration>".
 * Any unexpected result is reported on stderr with exit status 1, so a
 * sandbox that answers wrongly cannot look fast.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *FILE_PATH = "/etc/hostname";
static const char *DIR_PATH = "/tmp";

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void fail(const char *what, long i) {
  fprintf(stderr, "micro: %s failed at iteration %ld: %s\n", what, i, strerror(errno));
  exit(1);
}

static long ppid_expected;

/* pingpong: the other process and the two pipes to it (set up once, before the timed loop). */
static int to_peer = -1, from_peer = -1;

static void start_peer(void) {
  int a[2], b[2];
  if (pipe(a) < 0 || pipe(b) < 0) fail("pipe", 0);
  pid_t pid = fork();
  if (pid < 0) fail("fork", 0);
  if (pid == 0) {
    char c;
    close(a[1]);
    close(b[0]);
    while (read(a[0], &c, 1) == 1)
      if (write(b[1], &c, 1) != 1) _exit(1);
    _exit(0);
  }
  close(a[0]);
  close(b[1]);
  to_peer = a[1];
  from_peer = b[0];
}

static void *thread_main(void *arg) { return arg; }

static void one(const char *mode, long i) {
  if (!strcmp(mode, "getppid")) {
    if (syscall(SYS_getppid) != ppid_expected) fail("getppid", i);
  } else if (!strcmp(mode, "umask")) {
    if (syscall(SYS_umask, 022) < 0) fail("umask", i);
  } else if (!strcmp(mode, "mkdirat")) {
    if (syscall(SYS_mkdirat, AT_FDCWD, DIR_PATH, 0755) != -1 || errno != EEXIST) fail("mkdirat (expected EEXIST)", i);
  } else if (!strcmp(mode, "openclose")) {
    int fd = openat(AT_FDCWD, FILE_PATH, O_RDONLY);
    if (fd < 0) fail("openat", i);
    if (close(fd) != 0) fail("close", i);
  } else if (!strcmp(mode, "stat")) {
    struct stat st;
    if (stat(FILE_PATH, &st) != 0 || !S_ISREG(st.st_mode)) fail("stat", i);
  } else if (!strcmp(mode, "forkexec")) {
    pid_t pid = fork();
    if (pid < 0) fail("fork", i);
    if (pid == 0) {
      char *argv[] = {"/bin/true", NULL};
      char *envp[] = {NULL};
      execve("/bin/true", argv, envp);
      _exit(127);
    }
    int status;
    if (waitpid(pid, &status, 0) != pid) fail("waitpid", i);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      errno = 0;
      fail("child /bin/true", i);
    }
  } else if (!strcmp(mode, "forkexit")) {
    pid_t pid = fork();
    if (pid < 0) fail("fork", i);
    if (pid == 0) _exit(0);
    int status;
    if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status)) fail("waitpid", i);
  } else if (!strcmp(mode, "thread")) {
    pthread_t t;
    void *ret = NULL;
    if ((errno = pthread_create(&t, NULL, thread_main, &ret)) != 0) fail("pthread_create", i);
    if ((errno = pthread_join(t, &ret)) != 0 || ret != &ret) fail("pthread_join", i);
  } else if (!strcmp(mode, "pingpong")) {
    char c = (char)i, back;
    if (write(to_peer, &c, 1) != 1) fail("write", i);
    if (read(from_peer, &back, 1) != 1 || back != c) fail("read", i);
  } else {
    fprintf(stderr, "micro: unknown mode %s\n", mode);
    exit(2);
  }
}

int main(int argc, char **argv) {
  if (argc != 3) {
    fprintf(stderr, "usage: micro MODE N\n");
    return 2;
  }
  const char *mode = argv[1];
  long n = atol(argv[2]);
  if (n <= 0) return 2;
  ppid_expected = getppid();
  if (!strcmp(mode, "pingpong")) start_peer();
  long warm = n / 20 > 0 ? n / 20 : 1;
  if (warm > 1000) warm = 1000;
  for (long i = 0; i < warm; i++) one(mode, i);
  double t0 = now_ns();
  for (long i = 0; i < n; i++) one(mode, i);
  double t1 = now_ns();
  printf("%.1f\n", (t1 - t0) / (double)n);
  if (to_peer >= 0) {
    close(to_peer);
    wait(NULL);
  }
  return 0;
}
