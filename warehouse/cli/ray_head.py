"""The Ray head beside the API: ``ray start --head --block`` under the keeper (``supervise.py``), in a process group
of its own.

Under ``warehouse up`` (with Dagster) batches run in Dagster's run workers, which join this head as Ray drivers
(``WAREHOUSE_DAGSTER_EXECUTOR=in_process``, ``WAREHOUSE_RAY_ADDRESS``); the API server never starts Ray. A Ray
process that dies (a raylet, an agent, a worker) then takes down at most the run in flight — which ends FAILED with
its reason through the run-status sensor — never the API: a Ray driver dies with its raylet once it has run Ray
Data (measured with Ray 2.60), so the API must not be one. The keeper watches the raylet and starts the head again
when it is gone. Ray's servers listen on every interface (Ray offers no loopback-only bind), so the head requires
a token: generated once into ``$WAREHOUSE_HOME/ray_auth_token`` (0600) and given to the processes that join.
"""

from __future__ import annotations

import hashlib
import os
import secrets
import subprocess
import sys
from pathlib import Path

from warehouse.cli.dagster import start_kept, stop_kept
from warehouse.cli.waiting import free_port
from warehouse.settings import Settings

RAY_GRACE_S = 2.0  # Ray's state is ephemeral: a short orderly stop, then the group is killed


def ray_token(settings: Settings) -> str:
    path = settings.home_dir / "ray_auth_token"
    if not path.exists():
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def ray_temp(settings: Settings) -> Path:
    """The head's own temp dir (sessions, sockets, its ``ray_current_cluster``), short enough for unix socket paths
    and apart from /tmp/ray, so a head killed outright leaves no cluster file another Ray would join."""
    return Path("/tmp") / f"wh-ray-{hashlib.sha256(str(settings.home_dir.resolve()).encode()).hexdigest()[:10]}"


def ray_env(settings: Settings, port: int, dashboard_port: int | None = None) -> dict[str, str]:
    """What a process needs to join the head: its address and token (and its job server's URL when it has one)."""
    return {"WAREHOUSE_RAY_ADDRESS": f"127.0.0.1:{port}", "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": ray_token(settings),
            **({"WAREHOUSE_RAY_DASHBOARD_URL": f"http://127.0.0.1:{dashboard_port}"} if dashboard_port else {})}


def start_ray_head(settings: Settings, port: int, dashboard_port: int | None = None) -> subprocess.Popen:
    """The head's keeper, restarting the head whenever its raylet is gone. With ``dashboard_port`` the head also runs
    its dashboard — the job server the ``ray_job`` executor submits to — on loopback, behind the same token; its
    jobs' entry points find this interpreter first on PATH."""
    # the job server hands a job to a node's dashboard agent; the agent's HTTP port defaults to 52365, which any other
    # Ray on this machine (a notebook's, a test session's) already holds — then no agent starts and every submission
    # is turned away ("No available agent to submit job")
    dashboard = (["--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dashboard_port}",
                  f"--dashboard-agent-listen-port={free_port()}"] if dashboard_port else ["--include-dashboard=false"])
    cmd = [str(Path(sys.executable).with_name("ray")), "start", "--head", "--block", "--node-ip-address=127.0.0.1",
           f"--port={port}", f"--num-cpus={settings.ray_num_cpus or os.cpu_count() or 1}", *dashboard,
           "--disable-usage-stats", f"--temp-dir={ray_temp(settings)}"]
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    return start_kept(cmd, RAY_GRACE_S, settings.logs_dir / "ray.log",
                      {**os.environ, **ray_env(settings, port, dashboard_port), "PATH": path},
                      settings.home_dir, options=("--restart", "--watch", "raylet"))


def stop_ray_head(proc: subprocess.Popen) -> None:
    stop_kept(proc, RAY_GRACE_S)
