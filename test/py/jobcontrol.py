"""Drives an interactive bash through a pty and prints its transcript.

Usage: python3 jobcontrol.py CMD [ARGS...]  (CMD runs an interactive bash,
natively `bash --norc --noprofile -i`, or `tvisor do -t -- bash ...`).

The script runs in a pty this process allocates (pty.fork): a job started
with `&`, `jobs`, `fg` then Ctrl-C, the job in the foreground then Ctrl-Z,
`jobs`, `bg`, `kill %1` and `wait %1`, `ps`, `exit 3`. Each step waits for what
bash or the job prints (the prompt, "foreground"), never for a time. Printed on stdout: the transcript with CRs dropped and
process ids replaced by "PID", then the exit status line "status N".
"""
import os
import pty
import re
import select
import sys

PROMPT = "PROMPT> "
TIMEOUT = 60  # a hung step fails the test instead of hanging it; nothing is measured


def main():
    argv = sys.argv[1:]
    env = dict(os.environ, PS1=PROMPT, TERM="dumb", LC_ALL="C")
    pid, fd = pty.fork()
    if pid == 0:
        os.execvpe(argv[0], argv, env)
    out = bytearray()
    seen = [0]  # where the last awaited text ended

    def until(text):
        """Reads until `text` shows up after the previous awaited text."""
        while True:
            at = out.decode("latin1").replace("\r", "").find(text, seen[0])
            if at >= 0:
                seen[0] = at + len(text)
                return
            r, _, _ = select.select([fd], [], [], TIMEOUT)
            if not r:
                raise SystemExit("timed out waiting for %r; got %r" % (text, out.decode("latin1")[-400:]))
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                chunk = b""
            if not chunk:
                raise SystemExit("eof waiting for %r; got %r" % (text, out.decode("latin1")[-400:]))
            out.extend(chunk)

    def send(s):
        os.write(fd, s.encode())

    until(PROMPT)
    # A job that says "foreground" once its process group owns the terminal (it polls; nothing is timed), so
    # Ctrl-C and Ctrl-Z are typed only when they can reach it.
    send("""W='while [ "$(ps -o tpgid= -p $$)" != "$(ps -o pgid= -p $$)" ]; do sleep 0.05; done; echo fore""ground; exec sleep 100'\n""")
    until(PROMPT)
    for cmd in ['sh -c "$W" &', "jobs"]:
        send(cmd + "\n")
        until(PROMPT)
    send("fg\n")
    until("foreground\n")
    send("\x03")
    until(PROMPT)
    send("echo status=$?\n")
    until(PROMPT)
    send('sh -c "$W"\n')
    until("foreground\n")
    send("\x1a")
    until(PROMPT)
    for cmd in ["echo status=$?", "jobs", "bg", "kill %1; wait %1; echo killed=$?", "jobs", "ps -o stat,args | grep -c '[s]leep'", "exit 3"]:
        send(cmd + "\n")
        if cmd != "exit 3":
            until(PROMPT)
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:
            break
        if not chunk:
            break
        out.extend(chunk)
    _, st = os.waitpid(pid, 0)
    text = out.decode("latin1").replace("\r", "")
    text = re.sub(r"^\[(\d+)\] \d+$", r"[\1] PID", text, flags=re.M)
    # bash reports a job that ended by itself (Terminated) before whichever prompt comes next: when depends on
    # timing, so those lines are left out; the job's status is printed by `wait %1`.
    text = re.sub(r"^\[\d+\][+-]? +Terminated .*\n", "", text, flags=re.M)
    print(text)
    print("status", os.waitstatus_to_exitcode(st))


main()
