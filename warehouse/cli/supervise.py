"""A process-group keeper: run as a script (``python supervise.py GRACE PARENT [--restart] [--watch NAME] -- CMD...``),
it imports nothing of the warehouse, so it starts in milliseconds. ``warehouse up`` runs ``dagster dev`` and the Ray
head under it.

It leads its own process group, starts CMD in that group (Dagster's webserver, daemon, code servers and run
workers; Ray's GCS, raylet, agents and workers all stay in it) and, when told to stop — SIGTERM or SIGINT, or the
kernel's SIGTERM when ``warehouse up`` dies, however it dies — passes SIGTERM on to CMD, gives it GRACE seconds for
its orderly shutdown, then SIGKILLs whatever of the group is left: an orderly shutdown that hangs (a busy 2-core
machine, a code server waiting for its heartbeat to time out) cannot keep processes alive behind a stopped
warehouse.

``--watch NAME``: a process of that name (``/proc/PID/comm``) must live in the group once it has appeared; when it
is gone (Ray's raylet dies with any of its agents, and ``ray start --block`` does not notice), CMD counts as
exited. ``--restart``: when CMD exits by itself (or its watched process dies), the group's leftovers are killed and
CMD starts again, after 2 s, doubling up to 30 s while it keeps failing within a minute. Without it the keeper
exits with CMD's code.
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


def _group_members() -> dict[int, str]:
    """Live processes of this process group (pid → name), this one excepted (Linux: /proc)."""
    group, me, members = os.getpgid(0), os.getpid(), {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == me:
            continue
        try:
            head, tail = (entry / "stat").read_text().rsplit(")", 1)
            fields = tail.split()
        except (OSError, ValueError):
            continue
        if len(fields) > 2 and fields[0] != "Z" and int(fields[2]) == group:
            members[int(entry.name)] = head.split("(", 1)[-1]
    return members


def _sweep() -> None:
    for pid in _group_members():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


def _stop(child: subprocess.Popen, grace: float) -> None:
    if child.poll() is None:
        child.send_signal(signal.SIGTERM)
        try:
            child.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            pass
    _sweep()
    child.wait()


def main(argv: list[str]) -> int:
    split = argv.index("--")
    grace, parent, options, cmd = float(argv[0]), int(argv[1]), argv[2:split], argv[split + 1:]
    restart = "--restart" in options
    watch = options[options.index("--watch") + 1] if "--watch" in options else None
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
    delay = 2.0
    while True:
        started = time.monotonic()
        child = subprocess.Popen(cmd)  # handlers reset to the defaults across exec: CMD stops on SIGTERM
        seen = False
        while not stopping and child.poll() is None:
            time.sleep(0.5)
            if watch is not None:
                alive = watch in _group_members().values()
                if seen and not alive:
                    print(f"supervise: {watch} is gone; stopping {cmd[0]}", file=sys.stderr, flush=True)
                    break
                seen = seen or alive
        _stop(child, grace)
        if stopping or not restart:
            return child.returncode if child.returncode >= 0 else 128 - child.returncode
        delay = 2.0 if time.monotonic() - started > 60 else min(delay * 2, 30.0)
        print(f"supervise: {cmd[0]} ended; starting it again in {delay:.0f}s", file=sys.stderr, flush=True)
        deadline = time.monotonic() + delay
        while not stopping and time.monotonic() < deadline:
            time.sleep(0.2)
        if stopping:
            return 0


if __name__ == "__main__":
    if len(sys.argv) < 5 or "--" not in sys.argv[3:]:
        sys.exit("usage: supervise.py GRACE_SECONDS PARENT_PID [--restart] [--watch NAME] -- COMMAND [ARG...]")
    sys.exit(main(sys.argv[1:]))
