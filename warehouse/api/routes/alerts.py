"""``/v1/alerts``: conditions on new documents, evaluated after every batch, with their evaluations."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import fields, list_page
from warehouse.api.schemas import (
    AlertRequest,
    DefinitionListRequest,
    ExecuteAlertRequest,
)
from warehouse.api.views import _ts, enrichment_run_view
from warehouse.catalog import Alert, EnrichmentRun, Namespace
from warehouse.catalog.lookups import get_alert, get_collection
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.enrichment import alerts
from warehouse.errors import WarehouseError
from warehouse.ids import new_id
from warehouse.services import Services

router = APIRouter(tags=["alerts"])


def alert_view(a: Alert) -> dict[str, Any]:
    cfg = a.config
    return {"alert_id": a.alert_id, "alert_name": a.alert_name, "name": a.alert_name, "namespace_id": a.namespace_id,
            "description": a.description, "collection_ids": cfg["collection_ids"], "source": cfg["source"],
            "retriever_id": cfg.get("retriever_id"), "condition": cfg.get("condition"), "inputs": cfg.get("inputs"),
            "trigger_on": cfg["trigger_on"], "min_count": cfg["min_count"], "cooldown_seconds": cfg["cooldown_seconds"],
            "max_matches": cfg.get("max_matches", 20),
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
def list_alerts_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0, le=MAX_OFFSET),
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
