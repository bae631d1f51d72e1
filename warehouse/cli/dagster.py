"""Starting Dagster next to the API server: webserver (the UI), daemon (sensors, queued runs, backfills).

``dagster dev -m warehouse.definitions`` runs both, plus the code server, with the instance under
``$WAREHOUSE_HOME/dagster``. Its processes reach the index through the API server (the owner).
"""

from __future__ import annotations

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
# a run whose worker died (a Ray process took it down, an OOM kill) is marked failed, and its batch part with it
run_monitoring:
  enabled: true
  poll_interval_seconds: 5
  max_resume_run_attempts: 0
"""


POSTGRES_STORAGE = """\
# run, event-log and schedule storage on PostgreSQL (WAREHOUSE_DAGSTER_DATABASE_URL; dagster-postgres)
storage:
  postgres:
    postgres_url: "{url}"
"""


def dagster_postgres_url(url: str) -> str:
    """The URL dagster-postgres takes from a SQLAlchemy-style one: its storage speaks psycopg2 (``NOTIFY`` with
    parameters, which psycopg 3 — SQLAlchemy 2.1's default for ``postgresql://`` — refuses), so the driver is named."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.split("+", 1)[0] not in ("postgresql", "postgres"):
        raise ValueError(f"WAREHOUSE_DAGSTER_DATABASE_URL must be a postgresql:// URL, got {scheme!r}://…")
    return f"postgresql+psycopg2://{rest}"


def prepare_home(settings: Settings) -> Path:
    """``$WAREHOUSE_HOME/dagster`` with its ``dagster.yaml``: SQLite storage there, or Postgres when
    ``dagster_database_url`` is set (the file then holds the URL and is readable by its owner alone)."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    path = home / "dagster.yaml"
    text = DAGSTER_YAML
    if settings.dagster_database_url:
        text += POSTGRES_STORAGE.format(url=dagster_postgres_url(settings.dagster_database_url).replace('"', '\\"'))
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(text)
    return home


def dagster_env(settings: Settings, owner_url: str) -> dict[str, str]:
    return {**os.environ, "DAGSTER_HOME": str(prepare_home(settings)), "WAREHOUSE_HOME": str(settings.home_dir),
            "WAREHOUSE_INDEX_OWNER_URL": owner_url}


SUPERVISOR = Path(__file__).resolve().parent / "supervise.py"
STOP_GRACE_S = 8.0  # dagster dev's orderly shutdown, before what is left of its process group is killed


def start_kept(cmd: list[str], grace: float, log_path: Path, env: dict[str, str], cwd: Path,
               options: tuple[str, ...] = ()) -> subprocess.Popen:
    """Run ``cmd`` under the keeper (``supervise.py``) in a process group of its own that goes with this process,
    however it ends — SIGKILL included: the kernel tells the keeper, which stops ``cmd`` and kills what is left of
    the group after ``grace``. Call it from the main thread: the kernel ties the death signal to the spawning
    thread."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log = open(log_path, "ab")  # noqa: SIM115 - the child keeps it open
    return subprocess.Popen([sys.executable, str(SUPERVISOR), str(grace), str(os.getpid()), *options, "--", *cmd],
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)


def stop_kept(proc: subprocess.Popen, grace: float) -> None:
    """Stop the keeper (it stops its command and, after ``grace``, kills the rest of the group); SIGKILL the group
    should the keeper itself not be done soon after."""
    if proc.poll() is not None:
        return
    try:
        proc.terminate()
        proc.wait(timeout=grace + 5)
    except (subprocess.TimeoutExpired, ProcessLookupError):
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        proc.wait(timeout=10)


def start_dagster(settings: Settings, owner_url: str, port: int, host: str = "127.0.0.1",
                  extra_env: dict[str, str] | None = None) -> subprocess.Popen:
    """Start ``dagster dev`` (webserver on ``host:port`` and the daemon) under its keeper."""
    cmd = [sys.executable, "-m", "dagster", "dev", "-m", "warehouse.definitions", "-h", host, "-p", str(port)]
    return start_kept(cmd, STOP_GRACE_S, settings.logs_dir / "dagster.log",
                      {**dagster_env(settings, owner_url), **(extra_env or {})}, settings.home_dir)


def wait_for_ui(url: str, timeout: float = 120, proc: subprocess.Popen | None = None) -> None:
    """Block until the Dagster UI answers; RuntimeError if ``dagster dev`` exits first."""
    wait_for_http(f"{url}/server_info", "dagster dev (the Dagster UI)", timeout, interval=0.5, proc=proc)


def stop_dagster(proc: subprocess.Popen) -> None:
    stop_kept(proc, STOP_GRACE_S)
