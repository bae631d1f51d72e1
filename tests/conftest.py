"""Shared fixtures: one Ray instance and one live API server (uvicorn on loopback) per session."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from _pytest.logging import catching_logs

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).parent / "fixtures"
SHARED_DATA = ROOT.parent / "shared" / "data"


# pytest attaches its log capture to every non-propagating logger before each test phase by iterating
# logging's loggerDict without logging's lock. The session's API server, its model-warming thread and Ray's
# threads create loggers (imports, requests) while tests run, so that loop can meet "dictionary changed size
# during iteration" and fail whichever test is starting (seen once in CI, reproduced 185 times in 300 with a
# thread calling getLogger). Holding logging's own lock, as getLogger does, closes the race.
_attach_log_capture = catching_logs.__enter__


def _attach_log_capture_locked(self):
    with logging._lock:
        return _attach_log_capture(self)


catching_logs.__enter__ = _attach_log_capture_locked


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def ray_session():
    from warehouse.batch.engine import ensure_ray

    ensure_ray(num_cpus=2)
    yield
    import ray

    ray.shutdown()


def _postgres_bin() -> Path:
    """The folder of PostgreSQL's server binaries: Debian's newest ``/usr/lib/postgresql/N/bin``, else ``initdb``'s."""
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parent.parent.name))
    initdb = found[-1] if found else (Path(shutil.which("initdb")) if shutil.which("initdb") else None)
    if initdb is None:
        raise RuntimeError("PostgreSQL server binaries not found (the Postgres tests start a real server): install "
                           "Debian's postgresql (apt-get install postgresql)")
    return initdb.parent


@pytest.fixture(scope="session")
def postgres_server():
    """A real PostgreSQL server on loopback for the session (Debian's postgresql; as the ``postgres`` user when the
    tests run as root, which the server refuses to be — so its folder is a fresh one under /tmp that user can
    reach): its base URL, ``postgresql+psycopg://warehouse@127.0.0.1:port``."""
    import subprocess
    import tempfile

    bin_dir = _postgres_bin()
    root = Path(tempfile.mkdtemp(prefix="wh-postgres-"))
    as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_user:
        shutil.chown(root, "postgres")
    data, port = root / "data", free_port()

    def run(*args) -> None:
        done = subprocess.run([*as_user, *args], capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"{args[0].name} failed ({done.returncode}): {done.stderr or done.stdout}")

    try:
        run(bin_dir / "initdb", "-D", str(data), "-U", "warehouse", "--auth=trust", "-E", "UTF8", "--no-sync")
        run(bin_dir / "pg_ctl", "-D", str(data), "-o", f"-h 127.0.0.1 -p {port} -k {root} -F",
            "-l", str(root / "server.log"), "-w", "start")
        yield f"postgresql+psycopg://warehouse@127.0.0.1:{port}"
    finally:
        subprocess.run([*as_user, bin_dir / "pg_ctl", "-D", str(data), "-m", "immediate", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def new_postgres_database(base_url: str) -> str:
    """A fresh, empty database on the session's server; its SQLAlchemy URL."""
    import psycopg

    name = "t_" + uuid.uuid4().hex[:12]
    with psycopg.connect(base_url.replace("postgresql+psycopg", "postgresql") + "/postgres", autocommit=True) as c:
        c.execute(f'CREATE DATABASE "{name}"')
    return f"{base_url}/{name}"


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def catalog_url(request, tmp_path):
    """The catalog database of a test, on each engine the catalog supports."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return new_postgres_database(request.getfixturevalue("postgres_server"))


@pytest.fixture(scope="session")
def s3_endpoint():
    """A real S3 endpoint: moto in server mode on loopback."""
    from moto.server import ThreadedMotoServer

    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port)
    server.start()
    yield f"http://127.0.0.1:{port}"
    server.stop()


@dataclass
class Live:
    base_url: str
    key: str
    services: object

    def client(self, namespace: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {self.key}"}
        if namespace:
            headers["X-Namespace"] = namespace
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=120)

    def new_namespace(self) -> tuple[str, httpx.Client]:
        name = "ns-" + uuid.uuid4().hex[:8]
        with self.client() as c:
            resp = c.post("/v1/namespaces", json={"namespace_name": name})
            assert resp.status_code == 200, resp.text
        return name, self.client(name)


def _serve(home: Path, **overrides):
    """An API server (uvicorn on loopback, in a thread) on ``home`` with the test plugins installed."""
    import uvicorn

    from warehouse.api.app import create_app
    from warehouse.catalog.bootstrap import ensure_api_key
    from warehouse.cli.up import wait_until_healthy
    from warehouse.services import Services
    from warehouse.settings import Settings

    plugins = home / "extractors"
    plugins.mkdir(exist_ok=True)
    shutil.copytree(ROOT / "examples" / "extractors" / "text_embed", plugins / "text_embed")
    shutil.copytree(FIXTURES / "plugins" / "flaky_embed", plugins / "flaky_embed")
    port = free_port()
    settings = Settings(home=home, api_port=port, **overrides)
    if settings.orchestrator == "dagster":
        from warehouse.cli.dagster import prepare_home

        prepare_home(settings)
    svc = Services.from_settings(settings)
    key = ensure_api_key(svc.catalog, settings.organization_id, "sk_test_" + uuid.uuid4().hex)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, svc), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base, timeout=60)
    return Live(base, key, svc), server, thread


@pytest.fixture(scope="session")
def live(tmp_path_factory, ray_session):
    # the webhook tests' receivers listen on loopback: this server allows that host on purpose
    served, server, thread = _serve(tmp_path_factory.mktemp("warehouse-home"), outbound_allowed_hosts="127.0.0.1")
    yield served
    server.should_exit = True
    thread.join(timeout=30)
    served.services.close()


@dataclass
class DagsterLive:
    """An API server with ``orchestrator=dagster``, its Dagster instance, and the resource runs use."""

    api: Live
    instance: object
    resource: object

    @property
    def settings(self):
        return self.api.services.settings


@pytest.fixture(scope="session")
def dagster_live(tmp_path_factory, ray_session):
    from dagster import DagsterInstance

    from warehouse.resources import OwnerWarehouse

    home = tmp_path_factory.mktemp("dagster-home")
    served, server, thread = _serve(home, orchestrator="dagster", warm_batch_workers=False)
    instance = DagsterInstance.from_config(str(served.services.settings.dagster_home))
    resource = OwnerWarehouse(home=str(home), index_owner_url=served.base_url)
    yield DagsterLive(served, instance, resource)
    server.should_exit = True
    thread.join(timeout=30)
    served.services.close()
    instance.dispose()


def start_serve(home: Path, port: int, env: dict[str, str]) -> subprocess.Popen:
    """``warehouse serve`` on loopback in a process of its own, ``env`` added to this one's; its output goes to
    ``home/serve.log`` (a pipe nobody reads would fill and stall it)."""
    home.mkdir(parents=True, exist_ok=True)
    with (home / "serve.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "warehouse.cli", "serve", "--home", str(home),
                                 "--api-port", str(port)], env={**os.environ, **env}, stdout=log,
                                stderr=subprocess.STDOUT)
    proc.log_path = home / "serve.log"
    return proc


def wait_alive(base: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    """Until ``warehouse serve`` at ``base`` answers its liveness check; fails with its log's tail if it exits."""
    from warehouse.cli.waiting import wait_for_http

    try:
        wait_for_http(f"{base}/v1/health/liveness", "warehouse serve", timeout, interval=0.5, proc=proc)
    except (RuntimeError, TimeoutError) as exc:
        pytest.fail(f"{exc}: {proc.log_path.read_text()[-2000:]}")


def stop_process(proc: subprocess.Popen, timeout: float = 20) -> None:
    """SIGTERM, then SIGKILL if it has not ended within ``timeout``."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def wait_batch(client: httpx.Client, batch_id: str, timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        batch = client.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} still {batch['status']} after {timeout}s")
