"""The outbound guard: caller-aimed requests reach public addresses only, unless an operator names the host."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from warehouse.api.app import create_app
from warehouse.catalog import Event, WebhookDelivery
from warehouse.catalog.bootstrap import ensure_api_key
from warehouse.enrichment.webhooks import Dispatcher, deliver_to
from warehouse.extractors.helpers import download_asset
from warehouse.ids import new_id
from warehouse.outbound import OutboundPolicy, OutboundRefused, Unresolvable, check_url
from warehouse.services import Services
from warehouse.settings import Settings

INWARD = ["http://127.0.0.1:8000/internal/index/count", "http://localhost/", "http://[::1]/",
          "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://192.168.0.1/",
          "http://172.16.0.1/", "http://0.0.0.0/", "http://[::ffff:127.0.0.1]/", "http://100.64.0.1/"]


@pytest.mark.parametrize("url", INWARD)
def test_inward_addresses_are_refused(url):
    with pytest.raises(OutboundRefused, match="WAREHOUSE_OUTBOUND_ALLOWED_HOSTS"):
        check_url(url, OutboundPolicy())


def test_a_public_address_passes_and_other_schemes_do_not():
    assert check_url("https://93.184.215.14/hook", OutboundPolicy()) == "https://93.184.215.14/hook"
    for url in ("file:///etc/passwd", "gopher://example.com/", "ftp://93.184.215.14/"):
        with pytest.raises(OutboundRefused, match="only http"):
            check_url(url, OutboundPolicy())
    with pytest.raises(Unresolvable):
        check_url("http://no-such-host.invalid/", OutboundPolicy())


def test_an_operator_opens_the_wall_for_named_hosts_or_all_private_ones():
    named = OutboundPolicy.from_settings(Settings(outbound_allowed_hosts="127.0.0.1, hooks.lan"))
    assert check_url("http://127.0.0.1:9000/hook", named)
    with pytest.raises(OutboundRefused):
        check_url("http://10.0.0.5/", named)
    assert check_url("http://10.0.0.5/", OutboundPolicy.from_settings(Settings(outbound_allow_private=True)))


def test_blob_urls_pointing_inward_are_not_fetched(monkeypatch):
    monkeypatch.delenv("WAREHOUSE_OUTBOUND_ALLOW_PRIVATE", raising=False)
    monkeypatch.delenv("WAREHOUSE_OUTBOUND_ALLOWED_HOSTS", raising=False)
    with pytest.raises(OutboundRefused, match="169.254.169.254"):
        download_asset("http://169.254.169.254/latest/meta-data/iam")


@pytest.fixture
def svc(tmp_path):
    services = Services.from_settings(Settings(home=tmp_path, warm_batch_workers=False))
    yield services
    services.close()


def test_webhooks_aimed_inward_are_refused_at_creation(svc):
    key = ensure_api_key(svc.catalog, svc.settings.organization_id)
    http = TestClient(create_app(svc.settings, svc, resume=False))
    http.headers["Authorization"] = f"Bearer {key}"
    for url in ("http://127.0.0.1:8000/internal/index/count", "http://169.254.169.254/", "http://localhost:3000/"):
        resp = http.post("/v1/organizations/webhooks", json={"webhook_name": "w", "events": ["*"], "url": url})
        assert resp.status_code == 422, resp.text
        assert resp.json()["error"]["details"]["location"] == "channels[0].configs.url"
    assert http.post("/v1/organizations/webhooks/list", json={}).json()["total"] == 0


def test_a_delivery_aimed_inward_fails_at_once_without_retries(svc):
    with svc.catalog.session() as s:
        event = Event(event_id=new_id("evt"), event_type="webhook.test", namespace_id=None, resource_id=None,
                      payload={}, dedupe_key=new_id("test"))
        s.add(event)
    deliver_to(svc.catalog, event, [{"url": "http://127.0.0.1:9/hook", "headers": {}, "timeout": 2,
                                     "signing_secret": None}])
    with svc.catalog.session() as s:
        delivery_id = s.query(WebhookDelivery.delivery_id).filter(WebhookDelivery.event_id == event.event_id).scalar()
    dispatcher = Dispatcher(svc.catalog, max_attempts=5, policy=OutboundPolicy())
    try:
        dispatcher._send(delivery_id)
    finally:
        dispatcher.stop()
    with svc.catalog.session() as s:
        d = s.get(WebhookDelivery, delivery_id)
        assert d.status == "FAILED" and len(d.attempts) == 1
        assert d.attempts[0]["error"].startswith("refused:") and d.attempts[0]["status_code"] is None
