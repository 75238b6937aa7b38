/*
 * Fires a table of malformed and edge-case path syscalls (raw syscall(2), so
 * libc cannot pre-empt the kernel) and prints one line per call:
 *   NAME RESULT
 * where RESULT is "ok" or the errno name. Run natively and inside the sandbox,
 * the outputs must be identical: each errno is the kernel's.
 *
 * Usage: badcalls SCRATCH_DIR   (created; the probe works inside it)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/fanotify.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "report.h"

/* Calls that open return an fd: close it so the table does not run out. */
static void report_fd(const char *name, long r) {
  report(name, r);
  if (r >= 0) close((int)r);
}

#define S(...) syscall(__VA_ARGS__)

int main(int argc, char **argv) {
  if (argc != 2) return 2;
  if (mkdir(argv[1], 0755) < 0 || chdir(argv[1]) < 0) return perror("scratch"), 2;
  umask(022);

  /* Fixtures: a file, a dir with an entry, symlink loops, a dangling link. */
  close(open("file", O_CREAT | O_WRONLY, 0644));
  mkdir("dir", 0755);
  close(open("dir/entry", O_CREAT | O_WRONLY, 0644));
  symlink("loop2", "loop1");
  symlink("loop1", "loop2");
  symlink("self", "self");
  symlink("nowhere", "dangling");
  symlink("file", "tofile");
  symlink("dir", "todir");

  /* Chains of 40 symlinks (the kernel's limit: resolves) and 41 (ELOOP): c40 -> c39 -> ... -> c1 -> file. */
  char ln[32], to[32];
  for (int i = 1; i <= 41; i++) {
    snprintf(ln, sizeof ln, "c%d", i);
    if (i == 1) snprintf(to, sizeof to, "file");
    else snprintf(to, sizeof to, "c%d", i - 1);
    symlink(to, ln);
  }

  /* Hostile pointers: NULL, unmapped, a string running into an unmapped page. */
  char *unmapped = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  munmap(unmapped + 4096, 4096);
  memset(unmapped, 'a', 4096); /* no NUL before the hole */
  char *edge = unmapped + 4096 - 3;
  char *bad = unmapped + 4096;

  char longp[8192];
  memset(longp, 'a', sizeof longp - 1);
  longp[sizeof longp - 1] = 0;
  char p4096[4097]; /* exactly PATH_MAX bytes without the NUL: ENAMETOOLONG */
  memset(p4096, 'b', 4096);
  p4096[4096] = 0;
  char p4095[4096]; /* 4095 bytes of "./././..x": the length is fine; resolves to ENOENT */
  for (int i = 0; i < 4094; i += 2) p4095[i] = '.', p4095[i + 1] = '/';
  p4095[4094] = 'x';
  p4095[4095] = 0;
  char name256[300]; /* one component of 256 bytes */
  memset(name256, 'n', 256);
  name256[256] = 0;

  report_fd("openat.null", S(SYS_openat, AT_FDCWD, NULL, O_RDONLY));
  report_fd("openat.unmapped", S(SYS_openat, AT_FDCWD, bad, O_RDONLY));
  report_fd("openat.runs-into-hole", S(SYS_openat, AT_FDCWD, edge, O_RDONLY));
  report_fd("openat.8191-bytes", S(SYS_openat, AT_FDCWD, longp, O_RDONLY));
  report_fd("openat.4096-bytes", S(SYS_openat, AT_FDCWD, p4096, O_RDONLY));
  report_fd("openat.4095-bytes", S(SYS_openat, AT_FDCWD, p4095, O_RDONLY));
  report_fd("openat.name-256", S(SYS_openat, AT_FDCWD, name256, O_RDONLY));
  report_fd("openat.creat-name-256", S(SYS_openat, AT_FDCWD, name256, O_CREAT | O_WRONLY, 0644));
  report_fd("openat.empty", S(SYS_openat, AT_FDCWD, "", O_RDONLY));
  report_fd("openat.loop", S(SYS_openat, AT_FDCWD, "loop1", O_RDONLY));
  report_fd("openat.self-loop", S(SYS_openat, AT_FDCWD, "self", O_RDONLY));
  report_fd("openat.loop-in-middle", S(SYS_openat, AT_FDCWD, "loop1/x", O_RDONLY));
  report_fd("openat.chain-40", S(SYS_openat, AT_FDCWD, "c40", O_RDONLY));
  report_fd("openat.chain-41", S(SYS_openat, AT_FDCWD, "c41", O_RDONLY));
  report_fd("openat.chain-40-dir-then-dotdot", S(SYS_openat, AT_FDCWD, "c40/../file", O_RDONLY));
  report_fd("openat.dangling", S(SYS_openat, AT_FDCWD, "dangling", O_RDONLY));
  report_fd("openat.dangling-creat", S(SYS_openat, AT_FDCWD, "dangling", O_CREAT | O_WRONLY, 0644));
  symlink("/dev/shm/tvisor-badcalls-z", "absdangling");
  report_fd("openat.creat-through-abs-dangling-link", S(SYS_openat, AT_FDCWD, "absdangling", O_CREAT | O_WRONLY, 0644));
  report("openat.creat-through-abs-dangling-link-made", S(SYS_faccessat, AT_FDCWD, "/dev/shm/tvisor-badcalls-z", F_OK));
  unlink("/dev/shm/tvisor-badcalls-z");
  report_fd("openat.creat-excl-through-dangling-link", S(SYS_openat, AT_FDCWD, "absdangling", O_CREAT | O_EXCL | O_WRONLY, 0644));
  report_fd("openat.creat-nofollow-dangling-link", S(SYS_openat, AT_FDCWD, "absdangling", O_CREAT | O_NOFOLLOW | O_WRONLY, 0644));
  report_fd("openat.nofollow-link", S(SYS_openat, AT_FDCWD, "tofile", O_RDONLY | O_NOFOLLOW));
  report_fd("openat.nofollow-link-path", S(SYS_openat, AT_FDCWD, "tofile", O_PATH | O_NOFOLLOW));
  report_fd("openat.dir-wronly", S(SYS_openat, AT_FDCWD, "dir", O_WRONLY));
  report_fd("openat.dir-rdwr", S(SYS_openat, AT_FDCWD, "dir", O_RDWR));
  report_fd("openat.dir-creat", S(SYS_openat, AT_FDCWD, "dir", O_CREAT | O_RDONLY, 0644));
  report_fd("openat.file-as-dir", S(SYS_openat, AT_FDCWD, "file/x", O_RDONLY));
  report_fd("openat.file-trailing-slash", S(SYS_openat, AT_FDCWD, "file/", O_RDONLY));
  report_fd("openat.link-to-file-trailing-slash", S(SYS_openat, AT_FDCWD, "tofile/", O_RDONLY));
  report_fd("openat.creat-trailing-slash", S(SYS_openat, AT_FDCWD, "newfile/", O_CREAT | O_WRONLY, 0644));
  report_fd("openat.directory-on-file", S(SYS_openat, AT_FDCWD, "file", O_RDONLY | O_DIRECTORY));
  report_fd("openat.directory-on-link-to-dir", S(SYS_openat, AT_FDCWD, "todir", O_RDONLY | O_DIRECTORY));
  report_fd("openat.excl-existing", S(SYS_openat, AT_FDCWD, "file", O_CREAT | O_EXCL | O_WRONLY, 0644));
  report_fd("openat.excl-link", S(SYS_openat, AT_FDCWD, "dangling", O_CREAT | O_EXCL | O_WRONLY, 0644));
  report_fd("openat.tmpfile-rdonly", S(SYS_openat, AT_FDCWD, ".", O_TMPFILE | O_RDONLY, 0600));
  report_fd("openat.tmpfile-on-file", S(SYS_openat, AT_FDCWD, "file", O_TMPFILE | O_WRONLY, 0600));
  report_fd("openat.tmpfile", S(SYS_openat, AT_FDCWD, ".", O_TMPFILE | O_WRONLY, 0600));
  report_fd("openat.bad-dirfd", S(SYS_openat, 9999, "file", O_RDONLY));
  report_fd("openat.negative-dirfd", S(SYS_openat, -5, "file", O_RDONLY));
  report_fd("openat.file-dirfd", S(SYS_openat, open("file", O_RDONLY | O_CLOEXEC), "x", O_RDONLY));
  report_fd("openat.abs-ignores-bad-dirfd", S(SYS_openat, 9999, "/", O_RDONLY));
  report_fd("open.null", S(SYS_open, NULL, O_RDONLY));
  report_fd("creat.dir", S(SYS_creat, "dir", 0644));

  struct open_how how;
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY;
  how.resolve = 0x80; /* unknown RESOLVE_ bit */
  report_fd("openat2.unknown-resolve", S(SYS_openat2, AT_FDCWD, "file", &how, sizeof how));
  memset(&how, 0, sizeof how);
  how.flags = 1ULL << 40;
  report_fd("openat2.flags-high-bits", S(SYS_openat2, AT_FDCWD, "file", &how, sizeof how));
  memset(&how, 0, sizeof how);
  how.flags = O_RDONLY;
  how.mode = 0644;
  report_fd("openat2.mode-without-creat", S(SYS_openat2, AT_FDCWD, "file", &how, sizeof how));
  report_fd("openat2.size-small", S(SYS_openat2, AT_FDCWD, "file", &how, 8));
  report_fd("openat2.how-null", S(SYS_openat2, AT_FDCWD, "file", NULL, sizeof how));
  report_fd("openat2.how-unmapped", S(SYS_openat2, AT_FDCWD, "file", bad, sizeof how));
  memset(&how, 0, sizeof how);
  how.resolve = RESOLVE_BENEATH;
  report_fd("openat2.beneath-dotdot", S(SYS_openat2, AT_FDCWD, "../x", &how, sizeof how));
  report_fd("openat2.beneath-abs", S(SYS_openat2, AT_FDCWD, "/etc/hostname", &how, sizeof how));
  how.resolve = RESOLVE_NO_SYMLINKS;
  report_fd("openat2.no-symlinks", S(SYS_openat2, AT_FDCWD, "tofile", &how, sizeof how));
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_BENEATH;
  report_fd("openat2.inroot-dotdot", S(SYS_openat2, AT_FDCWD, "../../../file", &how, sizeof how));

  report("mkdirat.null", S(SYS_mkdirat, AT_FDCWD, NULL, 0755));
  report("mkdirat.existing", S(SYS_mkdirat, AT_FDCWD, "dir", 0755));
  report("mkdirat.existing-link", S(SYS_mkdirat, AT_FDCWD, "dangling", 0755));
  report("mkdirat.in-file", S(SYS_mkdirat, AT_FDCWD, "file/sub", 0755));
  report("mkdirat.name-256", S(SYS_mkdirat, AT_FDCWD, name256, 0755));
  report("mkdirat.trailing-slashes", S(SYS_mkdirat, AT_FDCWD, "newdir//", 0755));
  report("mkdirat.dot", S(SYS_mkdirat, AT_FDCWD, ".", 0755));
  report("mkdirat.empty", S(SYS_mkdirat, AT_FDCWD, "", 0755));
  report("rmdir.nonempty", S(SYS_rmdir, "dir"));
  report("rmdir.file", S(SYS_rmdir, "file"));
  report("rmdir.dot", S(SYS_rmdir, "."));
  report("rmdir.dotdot", S(SYS_rmdir, "newdir/.."));
  report("rmdir.link-to-dir", S(SYS_rmdir, "todir"));
  report("rmdir.link-to-dir-slash", S(SYS_rmdir, "todir/"));
  report("unlinkat.dir", S(SYS_unlinkat, AT_FDCWD, "dir", 0));
  report("unlinkat.bad-flags", S(SYS_unlinkat, AT_FDCWD, "file", 0x1));
  report("unlinkat.removedir-file", S(SYS_unlinkat, AT_FDCWD, "file", AT_REMOVEDIR));
  report("unlinkat.trailing-slash-file", S(SYS_unlinkat, AT_FDCWD, "file/", 0));
  report("unlinkat.missing", S(SYS_unlinkat, AT_FDCWD, "missing", 0));
  report("unlinkat.unmapped", S(SYS_unlinkat, AT_FDCWD, bad, 0));
  report("renameat2.bad-flags", S(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "file2", 0x80));
  report("renameat2.noreplace-exchange", S(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "dir", RENAME_NOREPLACE | RENAME_EXCHANGE));
  report("renameat2.noreplace-existing", S(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "todir", RENAME_NOREPLACE));
  report("renameat2.exchange-missing", S(SYS_renameat2, AT_FDCWD, "file", AT_FDCWD, "missing", RENAME_EXCHANGE));
  report("rename.dir-into-itself", S(SYS_rename, "dir", "dir/sub"));
  report("rename.file-over-dir", S(SYS_rename, "file", "dir"));
  report("rename.dir-over-file", S(SYS_rename, "dir", "file"));
  report("rename.dir-over-nonempty", S(SYS_mkdir, "empty", 0755) < 0 ? -1 : S(SYS_rename, "empty", "dir"));
  report("rename.dot", S(SYS_rename, ".", "x"));
  report("rename.cross-device", S(SYS_rename, "file", "/dev/shm/tvisor-badcalls-x"));
  report("link.dir", S(SYS_link, "dir", "dirlink"));
  report("link.existing", S(SYS_link, "file", "tofile"));
  report("link.cross-device", S(SYS_link, "file", "/dev/shm/tvisor-badcalls-y"));
  report("linkat.bad-flags", S(SYS_linkat, AT_FDCWD, "file", AT_FDCWD, "l2", 0x1));
  report("linkat.follow-dangling", S(SYS_linkat, AT_FDCWD, "dangling", AT_FDCWD, "l3", AT_SYMLINK_FOLLOW));
  report("linkat.nofollow-link", S(SYS_linkat, AT_FDCWD, "dangling", AT_FDCWD, "l4", 0));
  report("symlink.empty-target", S(SYS_symlink, "", "emptylink"));
  report("symlink.existing", S(SYS_symlink, "x", "file"));
  report("symlink.target-unmapped", S(SYS_symlink, bad, "badlink"));
  report("symlinkat.long-target", S(SYS_symlinkat, longp, AT_FDCWD, "longlink"));
  report("mknodat.chr", S(SYS_mknodat, AT_FDCWD, "chr", S_IFCHR | 0600, makedev(1, 3)));
  report("mknodat.bad-type", S(SYS_mknodat, AT_FDCWD, "weird", 0170000 | 0600, 0));
  report("mknodat.fifo-existing", S(SYS_mknodat, AT_FDCWD, "file", S_IFIFO | 0600, 0));
  report("mknodat.fifo", S(SYS_mknodat, AT_FDCWD, "fifo", S_IFIFO | 0600, 0));
  report("mknodat.sock", S(SYS_mknodat, AT_FDCWD, "sock", S_IFSOCK | 0600, 0));
  report_fd("openat.socket-file", S(SYS_openat, AT_FDCWD, "sock", O_RDONLY));
  report_fd("openat.fifo-wronly-nonblock-no-reader", S(SYS_openat, AT_FDCWD, "fifo", O_WRONLY | O_NONBLOCK));
  memset(&how, 0, sizeof how);
  how.flags = O_PATH;
  report_fd("openat2.o-path", S(SYS_openat2, AT_FDCWD, "file", &how, sizeof how));
  report("fchmodat.bad-flags", S(SYS_fchmodat, AT_FDCWD, "file", 0644, 0x8000)); /* fchmodat takes no flags arg: ignored */
  report("fchmodat.missing", S(SYS_fchmodat, AT_FDCWD, "missing", 0644));
  report("fchmodat.dangling", S(SYS_fchmodat, AT_FDCWD, "dangling", 0644));
  report("fchownat.bad-flags", S(SYS_fchownat, AT_FDCWD, "file", -1, -1, 0x8000));
  report("fchownat.loop", S(SYS_fchownat, AT_FDCWD, "loop1", 0, 0, 0));
  report("fchownat.loop-nofollow", S(SYS_fchownat, AT_FDCWD, "loop1", 0, 0, AT_SYMLINK_NOFOLLOW));
  report("utimensat.bad-flags", S(SYS_utimensat, AT_FDCWD, "file", NULL, 0x8000));
  struct timespec bad_ts[2] = {{0, 1000000000}, {0, 0}};
  report("utimensat.bad-nsec", S(SYS_utimensat, AT_FDCWD, "file", bad_ts, 0));
  report("utimensat.times-unmapped", S(SYS_utimensat, AT_FDCWD, "file", bad, 0));
  struct timespec omit[2] = {{0, UTIME_OMIT}, {0, UTIME_OMIT}};
  report("utimensat.omit-omit", S(SYS_utimensat, AT_FDCWD, "file", omit, 0));
  report("utimensat.null-path-bad-dirfd", S(SYS_utimensat, 9999, NULL, NULL, 0));
  report("truncate.dir", S(SYS_truncate, "dir", 0));
  report("truncate.negative", S(SYS_truncate, "file", -1));
  report("truncate.missing", S(SYS_truncate, "missing", 0));
  report("truncate.null", S(SYS_truncate, NULL, 0));
  char big[70000];
  memset(big, 'v', sizeof big);
  report("setxattr.too-big", S(SYS_setxattr, "file", "user.x", big, sizeof big, 0));
  report("setxattr.empty-name", S(SYS_setxattr, "file", "", "v", 1, 0));
  report("setxattr.name-256", S(SYS_setxattr, "file", name256, "v", 1, 0));
  report("setxattr.bad-flags", S(SYS_setxattr, "file", "user.x", "v", 1, 0x10));
  report("setxattr.create", S(SYS_setxattr, "file", "user.x", "v", 1, 1));
  report("setxattr.create-again", S(SYS_setxattr, "file", "user.x", "v", 1, 1));
  report("setxattr.replace-missing", S(SYS_setxattr, "file", "user.y", "v", 1, 2));
  report("setxattr.unknown-namespace", S(SYS_setxattr, "file", "bogus.x", "v", 1, 0));
  report("setxattr.value-unmapped", S(SYS_setxattr, "file", "user.z", bad, 16, 0));
  report("removexattr.missing", S(SYS_removexattr, "file", "user.nope"));
  report("lsetxattr.user-on-symlink", S(SYS_lsetxattr, "tofile", "user.x", "v", 1, 0));
  report("chdir.file", S(SYS_chdir, "file"));
  report("chdir.loop", S(SYS_chdir, "loop1"));
  report("chdir.null", S(SYS_chdir, NULL));

  /* Lookups across mount points, from injected and O_PATH dirfds, and from the cwd. */
  report_fd("cross.dotdot-out-of-devshm", S(SYS_openat, AT_FDCWD, "/dev/shm/../null", O_RDONLY));
  report_fd("cross.dotdot-out-of-proc", S(SYS_openat, AT_FDCWD, "/proc/../dev/null", O_RDONLY));
  report_fd("cross.dotdot-at-root", S(SYS_openat, AT_FDCWD, "/../../dev/null", O_RDONLY));
  int dfd = (int)S(SYS_openat, AT_FDCWD, "dir", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  int pfd = (int)S(SYS_openat, AT_FDCWD, "dir", O_PATH | O_CLOEXEC);
  report_fd("dirfd.entry", S(SYS_openat, dfd, "entry", O_RDONLY));
  report_fd("dirfd.dotdot", S(SYS_openat, dfd, "../file", O_RDONLY));
  report_fd("dirfd.opath-entry", S(SYS_openat, pfd, "entry", O_RDONLY));
  report_fd("dirfd.opath-dotdot-dotdot", S(SYS_openat, pfd, "../../", O_RDONLY | O_DIRECTORY));
  report("dirfd.mkdirat", S(SYS_mkdirat, dfd, "sub", 0700));
  report("dirfd.unlinkat", S(SYS_unlinkat, pfd, "sub", AT_REMOVEDIR));
  report_fd("dirfd.empty-path", S(SYS_openat, dfd, "", O_RDONLY));
  struct stat st;
  report("dirfd.fstatat-empty-path", S(SYS_newfstatat, pfd, "", &st, AT_EMPTY_PATH));
  report("dirfd.linkat-empty-path-dir", S(SYS_linkat, dfd, "", AT_FDCWD, "dirlink2", AT_EMPTY_PATH));
  int tfd = (int)S(SYS_openat, AT_FDCWD, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  report("tmpfile.linkat-empty-path", S(SYS_linkat, tfd, "", AT_FDCWD, "from-tmpfile", AT_EMPTY_PATH));
  report("tmpfile.linked-exists", S(SYS_faccessat, AT_FDCWD, "from-tmpfile", F_OK));
  report("cwd.chdir-dir", S(SYS_chdir, "dir"));
  report_fd("cwd.relative", S(SYS_openat, AT_FDCWD, "entry", O_RDONLY));
  report_fd("cwd.dotdot", S(SYS_openat, AT_FDCWD, "../file", O_RDONLY));
  report("cwd.fchdir-back", S(SYS_fchdir, pfd) < 0 ? -1 : S(SYS_chdir, ".."));
  report("cwd.rmdir-own-cwd", S(SYS_mkdir, "gone", 0755) < 0 || S(SYS_chdir, "gone") < 0 ? -1 : S(SYS_rmdir, "../gone"));
  report_fd("cwd.open-in-deleted-cwd", S(SYS_openat, AT_FDCWD, "x", O_CREAT | O_WRONLY, 0644));
  report_fd("cwd.dot-in-deleted-cwd", S(SYS_openat, AT_FDCWD, ".", O_RDONLY));
  report("cwd.chdir-dotdot-from-deleted", S(SYS_chdir, ".."));

  /* Watches on sandbox paths: inotify, and unprivileged fanotify (inode marks, FAN_REPORT_FID). */
  int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  report("inotify.add-watch", inotify_add_watch(in, "dir", IN_CREATE));
  report("inotify.add-watch-missing", inotify_add_watch(in, "missing", IN_CREATE));
  close(open("dir/watched", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  char ev[4096];
  long n = read(in, ev, sizeof ev);
  report("inotify.event", n > 0 && strcmp(((struct inotify_event *)ev)->name, "watched") == 0 ? 0 : -1);
  int fan = fanotify_init(FAN_CLASS_NOTIF | FAN_REPORT_FID | FAN_NONBLOCK, O_RDONLY);
  report("fanotify.init-fid", fan);
  report("fanotify.init-content-class", fanotify_init(FAN_CLASS_CONTENT, O_RDONLY));
  report("fanotify.mark-inode", fanotify_mark(fan, FAN_MARK_ADD, FAN_CLOSE_WRITE | FAN_EVENT_ON_CHILD, AT_FDCWD, "dir"));
  report("fanotify.mark-mount", fanotify_mark(fan, FAN_MARK_ADD | FAN_MARK_MOUNT, FAN_CLOSE_WRITE, AT_FDCWD, "dir"));
  report("fanotify.mark-missing", fanotify_mark(fan, FAN_MARK_ADD, FAN_CLOSE_WRITE, AT_FDCWD, "missing"));
  close(open("dir/fan", O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
  n = read(fan, ev, sizeof ev);
  report("fanotify.event", n > 0 && (((struct fanotify_event_metadata *)ev)->mask & FAN_CLOSE_WRITE) ? 0 : -1);

  /* The sentry is still there and answering: a plain create and open after all that. */
  report_fd("after.creat", S(SYS_openat, AT_FDCWD, "after", O_CREAT | O_WRONLY, 0644));
  report_fd("after.open", S(SYS_openat, AT_FDCWD, "after", O_RDONLY));
  return 0;
}
