"""Starting Dagster next to the API server: webserver (the UI), daemon (sensors, queued runs, backfills).

``dagster dev -m warehouse.definitions`` runs both, plus the code server, with the instance under
``$WAREHOUSE_HOME/dagster``. Its processes reach the index through the API server (the owner).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import signal
import subprocess
import sys
from pathlib import Path

from warehouse.cli.waiting import wait_for_http
from warehouse.settings import Settings

REPO_DAGSTER_YAML = Path(__file__).resolve().parent.parent / "dagster.yaml"
DAGSTER_YAML = """\
# Dagster instance of the embedded default: run, event, schedule storage in SQLite under
# DAGSTER_HOME ($WAREHOUSE_HOME/dagster; `warehouse up` writes this file there).
telemetry:
  enabled: false
run_coordinator:
  module: dagster.core.run_coordinator
  class: QueuedRunCoordinator
  config:
    max_concurrent_runs: 4
    dequeue_interval_seconds: 1
sensors:
  use_threads: true
  num_workers: 4
"""


def prepare_home(settings: Settings) -> Path:
    """``$WAREHOUSE_HOME/dagster`` with its ``dagster.yaml``."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(DAGSTER_YAML)
    return home


def dagster_env(settings: Settings, owner_url: str) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(prepare_home(settings)), "WAREHOUSE_HOME": str(settings.home_dir),
            "WAREHOUSE_INDEX_OWNER_URL": owner_url}


_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    """In the child, before exec: SIGINT and SIGTERM back to their defaults (a shell starting ``warehouse up`` in
    the background ignores SIGINT, and dagster dev maps SIGTERM to whatever SIGINT does — it would ignore both),
    and the kernel sends SIGTERM, dagster dev's orderly shutdown of its webserver, daemon and code server, when
    ``warehouse up`` dies — however it dies, SIGKILL included."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def start_dagster(settings: Settings, owner_url: str, port: int, host: str = "127.0.0.1") -> subprocess.Popen:
    """Start ``dagster dev`` (webserver on ``host:port`` and the daemon) in its own process group, tied to this
    process's life (call it from the main thread: the kernel ties the death signal to the spawning thread)."""
    settings.logs_dir.mkdir(parents=True, exist_ok=True)
    log = open(settings.logs_dir / "dagster.log", "ab")  # noqa: SIM115 - the child keeps it open
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "warehouse.definitions", "-h", host, "-p", str(port)]
    return subprocess.Popen(cmd, env=dagster_env(settings, owner_url), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True, cwd=settings.home_dir,
                            preexec_fn=_die_with_parent if sys.platform == "linux" else None)


def wait_for_ui(url: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    """Block until the Dagster UI answers; RuntimeError if ``dagster dev`` exits first."""
    wait_for_http(f"{url}/server_info", "dagster dev (the Dagster UI)", timeout, interval=0.5, proc=proc)


def stop_dagster(proc: subprocess.Popen, timeout: float = 30) -> None:
    """SIGINT the process group (dagster dev shuts its webserver, daemon and code server down), then SIGKILL."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(timeout=timeout)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)
