"""``/v1/organizations/webhooks`` (organisation-wide): signed event delivery, with deliveries and a test send."""

from __future__ import annotations

import secrets
from typing import Any

from fastapi import APIRouter, Depends, Query, Response

from warehouse.api.deps import caller, services
from warehouse.api.routes.common import fields
from warehouse.api.schemas import DefinitionListRequest, WebhookRequest
from warehouse.api.views import _ts, listing
from warehouse.catalog import Event, Webhook, WebhookDelivery
from warehouse.catalog.api_keys import Grant
from warehouse.catalog.paging import page_args
from warehouse.enrichment import webhooks
from warehouse.errors import WarehouseError, not_found
from warehouse.ids import new_id
from warehouse.outbound import OutboundPolicy
from warehouse.services import Services

router = APIRouter(tags=["webhooks"])


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


def _webhook(s, who: Grant, identifier: str) -> Webhook:
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
def create_webhook(body: WebhookRequest | None = None, who: Grant = Depends(caller), svc: Services = Depends(services)):
    spec = webhooks.parse_request(fields(body), policy=OutboundPolicy.from_settings(svc.settings))
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
@router.get("/v1/organizations/webhooks", summary="List webhooks (GET form, the same body)")
def list_webhooks(body: DefinitionListRequest | None = None, who: Grant = Depends(caller),
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
def get_webhook(webhook_id: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        h = _webhook(s, who, webhook_id)
        return {**webhook_view(h), "delivery_health": _health(s, h)}


@router.put("/v1/organizations/webhooks/{webhook_id}", summary="Update a webhook")
@router.patch("/v1/organizations/webhooks/{webhook_id}", summary="Update a webhook (PATCH form)")
def update_webhook(webhook_id: str, body: WebhookRequest | None = None, who: Grant = Depends(caller), svc: Services = Depends(services)):
    spec = webhooks.parse_request(fields(body), partial=True, policy=OutboundPolicy.from_settings(svc.settings))
    with svc.catalog.session() as s:
        h = _webhook(s, who, webhook_id)
        for key, value in spec.items():
            if key == "is_active":
                value = 1 if value else 0
            setattr(h, "metadata_" if key == "metadata" else key, value)
    return webhook_view(h)


@router.delete("/v1/organizations/webhooks/{webhook_id}", status_code=204, summary="Delete a webhook")
def delete_webhook(webhook_id: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        s.delete(_webhook(s, who, webhook_id))
    return Response(status_code=204)


@router.get("/v1/organizations/webhooks/{webhook_id}/deliveries", summary="Deliveries of a webhook, newest first")
def webhook_deliveries(webhook_id: str, status: str | None = Query(None), event_type: str | None = Query(None),
                       limit: int = Query(50, ge=1, le=500), who: Grant = Depends(caller), svc: Services = Depends(services)):
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
def test_webhook(webhook_id: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
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
