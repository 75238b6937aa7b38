# openat2(2) with RESOLVE_NO_MAGICLINKS / RESOLVE_NO_SYMLINKS on links only the sandbox can interpret.
# Run natively and inside tvisor by test/sandbox.test.ts; the outputs must match.
import ctypes, os, errno
libc = ctypes.CDLL(None, use_errno=True)
class How(ctypes.Structure): _fields_ = [("flags", ctypes.c_uint64), ("mode", ctypes.c_uint64), ("resolve", ctypes.c_uint64)]
for path, res in [("/proc/self/fd/0", 0x02), ("/proc/self/status", 0x02), ("/proc/self/status", 0x04), ("/dev/stdin", 0x02), ("/etc/hostname", 0x02)]:
    h = How(0, 0, res)
    fd = libc.syscall(437, -100, path.encode(), ctypes.byref(h), 24)
    print(path, hex(res), fd if fd < 0 else 'fd', errno.errorcode.get(ctypes.get_errno(), 0) if fd < 0 else '')
    if fd >= 0: os.close(fd)
