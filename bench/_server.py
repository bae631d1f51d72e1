"""The API server the benches talk to: uvicorn on loopback in a thread of the bench's own process."""

from __future__ import annotations

import threading
from pathlib import Path


def serve(home: Path, key: str | None = None, **overrides):
    """Start the API server on ``home``; returns ``(base_url, api_key, services)`` once it is healthy."""
    import uvicorn

    from tests.conftest import free_port
    from warehouse.api.app import create_app
    from warehouse.catalog.bootstrap import ensure_api_key
    from warehouse.cli.up import wait_until_healthy
    from warehouse.services import Services
    from warehouse.settings import Settings

    port = free_port()
    settings = Settings(home=home, api_port=port, **overrides)
    svc = Services.from_settings(settings)
    key = ensure_api_key(svc.catalog, settings.organization_id, key)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, svc), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    wait_until_healthy(base, timeout=300)
    return base, key, svc


def upload_and_process(client, bucket_id: str, objects: list[dict], chunk: int = 1000) -> dict:
    """Create ``objects`` in the bucket (``/objects/batch``, ``chunk`` at a time), process them all in one batch
    and wait for it; returns the finished batch."""
    import time

    ids = []
    for i in range(0, len(objects), chunk):
        resp = client.post(f"/v1/buckets/{bucket_id}/objects/batch", json={"objects": objects[i:i + chunk]})
        resp.raise_for_status()
        ids += [o["object_id"] for o in resp.json()["objects"]]
    batch = client.post(f"/v1/buckets/{bucket_id}/batches", json={"object_ids": ids}).json()
    client.post(f"/v1/buckets/{bucket_id}/batches/{batch['batch_id']}/submit", json={}).raise_for_status()
    while (b := client.get(f"/v1/batches/{batch['batch_id']}").json())["status"] not in (
            "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
        time.sleep(2)
    return b
