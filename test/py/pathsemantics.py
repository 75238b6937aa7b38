"""Path-syscall semantics the CPython suites touch only lightly, one line each:
NAME RESULT. Run natively and inside the sandbox; the outputs must match.

Usage: python3.11 pathsemantics.py SCRATCH_DIR (created; removed at the end)
Covers: umask, permission checks as another uid, the sticky bit, xattr
namespaces, utimensat UTIME_NOW/UTIME_OMIT, renameat2 flags, statx masks,
flock/fcntl/OFD locks across processes, O_TMPFILE.
"""
import ctypes
import errno
import fcntl
import os
import shutil
import struct
import sys
import time

libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
SYS_renameat2 = 316
SYS_statx = 332
SYS_utimensat = 280
AT_FDCWD = -100
AT_SYMLINK_FOLLOW = 0x400
RENAME_NOREPLACE, RENAME_EXCHANGE, RENAME_WHITEOUT = 1, 2, 4
UTIME_NOW, UTIME_OMIT = (1 << 30) - 1, (1 << 30) - 2


def out(name, value):
    print(f"{name} {value}", flush=True)


def attempt(name, fn):
    try:
        r = fn()
        out(name, "ok" if r is None else r)
    except OSError as e:
        out(name, errno.errorcode.get(e.errno, e.errno))


def raw(name, r):
    out(name, "ok" if r >= 0 else errno.errorcode[ctypes.get_errno()])


def as_user(uid, fn):
    """Runs fn in a child with uid/gid `uid` (no capabilities); returns its one-line result."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            os.setgroups([])
            os.setresgid(uid, uid, uid)
            os.setresuid(uid, uid, uid)
            fn()
            res = "ok"
        except OSError as e:
            res = errno.errorcode.get(e.errno, str(e.errno))
        os.write(w, res.encode())
        os._exit(0)
    os.close(w)
    res = os.read(r, 100).decode()
    os.close(r)
    os.waitpid(pid, 0)
    return res


def main():
    d = sys.argv[1]
    os.mkdir(d, 0o755)
    os.chdir(d)

    # umask applies to creations; not to chmod.
    for m in (0o022, 0o077, 0o000):
        os.umask(m)
        os.close(os.open(f"f{m:o}", os.O_CREAT | os.O_WRONLY, 0o777))
        os.mkdir(f"d{m:o}", 0o777)
        os.mkfifo(f"p{m:o}", 0o777)
        out(f"umask.{m:o}", "%o %o %o" % (os.stat(f"f{m:o}").st_mode, os.stat(f"d{m:o}").st_mode, os.stat(f"p{m:o}").st_mode))
    os.umask(0o022)
    os.chmod("f22", 0o4777)
    out("chmod.ignores-umask", "%o" % os.stat("f22").st_mode)

    # Permission checks as an unprivileged uid.
    os.mkdir("rootonly", 0o755)
    os.close(os.open("rootonly/secret", os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(".", 0o755)
    os.chmod(d, 0o755)
    out("perm.create-in-root-dir", as_user(65534, lambda: os.close(os.open("rootonly/x", os.O_CREAT | os.O_WRONLY, 0o644))))
    out("perm.read-0600", as_user(65534, lambda: os.close(os.open("rootonly/secret", os.O_RDONLY))))
    out("perm.mkdir-in-root-dir", as_user(65534, lambda: os.mkdir("rootonly/x")))
    out("perm.unlink-in-root-dir", as_user(65534, lambda: os.unlink("rootonly/secret")))
    out("perm.chmod-not-owner", as_user(65534, lambda: os.chmod("rootonly/secret", 0o666)))
    out("perm.chown-not-root", as_user(65534, lambda: os.chown("rootonly/secret", 65534, 65534)))
    out("perm.utime-now-not-owner", as_user(65534, lambda: os.utime("rootonly/secret")))
    os.chmod("rootonly", 0o700)
    out("perm.search-0700-dir", as_user(65534, lambda: os.stat("rootonly/secret")))
    out("perm.open-under-0700-dir", as_user(65534, lambda: os.close(os.open("rootonly/secret", os.O_RDONLY))))

    # Sticky directory: only the owner of a file (or of the dir) may remove or rename it.
    os.mkdir("sticky", 0o1777)
    os.chmod("sticky", 0o1777)
    out("sticky.create-as-1000", as_user(1000, lambda: os.close(os.open("sticky/mine", os.O_CREAT | os.O_WRONLY, 0o666))))
    out("sticky.unlink-other-users", as_user(1001, lambda: os.unlink("sticky/mine")))
    out("sticky.rename-other-users", as_user(1001, lambda: os.rename("sticky/mine", "sticky/theirs")))
    out("sticky.open-other-users-o-creat", as_user(1001, lambda: os.close(os.open("sticky/mine", os.O_CREAT | os.O_WRONLY, 0o666))))
    out("sticky.unlink-own", as_user(1000, lambda: os.unlink("sticky/mine")))

    # xattrs: user.* kept; trusted.* needs CAP_SYS_ADMIN; security.capability needs CAP_SETFCAP.
    open("x", "w").close()
    attempt("xattr.user-set", lambda: os.setxattr("x", "user.k", b"v1"))
    attempt("xattr.user-get", lambda: os.getxattr("x", "user.k").decode())
    attempt("xattr.user-list", lambda: ",".join(sorted(a for a in os.listxattr("x") if a.startswith("user."))))
    attempt("xattr.user-replace-missing", lambda: os.setxattr("x", "user.none", b"v", os.XATTR_REPLACE))
    attempt("xattr.user-create-existing", lambda: os.setxattr("x", "user.k", b"v", os.XATTR_CREATE))
    attempt("xattr.user-remove", lambda: os.removexattr("x", "user.k"))
    attempt("xattr.trusted-set", lambda: os.setxattr("x", "trusted.k", b"v"))
    attempt("xattr.security-capability-set", lambda: os.setxattr("x", "security.capability", struct.pack("<IIIII", 0x2000001, 1, 0, 0, 0)))
    attempt("xattr.security-capability-get-len", lambda: len(os.getxattr("x", "security.capability")))
    attempt("xattr.user-on-fifo", lambda: os.setxattr("p22", "user.k", b"v"))
    attempt("xattr.user-on-symlink-nofollow", lambda: (os.symlink("x", "xl"), os.setxattr("xl", "user.k", b"v", follow_symlinks=False)))

    # utimensat: UTIME_NOW, UTIME_OMIT, explicit nanoseconds, on a symlink itself.
    os.utime("x", ns=(1_000_000_123, 2_000_000_456))
    ts = (ctypes.c_long * 4)(0, UTIME_OMIT, 0, UTIME_OMIT)
    raw("utimensat.omit-omit", libc.syscall(SYS_utimensat, AT_FDCWD, b"x", ts, 0))
    st = os.stat("x")
    out("utimensat.omit-kept", f"{st.st_atime_ns} {st.st_mtime_ns}")
    ts = (ctypes.c_long * 4)(0, UTIME_NOW, 5, 6)
    before = time.time_ns()
    raw("utimensat.now-explicit", libc.syscall(SYS_utimensat, AT_FDCWD, b"x", ts, 0))
    st = os.stat("x")
    out("utimensat.now-is-recent", st.st_atime_ns >= before - 10_000_000_000 and st.st_mtime_ns == 5_000_000_006)
    os.utime("xl", ns=(7, 8), follow_symlinks=False)
    out("utimensat.symlink-itself", f"{os.lstat('xl').st_mtime_ns} {os.stat('xl').st_mtime_ns == 5_000_000_006}")

    # renameat2 flags.
    open("a", "w").write("A")
    open("b", "w").write("B")
    raw("renameat2.noreplace-existing", libc.syscall(SYS_renameat2, AT_FDCWD, b"a", AT_FDCWD, b"b", RENAME_NOREPLACE))
    raw("renameat2.noreplace-new", libc.syscall(SYS_renameat2, AT_FDCWD, b"a", AT_FDCWD, b"c", RENAME_NOREPLACE))
    raw("renameat2.exchange", libc.syscall(SYS_renameat2, AT_FDCWD, b"b", AT_FDCWD, b"c", RENAME_EXCHANGE))
    out("renameat2.exchanged", open("b").read() + open("c").read())
    raw("renameat2.exchange-dir-file", libc.syscall(SYS_renameat2, AT_FDCWD, b"rootonly", AT_FDCWD, b"c", RENAME_EXCHANGE))
    out("renameat2.exchange-dir-file-types", f"{os.path.isdir('c')} {os.path.isfile('rootonly')}")
    raw("renameat2.whiteout", libc.syscall(SYS_renameat2, AT_FDCWD, b"b", AT_FDCWD, b"w", RENAME_WHITEOUT))
    st = os.lstat("b")
    out("renameat2.whiteout-left", f"{oct(st.st_mode)} {st.st_rdev}")

    # statx: the mask asked for, the fields given.
    buf = ctypes.create_string_buffer(256)
    STATX_BASIC_STATS, STATX_BTIME = 0x7FF, 0x800
    raw("statx.basic", libc.syscall(SYS_statx, AT_FDCWD, b"x", 0, STATX_BASIC_STATS | STATX_BTIME, buf))
    mask, blksize, attrs, nlink, uid, gid, mode = struct.unpack_from("<IIQIIIH", buf, 0)
    size = struct.unpack_from("<Q", buf, 40)[0]
    out("statx.fields", f"{mask & STATX_BASIC_STATS:x} {nlink} {uid} {gid} {oct(mode)} {size}")
    raw("statx.bad-flags", libc.syscall(SYS_statx, AT_FDCWD, b"x", 0x80000000, STATX_BASIC_STATS, buf))
    raw("statx.reserved-mask", libc.syscall(SYS_statx, AT_FDCWD, b"x", 0, 0x80000000, buf))
    raw("statx.empty-path-no-flag", libc.syscall(SYS_statx, AT_FDCWD, b"", 0, STATX_BASIC_STATS, buf))

    # Locks across processes: flock, fcntl (POSIX), OFD.
    fd = os.open("lockme", os.O_CREAT | os.O_RDWR, 0o644)
    fcntl.flock(fd, fcntl.LOCK_EX)
    fcntl.lockf(fd, fcntl.LOCK_EX, 10, 0)
    ofd = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 100, 10, 0)
    fcntl.fcntl(fd, fcntl.F_OFD_SETLK, ofd)

    def child_tries():
        c = os.open("lockme", os.O_RDWR)
        res = []
        for name, f in (
            ("flock", lambda: fcntl.flock(c, fcntl.LOCK_EX | fcntl.LOCK_NB)),
            ("posix", lambda: fcntl.lockf(c, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)),
            ("ofd", lambda: fcntl.fcntl(c, fcntl.F_OFD_SETLK, ofd)),
        ):
            try:
                f()
                res.append(f"{name}=got")
            except OSError as e:
                res.append(f"{name}={errno.errorcode[e.errno]}")
        os.write(1, (" ".join(res) + "\n").encode())
        os._exit(0)

    for stage in ("held", "released"):
        sys.stdout.flush()
        pid = os.fork()
        if pid == 0:
            os.write(1, f"locks.{stage} ".encode())
            child_tries()
        os.waitpid(pid, 0)
        os.close(fd)  # the last close drops all three locks
        fd = os.open("lockme", os.O_RDWR)

    # truncate(2) by path past the caller's RLIMIT_FSIZE: EFBIG (SIGXFSZ ignored here), in a child, as uid 1000.
    open("big", "w").close()
    os.chown("big", 1000, 1000)
    pid = os.fork()
    if pid == 0:
        import resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        os.setgroups([])
        os.setresgid(1000, 1000, 1000)
        os.setresuid(1000, 1000, 1000)
        attempt("truncate.past-rlimit-fsize", lambda: os.truncate("big", 1 << 20))
        attempt("truncate.within-rlimit-fsize", lambda: os.truncate("big", 100))
        os._exit(0)
    os.waitpid(pid, 0)

    # A lease: an open for writing waits until the holder, told by SIGIO, lets go (fcntl(2) F_SETLEASE).
    open("leased", "w").close()
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        import signal
        lfd = os.open("leased", os.O_RDONLY)
        signal.signal(signal.SIGIO, lambda *a: (fcntl.fcntl(lfd, fcntl.F_SETLEASE, fcntl.F_UNLCK), os._exit(0)))
        fcntl.fcntl(lfd, fcntl.F_SETLEASE, fcntl.F_RDLCK)
        os.write(w, b"1")
        time.sleep(30)
        os._exit(1)
    os.read(r, 1)
    attempt("lease.open-for-write-waits-for-break", lambda: os.close(os.open("leased", os.O_WRONLY)))
    out("lease.holder-exit", os.waitpid(pid, 0)[1])

    # O_TMPFILE: anonymous, then linked in with linkat through /proc/self/fd.
    t = os.open(".", os.O_TMPFILE | os.O_RDWR, 0o640)
    os.write(t, b"tmp")
    out("tmpfile.nlink", os.fstat(t).st_nlink)
    # os.link() calls link(2), which does not follow the magic link: linkat(AT_SYMLINK_FOLLOW) does.
    link_follow = lambda src, dst: libc.linkat(AT_FDCWD, src.encode(), AT_FDCWD, dst.encode(), AT_SYMLINK_FOLLOW)
    raw("tmpfile.link-proc", link_follow(f"/proc/self/fd/{t}", "linked"))
    out("tmpfile.linked", open("linked").read() + " %o" % os.stat("linked").st_mode)
    t2 = os.open(".", os.O_TMPFILE | os.O_RDWR | os.O_EXCL, 0o600)
    raw("tmpfile.excl-link", link_follow(f"/proc/self/fd/{t2}", "linked2"))
    attempt("tmpfile.plain-link-of-magic-link", lambda: os.link(f"/proc/self/fd/{t}", "linked3"))

    os.chdir("/")
    shutil.rmtree(d)


if __name__ == "__main__":
    main()
