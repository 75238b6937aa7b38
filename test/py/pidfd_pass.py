"""A pidfd of a host process, passed into a sandbox over a unix socket, cannot signal it.

Usage: python3 pidfd_pass.py DIR TVISOR_CMD...  (DIR: a host directory the sandbox gets with -v DIR:DIR).

On the host: starts `sleep 987001` (the victim), opens a pidfd of it (pidfd_open(2)), listens on DIR/sock,
then runs TVISOR_CMD + ["python3", "-c", CLIENT]; the client connects, receives the pidfd (SCM_RIGHTS,
socket.recv_fds) and calls pidfd_send_signal(SIGKILL) on it. Prints one JSON line: the client's result
("ok" or the errno name), whether the victim is still alive afterwards, and the client's exit status.
"""
import errno
import json
import os
import signal
import socket
import subprocess
import sys

CLIENT = r"""
import errno, signal, socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
s.connect(sys.argv[1])
_, fds, _, _ = socket.recv_fds(s, 16, 1)
try:
    signal.pidfd_send_signal(fds[0], signal.SIGKILL)
    print("ok")
except OSError as e:
    print(errno.errorcode[e.errno])
"""


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def main():
    d, cmd = sys.argv[1], sys.argv[2:]
    victim = subprocess.Popen(["sleep", "987001"])
    pidfd = os.pidfd_open(victim.pid)
    path = os.path.join(d, "sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    client = subprocess.Popen(cmd + ["python3", "-c", CLIENT, path], stdout=subprocess.PIPE, text=True)
    conn, _ = srv.accept()
    socket.send_fds(conn, [b"x"], [pidfd])
    out, _ = client.communicate()
    result = {"client": out.strip(), "status": client.returncode, "victim_alive": alive(victim.pid)}
    victim.kill()
    victim.wait()
    print(json.dumps(result))


main()
