"""Webhook delivery: events recorded in the catalog go out, signed, to the subscribed URLs.

Recording an event (``warehouse.catalog.events.record_event``) is all a batch, a route or an enrichment run
does — it never waits for a receiver. The :class:`Dispatcher` thread of the API process

1. fans each new event out to one :class:`WebhookDelivery` per active, subscribed webhook channel of
   the event's organisation (and alerts add deliveries to their own channels);
2. sends due deliveries from a small thread pool: ``POST`` of the JSON body with
   ``X-Warehouse-Signature: sha256=<hex HMAC-SHA256 of the body with the webhook's secret>``;
3. records every attempt (status code or error, milliseconds) and retries failures — connection
   errors, timeouts, 408, 429 and 5xx — with exponential backoff (``webhook_retry_base_seconds``
   doubling, up to ``webhook_max_attempts``); other 4xx answers fail at once.

Deliveries live in the catalog, so a restart resumes them (one caught mid-send is sent again: receivers
de-duplicate on ``X-Warehouse-Delivery``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from warehouse.catalog import Catalog, Event, Namespace, Webhook, WebhookDelivery
from warehouse.errors import WarehouseError, check_keys
from warehouse.ids import new_id
from warehouse.outbound import OutboundPolicy, OutboundRefused, Unresolvable, check_url

log = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-Warehouse-Signature"

#: the event types a webhook may subscribe to (Mixpeek's ``WebhookEventType`` plus batch outcomes).
EVENT_TYPES = (
    "object.created", "objects.created.batch", "object.updated", "object.deleted",
    "document.created", "document.updated", "document.deleted", "documents.updated.batch", "documents.deleted.batch",
    "collection.created", "collection.updated", "collection.deleted", "collection.documents.written",
    "collection.documents.batch_completed",
    "batch.completed", "batch.completed_with_errors", "batch.failed", "batch.canceled",
    "cluster.created", "cluster.updated", "cluster.deleted", "cluster.execution.started",
    "cluster.execution.completed", "cluster.execution.failed",
    "taxonomy.created", "taxonomy.updated", "taxonomy.deleted", "taxonomy.execution.completed",
    "taxonomy.execution.failed",
    "alert.created", "alert.updated", "alert.deleted", "alert.triggered", "alert.execution.completed",
    "alert.execution.failed",
)


def matches(pattern: str, event_type: str) -> bool:
    """``*`` matches everything; ``batch.*`` a family; anything else exactly."""
    if pattern == "*" or pattern == event_type:
        return True
    return pattern.endswith(".*") and event_type.startswith(pattern[:-1])


def check_event_types(types: list[str]) -> list[str]:
    """The subscription list, or ValueError naming the unknown types."""
    bad = [t for t in types if not (t == "*" or t in EVENT_TYPES or (t.endswith(".*") and any(
        e.startswith(t[:-1]) for e in EVENT_TYPES)))]
    if bad:
        raise ValueError(f"unknown event type(s) {bad}; known: {list(EVENT_TYPES)} (or a family like 'batch.*', or '*')")
    return list(dict.fromkeys(types))


def iso(value: datetime | None) -> str | None:
    """ISO-8601 in UTC (SQLite hands timestamps back without their zone; they are stored in UTC)."""
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()


def sign(secret: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def event_body(event: Event) -> str:
    subject_type = event.event_type.split(".")[0].rstrip("s")
    return json.dumps({
        "event_id": event.event_id, "event_type": event.event_type,
        "occurred_at": iso(event.created_at),
        "namespace_id": event.namespace_id, "subject": {"type": subject_type, "id": event.resource_id},
        "metadata": event.payload or {},
    }, default=str, separators=(",", ":"))


def channel_targets(channels: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``[{url, headers, timeout, signing_secret}]`` of the HTTP channels (webhook and Slack)."""
    out = []
    for ch in channels:
        cfg = ch.get("configs") or ch.get("config") or {}
        kind = ch.get("channel") or ch.get("channel_type")
        url = cfg.get("url") or cfg.get("webhook_url")
        if kind in ("webhook", "slack") and url:
            out.append({"url": url, "headers": cfg.get("headers") or {}, "timeout": float(cfg.get("timeout") or 10),
                        "signing_secret": cfg.get("signing_secret")})
    return out


def fan_out(catalog: Catalog, limit: int = 200) -> int:
    """Turn new events into deliveries (one per subscribed webhook channel); returns events handled."""
    with catalog.session() as s:
        # several API replicas run a dispatcher each: an event is fanned out by the one that locks it (Postgres
        # FOR UPDATE SKIP LOCKED; the others pass over it), never twice
        events = (s.query(Event).filter(Event.delivered_at.is_(None)).order_by(Event.created_at).limit(limit)
                  .with_for_update(skip_locked=True).all())
        if not events:
            return 0
        orgs = {ns.namespace_id: ns.organization_id for ns in
                s.query(Namespace).filter(Namespace.namespace_id.in_({e.namespace_id for e in events if e.namespace_id}))}
        hooks = s.query(Webhook).filter(Webhook.is_active == 1).all()
        now = datetime.now(UTC)
        for e in events:
            org = (e.payload or {}).get("organization_id") or orgs.get(e.namespace_id)
            body = None
            for h in hooks:
                if h.organization_id != org or not any(matches(p, e.event_type) for p in h.event_types or []):
                    continue
                if h.namespace_ids and e.namespace_id not in h.namespace_ids:
                    continue
                body = body or event_body(e)
                for target in channel_targets(h.channels or []):
                    s.add(WebhookDelivery(delivery_id=new_id("dlv"), webhook_id=h.webhook_id, organization_id=org,
                                          event_id=e.event_id, event_type=e.event_type, url=target["url"],
                                          headers=target["headers"], timeout_s=target["timeout"],
                                          secret=target["signing_secret"] or h.secret, body=body, next_attempt_at=now))
            e.delivered_at = now
        return len(events)


def deliver_to(catalog: Catalog, event: Event, targets: list[dict[str, Any]], alert_id: str | None = None,
               organization_id: str | None = None, secret: str | None = None, webhook_id: str | None = None) -> None:
    """Queue ``event`` for chosen URLs, bypassing the subscriptions (an alert's own channels, a webhook's test)."""
    body = event_body(event)
    with catalog.session() as s:
        for target in targets:
            s.add(WebhookDelivery(delivery_id=new_id("dlv"), webhook_id=webhook_id, alert_id=alert_id,
                                  organization_id=organization_id,
                                  event_id=event.event_id, event_type=event.event_type, url=target["url"],
                                  headers=target["headers"], timeout_s=target["timeout"],
                                  secret=target["signing_secret"] or secret, body=body,
                                  next_attempt_at=datetime.now(UTC)))


RETRYABLE = {408, 425, 429}


class Dispatcher:
    """The background sender (one per API process)."""

    def __init__(self, catalog: Catalog, max_attempts: int = 5, retry_base_seconds: float = 2.0,
                 poll_seconds: float = 0.5, workers: int = 4, policy: OutboundPolicy | None = None) -> None:
        self.catalog = catalog
        self.policy = policy or OutboundPolicy()
        self.max_attempts = max_attempts
        self.retry_base = retry_base_seconds
        self.poll = poll_seconds
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="webhook")
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._client = httpx.Client(follow_redirects=False)

    def start(self) -> None:
        with self.catalog.session() as s:  # sends a previous process did not finish
            s.query(WebhookDelivery).filter(WebhookDelivery.status == "SENDING").update({"status": "PENDING"})
        self._thread = threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                fan_out(self.catalog)
                for delivery_id in self._claim_due():
                    self._pool.submit(self._send, delivery_id)
            except Exception:  # noqa: BLE001 - the loop must survive a bad row or a locked database
                log.exception("webhook dispatcher tick failed")
            self._wake.wait(self.poll)
            self._wake.clear()

    def _claim_due(self, limit: int = 50) -> list[str]:
        now = datetime.now(UTC)
        with self.catalog.session() as s:
            due = (s.query(WebhookDelivery).filter(WebhookDelivery.status == "PENDING",
                                                   WebhookDelivery.next_attempt_at <= now)
                   .order_by(WebhookDelivery.next_attempt_at).limit(limit)
                   .with_for_update(skip_locked=True).all())  # a delivery is claimed by one replica's dispatcher
            for d in due:
                d.status = "SENDING"
            return [d.delivery_id for d in due]

    def _send(self, delivery_id: str) -> None:
        with self.catalog.session() as s:
            d = s.get(WebhookDelivery, delivery_id)
            url, body, headers, secret, timeout = d.url, d.body, dict(d.headers or {}), d.secret, d.timeout_s
            attempt = len(d.attempts or []) + 1
            event_type, event_id = d.event_type, d.event_id
        raw = body.encode()
        headers.update({"Content-Type": "application/json", "User-Agent": "warehouse-webhooks/1",
                        "X-Warehouse-Event": event_type, "X-Warehouse-Event-Id": event_id,
                        "X-Warehouse-Delivery": delivery_id, "X-Warehouse-Attempt": str(attempt),
                        "X-Warehouse-Timestamp": str(int(time.time()))})
        if secret:
            headers[SIGNATURE_HEADER] = sign(secret, raw)
        started = time.perf_counter()
        code, error, refused = None, None, False
        try:
            check_url(url, self.policy)  # checked at every send: a name can come to resolve inward later
            resp = self._client.post(url, content=raw, headers=headers, timeout=timeout)
            code = resp.status_code
            if code >= 300:  # the status only: a receiver's body is not echoed back to whoever aimed the hook
                error = f"HTTP {code}" + (" (redirects are not followed)" if 300 <= code < 400 else "")
        except OutboundRefused as exc:
            error, refused = f"refused: {exc}", True
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"
        ms = round((time.perf_counter() - started) * 1000, 1)
        ok = code is not None and 200 <= code < 300
        retry = (not ok and not refused and (code is None or code >= 500 or code in RETRYABLE)
                 and attempt < self.max_attempts)
        now = datetime.now(UTC)
        with self.catalog.session() as s:
            d = s.get(WebhookDelivery, delivery_id)
            d.attempts = [*(d.attempts or []), {"attempt": attempt, "at": now.isoformat(), "status_code": code,
                                               "error": error, "duration_ms": ms}]
            if ok:
                d.status, d.finished_at, d.next_attempt_at = "SUCCEEDED", now, None
            elif retry:
                d.status = "PENDING"
                d.next_attempt_at = now + timedelta(seconds=self.retry_base * 2 ** (attempt - 1))
            else:
                d.status, d.finished_at, d.next_attempt_at = "FAILED", now, None
        if not ok:
            log.warning("webhook delivery %s of %s to %s failed (attempt %d%s): %s", delivery_id, event_type, url,
                        attempt, ", will retry" if retry else ", giving up", error)


def delivery_view(d: WebhookDelivery) -> dict[str, Any]:
    return {"delivery_id": d.delivery_id, "webhook_id": d.webhook_id, "alert_id": d.alert_id, "event_id": d.event_id,
            "event_type": d.event_type, "url": d.url, "status": d.status, "attempts": d.attempts or [],
            "attempt_count": len(d.attempts or []),
            "next_attempt_at": iso(d.next_attempt_at) if d.status == "PENDING" else None,
            "created_at": iso(d.created_at), "finished_at": iso(d.finished_at)}


# -- the request shape -------------------------------------------------------------------------------

WEBHOOK_KEYS = {"webhook_name", "event_types", "events", "channels", "url", "headers", "signing_secret", "secret",
                "resource_types", "is_active", "namespace_ids", "metadata", "timeout"}


def parse_request(body: dict[str, Any], partial: bool = False, policy: OutboundPolicy | None = None) -> dict[str, Any]:
    """A webhook's fields from a create (or, ``partial``, update) request: event types checked, the tutorial's
    single ``url`` folded into ``channels``, each channel's URL and timeout checked; 422 naming the field."""
    body = check_keys(body, WEBHOOK_KEYS, "body")
    out: dict[str, Any] = {}
    if "webhook_name" in body or not partial:
        if not body.get("webhook_name"):
            raise WarehouseError(422, "webhook_name is required", {"location": "webhook_name"})
        out["webhook_name"] = body["webhook_name"]
    types = body.get("event_types", body.get("events"))
    if types is not None or not partial:
        if not isinstance(types, list) or not types or not all(isinstance(t, str) for t in types):
            raise WarehouseError(422, "event_types must be a non-empty list of event types (e.g. ['batch.completed'])",
                           {"location": "event_types", "known": list(EVENT_TYPES)})
        try:
            out["event_types"] = check_event_types(types)
        except ValueError as exc:
            raise WarehouseError(422, str(exc), {"location": "event_types"}) from None
    channels = body.get("channels")
    if body.get("url"):  # tutorial form: one URL
        channels = [*(channels or []), {"channel": "webhook", "configs": {
            "url": body["url"], "headers": body.get("headers") or {}, "timeout": body.get("timeout", 10)}}]
    if channels is not None or not partial:
        if not channels:
            raise WarehouseError(422, "a webhook needs channels: [{channel: 'webhook', configs: {url}}] (or a url)",
                           {"location": "channels"})
        clean = []
        for i, ch in enumerate(channels):
            ch = check_keys(ch, {"channel", "channel_type", "configs", "config"}, f"channels[{i}]")
            kind = ch.get("channel") or ch.get("channel_type")
            cfg = ch.get("configs") or ch.get("config") or {}
            if kind not in ("webhook", "slack"):
                raise WarehouseError(422, f"channels[{i}].channel {kind!r}: 'webhook' and 'slack' are delivered (email is not "
                               "built in)", {"location": f"channels[{i}].channel"})
            url = cfg.get("url") or cfg.get("webhook_url")
            if not isinstance(url, str) or not url.startswith(("http://", "https://")):
                raise WarehouseError(422, f"channels[{i}].configs.url must be an http(s) URL", {"location": f"channels[{i}].configs.url"})
            try:
                check_url(url, policy or OutboundPolicy())
            except Unresolvable:
                pass  # may resolve later; every send checks again
            except OutboundRefused as exc:
                raise WarehouseError(422, f"channels[{i}].configs.url: {exc}",
                                     {"location": f"channels[{i}].configs.url"}) from None
            timeout = cfg.get("timeout", 10)
            if not isinstance(timeout, int | float) or not 0 < timeout <= 60:
                raise WarehouseError(422, f"channels[{i}].configs.timeout must be 0–60 seconds", {"location": f"channels[{i}].configs.timeout"})
            clean.append({"channel": kind, "configs": cfg})
        out["channels"] = clean
    if body.get("resource_types") is not None:
        raise WarehouseError(422, "resource_types: subscribe to a kind of resource with an event_types pattern such "
                             "as 'batch.*' or 'collection.*'", {"location": "resource_types"})
    for key in ("is_active", "namespace_ids", "metadata"):
        if key in body:
            out[key] = body[key]
    secret = body.get("signing_secret") or body.get("secret")
    if secret is not None:
        if not isinstance(secret, str) or len(secret) < 16:
            raise WarehouseError(422, "signing_secret must be a string of at least 16 characters", {"location": "signing_secret"})
        out["secret"] = secret
    return out
