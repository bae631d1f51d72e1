"""Webhooks and alerts end to end: a receiver on loopback gets signed deliveries, retried after
failures, recorded with every attempt; a stuck receiver does not hold up a batch; alerts fire on new
documents with their matches and respect the cooldown."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.enrichment.conftest import ag_news, pick
from warehouse.catalog import Event

pytestmark = [pytest.mark.ray, pytest.mark.slow]


class Receiver:
    """Records POSTs; answers the first ``fail`` attempts of each delivery with 500; ``gate`` (when set) holds
    answers back. (Other tests' events of the same organisation may arrive too: counting per delivery keeps
    them from using up the failures.)"""

    def __init__(self, fail: int = 0) -> None:
        self.fail, self.seen, self.gate = fail, [], None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_POST(self):  # noqa: N802
                body = self.rfile.read(int(self.headers["Content-Length"]))
                owner.seen.append({"headers": dict(self.headers), "body": body, "path": self.path})
                if owner.gate is not None:
                    owner.gate.wait(30)
                delivery = self.headers.get("X-Warehouse-Delivery")
                tries = sum(x["headers"].get("X-Warehouse-Delivery") == delivery for x in owner.seen)
                code = 500 if tries <= owner.fail else 200
                self.send_response(code)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def bodies(self, event_type: str) -> list[dict]:
        return [json.loads(x["body"]) for x in self.seen if json.loads(x["body"])["event_type"] == event_type]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def wait_for(check, timeout: float = 60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = check()
        if got:
            return got
        time.sleep(0.2)
    raise AssertionError("condition not met in time")


@pytest.fixture
def fast_retries(live):
    dispatcher = live.services.dispatcher
    old = dispatcher.retry_base
    dispatcher.retry_base = 0.2
    yield
    dispatcher.retry_base = old


def test_signed_retried_deliveries(live, news, fast_retries):
    client, receiver = news.client, Receiver(fail=2)
    try:
        resp = client.post("/v1/organizations/webhooks", json={
            "webhook_name": "pipeline-events", "url": receiver.url, "events": ["batch.completed", "taxonomy.*"]})
        assert resp.status_code == 200, resp.text
        hook = resp.json()
        secret = hook["signing_secret"]
        assert hook["event_types"] == ["batch.completed", "taxonomy.*"]
        assert "signing_secret" not in client.get(f"/v1/organizations/webhooks/{hook['webhook_id']}").json()
        done = news.index(news.targets["collection_id"], pick(ag_news(), "Sports", 2, skip=60))
        got = wait_for(lambda: (found := [b for b in receiver.bodies("batch.completed")
                                          if b["metadata"]["batch_id"] == done["batch_id"]]) and len(found) >= 3 and found)
        event = got[0]
        with live.services.catalog.session() as db:  # one event per batch outcome, however many parts recorded it
            assert db.query(Event).filter(Event.resource_id == done["batch_id"],
                                          Event.event_type == "batch.completed").count() == 1
        assert event["subject"] == {"type": "batch", "id": done["batch_id"]} and event["metadata"]["status"] == "COMPLETED"
        attempts = [x for x in receiver.seen if json.loads(x["body"])["event_id"] == event["event_id"]]
        assert len(attempts) == 3  # 500, 500, then 200
        for a in attempts:
            expected = "sha256=" + hmac.new(secret.encode(), a["body"], hashlib.sha256).hexdigest()
            assert a["headers"]["X-Warehouse-Signature"] == expected
            assert a["headers"]["X-Warehouse-Event"] == "batch.completed"
        assert [a["headers"]["X-Warehouse-Attempt"] for a in attempts] == ["1", "2", "3"]
        assert len({a["headers"]["X-Warehouse-Delivery"] for a in attempts}) == 1
        deliveries = wait_for(lambda: [d for d in client.get(
            f"/v1/organizations/webhooks/{hook['webhook_id']}/deliveries").json()["results"]
            if d["event_id"] == event["event_id"] and d["status"] == "SUCCEEDED"])
        assert [a["status_code"] for a in deliveries[0]["attempts"]] == [500, 500, 200]
        # A collection.created event is not subscribed: nothing was sent for it.
        assert not receiver.bodies("collection.created")
        listed = client.post("/v1/organizations/webhooks/list", json={}).json()["results"]
        health = next(h for h in listed if h["webhook_id"] == hook["webhook_id"])["delivery_health"]
        assert health["succeeded"] >= 1
    finally:
        client.delete(f"/v1/organizations/webhooks/{hook['webhook_id']}")
        receiver.close()


def test_failing_receiver_gives_up_and_never_blocks_a_batch(live, news, fast_retries):
    client, receiver = news.client, Receiver(fail=100)
    receiver.gate = threading.Event()  # the receiver hangs until the batch is done
    try:
        hook = client.post("/v1/organizations/webhooks", json={
            "webhook_name": "stuck", "event_types": ["collection.documents.written"],
            "channels": [{"channel": "webhook", "configs": {"url": receiver.url, "timeout": 5}}]}).json()
        done = news.index(news.targets["collection_id"], pick(ag_news(), "World", 2, skip=70))
        assert done["status"] == "COMPLETED"  # finished while the receiver was still hanging
        receiver.gate.set()
        failed = wait_for(lambda: [d for d in client.get(
            f"/v1/organizations/webhooks/{hook['webhook_id']}/deliveries?status=failed").json()["results"]], 90)
        assert failed[0]["attempt_count"] == live.services.settings.webhook_max_attempts
        assert all(a["status_code"] == 500 for a in failed[0]["attempts"][1:])
    finally:
        client.delete(f"/v1/organizations/webhooks/{hook['webhook_id']}")
        receiver.close()


def test_alert_fires_on_new_documents_and_respects_cooldown(live, news):
    client, receiver = news.client, Receiver()
    try:
        resp = client.post("/v1/alerts", json={
            "alert_name": "sports-news", "collection_id": news.targets["collection_id"],
            "condition": {"field": "topic", "operator": "eq", "value": "Sports"},
            "notification": {"type": "webhook", "url": receiver.url}, "cooldown_seconds": 3600})
        assert resp.status_code == 200, resp.text
        alert = resp.json()
        rows = ag_news()
        first = news.index(news.targets["collection_id"], pick(rows, "Sports", 2, skip=80) + pick(rows, "World", 1, skip=80))
        fired = wait_for(lambda: receiver.bodies("alert.triggered"))
        payload = fired[0]["metadata"]
        assert payload["alert_id"] == alert["alert_id"] and payload["batch_id"] == first["batch_id"]
        assert payload["match_count"] == 2 and all(m["document"]["topic"] == "Sports" for m in payload["matches"])
        news.index(news.targets["collection_id"], pick(rows, "Sports", 1, skip=90))
        runs = wait_for(lambda: (r := client.get(f"/v1/alerts/{alert['alert_id']}/executions").json()["results"])
                        and len(r) >= 2 and r)
        assert [r["status"] for r in runs[:2]] == ["SUPPRESSED", "FIRED"]
        assert len(receiver.bodies("alert.triggered")) == 1
        # A World-only batch does not match.
        news.index(news.targets["collection_id"], pick(rows, "World", 1, skip=95))
        runs = wait_for(lambda: (r := client.get(f"/v1/alerts/{alert['alert_id']}/executions").json()["results"])
                        and len(r) >= 3 and r)
        assert runs[0]["status"] == "NOT_FIRED" and runs[0]["stats"]["match_count"] == 0
    finally:
        receiver.close()


@pytest.mark.parametrize("path, body, words", [
    ("/v1/organizations/webhooks", {"webhook_name": "w", "events": ["batch.exploded"], "url": "http://127.0.0.1:1/"},
     "batch.exploded"),
    ("/v1/organizations/webhooks", {"webhook_name": "w", "events": ["batch.completed"]}, "channels"),
    ("/v1/organizations/webhooks", {"webhook_name": "w", "events": ["batch.completed"], "url": "ftp://x"}, "http(s)"),
    ("/v1/organizations/webhooks", {"webhook_name": "w", "events": "batch.completed", "url": "http://x"}, "event_types"),
    ("/v1/organizations/webhooks", {"webhook_name": "w", "events": ["*"], "url": "http://x", "secret": "short"},
     "signing_secret"),
    ("/v1/alerts", {"alert_name": "a", "collection_id": "articles"}, "condition"),
    ("/v1/alerts", {"alert_name": "a", "collection_id": "nope", "condition": {"field": "x", "value": 1}}, "nope"),
    ("/v1/alerts", {"alert_name": "a", "collection_id": "articles", "condition": {"field": "x", "operator": "near"}},
     "operator"),
    ("/v1/alerts", {"alert_name": "a", "collection_id": "articles", "condition": {"field": "x", "value": 1},
                    "notification": {"type": "pigeon"}}, "notification"),
    ("/v1/alerts", {"alert_name": "a", "retriever_id": "ret_nope"}, "ret_nope"),
])
def test_bad_webhook_and_alert_requests(news, path, body, words):
    resp = news.client.post(path, json=body)
    assert resp.status_code == 422, resp.text
    assert words in resp.json()["error"]["message"], resp.json()
