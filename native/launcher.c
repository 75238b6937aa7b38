/*
 * tvisor-launch: builds a sandbox and execs the workload in it.
 *
 * Started by the tvisor CLI (Node) with:
 *   fd 3  the config stream (TLV records, see below), then one "go" byte
 *         once the sentry holds the seccomp listener;
 *   fd 4  the status stream: text lines "init PID", "listener FD",
 *         "error STAGE: MESSAGE".
 * Environment: TVISOR_PARENT_PID, the pid of the Node process (checked
 * after PR_SET_PDEATHSIG so a parent that died first is noticed).
 *
 * Process tree (host pid namespace on the left):
 *   node ── tvisor-launch (L) ── init (I, pid 1 in the sandbox) ── workload (W)
 * L creates the namespaces, forks I (the first process of the new pid
 * namespace) and waits for it. I builds the mount tree, drops capabilities,
 * sets no_new_privs, installs the seccomp filter with a user-notify listener,
 * reports the listener fd (the sentry takes it with pidfd_getfd), waits for
 * "go", then forks W, forwards signals to it and reaps orphans. Each process
 * has PR_SET_PDEATHSIG(SIGKILL) towards its parent, so the death of Node at
 * any moment kills L, then I, and the death of I (pid 1) makes the kernel
 * kill every process of the pid namespace. All mounts live in the sandbox's
 * mount namespace and vanish with it.
 *
 * Exit status of L: the workload's (128+signal when killed by a signal),
 * 125 on a setup error, 126 when the command cannot be executed, 127 when
 * it is not found (docker/podman convention).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/mount.h>
#ifndef OPEN_TREE_CLONE
#define OPEN_TREE_CLONE 1
#define OPEN_TREE_CLOEXEC O_CLOEXEC
#endif
#ifndef MOVE_MOUNT_F_EMPTY_PATH
#define MOVE_MOUNT_F_EMPTY_PATH 0x04
#define MOVE_MOUNT_T_EMPTY_PATH 0x40
#endif
#ifndef MOUNT_ATTR_RDONLY
#define MOUNT_ATTR_RDONLY 0x1
#define MOUNT_ATTR_NOSUID 0x2
#define MOUNT_ATTR_NODEV 0x4
#define MOUNT_ATTR_NOEXEC 0x8
#endif
#ifndef AT_RECURSIVE
#define AT_RECURSIVE 0x8000
#endif
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define CONFIG_FD 3
#define STATUS_FD 4

enum tag {
  T_END = 0,
  T_NS_NEW = 1,   /* u32 CLONE_NEW* flag */
  T_NS_JOIN = 2,  /* u32 CLONE_NEW* flag, then the namespace path */
  T_ROOTFS = 3,   /* path; empty means the host's / */
  T_OVERLAY = 4,  /* "memory" (tmpfs upper, thrown away) or "none" */
  T_VOLUME = 5,   /* u32 flags (1 = read-only), host path NUL guest path */
  T_CWD = 6,      /* path; "?path" falls back to / when path is missing */
  T_ENV = 7,
  T_ARG = 8,
  T_CAPS = 9,     /* 5 x u64: bounding effective permitted inheritable ambient */
  T_FILTER = 10,  /* struct sock_filter[] */
  T_HOSTNAME = 11,
  T_NNP = 12,     /* u32 0/1 */
  T_USER = 13,    /* u32 uid, u32 gid, u32 additional gids... */
};

#define MAX_ITEMS 256

struct volume {
  uint32_t flags;
  char *host;
  char *guest;
  int fd;
};

struct ns_req {
  uint32_t flag;
  char *path; /* NULL: create a new one */
  int fd;
};

static struct {
  struct ns_req ns[16];
  int n_ns;
  char *rootfs;
  char *overlay;
  struct volume vol[MAX_ITEMS];
  int n_vol;
  char *cwd;
  char *env[MAX_ITEMS * 4];
  int n_env;
  char *argv[MAX_ITEMS * 4];
  int n_arg;
  uint64_t caps[5];
  int have_caps;
  struct sock_filter *filter;
  size_t filter_len;
  char *hostname;
  int nnp;
  int have_user;
  uint32_t uid, gid;
  gid_t groups[64];
  int n_groups;
} cfg;

static const char *stage = "start";

static void status(const char *fmt, ...) {
  char buf[4096];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(buf, sizeof buf - 1, fmt, ap);
  va_end(ap);
  if (n < 0) return;
  if (n > (int)sizeof buf - 2) n = sizeof buf - 2;
  buf[n++] = '\n';
  ssize_t w = write(STATUS_FD, buf, n);
  (void)w;
}

__attribute__((noreturn)) static void die(const char *fmt, ...) {
  char msg[3000];
  va_list ap;
  int saved = errno;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  status("error %s: %s: %s", stage, msg, strerror(saved));
  _exit(125);
}

static void read_full(int fd, void *buf, size_t len) {
  char *p = buf;
  while (len > 0) {
    ssize_t r = read(fd, p, len);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      if (r == 0) errno = EPIPE;
      die("reading config");
    }
    p += r;
    len -= (size_t)r;
  }
}

static void read_config(void) {
  stage = "config";
  for (;;) {
    uint32_t hdr[2];
    read_full(CONFIG_FD, hdr, sizeof hdr);
    uint32_t tag = hdr[0], len = hdr[1];
    if (tag == T_END) return;
    if (len > (16u << 20)) { errno = E2BIG; die("record %u too long", tag); }
    char *v = calloc(1, len + 1);
    if (!v) die("calloc");
    read_full(CONFIG_FD, v, len);
    uint32_t u = len >= 4 ? *(uint32_t *)v : 0;
    switch (tag) {
    case T_NS_NEW:
    case T_NS_JOIN:
      if (cfg.n_ns >= 16) { errno = E2BIG; die("too many namespaces"); }
      cfg.ns[cfg.n_ns].flag = u;
      cfg.ns[cfg.n_ns].path = tag == T_NS_JOIN ? v + 4 : NULL;
      cfg.ns[cfg.n_ns].fd = -1;
      cfg.n_ns++;
      break;
    case T_ROOTFS: cfg.rootfs = v; break;
    case T_OVERLAY: cfg.overlay = v; break;
    case T_VOLUME: {
      if (cfg.n_vol >= MAX_ITEMS) { errno = E2BIG; die("too many volumes"); }
      struct volume *vol = &cfg.vol[cfg.n_vol++];
      vol->flags = u;
      vol->host = v + 4;
      vol->guest = v + 4 + strlen(v + 4) + 1;
      vol->fd = -1;
      break;
    }
    case T_CWD: cfg.cwd = v; break;
    case T_ENV:
      if (cfg.n_env >= MAX_ITEMS * 4 - 1) { errno = E2BIG; die("too many env"); }
      cfg.env[cfg.n_env++] = v;
      break;
    case T_ARG:
      if (cfg.n_arg >= MAX_ITEMS * 4 - 1) { errno = E2BIG; die("too many args"); }
      cfg.argv[cfg.n_arg++] = v;
      break;
    case T_CAPS:
      if (len != 40) { errno = EINVAL; die("caps record"); }
      memcpy(cfg.caps, v, 40);
      cfg.have_caps = 1;
      break;
    case T_FILTER:
      cfg.filter = (struct sock_filter *)v;
      cfg.filter_len = len / sizeof(struct sock_filter);
      break;
    case T_HOSTNAME: cfg.hostname = v; break;
    case T_NNP: cfg.nnp = (int)u; break;
    case T_USER: {
      uint32_t *w = (uint32_t *)v;
      cfg.have_user = 1;
      cfg.uid = w[0];
      cfg.gid = w[1];
      for (uint32_t i = 2; i < len / 4 && cfg.n_groups < 64; i++) cfg.groups[cfg.n_groups++] = w[i];
      break;
    }
    default: errno = EINVAL; die("unknown record %u", tag);
    }
  }
}

static int openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
  struct open_how how = {.flags = flags, .mode = 0, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

/* mkdir -p PATH under ROOTFD, never leaving it (RESOLVE_IN_ROOT); returns an
 * O_PATH fd of the directory, or of an empty file when AS_FILE. */
static int mkpath_in_root(int rootfd, const char *path, int as_file) {
  char buf[4096];
  if (strlen(path) >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
  strcpy(buf, path);
  int fd = openat2_(rootfd, buf, O_PATH, RESOLVE_IN_ROOT);
  if (fd >= 0) return fd;
  if (errno != ENOENT) return -1;
  char *slash = strrchr(buf, '/');
  while (slash && slash > buf && slash[1] == 0) { *slash = 0; slash = strrchr(buf, '/'); }
  char *base = slash ? slash + 1 : buf;
  int parent;
  if (!slash || slash == buf) {
    parent = openat2_(rootfd, "/", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
  } else {
    *slash = 0;
    parent = mkpath_in_root(rootfd, buf, 0);
  }
  if (parent < 0) return -1;
  int r = as_file ? openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644)
                  : mkdirat(parent, base, 0755);
  if (r < 0 && errno != EEXIST) { close(parent); return -1; }
  if (as_file && r >= 0) close(r);
  fd = openat2_(parent, base, O_PATH, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
  close(parent);
  return fd;
}

static void fdpath(char *buf, size_t len, int fd) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

static void mount_at(int rootfd, const char *guest, const char *src, const char *type,
                     unsigned long flags, const char *data) {
  int fd = mkpath_in_root(rootfd, guest, 0);
  if (fd < 0) die("mkdir %s", guest);
  char target[64];
  fdpath(target, sizeof target, fd);
  if (mount(src, target, type, flags, data) < 0) die("mount %s on %s", type ? type : src, guest);
  close(fd);
}

static void mknod_at(int devfd, const char *name, mode_t mode, unsigned maj, unsigned min) {
  if (mknodat(devfd, name, S_IFCHR | mode, makedev(maj, min)) < 0) die("mknod /dev/%s", name);
  /* mknod is subject to umask; set the mode exactly. */
  if (fchmodat(devfd, name, mode, 0) < 0) die("chmod /dev/%s", name);
}

static void build_dev(int rootfd) {
  stage = "mount /dev";
  mount_at(rootfd, "/dev", "tmpfs", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=755,size=65536k");
  int dev = openat2_(rootfd, "/dev", O_PATH | O_DIRECTORY, RESOLVE_IN_ROOT);
  if (dev < 0) die("open /dev");
  mknod_at(dev, "null", 0666, 1, 3);
  mknod_at(dev, "zero", 0666, 1, 5);
  mknod_at(dev, "full", 0666, 1, 7);
  mknod_at(dev, "random", 0666, 1, 8);
  mknod_at(dev, "urandom", 0666, 1, 9);
  mknod_at(dev, "tty", 0666, 5, 0);
  static const char *links[][2] = {{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                                   {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                   {"pts/ptmx", "ptmx"},          {"/proc/kcore", "core"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0) die("symlink /dev/%s", links[i][1]);
  close(dev);
  /* The caller's terminal as /dev/console (runc's convention), so ttyname(3) and tty(1) find it: the host pty
   * lives in the host's devpts, which the sandbox does not see. The workload already holds it as stdin. */
  char *tty = isatty(0) ? ttyname(0) : NULL;
  if (tty && strncmp(tty, "/dev/", 5) == 0) {
    int fd = mkpath_in_root(rootfd, "/dev/console", 1);
    char target[64];
    if (fd < 0) die("mkdir /dev/console");
    fdpath(target, sizeof target, fd);
    if (mount(tty, target, NULL, MS_BIND, NULL) < 0) die("bind %s on /dev/console", tty);
    close(fd);
  }
  mount_at(rootfd, "/dev/pts", "devpts", "devpts", MS_NOSUID | MS_NOEXEC,
           "newinstance,ptmxmode=0666,mode=0620,gid=5");
  mount_at(rootfd, "/dev/shm", "shm", "tmpfs", MS_NOSUID | MS_NODEV, "mode=1777,size=65536k");
  mount_at(rootfd, "/dev/mqueue", "mqueue", "mqueue", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/*
 * The kernel interfaces that would reach the host from a root workload:
 * masked (an empty read-only tmpfs over directories, the sandbox's /dev/null
 * over files) or made read-only, as runc and containerd do by default
 * (runtime-spec maskedPaths / readonlyPaths). /proc/sys is the sharpest:
 * kernel.core_pattern runs a program as root on the host.
 */
static const char *const masked_paths[] = {"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys",
                                           "/proc/latency_stats", "/proc/timer_list", "/proc/timer_stats",
                                           "/proc/sched_debug", "/proc/scsi", "/proc/kmsg", "/sys/firmware",
                                           "/sys/devices/virtual/powercap"};
static const char *const readonly_paths[] = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"};

static void harden_proc_sys(int root) {
  stage = "masked paths";
  char target[64], src[64];
  int devnull = openat2_(root, "/dev/null", O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT);
  if (devnull < 0) die("/dev/null");
  fdpath(src, sizeof src, devnull);
  for (size_t i = 0; i < sizeof masked_paths / sizeof masked_paths[0]; i++) {
    int fd = openat2_(root, masked_paths[i], O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      die("%s", masked_paths[i]);
    }
    struct stat st;
    if (fstat(fd, &st) < 0) die("stat %s", masked_paths[i]);
    fdpath(target, sizeof target, fd);
    if (S_ISDIR(st.st_mode) ? mount("tvisor-masked", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
                            : mount(src, target, NULL, MS_BIND, NULL))
      die("mask %s", masked_paths[i]);
    close(fd);
  }
  close(devnull);
  stage = "read-only paths";
  for (size_t i = 0; i < sizeof readonly_paths / sizeof readonly_paths[0]; i++) {
    int fd = openat2_(root, readonly_paths[i], O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_SYMLINKS);
    if (fd < 0) {
      if (errno == ENOENT) continue;
      die("%s", readonly_paths[i]);
    }
    int mfd = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    struct mount_attr_ { uint64_t set, clr, prop, userns; } a = {
        .set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC};
    if (mfd < 0 || syscall(SYS_mount_setattr, mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0 ||
        syscall(SYS_move_mount, mfd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      die("read-only %s", readonly_paths[i]);
    close(mfd);
    close(fd);
  }
}

static void build_mounts(void) {
  stage = "mounts";
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
  const char *rootsrc = cfg.rootfs && cfg.rootfs[0] ? cfg.rootfs : "/";
  int lower = open(rootsrc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (lower < 0) die("rootfs %s", rootsrc);
  for (int i = 0; i < cfg.n_vol; i++) {
    cfg.vol[i].fd = open(cfg.vol[i].host, O_PATH | O_CLOEXEC);
    if (cfg.vol[i].fd < 0) die("volume %s", cfg.vol[i].host);
  }
  /* A private staging tmpfs; the host never sees it (private mount ns). */
  if (mount("tvisor", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=700") < 0) die("staging tmpfs");
  char src[64];
  fdpath(src, sizeof src, lower);
  if (cfg.overlay && strcmp(cfg.overlay, "none") == 0) {
    if (mkdir("/tmp/m", 0755) < 0) die("mkdir");
    if (mount(src, "/tmp/m", NULL, MS_BIND | MS_REC, NULL) < 0) die("bind rootfs");
  } else {
    if (mkdir("/tmp/u", 0755) < 0 || mkdir("/tmp/w", 0755) < 0 || mkdir("/tmp/m", 0755) < 0) die("mkdir");
    char opts[256];
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=/tmp/u,workdir=/tmp/w,xino=on", src);
    if (mount("overlay", "/tmp/m", "overlay", MS_NOSUID | MS_NODEV, opts) < 0) die("overlay on %s", rootsrc);
  }
  int root = open("/tmp/m", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die("open new root");

  stage = "mount /proc";
  mount_at(root, "/proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
  build_dev(root);
  stage = "mount /sys";
  {
    int fd = mkpath_in_root(root, "/sys", 0);
    char target[64];
    if (fd < 0) die("mkdir /sys");
    fdpath(target, sizeof target, fd);
    if (mount("sysfs", target, "sysfs", MS_NOSUID | MS_NODEV | MS_NOEXEC | MS_RDONLY, NULL) < 0) {
      /* Sharing the host's network namespace: sysfs cannot be mounted anew. */
      if (mount("/sys", target, NULL, MS_BIND | MS_REC, NULL) < 0) die("bind /sys");
      if (mount(NULL, target, NULL, MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        die("remount /sys read-only");
    }
    close(fd);
  }
  stage = "volumes";
  for (int i = 0; i < cfg.n_vol; i++) {
    struct stat st;
    if (fstat(cfg.vol[i].fd, &st) < 0) die("stat %s", cfg.vol[i].host);
    int fd = mkpath_in_root(root, cfg.vol[i].guest, !S_ISDIR(st.st_mode));
    if (fd < 0) die("mount point %s", cfg.vol[i].guest);
    /* A detached copy of the host tree, made read-only before it is attached (new mount API). */
    int mfd = (int)syscall(SYS_open_tree, cfg.vol[i].fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    if (mfd < 0) die("bind %s", cfg.vol[i].host);
    struct mount_attr_ { uint64_t set, clr, prop, userns; } a = {.set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV};
    if (cfg.vol[i].flags & 1) a.set |= MOUNT_ATTR_RDONLY;
    if (syscall(SYS_mount_setattr, mfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &a, sizeof a) < 0)
      die("mount flags of %s", cfg.vol[i].guest);
    if (syscall(SYS_move_mount, mfd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      die("attach %s", cfg.vol[i].guest);
    close(mfd);
    close(fd);
    close(cfg.vol[i].fd);
  }
  close(lower);
  harden_proc_sys(root);
  stage = "pivot_root";
  if (fchdir(root) < 0) die("chdir new root");
  if (syscall(SYS_pivot_root, ".", ".") < 0) die("pivot_root");
  if (umount2(".", MNT_DETACH) < 0) die("detach old root");
  if (chdir("/") < 0) die("chdir /");
  close(root);
}

static void set_caps(void) {
  stage = "capabilities";
  for (int c = 0; c <= 63; c++) {
    if (cfg.caps[0] & (1ULL << c)) continue;
    if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL) die("drop cap %d", c);
  }
  if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0) die("clear ambient");
  struct __user_cap_header_struct h = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct d[2];
  for (int i = 0; i < 2; i++) {
    d[i].effective = (uint32_t)(cfg.caps[1] >> (32 * i));
    d[i].permitted = (uint32_t)(cfg.caps[2] >> (32 * i));
    d[i].inheritable = (uint32_t)(cfg.caps[3] >> (32 * i));
  }
  if (syscall(SYS_capset, &h, d) < 0) die("capset");
  for (int c = 0; c <= 63; c++)
    if ((cfg.caps[4] & (1ULL << c)) && prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, c, 0, 0) < 0)
      die("ambient cap %d", c);
}

static void set_user(void) {
  stage = "user";
  if (!cfg.have_user) return;
  /* Keep capabilities across the uid change; execve recomputes them. */
  if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0) die("keepcaps");
  if (syscall(SYS_setgroups, cfg.n_groups, cfg.groups) < 0) die("setgroups");
  if (syscall(SYS_setresgid, cfg.gid, cfg.gid, cfg.gid) < 0) die("setgid %u", cfg.gid);
  if (syscall(SYS_setresuid, cfg.uid, cfg.uid, cfg.uid) < 0) die("setuid %u", cfg.uid);
}

static void loopback_up(void) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) die("socket");
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  strcpy(ifr.ifr_name, "lo");
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) die("get lo flags");
  ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
  if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) die("set lo up");
  close(s);
}

static void enter_namespaces(uint32_t *new_flags) {
  stage = "namespaces";
  static const uint32_t order[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
                                   CLONE_NEWPID,  CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
  /* Open every path first: they are host paths, valid before any switch. */
  for (int i = 0; i < cfg.n_ns; i++)
    if (cfg.ns[i].path && (cfg.ns[i].fd = open(cfg.ns[i].path, O_RDONLY | O_CLOEXEC)) < 0)
      die("namespace %s", cfg.ns[i].path);
  *new_flags = 0;
  for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
    for (int i = 0; i < cfg.n_ns; i++) {
      if (cfg.ns[i].flag != order[o]) continue;
      if (cfg.ns[i].path) {
        if (setns(cfg.ns[i].fd, (int)cfg.ns[i].flag) < 0) die("setns %s", cfg.ns[i].path);
        close(cfg.ns[i].fd);
      } else {
        if (cfg.ns[i].flag == CLONE_NEWUSER) { errno = ENOTSUP; die("new user namespace"); }
        if (unshare((int)cfg.ns[i].flag) < 0) die("unshare %#x", cfg.ns[i].flag);
        *new_flags |= cfg.ns[i].flag;
      }
    }
  }
}

static pid_t workload = -1;
static int fg_tty;

static void exec_workload(void) {
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  setpgid(0, 0);
  if (fg_tty) {
    signal(SIGTTOU, SIG_IGN);
    tcsetpgrp(0, getpid());
    signal(SIGTTOU, SIG_DFL);
  }
  sigprocmask(SIG_SETMASK, &none, NULL);
  if (syscall(SYS_close_range, 3, ~0U, 0) < 0) _exit(125);
  cfg.env[cfg.n_env] = NULL;
  cfg.argv[cfg.n_arg] = NULL;
  environ = cfg.env;
  execvp(cfg.argv[0], cfg.argv);
  int e = errno;
  dprintf(2, "tvisor: %s: %s\n", cfg.argv[0], strerror(e));
  _exit(e == ENOENT || e == ENOTDIR ? 127 : 126);
}

static void forward(int sig) { (void)sig; }

/*
 * The workload reads /proc/1/environ and /proc/1/cmdline: the host pid of
 * tvisor (TVISOR_PARENT_PID) must not be there. pid 1 is a fork of the
 * launcher, whose own copy (outside the sandbox's pid namespace) keeps it;
 * the kernel shows the bytes of this process's initial environment block,
 * so they are wiped in place. (argv[0] is "tvisor-launch", not a host path:
 * src/sandbox.ts spawns it so.)
 */
static void scrub_environ(void) {
  for (char **e = environ; *e; e++)
    if (strncmp(*e, "TVISOR_PARENT_PID=", 18) == 0) memset(*e, 0, strlen(*e));
}

/* pid 1 of the sandbox. */
static void run_init(int lifeline) {
  scrub_environ();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) die("pdeathsig");
  struct pollfd pf = {.fd = lifeline, .events = POLLIN};
  if (poll(&pf, 1, 0) > 0) _exit(125); /* L died before the prctl */
  setpgid(0, 0);
  build_mounts();
  stage = "hostname";
  if (cfg.hostname && sethostname(cfg.hostname, strlen(cfg.hostname)) < 0) die("%s", cfg.hostname);
  stage = "cwd";
  /* "?PATH": the caller's own cwd, which the sandbox may lack: then "/". */
  if (cfg.cwd && cfg.cwd[0] == '?') {
    if (chdir(cfg.cwd + 1) < 0 && chdir("/") < 0) die("cwd /");
  } else if (cfg.cwd && chdir(cfg.cwd) < 0) die("%s", cfg.cwd);
  set_user();
  if (cfg.have_caps) set_caps();
  stage = "no_new_privs";
  if (cfg.nnp && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) die("no_new_privs");

  /* Signals: block everything; the loop below waits for them. */
  sigset_t all;
  sigfillset(&all);
  sigprocmask(SIG_BLOCK, &all, NULL);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) signal(s, forward);

  stage = "seccomp";
  int listener = -1;
  if (cfg.filter_len) {
    struct sock_fprog prog = {.len = (unsigned short)cfg.filter_len, .filter = cfg.filter};
    listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
                            SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
    if (listener < 0) die("install filter");
  }
  /* From here on every syscall meets the filter. */
  status("listener %d", listener);
  char go;
  if (read(CONFIG_FD, &go, 1) != 1) _exit(125);
  if (listener >= 0) close(listener);
  close(CONFIG_FD);
  close(STATUS_FD);
  close(lifeline);

  workload = fork();
  if (workload < 0) die("fork");
  if (workload == 0) exec_workload();

  int code = 0;
  for (;;) {
    siginfo_t si;
    int sig = sigwaitinfo(&all, &si);
    if (sig < 0) continue;
    if (sig != SIGCHLD) {
      kill(workload, sig);
      continue;
    }
    int st;
    pid_t p;
    while ((p = waitpid(-1, &st, WNOHANG)) > 0) {
      if (p != workload) continue;
      code = WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
      _exit(code); /* pid 1 exits: the kernel kills what is left */
    }
  }
}

/*
 * stdio relays. A workload given a host file, a host device (/dev/null!) or a
 * named FIFO as stdin/stdout/stderr could fchmod/fchown it or reopen it
 * wider through /proc/self/fd/N. Such fds are replaced by pipes that this
 * launcher (outside the sandbox) copies to and from the real ones, as a
 * container runtime's shim does. Anonymous pipes, sockets and terminals pass
 * through (their inodes name nothing on the host's file systems).
 */
#define PIPEFS_MAGIC 0x50495045
struct relay {
  int on;
  int host;       /* the real fd (0, 1 or 2) */
  int pipe_end;   /* the launcher's end of the pipe */
  int child_end;  /* the workload's end */
  char buf[65536];
  size_t len, off;
};
static struct relay rel[3];

static int needs_relay(int fd) {
  struct stat st;
  struct statfs sf;
  if (fstat(fd, &st) < 0) return 0; /* closed: stays closed */
  if (isatty(fd) || S_ISSOCK(st.st_mode)) return 0;
  if (S_ISFIFO(st.st_mode) && fstatfs(fd, &sf) == 0 && sf.f_type == PIPEFS_MAGIC) return 0;
  return 1;
}

static void setup_relays(void) {
  stage = "stdio";
  for (int fd = 0; fd <= 2; fd++) {
    rel[fd].host = fd;
    if (!needs_relay(fd)) continue;
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0) die("pipe");
    rel[fd].on = 1;
    rel[fd].child_end = fd == 0 ? p[0] : p[1];
    rel[fd].pipe_end = fd == 0 ? p[1] : p[0];
    if (fd == 0) fcntl(p[1], F_SETFL, O_NONBLOCK);
  }
}

/* In init: the pipes become stdio. */
static void attach_relays(void) {
  for (int fd = 0; fd <= 2; fd++) {
    if (!rel[fd].on) continue;
    if (dup2(rel[fd].child_end, fd) < 0) _exit(125);
  }
  for (int fd = 0; fd <= 2; fd++)
    if (rel[fd].on) {
      close(rel[fd].child_end);
      close(rel[fd].pipe_end);
    }
}

static void write_all(int fd, const char *b, size_t n) {
  while (n > 0) {
    ssize_t w = write(fd, b, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return; /* the reader went away: output is dropped, the workload is not stalled */
    b += w;
    n -= (size_t)w;
  }
}

/* Copies until init has exited and the output pipes are drained (every writer is then dead). */
static void run_relays(pid_t init) {
  if (!rel[0].on && !rel[1].on && !rel[2].on) return;
  int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
  int init_done = pidfd < 0;
  for (;;) {
    struct pollfd pf[4];
    int map[4], n = 0;
    if (rel[0].on) {
      map[n] = 0;
      pf[n].fd = rel[0].len ? rel[0].pipe_end : rel[0].host;
      pf[n++].events = rel[0].len ? POLLOUT : POLLIN;
    }
    for (int fd = 1; fd <= 2; fd++)
      if (rel[fd].on) {
        map[n] = fd;
        pf[n].fd = rel[fd].pipe_end;
        pf[n++].events = POLLIN;
      }
    if (!init_done) {
      map[n] = -1;
      pf[n].fd = pidfd;
      pf[n++].events = POLLIN;
    }
    if (init_done && !rel[1].on && !rel[2].on) break;
    if (poll(pf, (nfds_t)n, -1) < 0) {
      if (errno == EINTR) continue;
      break;
    }
    for (int i = 0; i < n; i++) {
      if (!pf[i].revents) continue;
      int fd = map[i];
      if (fd < 0) { init_done = 1; continue; }
      struct relay *r = &rel[fd];
      if (fd == 0 && !r->len) {
        ssize_t got = read(r->host, r->buf, sizeof r->buf);
        if (got <= 0) { close(r->pipe_end); r->on = 0; continue; }
        r->len = (size_t)got;
        r->off = 0;
      } else if (fd == 0) {
        ssize_t w = write(r->pipe_end, r->buf + r->off, r->len - r->off);
        if (w < 0 && errno != EAGAIN && errno != EINTR) { close(r->pipe_end); r->on = 0; continue; }
        if (w > 0 && (r->off += (size_t)w) == r->len) r->len = 0;
      } else {
        ssize_t got = read(r->pipe_end, r->buf, sizeof r->buf);
        if (got <= 0) { close(r->pipe_end); r->on = 0; continue; }
        write_all(r->host, r->buf, (size_t)got);
      }
    }
    /* Once the sandbox is gone nobody reads stdin any more. */
    if (init_done && rel[0].on) { close(rel[0].pipe_end); rel[0].on = 0; }
  }
  if (pidfd >= 0) close(pidfd);
}

/*
 * Runs this launcher from a sealed memfd copy of itself, so that the sandbox's
 * pid 1 (a fork of it) has no host file as /proc/1/exe: through that magic
 * link a workload could chmod, chown or set xattrs on the host binary (the
 * runc CVE-2019-5736 lesson).
 */
static void reexec_sealed(char **argv) {
  char self[256];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n < 0) _exit(125);
  self[n] = 0;
  if (strncmp(self, "/memfd:tvisor-launch", 20) == 0) return;
  int src = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int mfd = (int)syscall(SYS_memfd_create, "tvisor-launch", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (src < 0 || mfd < 0) _exit(125);
  for (;;) {
    ssize_t r = sendfile(mfd, src, NULL, 1 << 20);
    if (r < 0) _exit(125);
    if (r == 0) break;
  }
  close(src);
  if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE) < 0) _exit(125);
  fexecve(mfd, argv, environ);
  _exit(125);
}

int main(int argc, char **argv) {
  (void)argc;
  /* Nothing the caller's caller left open may reach the sandbox (pid 1 is a fork of this process):
   * keep stdio and the two pipes to tvisor only. */
  if (syscall(SYS_close_range, STATUS_FD + 1, ~0U, 0) < 0) return 125;
  reexec_sealed(argv);
  const char *pp = getenv("TVISOR_PARENT_PID");
  if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0) return 125;
  if (!pp || getppid() != (pid_t)atoi(pp)) return 125;
  signal(SIGPIPE, SIG_IGN);
  read_config();
  if (cfg.n_arg == 0) { errno = EINVAL; die("no command"); }

  stage = "stdio";
  for (int fd = 0; fd <= 2; fd++) {
    struct stat st;
    /* A directory as stdio would be a handle on the host tree (/proc/self/fd/0/..). */
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) { errno = EISDIR; die("fd %d", fd); }
  }
  fg_tty = isatty(0) && tcgetpgrp(0) == getpgrp();
  uint32_t created;
  enter_namespaces(&created);
  if (created & CLONE_NEWNET) loopback_up();

  int life[2];
  if (pipe2(life, O_CLOEXEC) < 0) die("pipe");
  setup_relays();
  stage = "fork init";
  pid_t init = fork();
  if (init < 0) die("fork");
  if (init == 0) {
    close(life[1]);
    attach_relays();
    run_init(life[0]);
  }
  close(life[0]);
  for (int fd = 0; fd <= 2; fd++)
    if (rel[fd].on) close(rel[fd].child_end);
  close(CONFIG_FD);
  status("init %d", init);
  close(STATUS_FD);
  for (int s = 1; s < NSIG; s++)
    if (s != SIGKILL && s != SIGSTOP && s != SIGCHLD) signal(s, SIG_IGN);
  run_relays(init);
  int st;
  while (waitpid(init, &st, 0) < 0)
    if (errno != EINTR) return 125;
  if (fg_tty && tcgetpgrp(0) != getpgrp()) tcsetpgrp(0, getpgrp());
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
