/*
 * Command timer for the filesystem rows of test/bench/bench.ts (compiled by
 * the bench into a temp dir at run time). Usage: timeit CMD [ARGS...]
 * Forks, execs CMD (an absolute path: no PATH search), waits for it and
 * prints one line on stderr, after everything CMD printed:
 * "timeit-ns <wall ns from before fork to after waitpid>".
 * Run natively, and inside `tvisor do` as the sandbox's command, it times the
 * same span in both: the workload, without tvisor's own startup and teardown.
 * Exit status: CMD's (128+N when it was killed by signal N); 127 when CMD
 * cannot be started.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: timeit CMD [ARGS...]\n");
    return 2;
  }
  long long t0 = now_ns();
  pid_t pid = fork();
  if (pid < 0) {
    fprintf(stderr, "timeit: fork: %s\n", strerror(errno));
    return 127;
  }
  if (pid == 0) {
    execv(argv[1], argv + 1);
    fprintf(stderr, "timeit: exec %s: %s\n", argv[1], strerror(errno));
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) {
      fprintf(stderr, "timeit: waitpid: %s\n", strerror(errno));
      return 127;
    }
  }
  long long t1 = now_ns();
  fprintf(stderr, "timeit-ns %lld\n", t1 - t0);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return WEXITSTATUS(status);
}
