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
 * mount namespace and vanish with it. Before any namespace, L joins the
 * sandbox's cgroup (T_CGROUP), which I and W inherit.
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
#ifndef MOUNT_ATTR_IDMAP
#define MOUNT_ATTR_IDMAP 0x00100000
#endif
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <dirent.h>
#include <sys/file.h>
#include <termios.h>
#include <unistd.h>

#define CONFIG_FD 3
#define STATUS_FD 4

enum tag {
  T_END = 0,
  T_NS_NEW = 1,   /* u32 CLONE_NEW* flag */
  T_NS_JOIN = 2,  /* u32 CLONE_NEW* flag, then the namespace path */
  T_ROOTFS = 3,   /* path; empty means the host's / */
  T_OVERLAY = 4,  /* "memory" (tmpfs upper, thrown away), "none" (the rootfs itself, bind-mounted rw; never the
                   * host's /), "dir=PATH" (upper and work dirs PATH/upper and PATH/work on the host, kept) */
  /* 5: was T_VOLUME; volumes are T_MOUNT steps */
  T_CWD = 6,      /* path; "?path" falls back to / when path is missing */
  T_ENV = 7,
  T_ARG = 8,
  T_CAPS = 9,     /* 5 x u64: bounding effective permitted inheritable ambient */
  T_FILTER = 10,  /* struct sock_filter[] */
  T_HOSTNAME = 11,
  T_NNP = 12,     /* u32 0/1 */
  T_USER = 13,    /* u32 uid, u32 gid, u32 additional gids... */
  T_MOUNT = 14,   /* one root setup step, applied in order: u32 kind (S_*), u32 a[5], then four strings each
                   * NUL-terminated: source, destination (inside the new root), fs type, data (see struct step) */
  T_ROOT_RO = 15, /* u32 0/1: the root mount is made read-only after the last step (OCI root.readonly) */
  T_CGROUP = 16,  /* path of a cgroup.procs file (one record per hierarchy, made by src/cgroups.ts): the
                   * launcher writes its pid into each before it creates any namespace, so init and every
                   * sandbox process start in the sandbox's cgroup, which is also the root of the sandbox's
                   * cgroup namespace */
  T_UIDMAP = 17,  /* a new user namespace's /proc/PID/uid_map text ("inside outside count" lines) */
  T_GIDMAP = 18,  /* its gid_map text */
  T_TTY = 19,     /* u32 0/1: the workload gets a new pty of the sandbox's devpts (OCI process.terminal; see
                   * setup_console) */
};

/*
 * Root setup steps (T_MOUNT), built by src/oci/mounts.ts from OCI runtime-spec
 * mounts, linux.devices, maskedPaths and readonlyPaths. Destinations are
 * resolved inside the new root (openat2 RESOLVE_IN_ROOT: a symlink in the
 * rootfs cannot lead a mount out of it); missing mount points are created
 * there (a file for a bind of a non-directory, else a directory).
 */
enum step_kind {
  S_BIND = 1,      /* source (host path) bound at destination. a0 MOUNT_ATTR_* to set, a1 MOUNT_ATTR_* to clear
                    * (mount_setattr(2), before the tree is attached), a2 propagation (MS_PRIVATE, MS_SHARED,
                    * MS_SLAVE or MS_UNBINDABLE, | MS_REC; 0: unchanged), a3 1 = recursive (rbind; the attrs
                    * then apply to every mount of the tree, AT_RECURSIVE) */
  S_FS = 2,        /* a new file system: type (proc, sysfs, devpts, mqueue, tmpfs, cgroup, cgroup2), a0 MS_* flags,
                    * a2 propagation as for S_BIND, data passed to mount(2) */
  S_MASK = 3,      /* masked path: a directory gets an empty read-only tmpfs, anything else a bind of a private
                    * /dev/null node; missing: skipped */
  S_READONLY = 4,  /* read-only path: bound onto itself, read-only, nosuid, nodev, noexec, recursively; missing:
                    * skipped */
  S_DEVICE = 5,    /* device node at destination: a0 mode (S_IFCHR or S_IFIFO | permissions), a1 major, a2 minor,
                    * a3 uid, a4 gid */
  S_DEVLINKS = 6,  /* /dev/fd, stdin, stdout, stderr, ptmx symlinks; /dev/console bound to the caller's
                    * terminal when stdin is one (with T_TTY: to the sandbox's own pty, see setup_console) */
};

#define MAX_ITEMS 256

struct step {
  uint32_t kind;
  uint32_t a[5];
  char *source, *dest, *type, *data;
  int fd;     /* S_BIND: the source, opened before anything is mounted */
  int cloned; /* S_BIND: fd is already a detached copy with its attributes set (made on the host side, user ns) */
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
  struct step step[MAX_ITEMS];
  int n_step;
  int root_ro;
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
  char *cgroup_procs[16];
  int n_cgroup;
  char *uid_map, *gid_map;
  int tty;
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
    case T_MOUNT: {
      if (cfg.n_step >= MAX_ITEMS) { errno = E2BIG; die("too many mounts"); }
      if (len < 24) { errno = EINVAL; die("mount record"); }
      struct step *st = &cfg.step[cfg.n_step++];
      memcpy(&st->kind, v, 4);
      memcpy(st->a, v + 4, 20);
      char **strs[4] = {&st->source, &st->dest, &st->type, &st->data};
      uint32_t off = 24;
      for (int k = 0; k < 4; k++) {
        if (off >= len) { errno = EINVAL; die("mount record strings"); }
        *strs[k] = v + off;
        off += (uint32_t)strlen(v + off) + 1;
      }
      if (off > len) { errno = EINVAL; die("mount record strings"); }
      st->fd = -1;
      break;
    }
    case T_ROOT_RO: cfg.root_ro = (int)u; break;
    case T_TTY: cfg.tty = (int)u; break;
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
    case T_UIDMAP: cfg.uid_map = v; break;
    case T_GIDMAP: cfg.gid_map = v; break;
    case T_NNP: cfg.nnp = (int)u; break;
    case T_USER: {
      uint32_t *w = (uint32_t *)v;
      cfg.have_user = 1;
      cfg.uid = w[0];
      cfg.gid = w[1];
      for (uint32_t i = 2; i < len / 4 && cfg.n_groups < 64; i++) cfg.groups[cfg.n_groups++] = w[i];
      break;
    }
    case T_CGROUP:
      if (cfg.n_cgroup >= 16) { errno = E2BIG; die("too many cgroups"); }
      cfg.cgroup_procs[cfg.n_cgroup++] = v;
      break;
    default: errno = EINVAL; die("unknown record %u", tag);
    }
  }
}

static int openat2_(int dirfd, const char *path, uint64_t flags, uint64_t resolve) {
  struct open_how how = {.flags = flags, .mode = 0, .resolve = resolve};
  return (int)syscall(SYS_openat2, dirfd, path, &how, sizeof how);
}

struct mount_attr_ {
  uint64_t set, clr, prop, userns;
};

static int setattr_(int fd, uint64_t set, uint64_t clr, uint64_t prop, int recursive) {
  struct mount_attr_ a = {.set = set, .clr = clr, .prop = prop};
  return (int)syscall(SYS_mount_setattr, fd, "", AT_EMPTY_PATH | (recursive ? AT_RECURSIVE : 0), &a, sizeof a);
}

/*
 * mkdir -p PATH under ROOTFD, never leaving it: every lookup is RESOLVE_IN_ROOT
 * from ROOTFD and every creation is relative to a directory fd found that way.
 * A symlink met where a component must be created is followed inside the root
 * (as runc's securejoin does): `evil -> /etc` makes /evil/x the root's /etc/x.
 * Returns an O_PATH fd of the directory, or of an empty file when AS_FILE.
 */
static int mkpath_depth(int rootfd, const char *path, int as_file, int depth) {
  char buf[4096];
  if (depth > 40) { errno = ELOOP; return -1; }
  if (strlen(path) >= sizeof buf) { errno = ENAMETOOLONG; return -1; }
  strcpy(buf, path);
  int fd = openat2_(rootfd, buf, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd >= 0) return fd;
  if (errno != ENOENT) return -1;
  char *slash = strrchr(buf, '/');
  while (slash && slash > buf && slash[1] == 0) { *slash = 0; slash = strrchr(buf, '/'); }
  char *base = slash ? slash + 1 : buf;
  if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) { errno = ENOENT; return -1; }
  int parent;
  if (!slash || slash == buf) {
    parent = openat2_(rootfd, "/", O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_IN_ROOT);
  } else {
    *slash = 0;
    parent = mkpath_depth(rootfd, buf, 0, depth);
    *slash = '/';
  }
  if (parent < 0) return -1;
  int r = as_file ? openat(parent, base, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644)
                  : mkdirat(parent, base, 0755);
  if (r < 0 && errno != EEXIST) { close(parent); return -1; }
  if (as_file && r >= 0) close(r);
  fd = openat2_(parent, base, O_PATH | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
  if (fd < 0 && errno == ELOOP) {
    /* A dangling symlink: create its target, resolved inside the root. */
    char link[4096], next[8192];
    ssize_t n = readlinkat(parent, base, link, sizeof link - 1);
    close(parent);
    if (n < 0) return -1;
    link[n] = 0;
    if (link[0] == '/') snprintf(next, sizeof next, "%s", link);
    else {
      base[-1] = 0; /* buf is now the parent's path (may be empty: the root) */
      snprintf(next, sizeof next, "%s/%s", slash == buf || !slash ? "" : buf, link);
    }
    return mkpath_depth(rootfd, next, as_file, depth + 1);
  }
  close(parent);
  return fd;
}

static int mkpath_in_root(int rootfd, const char *path, int as_file) { return mkpath_depth(rootfd, path, as_file, 0); }

static void fdpath(char *buf, size_t len, int fd) { snprintf(buf, len, "/proc/self/fd/%d", fd); }

/* An O_PATH fd of the top mount at PATH in the new root (after something was mounted there). */
static int reopen_in_root(int rootfd, const char *path) {
  return openat2_(rootfd, path, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
}

static int have_cgroupns;       /* the spec has a cgroup namespace (new or joined): cgroup mounts show its view */
static int overlay_lock = -1;   /* launcher: flock of the --overlay=dir directory, held while the sandbox runs */
static char private_null[64];   /* a /dev/null node of the launcher's own (staging tmpfs), for masked files */
/* With a user namespace, what only the host's root can do is done by the launcher before it enters it: */
static int in_userns;           /* the sandbox has a user namespace (new or joined) */
static int idmapped_lower = -1; /* the root's lower (or only) layer: a detached, idmapped copy of the rootfs */
static int pre_ovdir = -1;      /* --overlay=dir: a detached copy of PATH (its upper and work made by the host) */

static const char *step_label(const struct step *s, char *buf, size_t len) {
  switch (s->kind) {
  case S_BIND: snprintf(buf, len, "bind mount %s on %s", s->source, s->dest); break;
  case S_FS: snprintf(buf, len, "%s mount on %s%s%s", s->type, s->dest, *s->data ? " with " : "", s->data); break;
  case S_MASK: snprintf(buf, len, "masked path %s", s->dest); break;
  case S_READONLY: snprintf(buf, len, "read-only path %s", s->dest); break;
  case S_DEVICE: snprintf(buf, len, "device %s", s->dest); break;
  default: snprintf(buf, len, "/dev links"); break;
  }
  return buf;
}

static void set_propagation(int rootfd, const struct step *s, int fd, const char *label) {
  if (!s->a[2]) return;
  int own = -1;
  if (fd < 0 && (fd = own = reopen_in_root(rootfd, s->dest)) < 0) die("%s: reopen", label);
  char target[64];
  fdpath(target, sizeof target, fd);
  if (mount(NULL, target, NULL, s->a[2], NULL) < 0) die("%s: propagation", label);
  if (own >= 0) close(own);
}

/* A detached copy of bind step S's source tree SRC (recursive for rbind), its attributes set before it is attached
 * (new mount API: open_tree(OPEN_TREE_CLONE), mount_setattr). */
static int clone_bind_source(int src, const struct step *s, const char *label) {
  int rec = s->a[3] ? AT_RECURSIVE : 0;
  int mfd = (int)syscall(SYS_open_tree, src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | rec);
  if (mfd < 0) die("%s: open_tree", label);
  if ((s->a[0] || s->a[1]) && setattr_(mfd, s->a[0], s->a[1], 0, rec) < 0) die("%s: mount_setattr", label);
  return mfd;
}

static void do_bind(int rootfd, struct step *s, const char *label) {
  struct stat st;
  if (fstat(s->fd, &st) < 0) die("%s: stat source", label);
  int fd = mkpath_in_root(rootfd, s->dest, !S_ISDIR(st.st_mode));
  if (fd < 0) die("%s: mount point", label);
  int mfd = s->cloned ? s->fd : clone_bind_source(s->fd, s, label);
  if (syscall(SYS_move_mount, mfd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die("%s: attach", label);
  set_propagation(rootfd, s, mfd, label);
  if (mfd != s->fd) close(mfd);
  close(fd);
  close(s->fd);
  s->fd = -1;
}

/* Controller names of cgroup v1 (/proc/cgroups), to keep only those and name= from a hierarchy's options. */
static int is_controller(const char *name) {
  FILE *f = fopen("/proc/cgroups", "re");
  char line[256];
  int found = 0;
  if (!f) return 0;
  while (!found && fgets(line, sizeof line, f)) {
    if (line[0] == '#') continue;
    line[strcspn(line, "\t ")] = 0;
    found = strcmp(line, name) == 0;
  }
  fclose(f);
  return found;
}

/*
 * "cgroup" on a host with cgroup v1 hierarchies (hybrid or legacy): as runc
 * does, a tmpfs at the destination with one read-only mount per host hierarchy
 * (same controllers, so the kernel gives the existing hierarchy, rooted at the
 * sandbox's cgroup namespace), the host's comount symlinks, then the tmpfs
 * made read-only. Mounted from the host's /proc/self/mountinfo (init still
 * sees the host's tree here).
 */
static void mount_cgroup_v1(int rootfd, const struct step *s, const char *label) {
  unsigned long common = MS_NOSUID | MS_NODEV | MS_NOEXEC;
  int fd = mkpath_in_root(rootfd, s->dest, 0);
  char target[64];
  if (fd < 0) die("%s: mount point", label);
  fdpath(target, sizeof target, fd);
  if (mount("cgroup", target, "tmpfs", common, "mode=755") < 0) die("%s: tmpfs", label);
  close(fd);
  int top = reopen_in_root(rootfd, s->dest);
  if (top < 0) die("%s: reopen", label);
  FILE *mi = fopen("/proc/self/mountinfo", "re");
  if (!mi) die("%s: mountinfo", label);
  char *line = NULL;
  size_t cap = 0;
  while (getline(&line, &cap, mi) > 0) {
    /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTS */
    char *f[5] = {0}, *save = NULL, *tok = strtok_r(line, " \n", &save);
    for (int i = 0; i < 5 && tok; i++, tok = strtok_r(NULL, " \n", &save)) f[i] = tok;
    if (!f[4]) continue;
    while (tok && strcmp(tok, "-") != 0) tok = strtok_r(NULL, " \n", &save);
    char *fstype = tok ? strtok_r(NULL, " \n", &save) : NULL;
    char *src = fstype ? strtok_r(NULL, " \n", &save) : NULL;
    char *super = src ? strtok_r(NULL, " \n", &save) : NULL;
    if (!super || strncmp(f[4], "/sys/fs/cgroup/", 15) != 0) continue;
    const char *name = f[4] + 15;
    if (!*name || strchr(name, '/') || strchr(name, '\\')) continue;
    int v2 = strcmp(fstype, "cgroup2") == 0;
    if (!v2 && strcmp(fstype, "cgroup") != 0) continue;
    char opts[512] = "";
    if (!v2) {
      char *s2 = NULL;
      for (char *o = strtok_r(super, ",", &s2); o; o = strtok_r(NULL, ",", &s2)) {
        if (strncmp(o, "name=", 5) != 0 && !is_controller(o)) continue;
        if (strlen(opts) + strlen(o) + 2 >= sizeof opts) break;
        if (*opts) strcat(opts, ",");
        strcat(opts, o);
      }
      if (!*opts) continue;
    }
    if (mkdirat(top, name, 0555) < 0 && errno != EEXIST) die("%s: mkdir %s", label, name);
    int sub = openat2_(top, name, O_PATH | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (sub < 0) die("%s: %s", label, name);
    fdpath(target, sizeof target, sub);
    if (mount(v2 ? "cgroup2" : "cgroup", target, fstype, common | MS_RDONLY, v2 ? NULL : opts) < 0)
      die("%s: %s (%s)", label, name, v2 ? "cgroup2" : opts);
    close(sub);
  }
  free(line);
  fclose(mi);
  DIR *d = opendir("/sys/fs/cgroup");
  struct dirent *de;
  while (d && (de = readdir(d))) {
    char link[256];
    if (de->d_type != DT_LNK) continue;
    ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof link - 1);
    if (n <= 0 || memchr(link, '/', (size_t)n)) continue; /* comount links only (cpu -> cpu,cpuacct) */
    link[n] = 0;
    if (symlinkat(link, top, de->d_name) < 0 && errno != EEXIST) die("%s: symlink %s", label, de->d_name);
  }
  if (d) closedir(d);
  if (setattr_(top, MOUNT_ATTR_RDONLY, 0, 0, 0) < 0) die("%s: read-only", label);
  close(top);
}

static void do_fs(int rootfd, struct step *s, const char *label) {
  unsigned long flags = s->a[0];
  const char *type = s->type, *data = *s->data ? s->data : NULL;
  char devpts_data[1024];
  if (strcmp(type, "cgroup") == 0 || strcmp(type, "cgroup2") == 0) {
    /* Read-only, and only the sandbox's own view: under a cgroup namespace. */
    if (!have_cgroupns) { errno = EPERM; die("%s: needs a cgroup namespace", label); }
    flags |= MS_RDONLY;
    struct statfs sf;
    if (strcmp(type, "cgroup") == 0) {
      if (statfs("/sys/fs/cgroup", &sf) < 0) die("%s: host /sys/fs/cgroup", label);
      if (sf.f_type != 0x63677270 /* CGROUP2_SUPER_MAGIC */) {
        mount_cgroup_v1(rootfd, s, label);
        set_propagation(rootfd, s, -1, label);
        return;
      }
      type = "cgroup2";
    }
  } else if (strcmp(type, "devpts") == 0) {
    /* Always a private instance; ptmx usable by everyone unless told. */
    snprintf(devpts_data, sizeof devpts_data, "%s%s%s%s", strstr(s->data, "newinstance") ? "" : "newinstance,",
             strstr(s->data, "ptmxmode=") ? "" : "ptmxmode=0666,", s->data, "");
    size_t n = strlen(devpts_data);
    if (n && devpts_data[n - 1] == ',') devpts_data[n - 1] = 0;
    data = devpts_data;
  } else if (strcmp(type, "proc") != 0 && strcmp(type, "sysfs") != 0 && strcmp(type, "mqueue") != 0 &&
             strcmp(type, "tmpfs") != 0) {
    errno = EINVAL;
    die("%s: unsupported file system type", label);
  }
  int fd = mkpath_in_root(rootfd, s->dest, 0);
  if (fd < 0) die("%s: mount point", label);
  char target[64];
  fdpath(target, sizeof target, fd);
  if (mount(*s->source ? s->source : type, target, type, flags, data) < 0) {
    if (strcmp(type, "sysfs") != 0 || errno != EPERM) die("%s", label);
    /* A network namespace that is not ours (--network host): sysfs cannot be mounted anew; the host's, bound
     * read-only with every submount (AT_RECURSIVE). */
    int mfd = (int)syscall(SYS_open_tree, AT_FDCWD, "/sys", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    if (mfd < 0 || setattr_(mfd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0, 1) < 0 ||
        syscall(SYS_move_mount, mfd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      die("%s: bind the host's /sys", label);
    close(mfd);
  }
  close(fd);
  set_propagation(rootfd, s, -1, label);
}

static void do_mask(int rootfd, const struct step *s, const char *label) {
  int fd = openat2_(rootfd, s->dest, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) {
    if (errno == ENOENT) return;
    die("%s", label);
  }
  struct stat st;
  if (fstat(fd, &st) < 0) die("%s: stat", label);
  char target[64];
  fdpath(target, sizeof target, fd);
  if (S_ISDIR(st.st_mode) ? mount("tvisor-masked", target, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0,mode=555")
                          : mount(private_null, target, NULL, MS_BIND, NULL))
    die("%s", label);
  close(fd);
}

static void do_readonly(int rootfd, const struct step *s, const char *label) {
  int fd = openat2_(rootfd, s->dest, O_PATH | O_CLOEXEC, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
  if (fd < 0) {
    if (errno == ENOENT) return;
    die("%s", label);
  }
  int mfd = (int)syscall(SYS_open_tree, fd, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
  if (mfd < 0 || setattr_(mfd, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC, 0, 0, 1) < 0 ||
      syscall(SYS_move_mount, mfd, "", fd, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
    die("%s", label);
  close(mfd);
  close(fd);
}

/* Splits DEST into an O_PATH fd of its parent (created inside the root) and its last component. */
static int parent_in_root(int rootfd, const char *dest, char *base, size_t len, const char *label) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", dest);
  char *slash = strrchr(dir, '/');
  if (!slash || !slash[1]) { errno = EINVAL; die("%s: bad path", label); }
  snprintf(base, len, "%s", slash + 1);
  if (slash == dir) slash[1] = 0; else *slash = 0;
  int parent = mkpath_in_root(rootfd, dir, 0);
  if (parent < 0) die("%s: parent directory", label);
  return parent;
}

static void do_device(int rootfd, const struct step *s, const char *label) {
  char base[256];
  int parent = parent_in_root(rootfd, s->dest, base, sizeof base, label);
  mode_t mode = s->a[0];
  dev_t dev = makedev(s->a[1], s->a[2]);
  if (in_userns && S_ISCHR(mode)) {
    /* mknod(2) of a device is refused in a user namespace: bind the host's node of that path, as runc does
     * rootless. Its owner and mode stay the host's (never changed from here). */
    struct stat st;
    if (stat(s->dest, &st) < 0) die("%s: the host's %s (a user namespace cannot create device nodes)", label, s->dest);
    if (!S_ISCHR(st.st_mode) || st.st_rdev != dev) {
      errno = ENODEV;
      die("%s: the host's %s is not device %u:%u (a user namespace cannot create device nodes)", label, s->dest,
          s->a[1], s->a[2]);
    }
    close(parent);
    int fd = mkpath_in_root(rootfd, s->dest, 1);
    char target[64];
    if (fd < 0) die("%s: mount point", label);
    fdpath(target, sizeof target, fd);
    if (mount(s->dest, target, NULL, MS_BIND, NULL) < 0) die("%s: bind the host's node", label);
    close(fd);
    return;
  }
  if (mknodat(parent, base, mode, dev) < 0) {
    struct stat st;
    /* An existing node is kept only when it is that very device (OCI: otherwise an error). */
    if (errno != EEXIST || fstatat(parent, base, &st, AT_SYMLINK_NOFOLLOW) < 0 || (st.st_mode & S_IFMT) != (mode & S_IFMT) ||
        (S_ISCHR(mode) && st.st_rdev != dev)) {
      if (errno == 0) errno = EEXIST;
      die("%s", label);
    }
  }
  /* mknod is subject to umask; set the mode exactly. */
  if (fchmodat(parent, base, mode & 07777, 0) < 0) die("%s: chmod", label);
  if (fchownat(parent, base, s->a[3], s->a[4], AT_SYMLINK_NOFOLLOW) < 0) die("%s: chown", label);
  close(parent);
}

static void do_devlinks(int rootfd, const char *label) {
  int dev = mkpath_in_root(rootfd, "/dev", 0);
  if (dev < 0) die("%s: /dev", label);
  static const char *links[][2] = {{"/proc/self/fd", "fd"},       {"/proc/self/fd/0", "stdin"},
                                   {"/proc/self/fd/1", "stdout"}, {"/proc/self/fd/2", "stderr"},
                                   {"pts/ptmx", "ptmx"}};
  for (size_t i = 0; i < sizeof links / sizeof links[0]; i++)
    if (symlinkat(links[i][0], dev, links[i][1]) < 0 && errno != EEXIST) die("%s: symlink /dev/%s", label, links[i][1]);
  close(dev);
  /* The caller's terminal as /dev/console (runc's convention), so ttyname(3) and tty(1) find it: the host pty
   * lives in the host's devpts, which the sandbox does not see. The workload already holds it as stdin. */
  char *tty = !cfg.tty && isatty(0) ? ttyname(0) : NULL;
  if (tty && strncmp(tty, "/dev/", 5) == 0) {
    int fd = mkpath_in_root(rootfd, "/dev/console", 1);
    char target[64];
    if (fd < 0) die("%s: /dev/console", label);
    fdpath(target, sizeof target, fd);
    if (mount(tty, target, NULL, MS_BIND, NULL) < 0) die("bind %s on /dev/console", tty);
    close(fd);
  }
}

/*
 * The root: kernel overlayfs (lower: the rootfs or the host's /; upper: a
 * tmpfs, or PATH/upper on the host for "dir=PATH") or, with "none", the
 * rootfs itself bound rw. nosuid and nodev either way (the host's / holds
 * setuid programs and device nodes). The upper directory of a new layer
 * takes the lower root's mode and owner, so / looks as it does in the lower.
 * Returns an O_PATH fd of the new root, mounted at /tmp/m on the staging tmpfs.
 */
static int build_root(int lower, int overlay_dir) {
  char src[64];
  fdpath(src, sizeof src, lower);
  if (mkdir("/tmp/m", 0755) < 0) die("mkdir");
  const char *ov = cfg.overlay ? cfg.overlay : "memory";
  if (strcmp(ov, "none") == 0) {
    if (!cfg.rootfs || !cfg.rootfs[0]) { errno = EPERM; die("overlay none: the host's / is never writable"); }
    /* In a user namespace, `lower` is already the detached idmapped copy, nosuid and nodev (prepare_host_side). */
    int mfd = in_userns ? lower
                        : (int)syscall(SYS_open_tree, lower, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);
    int to = open("/tmp/m", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (mfd < 0 || to < 0 || (!in_userns && setattr_(mfd, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, 0, 0, 1) < 0) ||
        syscall(SYS_move_mount, mfd, "", to, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) < 0)
      die("bind rootfs %s", cfg.rootfs);
    if (mfd != lower) close(mfd);
    close(to);
  } else {
    struct stat lst;
    if (fstat(lower, &lst) < 0) die("stat rootfs");
    if (in_userns) {
      /* overlayfs takes a lower layer by path: the idmapped copy is attached on the staging tmpfs first. */
      if (mkdir("/tmp/lower", 0700) < 0 ||
          syscall(SYS_move_mount, lower, "", AT_FDCWD, "/tmp/lower", MOVE_MOUNT_F_EMPTY_PATH) < 0)
        die("attach the idmapped rootfs");
      snprintf(src, sizeof src, "/tmp/lower");
    }
    int base, fresh = 0;
    if (in_userns && strncmp(ov, "dir=", 4) == 0) {
      base = -1; /* PATH/upper and PATH/work were made on the host side; PATH is attached below */
    } else if (strncmp(ov, "dir=", 4) == 0) {
      base = overlay_dir;
    } else if (strcmp(ov, "memory") == 0) {
      base = open("/tmp", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (base < 0) die("staging");
    } else {
      errno = EINVAL;
      die("overlay mode %s", ov);
    }
    for (int i = 0; i < 2 && base >= 0; i++) { /* (with a user namespace: made on the host side) */
      const char *name = i ? "work" : "upper";
      if (mkdirat(base, name, 0755) == 0) fresh |= !i;
      else if (errno != EEXIST) die("mkdir %s/%s", ov, name);
    }
    if (base < 0) {
      if (mkdir("/tmp/ovdir", 0700) < 0 ||
          syscall(SYS_move_mount, pre_ovdir, "", AT_FDCWD, "/tmp/ovdir", MOVE_MOUNT_F_EMPTY_PATH) < 0)
        die("attach the overlay directory");
      close(pre_ovdir);
      base = open("/tmp/ovdir", O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (base < 0) die("overlay directory");
    }
    int up = openat2_(base, "upper", O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    int wk = openat2_(base, "work", O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
    if (up < 0 || wk < 0) die("overlay layers in %s", ov);
    if (fresh) {
      char p[64];
      fdpath(p, sizeof p, up);
      if (chown(p, lst.st_uid, lst.st_gid) < 0 || chmod(p, lst.st_mode & 07777) < 0) die("upper dir");
    }
    char opts[256];
    /* In a user namespace the trusted.* xattrs overlayfs keeps are out of reach (CAP_SYS_ADMIN of the host):
     * userxattr makes it use user.overlay.* (Documentation/filesystems/overlayfs.rst). */
    snprintf(opts, sizeof opts, "lowerdir=%s,upperdir=/proc/self/fd/%d,workdir=/proc/self/fd/%d,xino=on%s", src, up, wk,
             in_userns ? ",userxattr" : "");
    if (mount("overlay", "/tmp/m", "overlay", MS_NOSUID | MS_NODEV, opts) < 0)
      die("overlay on %s", cfg.rootfs && cfg.rootfs[0] ? cfg.rootfs : "/");
    close(up);
    close(wk);
    if (base >= 0) close(base);
  }
  int root = open("/tmp/m", O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root < 0) die("open new root");
  return root;
}

static void build_mounts(void) {
  stage = "mounts";
  if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) die("make / private");
  const char *rootsrc = cfg.rootfs && cfg.rootfs[0] ? cfg.rootfs : "/";
  int lower = in_userns ? idmapped_lower : open(rootsrc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (lower < 0) die("rootfs %s", rootsrc);
  /* Host paths first: the staging tmpfs below covers the host's /tmp. */
  stage = "mount";
  char label[8400];
  for (int i = 0; i < cfg.n_step; i++) {
    struct step *s = &cfg.step[i];
    if (s->kind != S_BIND || s->cloned) continue;
    s->fd = open(s->source, O_PATH | O_CLOEXEC);
    if (s->fd < 0) die("%s: source", step_label(s, label, sizeof label));
  }
  int overlay_dir = -1;
  if (cfg.overlay && strncmp(cfg.overlay, "dir=", 4) == 0 && !in_userns) {
    overlay_dir = open(cfg.overlay + 4, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (overlay_dir < 0) die("overlay directory %s", cfg.overlay + 4);
  }
  /* A private staging tmpfs; the host never sees it (private mount ns). */
  if (mount("tvisor", "/tmp", "tmpfs", MS_NOSUID, "mode=700") < 0) die("staging tmpfs");
  if (in_userns) {
    /* No mknod in a user namespace: masked files get binds of the host's /dev/null, as runc does rootless. */
    snprintf(private_null, sizeof private_null, "/dev/null");
  } else {
    snprintf(private_null, sizeof private_null, "/tmp/null");
    if (mknod(private_null, S_IFCHR | 0666, makedev(1, 3)) < 0 || chmod(private_null, 0666) < 0) die("private null");
  }
  int root = build_root(lower, overlay_dir);
  close(lower);

  stage = "mount";
  for (int i = 0; i < cfg.n_step; i++) {
    struct step *s = &cfg.step[i];
    step_label(s, label, sizeof label);
    switch (s->kind) {
    case S_BIND: do_bind(root, s, label); break;
    case S_FS: do_fs(root, s, label); break;
    case S_MASK: do_mask(root, s, label); break;
    case S_READONLY: do_readonly(root, s, label); break;
    case S_DEVICE: do_device(root, s, label); break;
    case S_DEVLINKS: do_devlinks(root, label); break;
    default: errno = EINVAL; die("unknown step kind %u", s->kind);
    }
  }
  if (cfg.root_ro) {
    stage = "read-only root";
    if (setattr_(root, MOUNT_ATTR_RDONLY, 0, 0, 0) < 0) die("/");
  }
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

/* Moves this process into the sandbox's cgroup (T_CGROUP); its children, init first, inherit it. */
static void join_cgroups(void) {
  stage = "cgroup";
  char pid[16];
  int n = snprintf(pid, sizeof pid, "%d", (int)getpid());
  for (int i = 0; i < cfg.n_cgroup; i++) {
    int fd = open(cfg.cgroup_procs[i], O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, pid, (size_t)n) != n) die("joining %s", cfg.cgroup_procs[i]);
    close(fd);
  }
}

/* The host id that id ID of the user namespace maps to, by MAP ("inside outside count" lines); -1 if none. */
static long map_id(const char *map, uint32_t id) {
  const char *p = map;
  while (p && *p) {
    unsigned long in, out, count;
    if (sscanf(p, "%lu %lu %lu", &in, &out, &count) == 3 && id >= in && id - in < count) return (long)(out + (id - in));
    p = strchr(p, '\n');
    if (p) p++;
  }
  return -1;
}

/*
 * A new user namespace with the configured maps, as a namespace fd. A helper child unshares it and waits; this
 * process (the host's root, CAP_SETUID and CAP_SETGID in the parent namespace) writes the child's uid_map and
 * gid_map, as runc's parent does. A privileged writer leaves setgroups(2) allowed inside
 * (user_namespaces(7)), so the workload's root can still drop or set supplementary groups.
 */
static int make_userns(void) {
  int ready[2], done[2];
  if (pipe2(ready, O_CLOEXEC) < 0 || pipe2(done, O_CLOEXEC) < 0) die("pipe");
  pid_t h = fork();
  if (h < 0) die("fork");
  if (h == 0) {
    char b = 0;
    close(ready[0]);
    close(done[1]);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (unshare(CLONE_NEWUSER) < 0) _exit(1);
    if (write(ready[1], &b, 1) != 1) _exit(1);
    ssize_t r = read(done[0], &b, 1); /* EOF: the parent has what it needs */
    (void)r;
    _exit(0);
  }
  close(ready[1]);
  close(done[0]);
  char b, path[64];
  if (read(ready[0], &b, 1) != 1) { errno = EPERM; die("unshare a user namespace"); }
  const char *files[2] = {"uid_map", "gid_map"};
  const char *maps[2] = {cfg.uid_map, cfg.gid_map};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "/proc/%d/%s", h, files[i]);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    size_t len = strlen(maps[i]);
    if (fd < 0 || write(fd, maps[i], len) != (ssize_t)len) die("write %s \"%s\"", files[i], maps[i]);
    close(fd);
  }
  snprintf(path, sizeof path, "/proc/%d/ns/user", h);
  int ns = open(path, O_RDONLY | O_CLOEXEC);
  if (ns < 0) die("%s", path);
  close(ready[0]);
  close(done[1]);
  while (waitpid(h, NULL, 0) < 0 && errno == EINTR) {}
  return ns;
}

/*
 * What the host's root must do before entering the user namespace USERNS (an unprivileged root there holds no
 * capability over the host's mounts and files): the rootfs becomes a detached copy idmapped through USERNS
 * (mount_setattr(2) MOUNT_ATTR_IDMAP: its on-disk ids read as ids of USERNS, so the host's root-owned tree is
 * root-owned inside, and nothing on disk is chowned); bind sources are opened and cloned here, with their
 * attributes set (the host's paths may not be searchable by the mapped root); an --overlay=dir directory gets its
 * upper and work directories, owned by the mapped ids. Runs in the host's mount namespace (open_tree(2) clones
 * only mounts of the caller's own namespace).
 */
static void prepare_host_side(int userns) {
  stage = "user namespace";
  const char *rootsrc = cfg.rootfs && cfg.rootfs[0] ? cfg.rootfs : "/";
  const char *ov = cfg.overlay ? cfg.overlay : "memory";
  int none = strcmp(ov, "none") == 0;
  int src = open(rootsrc, O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (src < 0) die("rootfs %s", rootsrc);
  struct stat lst;
  if (fstat(src, &lst) < 0) die("stat rootfs");
  /* overlayfs reads the lower layer's one mount; "none" binds the rootfs with its submounts, as without a user ns. */
  idmapped_lower = (int)syscall(SYS_open_tree, src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | (none ? AT_RECURSIVE : 0));
  if (idmapped_lower < 0) die("rootfs %s: open_tree", rootsrc);
  struct mount_attr_ a = {.set = MOUNT_ATTR_IDMAP | (none ? MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV : 0), .userns = (uint64_t)userns};
  if (syscall(SYS_mount_setattr, idmapped_lower, "", AT_EMPTY_PATH | (none ? AT_RECURSIVE : 0), &a, sizeof a) < 0)
    die("rootfs %s: its file system cannot be idmapped (mount_setattr MOUNT_ATTR_IDMAP)", rootsrc);
  close(src);
  char label[8400];
  for (int i = 0; i < cfg.n_step; i++) {
    struct step *s = &cfg.step[i];
    if (s->kind != S_BIND) continue;
    step_label(s, label, sizeof label);
    int fd = open(s->source, O_PATH | O_CLOEXEC);
    if (fd < 0) die("%s: source", label);
    s->fd = clone_bind_source(fd, s, label);
    s->cloned = 1;
    close(fd);
  }
  if (strncmp(ov, "dir=", 4) == 0) {
    int dir = open(ov + 4, O_PATH | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (dir < 0) die("overlay directory %s", ov + 4);
    long ru = map_id(cfg.uid_map, 0), rg = map_id(cfg.gid_map, 0);
    long uu = map_id(cfg.uid_map, lst.st_uid), ug = map_id(cfg.gid_map, lst.st_gid);
    if (ru < 0 || rg < 0) { errno = EINVAL; die("the user namespace's maps name no root (uid or gid 0)"); }
    for (int i = 0; i < 2; i++) {
      const char *name = i ? "work" : "upper";
      int fresh = mkdirat(dir, name, 0755) == 0;
      if (!fresh && errno != EEXIST) die("mkdir %s/%s", ov, name);
      int fd = openat2_(dir, name, O_PATH | O_DIRECTORY | O_CLOEXEC, RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS);
      if (fd < 0) die("overlay layers in %s", ov);
      char p[64];
      fdpath(p, sizeof p, fd);
      /* The upper's root shows as the lower's root does (its owner mapped like the idmapped lower's); the work
       * directory belongs to the namespace's root, which mounts the overlay. */
      if (fresh && (i ? chown(p, (uid_t)ru, (gid_t)rg) : chown(p, (uid_t)(uu < 0 ? ru : uu), (gid_t)(ug < 0 ? rg : ug))) < 0)
        die("chown %s/%s", ov, name);
      if (fresh && !i && chmod(p, lst.st_mode & 07777) < 0) die("chmod %s/%s", ov, name);
      close(fd);
    }
    /* overlayfs needs upper and work on one mount of the sandbox's own mount namespace: PATH is cloned here and
     * attached by init; the mapped root must be able to search it, so PATH (mode 0700) becomes its. */
    if (fchownat(dir, "", (uid_t)ru, (gid_t)rg, AT_EMPTY_PATH) < 0) die("chown %s", ov + 4);
    pre_ovdir = (int)syscall(SYS_open_tree, dir, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH);
    if (pre_ovdir < 0) die("overlay directory %s: open_tree", ov + 4);
    close(dir);
  }
}

/* Enters the user namespace USERNS as its root (uid and gid 0 inside, no supplementary groups). */
static void become_userns_root(int userns) {
  if (setns(userns, CLONE_NEWUSER) < 0) die("enter the user namespace");
  if (syscall(SYS_setgroups, 0, NULL) < 0 && errno != EPERM) die("setgroups");
  if (syscall(SYS_setresgid, 0, 0, 0) < 0) die("setgid 0 in the user namespace (is gid 0 mapped?)");
  if (syscall(SYS_setresuid, 0, 0, 0) < 0) die("setuid 0 in the user namespace (is uid 0 mapped?)");
}

/*
 * Joins and creates the namespaces. Without a user namespace: in a fixed order, each joined (setns) or created
 * (unshare). With one: every namespace named by path is joined first, as the host's root (which may join any);
 * then the host-side preparation (prepare_host_side); then the user namespace is entered, and the new namespaces
 * are created inside it, so that they belong to it (a sysfs needs a network namespace of its own user
 * namespace; proc a pid namespace; mqueue an ipc namespace).
 */
static void enter_namespaces(uint32_t *new_flags) {
  stage = "namespaces";
  static const uint32_t order[] = {CLONE_NEWUSER, CLONE_NEWIPC, CLONE_NEWUTS, CLONE_NEWNET,
                                   CLONE_NEWPID,  CLONE_NEWCGROUP, CLONE_NEWTIME, CLONE_NEWNS};
  int user = -1;
  /* Open every path first: they are host paths, valid before any switch. */
  for (int i = 0; i < cfg.n_ns; i++) {
    if (cfg.ns[i].path && (cfg.ns[i].fd = open(cfg.ns[i].path, O_RDONLY | O_CLOEXEC)) < 0)
      die("namespace %s", cfg.ns[i].path);
    if (cfg.ns[i].flag == CLONE_NEWCGROUP) have_cgroupns = 1;
    if (cfg.ns[i].flag == CLONE_NEWUSER) user = i;
  }
  *new_flags = 0;
  if (user >= 0) {
    in_userns = 1;
    for (int i = 0; i < cfg.n_ns; i++) {
      if (!cfg.ns[i].path || i == user) continue;
      if (setns(cfg.ns[i].fd, (int)cfg.ns[i].flag) < 0) die("setns %s", cfg.ns[i].path);
      close(cfg.ns[i].fd);
    }
    if (!cfg.ns[user].path && (!cfg.uid_map || !cfg.gid_map)) { errno = EINVAL; die("a new user namespace needs uid and gid maps"); }
    int ns = cfg.ns[user].path ? cfg.ns[user].fd : make_userns();
    /* A joined namespace: the maps are not ours to write; the ones given (if any) name its root for --overlay=dir. */
    if (!cfg.uid_map) cfg.uid_map = "";
    if (!cfg.gid_map) cfg.gid_map = "";
    prepare_host_side(ns);
    stage = "namespaces";
    become_userns_root(ns);
    close(ns);
  }
  for (size_t o = 0; o < sizeof order / sizeof order[0]; o++) {
    for (int i = 0; i < cfg.n_ns; i++) {
      if (cfg.ns[i].flag != order[o] || (user >= 0 && (cfg.ns[i].path || i == user))) continue;
      if (cfg.ns[i].path) {
        if (setns(cfg.ns[i].fd, (int)cfg.ns[i].flag) < 0) die("setns %s", cfg.ns[i].path);
        close(cfg.ns[i].fd);
      } else {
        if (unshare((int)cfg.ns[i].flag) < 0) die("unshare %#x", cfg.ns[i].flag);
        *new_flags |= cfg.ns[i].flag;
      }
    }
  }
}

static pid_t workload = -1;
static int fg_tty;
/* T_TTY: the socket init sends the pty master on (init's end / the launcher's end). */
static int tty_sock[2] = {-1, -1};

/*
 * T_TTY, in init after pivot_root (still with every capability): a new pty
 * of the sandbox's own devpts (/dev/ptmx -> pts/ptmx), its peer opened with
 * TIOCGPTPEER (no path lookup), owned by the workload's uid, bound at
 * /dev/console (runc's console), and made init's stdin/stdout/stderr, so
 * nothing of the user's terminal enters the sandbox. The master goes to the
 * launcher over tty_sock (SCM_RIGHTS), which relays it to the real stdio;
 * init keeps no copy, and the workload takes the peer as its controlling
 * terminal (exec_workload). Sources: pty(7), ioctl_tty(2) TIOCGPTPEER,
 * runtime-spec config.md "process.terminal".
 */
static void setup_console(void) {
  stage = "terminal";
  int master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (master < 0) die("/dev/ptmx");
  int unlock = 0;
  if (ioctl(master, TIOCSPTLCK, &unlock) < 0) die("unlock pty");
  int peer = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (peer < 0) die("open pty peer");
  if (cfg.have_user && fchown(peer, cfg.uid, (gid_t)-1) < 0) die("chown pty");
  int console = open("/dev/console", O_CREAT | O_WRONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC, 0600);
  if (console >= 0) {
    char src[64];
    fdpath(src, sizeof src, peer);
    if (mount(src, "/dev/console", NULL, MS_BIND, NULL) < 0) die("bind the pty on /dev/console");
    close(console);
  } else if (errno != EROFS && errno != ENOENT) {
    die("/dev/console");
  }
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  memset(&u, 0, sizeof u);
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
  cm->cmsg_level = SOL_SOCKET;
  cm->cmsg_type = SCM_RIGHTS;
  cm->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(cm), &master, sizeof(int));
  if (sendmsg(tty_sock[0], &msg, MSG_NOSIGNAL) != 1) die("send the pty master");
  close(master);
  close(tty_sock[0]);
  for (int fd = 0; fd <= 2; fd++)
    if (dup2(peer, fd) < 0) die("pty as fd %d", fd);
  close(peer);
}

/* The launcher's side of T_TTY: the master init sent, or -1 when init died first (it reported why). */
static int receive_master(void) {
  char byte;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  union {
    struct cmsghdr h;
    char buf[CMSG_SPACE(sizeof(int))];
  } u;
  struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = u.buf, .msg_controllen = sizeof u.buf};
  ssize_t r;
  while ((r = recvmsg(tty_sock[1], &msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {}
  close(tty_sock[1]);
  struct cmsghdr *cm = r == 1 ? CMSG_FIRSTHDR(&msg) : NULL;
  if (!cm || cm->cmsg_type != SCM_RIGHTS || cm->cmsg_len != CMSG_LEN(sizeof(int))) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(cm), sizeof fd);
  return fd;
}

static void exec_workload(void) {
  sigset_t none;
  sigemptyset(&none);
  for (int s = 1; s < NSIG; s++) signal(s, SIG_DFL);
  if (cfg.tty) {
    /* A session of its own, with the sandbox's pty (init's stdio, see setup_console) as its controlling terminal. */
    if (setsid() < 0 || ioctl(0, TIOCSCTTY, 0) < 0) {
      dprintf(2, "tvisor: controlling terminal: %s\n", strerror(errno));
      _exit(125);
    }
  } else {
    setpgid(0, 0);
  }
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
  /* The lock stays with L (outside the sandbox's pid namespace): no host directory fd in pid 1. */
  if (overlay_lock >= 0) close(overlay_lock);
  setpgid(0, 0);
  build_mounts();
  if (cfg.tty) setup_console();
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
  /* With T_TTY the workload's stdio is the sandbox's pty; the launcher relays its master instead. */
  if (cfg.tty) return;
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

/*
 * T_TTY: the pty master takes the place of the stdio pipes: rel[0] copies
 * the launcher's stdin to it, rel[1] copies it to the launcher's stdout
 * (until EIO: every peer fd is closed, i.e. the sandbox is gone). When stdin
 * is a terminal (the user's), it is put in raw mode while relaying, so
 * Ctrl-C, Ctrl-Z and Ctrl-\ reach the inner pty's line discipline, which
 * signals the workload's foreground process group, as `docker run -t` and
 * `ssh -t` do; it is restored by restore_terminal() when the relay ends
 * (the launcher ignores every catchable signal meanwhile; only SIGKILL, of
 * the launcher or of tvisor through PR_SET_PDEATHSIG, leaves it raw: `reset`
 * or `stty sane` repairs it). The window size is copied at start and on
 * every SIGWINCH (TIOCGWINSZ/TIOCSWINSZ, ioctl_tty(2)). Without a terminal
 * on stdin the pty is still made (as docker does for -t); what stdin holds
 * is typed into it, and its end is typed as the pty's EOF character (VEOF,
 * as script(1) does), so a reader in canonical mode sees end of file.
 */
static int tty_master = -1;
static int raw_fd = -1;
static struct termios saved_tio;
static int winch_fd = -1;

static void copy_winsize(void) {
  struct winsize ws;
  for (int fd = 0; fd <= 1; fd++)
    if (isatty(fd) && ioctl(fd, TIOCGWINSZ, &ws) == 0) {
      ioctl(tty_master, TIOCSWINSZ, &ws);
      return;
    }
}

static void setup_tty_relay(int master) {
  tty_master = master;
  struct stat st;
  if (fstat(0, &st) == 0) {
    rel[0] = (struct relay){.on = 1, .host = 0, .pipe_end = fcntl(master, F_DUPFD_CLOEXEC, 3), .child_end = -1};
    if (rel[0].pipe_end < 0) rel[0].on = 0;
  }
  rel[1] = (struct relay){.on = 1, .host = 1, .pipe_end = master, .child_end = -1};
  fcntl(master, F_SETFL, O_NONBLOCK); /* shared with rel[0]'s dup */
  copy_winsize();
  sigset_t winch;
  sigemptyset(&winch);
  sigaddset(&winch, SIGWINCH);
  signal(SIGWINCH, SIG_DFL); /* ignored signals are dropped; a blocked default one is queued for signalfd */
  sigprocmask(SIG_BLOCK, &winch, NULL);
  winch_fd = signalfd(-1, &winch, SFD_CLOEXEC | SFD_NONBLOCK);
  if (isatty(0) && tcgetattr(0, &saved_tio) == 0) {
    struct termios raw = saved_tio;
    cfmakeraw(&raw);
    if (tcsetattr(0, TCSANOW, &raw) == 0) raw_fd = 0;
  }
}

static void restore_terminal(void) {
  if (raw_fd >= 0) tcsetattr(raw_fd, TCSADRAIN, &saved_tio);
  raw_fd = -1;
}

/* The end of a non-terminal stdin, typed into the pty as its VEOF character. */
static void type_eof(void) {
  struct termios t;
  char eof = tcgetattr(tty_master, &t) == 0 ? (char)t.c_cc[VEOF] : 4;
  struct pollfd pf = {.fd = tty_master, .events = POLLOUT};
  if (poll(&pf, 1, 1000) > 0) write_all(tty_master, &eof, 1);
}

/* Copies until init has exited and the output pipes are drained (every writer is then dead). */
static void run_relays(pid_t init) {
  if (!rel[0].on && !rel[1].on && !rel[2].on) return;
  int pidfd = (int)syscall(SYS_pidfd_open, init, 0);
  int init_done = pidfd < 0;
  for (;;) {
    struct pollfd pf[5];
    int map[5], n = 0;
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
    if (winch_fd >= 0) {
      map[n] = -2;
      pf[n].fd = winch_fd;
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
      if (fd == -1) { init_done = 1; continue; }
      if (fd == -2) {
        struct signalfd_siginfo si;
        while (read(winch_fd, &si, sizeof si) == (ssize_t)sizeof si) {}
        copy_winsize();
        continue;
      }
      struct relay *r = &rel[fd];
      if (fd == 0 && !r->len) {
        ssize_t got = read(r->host, r->buf, sizeof r->buf);
        if (got < 0 && errno == EINTR) continue;
        if (got <= 0) {
          if (tty_master >= 0 && got == 0 && !isatty(0)) type_eof();
          close(r->pipe_end);
          r->on = 0;
          continue;
        }
        r->len = (size_t)got;
        r->off = 0;
      } else if (fd == 0) {
        ssize_t w = write(r->pipe_end, r->buf + r->off, r->len - r->off);
        if (w < 0 && errno != EAGAIN && errno != EINTR) { close(r->pipe_end); r->on = 0; continue; }
        if (w > 0 && (r->off += (size_t)w) == r->len) r->len = 0;
      } else {
        ssize_t got = read(r->pipe_end, r->buf, sizeof r->buf);
        if (got < 0 && (errno == EAGAIN || errno == EINTR)) continue;
        if (got <= 0) { close(r->pipe_end); r->on = 0; continue; } /* a pty master: EIO once no peer is left */
        write_all(r->host, r->buf, (size_t)got);
      }
    }
    /* Once the sandbox is gone nobody reads stdin any more. */
    if (init_done && rel[0].on) { close(rel[0].pipe_end); rel[0].on = 0; }
  }
  if (pidfd >= 0) close(pidfd);
  restore_terminal();
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
  fg_tty = !cfg.tty && isatty(0) && tcgetpgrp(0) == getpgrp();
  if (cfg.overlay && strncmp(cfg.overlay, "dir=", 4) == 0) {
    /* One sandbox at a time on an overlay directory: overlayfs layers must not be shared while mounted. */
    stage = "overlay";
    overlay_lock = open(cfg.overlay + 4, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
    if (overlay_lock < 0) die("directory %s", cfg.overlay + 4);
    if (flock(overlay_lock, LOCK_EX | LOCK_NB) < 0) die("directory %s is in use by another sandbox", cfg.overlay + 4);
  }
  join_cgroups();
  uint32_t created;
  enter_namespaces(&created);
  if (created & CLONE_NEWNET) loopback_up();

  int life[2];
  if (pipe2(life, O_CLOEXEC) < 0) die("pipe");
  setup_relays();
  if (cfg.tty && socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, tty_sock) < 0) die("socketpair");
  stage = "fork init";
  pid_t init = fork();
  if (init < 0) die("fork");
  if (init == 0) {
    close(life[1]);
    if (cfg.tty) close(tty_sock[1]);
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
  if (cfg.tty) {
    close(tty_sock[0]);
    int master = receive_master();
    if (master >= 0) setup_tty_relay(master);
  }
  run_relays(init);
  int st;
  while (waitpid(init, &st, 0) < 0)
    if (errno != EINTR) return 125;
  if (fg_tty && tcgetpgrp(0) != getpgrp()) tcsetpgrp(0, getpgrp());
  return WIFSIGNALED(st) ? 128 + WTERMSIG(st) : WEXITSTATUS(st);
}
