"""Waiting for a process that `warehouse up` started to answer over HTTP, and free ports to start them on."""

from __future__ import annotations

import socket
import subprocess
import time

import httpx


def wait_for_http(url: str, what: str, timeout: float, interval: float = 0.2,
                  proc: subprocess.Popen | None = None) -> None:
    """Block until ``GET url`` answers 200. RuntimeError if ``proc`` exits first, TimeoutError after ``timeout``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what} exited with code {proc.returncode}; see its log under the home")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(interval)
    raise TimeoutError(f"{what} did not answer at {url} within {timeout:.0f}s")


def free_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on now (the OS's pick)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]
