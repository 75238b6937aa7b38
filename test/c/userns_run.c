/*
 * userns_run HOSTID COUNT CMD [ARGS...]: runs CMD natively as root of a new user namespace whose ids 0..COUNT-1
 * are host ids HOSTID.. (uids and gids), the maps written by this process as the host's root (the reference for
 * tvisor do --userns; util-linux unshare needs newuidmap for such a map).
 */
#define _GNU_SOURCE
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 4) { fprintf(stderr, "usage: userns_run HOSTID COUNT CMD...\n"); return 2; }
  int ready[2], go[2];
  if (pipe(ready) < 0 || pipe(go) < 0) return 2;
  pid_t c = fork();
  if (c == 0) {
    char b;
    close(ready[0]);
    close(go[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWUSER) < 0) { perror("unshare"); _exit(2); }
    if (write(ready[1], "x", 1) != 1 || read(go[0], &b, 1) != 1) _exit(2);
    if (syscall(SYS_setgroups, 0, NULL) < 0 || syscall(SYS_setresgid, 0, 0, 0) < 0 || syscall(SYS_setresuid, 0, 0, 0) < 0) {
      perror("set ids");
      _exit(2);
    }
    execvp(argv[3], argv + 3);
    perror(argv[3]);
    _exit(127);
  }
  char b, path[64], map[64];
  close(ready[1]);
  close(go[0]);
  if (read(ready[0], &b, 1) != 1) return 2;
  snprintf(map, sizeof map, "0 %s %s\n", argv[1], argv[2]);
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/proc/%d/%s", c, i ? "gid_map" : "uid_map");
    FILE *f = fopen(path, "w");
    if (!f || fputs(map, f) < 0 || fclose(f) != 0) { perror(path); return 2; }
  }
  if (write(go[1], "x", 1) != 1) return 2;
  int st;
  if (waitpid(c, &st, 0) < 0) return 2;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}
