"""openat2(2) RESOLVE_* flags where the sentry must walk itself (/proc/self, mount crossings, scoped lookups from
the caller's dirfds): one line per call, NAME -> RESULT. Usage: python3 openat2_scoped.py SCRATCH_DIR."""
import ctypes, os, shutil, sys
libc = ctypes.CDLL(None, use_errno=True); libc.syscall.restype = ctypes.c_long
NO_XDEV, NO_MAGIC, NO_SYM, BENEATH, IN_ROOT = 1, 2, 4, 8, 0x10
def o2(dfd, p, res, flags=0):
    how = (ctypes.c_uint64 * 3)(flags, 0, res)
    r = libc.syscall(437, dfd, p.encode(), how, 24)
    if r < 0: return os.strerror(ctypes.get_errno())
    os.close(r); return "ok"
procfd = os.open("/proc", os.O_RDONLY | os.O_DIRECTORY)
rootfd = os.open("/", os.O_RDONLY | os.O_DIRECTORY)
S = sys.argv[1]
os.makedirs(S + "/a"); open(S + "/a/f", "w").close()
os.symlink("/etc/hostname", S + "/abs")
d = os.open(S, os.O_RDONLY | os.O_DIRECTORY)
for name, args in [
  ("NO_XDEV /dev/null", (-100, "/dev/null", NO_XDEV)),
  ("NO_XDEV /proc/self/status", (-100, "/proc/self/status", NO_XDEV)),
  ("NO_XDEV procfd ../etc/hostname", (procfd, "../etc/hostname", NO_XDEV)),
  ("NO_XDEV /etc/hostname", (-100, "/etc/hostname", NO_XDEV)),
  ("BENEATH procfd self/status", (procfd, "self/status", BENEATH)),
  ("BENEATH procfd thread-self/status", (procfd, "thread-self/status", BENEATH)),
  ("IN_ROOT rootfd /proc/self/status", (rootfd, "/proc/self/status", IN_ROOT)),
  ("BENEATH d a/f", (d, "a/f", BENEATH)),
  ("BENEATH d ../etc", (d, "../etc", BENEATH)),
  ("BENEATH d abs", (d, "abs", BENEATH)),
  ("IN_ROOT d abs", (d, "abs", IN_ROOT)),
  ("IN_ROOT d ../../a/f", (d, "../../a/f", IN_ROOT)),
  ("BENEATH procfd self/fd/3", (procfd, "self/fd/3", BENEATH)),
  ("plain procfd self/fd/3", (procfd, "self/fd/3", 0)),
]:
    print(name, "->", o2(*args))
shutil.rmtree(S)
