"""Shared fixtures: one Ray instance and one live API server (uvicorn on loopback) per session."""

from __future__ import annotations

import logging
import shutil
import socket
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


def wait_batch(client: httpx.Client, batch_id: str, timeout: float = 300) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        batch = client.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
            return batch
        time.sleep(0.3)
    raise AssertionError(f"batch {batch_id} still {batch['status']} after {timeout}s")
