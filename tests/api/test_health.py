"""Health at three depths: liveness touches nothing, readiness the catalog, deep every dependency — and a broken
dependency is named, not hidden behind a 200 that says all is well."""

from __future__ import annotations

import pytest

from tests.api.seeding import in_process_api


@pytest.mark.ray
def test_a_running_server_is_alive_beating_and_deeply_healthy(live):
    with live.client() as client:
        assert client.get("/v1/health/liveness").json()["status"] == "alive"
        beat = client.get("/v1/health/beat").json()
        assert beat == {"status": "healthy", "dispatcher": "alive", "orchestrator": "inline"}
        deep = client.get("/v1/health/deep").json()
    assert deep["status"] == "OK" and all(deep["data"].values()) and deep["errors"] is None, deep
    assert deep["meta"]["inference_model"].startswith("text_extractor")


def test_a_broken_object_store_is_named_in_the_deep_check(tmp_path, monkeypatch):
    with in_process_api(tmp_path) as (http, _):
        svc = http.app.state.services

        def refuse(*_args, **_kwargs):
            raise PermissionError("read-only file system")

        monkeypatch.setattr(svc.objects, "put", refuse)
        deep = http.get("/v1/health/deep").json()
        assert deep["status"] == "DEGRADED" and deep["data"]["object_storage"] is False
        assert "read-only file system" in deep["errors"]["object_storage"]
        assert deep["data"]["metadata"] and deep["data"]["vector_store"]
        assert http.get("/v1/health").json()["status"] == "healthy"  # readiness needs the catalog only
        # No lifespan ran here, so the event loop never started: the beat says so.
        assert http.get("/v1/health/beat").json()["dispatcher"] == "stopped"
