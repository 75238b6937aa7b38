/*
 * probe: a static test program run inside the sandbox by test/confinement.test.ts.
 * Each mode prints one result line per attempt; see main() for the modes.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

static const char *ename(int e) {
  static char buf[32];
  const char *n = strerrorname_np(e);
  if (n) return n;
  snprintf(buf, sizeof buf, "E%d", e);
  return buf;
}

/* Prints "OK <first line>" or "ERR <ERRNO>" for open(path). */
static void try_open(int dirfd, const char *path) {
  int fd = openat(dirfd, path, O_RDONLY);
  if (fd < 0) { printf("ERR %s\n", ename(errno)); return; }
  char buf[256] = {0};
  ssize_t n = read(fd, buf, sizeof buf - 1);
  if (n < 0) printf("ERR read %s\n", ename(errno));
  else { buf[strcspn(buf, "\n")] = 0; printf("OK %s\n", buf); }
  close(fd);
}

static volatile int stop;
static const char *race_secret;

static void *flip_link(void *arg) {
  (void)arg;
  while (!stop) {
    unlink("/tmp/race.tmp");
    symlink(race_secret, "/tmp/race.tmp");
    rename("/tmp/race.tmp", "/tmp/race");
    unlink("/tmp/race.tmp");
    symlink("/tmp/safe", "/tmp/race.tmp");
    rename("/tmp/race.tmp", "/tmp/race");
  }
  return NULL;
}

static char flip_buf[4096];
static void *flip_path(void *arg) {
  (void)arg;
  while (!stop) {
    strcpy(flip_buf, race_secret);
    strcpy(flip_buf, "/tmp/safe");
  }
  return NULL;
}

/* Opens the raced path N times; prints "leaks L safe S other O". */
static void race(int n, void *(*fn)(void *), const char *target) {
  int f = open("/tmp/safe", O_CREAT | O_WRONLY | O_TRUNC, 0644);
  if (f < 0 || write(f, "safe\n", 5) != 5) { perror("safe"); exit(2); }
  close(f);
  strcpy(flip_buf, "/tmp/safe");
  pthread_t t;
  pthread_create(&t, NULL, fn, NULL);
  int leaks = 0, safe = 0, other = 0;
  for (int i = 0; i < n; i++) {
    int fd = open(target, O_RDONLY);
    if (fd < 0) { other++; continue; }
    char buf[64] = {0};
    ssize_t r = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (r > 0 && strncmp(buf, "TOPSECRET", 9) == 0) leaks++;
    else if (r > 0 && strncmp(buf, "safe", 4) == 0) safe++;
    else other++;
  }
  stop = 1;
  pthread_join(t, NULL);
  printf("leaks %d safe %d other %d\n", leaks, safe, other);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IONBF, 0);
  if (argc < 2) return 2;
  const char *m = argv[1];
  if (!strcmp(m, "open")) {
    for (int i = 2; i < argc; i++) try_open(AT_FDCWD, argv[i]);
  } else if (!strcmp(m, "openat")) { /* openat DIR REL...: relative to an fd of DIR */
    int d = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (d < 0) { printf("ERR dir %s\n", ename(errno)); return 1; }
    for (int i = 3; i < argc; i++) try_open(d, argv[i]);
  } else if (!strcmp(m, "fdlink")) { /* fdlink DIR REST...: /proc/self/fd/N/REST with N an fd of DIR */
    int d = open(argv[2], O_RDONLY | O_DIRECTORY);
    if (d < 0) { printf("ERR dir %s\n", ename(errno)); return 1; }
    for (int i = 3; i < argc; i++) {
      char p[4096];
      snprintf(p, sizeof p, "/proc/self/fd/%d/%s", d, argv[i]);
      try_open(AT_FDCWD, p);
    }
  } else if (!strcmp(m, "symlink-race")) { /* symlink-race SECRET N */
    race_secret = argv[2];
    race(atoi(argv[3]), flip_link, "/tmp/race");
  } else if (!strcmp(m, "path-race")) { /* path-race SECRET N */
    race_secret = argv[2];
    race(atoi(argv[3]), flip_path, flip_buf);
  } else if (!strcmp(m, "int80")) {
    long r;
    __asm__ volatile("int $0x80" : "=a"(r) : "a"(20L) : "memory");
    printf("int80 returned %ld\n", r);
  } else if (!strcmp(m, "tiocsti")) {
    char c = 'x';
    int r = ioctl(0, TIOCSTI, &c);
    printf("TIOCSTI %s\n", r < 0 ? ename(errno) : "OK");
    r = (int)syscall(SYS_ioctl, 0, 0xffffffff00000000UL | TIOCSTI, &c);
    printf("TIOCSTI-high %s\n", r < 0 ? ename(errno) : "OK");
    r = (int)syscall(SYS_ioctl, 0, TIOCLINUX, &c);
    printf("TIOCLINUX %s\n", r < 0 ? ename(errno) : "OK");
    int ldisc = 27; /* N_NULL */
    r = ioctl(0, TIOCSETD, &ldisc);
    printf("TIOCSETD %s\n", r < 0 ? ename(errno) : "OK");
    r = ioctl(0, TIOCEXCL);
    printf("TIOCEXCL %s\n", r < 0 ? ename(errno) : "OK");
  } else if (!strcmp(m, "syscalls")) { /* syscalls NR...: raw syscall(NR, 0...) */
    for (int i = 2; i < argc; i++) {
      long nr = atol(argv[i]);
      errno = 0;
      long r = syscall(nr, 0, 0, 0, 0, 0, 0);
      printf("%ld %ld %s\n", nr, r, r < 0 ? ename(errno) : "OK");
    }
  } else if (!strcmp(m, "clone-ns")) {
    static const struct { const char *name; unsigned long flag; } f[] = {
      {"CLONE_NEWUSER", 0x10000000}, {"CLONE_NEWNS", 0x20000}, {"CLONE_NEWPID", 0x20000000},
      {"CLONE_NEWNET", 0x40000000}, {"CLONE_NEWUTS", 0x04000000}, {"CLONE_NEWIPC", 0x08000000},
      {"CLONE_NEWCGROUP", 0x02000000}};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
      long r = syscall(SYS_clone, f[i].flag | SIGCHLD, 0, 0, 0, 0);
      if (r == 0) _exit(0);
      printf("clone %s %s\n", f[i].name, r < 0 ? ename(errno) : "OK");
      r = syscall(SYS_unshare, f[i].flag);
      printf("unshare %s %s\n", f[i].name, r < 0 ? ename(errno) : "OK");
    }
    long r = syscall(SYS_clone3, 0, 0);
    printf("clone3 %s\n", r < 0 ? ename(errno) : "OK");
    pid_t p = fork();
    if (p == 0) _exit(7);
    int st;
    waitpid(p, &st, 0);
    printf("fork %s\n", WIFEXITED(st) && WEXITSTATUS(st) == 7 ? "OK" : "BAD");
  } else {
    return 2;
  }
  return 0;
}
