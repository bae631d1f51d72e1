"""``/v1/alerts`` (namespace) and ``/v1/organizations/webhooks`` (organisation) with their deliveries."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from warehouse.api.deps import Caller, caller, namespace, services
from warehouse.api.routes.common import fields, list_page
from warehouse.api.schemas import (
    AlertRequest,
    DefinitionListRequest,
    ExecuteAlertRequest,
    WebhookRequest,
)
from warehouse.api.views import _ts, enrichment_run_view, listing
from warehouse.catalog import Alert, EnrichmentRun, Event, Namespace, Webhook, WebhookDelivery
from warehouse.catalog.lookups import get_alert, get_collection
from warehouse.catalog.paging import page_args
from warehouse.enrichment import alerts, webhooks
from warehouse.errors import WarehouseError, check_keys, not_found
from warehouse.ids import new_id
from warehouse.services import Services

router = APIRouter(tags=["alerts", "webhooks"])


# -- alerts -----------------------------------------------------------------------------------------

def alert_view(a: Alert) -> dict[str, Any]:
    cfg = a.config
    return {"alert_id": a.alert_id, "alert_name": a.alert_name, "name": a.alert_name, "namespace_id": a.namespace_id,
            "description": a.description, "collection_ids": cfg["collection_ids"], "source": cfg["source"],
            "retriever_id": cfg.get("retriever_id"), "condition": cfg.get("condition"), "inputs": cfg.get("inputs"),
            "trigger_on": cfg["trigger_on"], "min_count": cfg["min_count"], "cooldown_seconds": cfg["cooldown_seconds"],
            "notification_config": {"channels": [{"channel_type": c["channel"], "config": {
                k: v for k, v in c["configs"].items() if k != "signing_secret"}} for c in cfg["channels"]],
                "include_matches": cfg["include_matches"], "include_scores": cfg["include_scores"]},
            "enabled": bool(a.enabled), "last_fired_at": _ts(a.last_fired_at), "metadata": a.metadata_ or {},
            "created_at": _ts(a.created_at), "updated_at": _ts(a.updated_at)}


def _alert_event(svc: Services, event_type: str, a: Alert) -> None:
    svc.record_event(event_type, a.namespace_id, a.alert_id, {"alert_id": a.alert_id, "alert_name": a.alert_name},
                     f"{event_type}:{a.alert_id}:{_ts(a.updated_at)}")


@router.post("/v1/alerts", summary="Create an alert")
def create_alert(body: AlertRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    top, config = alerts.parse_request(fields(body))
    with svc.catalog.session() as s:
        if s.query(Alert).filter(Alert.namespace_id == ns.namespace_id, Alert.alert_name == top["alert_name"]).count():
            raise WarehouseError(409, f"alert {top['alert_name']!r} already exists in this namespace")
        a = Alert(alert_id=new_id("alt"), namespace_id=ns.namespace_id, alert_name=top["alert_name"],
                  description=top.get("description"), config=alerts.resolve(s, ns.namespace_id, config),
                  enabled=0 if top.get("enabled") is False else 1, metadata_=top.get("metadata") or {})
        s.add(a)
    _alert_event(svc, "alert.created", a)
    return alert_view(a)


@router.get("/v1/alerts", summary="List alerts")
def list_alerts_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0),
                    ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list_alerts(svc, ns, limit, offset)


@router.post("/v1/alerts/list", summary="List alerts")
def list_alerts(body: DefinitionListRequest | None = None, ns: Namespace = Depends(namespace),
                svc: Services = Depends(services)):
    body = body or DefinitionListRequest()
    return _list_alerts(svc, ns, *page_args(body.limit, body.offset, body.page, body.page_size), body.search)


def _list_alerts(svc, ns, limit, offset, search=None):
    return list_page(svc.catalog, ns.namespace_id, Alert, Alert.alert_name, lambda s, a: alert_view(a), limit, offset,
                     search)


@router.get("/v1/alerts/{alert_id}", summary="Get an alert")
def get_alert_route(alert_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        return alert_view(get_alert(s, ns.namespace_id, alert_id))


@router.patch("/v1/alerts/{alert_id}", summary="Update an alert")
def patch_alert(alert_id: str, body: AlertRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    top, changes = alerts.parse_request(fields(body), partial=True)
    with svc.catalog.session() as s:
        a = get_alert(s, ns.namespace_id, alert_id)
        config = {**a.config, **changes}
        if config["source"] == "condition" and not config.get("condition"):
            raise WarehouseError(422, "a condition alert needs a condition", {"location": "condition"})
        a.config = alerts.resolve(s, ns.namespace_id, config)
        if top.get("alert_name"):
            a.alert_name = top["alert_name"]
        for key, attr in (("description", "description"), ("metadata", "metadata_")):
            if top.get(key) is not None:
                setattr(a, attr, top[key])
        if top.get("enabled") is not None:
            a.enabled = 1 if top["enabled"] else 0
    _alert_event(svc, "alert.updated", a)
    return alert_view(a)


@router.delete("/v1/alerts/{alert_id}", summary="Delete an alert")
def delete_alert(alert_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        a = get_alert(s, ns.namespace_id, alert_id)
        s.delete(a)
    _alert_event(svc, "alert.deleted", a)
    return {"success": True, "alert_id": a.alert_id, "message": "alert deleted"}


@router.get("/v1/alerts/{alert_id}/executions", summary="Evaluations of an alert (fired, suppressed, not fired)")
@router.get("/v1/alerts/{alert_id}/results", include_in_schema=False)
def alert_executions(alert_id: str, limit: int = Query(50, ge=1, le=500), ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        a = get_alert(s, ns.namespace_id, alert_id)
        rows = (s.query(EnrichmentRun).filter(EnrichmentRun.resource_id == a.alert_id)
                .order_by(EnrichmentRun.started_at.desc()).limit(limit).all())
    return {"results": [enrichment_run_view(r, with_result=True) for r in rows], "total": len(rows)}


@router.post("/v1/alerts/{alert_id}/execute", summary="Evaluate an alert now over a collection's (or a batch's) documents")
def execute_alert(alert_id: str, body: ExecuteAlertRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    body = fields(body)
    with svc.catalog.session() as s:
        a = get_alert(s, ns.namespace_id, alert_id)
        cid = body.get("collection_id") or a.config["collection_ids"][0]
        cid = get_collection(s, ns.namespace_id, cid).collection_id
    return alerts.evaluate(svc, a.alert_id, cid, body.get("batch_id"), trigger="api")


# -- webhooks ---------------------------------------------------------------------------------------

WEBHOOK_KEYS = {"webhook_name", "event_types", "events", "channels", "url", "headers", "signing_secret", "secret",
                "resource_types", "is_active", "namespace_ids", "metadata", "timeout"}


def _webhook_request(body: dict[str, Any], partial: bool = False) -> dict[str, Any]:
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
                           {"location": "event_types", "known": list(webhooks.EVENT_TYPES)})
        try:
            out["event_types"] = webhooks.check_event_types(types)
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
            timeout = cfg.get("timeout", 10)
            if not isinstance(timeout, int | float) or not 0 < timeout <= 60:
                raise WarehouseError(422, f"channels[{i}].configs.timeout must be 0–60 seconds", {"location": f"channels[{i}].configs.timeout"})
            clean.append({"channel": kind, "configs": cfg})
        out["channels"] = clean
    for key in ("is_active", "namespace_ids", "metadata", "resource_types"):
        if key in body:
            out[key] = body[key]
    secret = body.get("signing_secret") or body.get("secret")
    if secret is not None:
        if not isinstance(secret, str) or len(secret) < 16:
            raise WarehouseError(422, "signing_secret must be a string of at least 16 characters", {"location": "signing_secret"})
        out["secret"] = secret
    return out


def webhook_view(h: Webhook, reveal: bool = False) -> dict[str, Any]:
    out = {"webhook_id": h.webhook_id, "webhook_name": h.webhook_name, "organization_id": h.organization_id,
           "event_types": h.event_types, "channels": [{"channel": c["channel"], "configs": {
               k: v for k, v in c["configs"].items() if k != "signing_secret"}} for c in h.channels],
           "namespace_ids": h.namespace_ids or [], "is_active": bool(h.is_active),
           "signature_header": webhooks.SIGNATURE_HEADER, "signing_secret_preview": h.secret[:6] + "…",
           "metadata": h.metadata_ or {}, "created_at": _ts(h.created_at), "updated_at": _ts(h.updated_at)}
    if reveal:
        out["signing_secret"] = h.secret
    return out


def _webhook(s, who: Caller, identifier: str) -> Webhook:
    h = s.get(Webhook, identifier)
    if h is None or h.organization_id != who.organization_id:
        h = (s.query(Webhook).filter(Webhook.organization_id == who.organization_id,
                                     Webhook.webhook_name == identifier).one_or_none())
    if h is None:
        raise not_found("webhook", identifier)
    return h


def _health(s, h: Webhook) -> dict[str, Any]:
    rows = (s.query(WebhookDelivery).filter(WebhookDelivery.webhook_id == h.webhook_id)
            .order_by(WebhookDelivery.created_at.desc()).limit(100).all())
    done = [d for d in rows if d.status in ("SUCCEEDED", "FAILED")]
    return {"recent_deliveries": len(rows), "succeeded": sum(d.status == "SUCCEEDED" for d in rows),
            "failed": sum(d.status == "FAILED" for d in rows), "pending": sum(d.status in ("PENDING", "SENDING") for d in rows),
            "success_rate": round(sum(d.status == "SUCCEEDED" for d in done) / len(done), 4) if done else None}


@router.post("/v1/organizations/webhooks", summary="Create a webhook (organisation-wide)")
@router.post("/v1/organizations/webhooks/", include_in_schema=False)
@router.post("/v1/webhooks", include_in_schema=False)
def create_webhook(body: WebhookRequest | None = None, who: Caller = Depends(caller), svc: Services = Depends(services)):
    spec = _webhook_request(fields(body))
    with svc.catalog.session() as s:
        if s.query(Webhook).filter(Webhook.organization_id == who.organization_id,
                                   Webhook.webhook_name == spec["webhook_name"]).count():
            raise WarehouseError(409, f"webhook {spec['webhook_name']!r} already exists")
        h = Webhook(webhook_id=new_id("whk"), organization_id=who.organization_id, webhook_name=spec["webhook_name"],
                    event_types=spec["event_types"], channels=spec["channels"],
                    namespace_ids=spec.get("namespace_ids") or [], secret=spec.get("secret") or "whsec_" + secrets.token_urlsafe(24),
                    is_active=0 if spec.get("is_active") is False else 1, metadata_=spec.get("metadata") or {})
        s.add(h)
    return webhook_view(h, reveal=True)


@router.post("/v1/organizations/webhooks/list", summary="List webhooks")
@router.get("/v1/organizations/webhooks", include_in_schema=False)
def list_webhooks(body: DefinitionListRequest | None = None, who: Caller = Depends(caller),
                  svc: Services = Depends(services)):
    body = body or DefinitionListRequest()
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    with svc.catalog.session() as s:
        q = s.query(Webhook).filter(Webhook.organization_id == who.organization_id)
        total = q.count()
        rows = [{**webhook_view(h), "delivery_health": _health(s, h)}
                for h in q.order_by(Webhook.created_at).offset(offset).limit(limit)]
    return listing(rows, total, limit, offset)


@router.get("/v1/organizations/webhooks/{webhook_id}", summary="Get a webhook")
def get_webhook(webhook_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        h = _webhook(s, who, webhook_id)
        return {**webhook_view(h), "delivery_health": _health(s, h)}


@router.put("/v1/organizations/webhooks/{webhook_id}", summary="Update a webhook")
@router.patch("/v1/organizations/webhooks/{webhook_id}", include_in_schema=False)
def update_webhook(webhook_id: str, body: WebhookRequest | None = None, who: Caller = Depends(caller), svc: Services = Depends(services)):
    spec = _webhook_request(fields(body), partial=True)
    with svc.catalog.session() as s:
        h = _webhook(s, who, webhook_id)
        for key, value in spec.items():
            if key == "is_active":
                value = 1 if value else 0
            setattr(h, "metadata_" if key == "metadata" else key, value)
    return webhook_view(h)


@router.delete("/v1/organizations/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook")
def delete_webhook(webhook_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        s.delete(_webhook(s, who, webhook_id))
    return Response(status_code=204)


@router.get("/v1/organizations/webhooks/{webhook_id}/deliveries", summary="Deliveries of a webhook, newest first")
def webhook_deliveries(webhook_id: str, status: str | None = Query(None), event_type: str | None = Query(None),
                       limit: int = Query(50, ge=1, le=500), who: Caller = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        h = _webhook(s, who, webhook_id)
        q = s.query(WebhookDelivery).filter(WebhookDelivery.webhook_id == h.webhook_id)
        if status:
            q = q.filter(WebhookDelivery.status == status.upper())
        if event_type:
            q = q.filter(WebhookDelivery.event_type == event_type)
        rows = q.order_by(WebhookDelivery.created_at.desc()).limit(limit).all()
    return {"webhook_id": h.webhook_id, "results": [webhooks.delivery_view(d) for d in rows], "total": len(rows)}


@router.post("/v1/organizations/webhooks/{webhook_id}/test", summary="Send a test event to a webhook")
def test_webhook(webhook_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        h = _webhook(s, who, webhook_id)
        event = Event(event_id=new_id("evt"), event_type="webhook.test", namespace_id=None, resource_id=h.webhook_id,
                      payload={"webhook_id": h.webhook_id, "message": "test delivery"}, dedupe_key=new_id("test"))
        s.add(event)
        s.flush()
        event.delivered_at = event.created_at  # not fanned out: only this webhook gets it
        s.expunge(event)
    webhooks.deliver_to(svc.catalog, event, webhooks.channel_targets(h.channels), organization_id=who.organization_id,
                        secret=h.secret, webhook_id=h.webhook_id)
    svc.wake_dispatcher()
    return {"event_id": event.event_id, "message": "test event queued; see the deliveries endpoint"}
