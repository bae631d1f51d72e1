"""Bodies are checked before any route sees them, and an unexpected error is an envelope with a request id —
without the exception's text, and without closing the client's connection."""

from __future__ import annotations

import socket
import threading
import time

import httpx
import pytest
import uvicorn

from warehouse.api.app import create_app
from warehouse.catalog.bootstrap import ensure_api_key, ensure_namespace
from warehouse.services import Services
from warehouse.settings import Settings


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """The API on a loopback port (a real HTTP connection), with a small body limit, plus a route that fails."""
    settings = Settings(home=tmp_path_factory.mktemp("guard"), warm_batch_workers=False, max_body_bytes=64 * 1024)
    svc = Services.from_settings(settings)
    key = ensure_api_key(svc.catalog, settings.organization_id)
    ensure_namespace(svc.catalog, settings.organization_id, "default")
    app = create_app(settings, svc, resume=False)

    def fail():
        raise RuntimeError("secret detail: /srv/warehouse/catalog.db is locked")

    app.add_api_route("/v1/test-only/fail", fail)  # this test's own route: an error no handler expects
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            if httpx.get(f"{base}/v1/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.05)
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}", "X-Namespace": "default"},
                          timeout=30)
    yield client
    client.close()
    server.should_exit = True
    thread.join(timeout=10)
    svc.close()


def _problem(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["status"] == status
    return body["error"]


def test_a_body_over_the_limit_is_413_and_stores_nothing(served):
    err = _problem(served.post("/v1/buckets", json={"bucket_name": "big", "description": "x" * 70_000}), 413)
    assert "WAREHOUSE_MAX_BODY_BYTES" in err["message"]
    streamed = served.post("/v1/buckets", content=(b'{"bucket_name": "s", "d": "' + b"y" * 70_000 + b'"}'
                                                   for _ in range(1)))  # no Content-Length: counted as it comes
    _problem(streamed, 413)
    assert served.get("/v1/buckets").json()["total_count"] == 0


@pytest.mark.parametrize("raw, status, where", [
    (b'{"bucket_name": "n", "metadata": {"score": NaN}}', 422, "body"),
    (b'{"bucket_name": "n", "metadata": {"score": -Infinity}}', 422, "body"),
    (b'{"bucket_name": "n", "metadata": {"score": 1e999}}', 422, "metadata.score"),
    (b'{"bucket_name": "\\ud800"}', 422, "bucket_name"),
    (b'{"bucket_name": "n", "metadata": {"\\udfff": 1}}', 422, "metadata"),
    (b'{"bucket_name": "n\xff\xfe"}', 400, "body"),
    (b'{"bucket_name": "n", "metadata": ' + b'{"a": ' * 80 + b"1" + b"}" * 80 + b"}", 422, "metadata"),
    (b"[" * 100_000 + b"]" * 100_000, 413, "body"),
])
def test_bodies_a_later_step_would_choke_on_are_refused_first(served, raw, status, where):
    err = _problem(served.post("/v1/buckets", content=raw), status)
    assert err["details"]["location"].startswith(where), err
    assert served.get("/v1/buckets").json()["total_count"] == 0


def test_deep_nesting_within_the_limit_still_reaches_the_route(served):
    deep: dict = {"value": 1}
    for _ in range(30):
        deep = {"and": deep}
    resp = served.post("/v1/buckets", json={"bucket_name": "deep-ok", "metadata": deep})
    assert resp.status_code == 200, resp.text
    served.delete("/v1/buckets/deep-ok")


def test_an_unexpected_error_is_an_envelope_and_the_connection_stays(served):
    resp = served.get("/v1/test-only/fail")
    assert resp.headers.get("connection", "").lower() != "close"  # uvicorn closes it after an escaped exception
    err = _problem(resp, 500)
    assert err["type"] == "InternalServerError" and err["details"]["request_id"].startswith("req_")
    assert "secret detail" not in err["message"] and "catalog.db" not in str(err)
    # the same pooled connection answers the next request
    assert served.get("/v1/health").status_code == 200


def test_invalid_json_is_still_the_routes_precise_422(served):
    err = _problem(served.post("/v1/buckets", content=b'{"bucket_name": '), 422)
    assert "not valid JSON" in err["message"]
