"""A process-group keeper for ``dagster dev``: run as a script (``python supervise.py GRACE PARENT -- CMD...``), it
imports nothing of the warehouse, so it starts in milliseconds.

It leads its own process group, starts CMD in that group (Dagster's webserver, daemon, code servers and run
workers all stay in it) and, when told to stop — SIGTERM or SIGINT, or the kernel's SIGTERM when ``warehouse up``
dies, however it dies — passes SIGTERM on to CMD, gives it GRACE seconds for its orderly shutdown, then SIGKILLs
whatever of the group is left: an orderly shutdown that hangs (a busy 2-core machine, a code server waiting for
its heartbeat to time out) cannot keep processes alive behind a stopped warehouse. When CMD exits by itself, the
group's leftovers go the same way and the keeper exits with CMD's code.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

_PR_SET_PDEATHSIG = 1


def _group_members() -> list[int]:
    """Live processes of this process group, this one excepted (Linux: /proc)."""
    group, me, members = os.getpgid(0), os.getpid(), []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == group:
            members.append(int(entry.name))
    return members


def _sweep() -> None:
    for pid in _group_members():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def main(argv: list[str]) -> int:
    grace, parent, cmd = float(argv[0]), int(argv[1]), argv[3:]
    stopping = False

    def stop(signum, frame) -> None:  # noqa: ARG001 - signal handler signature
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    if sys.platform == "linux":
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    if os.getppid() != parent:  # the parent died before the death signal was armed
        return 1
    child = subprocess.Popen(cmd)  # handlers reset to the defaults across exec: CMD stops on SIGTERM
    while not stopping and child.poll() is None:
        time.sleep(0.2)
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    _sweep()
    child.wait()
    return child.returncode if child.returncode >= 0 else 128 - child.returncode


if __name__ == "__main__":
    if len(sys.argv) < 5 or sys.argv[3] != "--":
        sys.exit("usage: supervise.py GRACE_SECONDS PARENT_PID -- COMMAND [ARG...]")
    sys.exit(main(sys.argv[1:]))
