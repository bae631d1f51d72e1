"""Alerts: a standing question asked of the documents each batch writes.

An alert watches collections. When a batch writes documents into one of them, the alert runs over
just those documents — a payload ``condition`` (``{field, operator, value}`` or an AND/OR tree, the
retriever filter language) or a saved retriever with fixed ``inputs`` whose results are narrowed to
the new documents — and fires when the matches reach ``min_count`` (``trigger_on: "results"``) or
when nothing matched (``"no_results"``). A fired alert records an ``alert.triggered`` event (which
organisation webhooks subscribed to it receive) and sends the matches to its own notification
channels; within ``cooldown_seconds`` of the last firing it records the run as ``SUPPRESSED``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from warehouse.catalog import Alert, Collection, EnrichmentRun, Namespace, Retriever
from warehouse.catalog.events import record_event
from warehouse.catalog.lookups import get_collection, get_retriever
from warehouse.enrichment import applications, documents
from warehouse.enrichment.webhooks import channel_targets, deliver_to
from warehouse.errors import WarehouseError, check_keys
from warehouse.ids import new_id
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.pipeline import execute

KEYS = {"name", "alert_name", "description", "collection_id", "collection_ids", "notification_config", "notification",
        "source", "retriever_id", "trigger_on", "min_count", "threshold", "condition", "inputs", "cooldown_seconds",
        "renotify_interval_seconds", "enabled", "metadata", "max_matches", "system_condition", "namespace_selector"}


def parse_request(body: dict[str, Any], partial: bool = False) -> tuple[dict[str, Any], dict[str, Any]]:
    body = check_keys(body, KEYS, "body")
    name = body.get("alert_name") or body.get("name")
    if not name and not partial:
        raise WarehouseError(422, "alert_name (or name) is required", {"location": "alert_name"})
    if body.get("system_condition") or body.get("namespace_selector"):
        raise WarehouseError(422, "system alerts (system_condition, namespace_selector) are not supported; alert on a "
                       "collection's documents with a condition or a retriever", {"location": "system_condition"})
    channels = []
    nc = body.get("notification_config")
    if nc is not None:
        nc = check_keys(nc, {"channels", "include_matches", "include_scores", "template_id"}, "notification_config")
        for i, ch in enumerate(nc.get("channels") or []):
            ch = check_keys(ch, {"channel_type", "channel_id", "config"}, f"notification_config.channels[{i}]")
            kind = ch.get("channel_type")
            if kind not in ("webhook", "slack"):
                raise WarehouseError(422, f"notification_config.channels[{i}].channel_type {kind!r}: only 'webhook' and "
                               "'slack' (incoming webhook URL) are delivered", {"location": f"channels[{i}]"})
            cfg = ch.get("config") or {}
            if not (cfg.get("url") or cfg.get("webhook_url")):
                raise WarehouseError(422, f"notification_config.channels[{i}].config.url is required",
                               {"location": f"notification_config.channels[{i}].config"})
            channels.append({"channel": kind, "configs": cfg})
    if body.get("notification") is not None:  # tutorial form {type: webhook, url}
        n = check_keys(body["notification"], {"type", "url", "headers", "signing_secret"}, "notification")
        if n.get("type", "webhook") != "webhook" or not n.get("url"):
            raise WarehouseError(422, "notification must be {type: 'webhook', url}", {"location": "notification"})
        channels.append({"channel": "webhook", "configs": {k: v for k, v in n.items() if k != "type"}})
    if body.get("renotify_interval_seconds") is not None:
        raise WarehouseError(422, "renotify_interval_seconds: an alert here notifies once per evaluation that fires; "
                             "space notifications out with cooldown_seconds", {"location": "renotify_interval_seconds"})
    condition = body.get("condition") or body.get("threshold")
    source = body.get("source") or ("retriever" if body.get("retriever_id") else "condition")
    if source == "system":
        source = "condition"
    if source not in ("retriever", "condition"):
        raise WarehouseError(422, f"source {source!r} is not 'retriever' or 'condition'", {"location": "source"})
    if source == "retriever" and not body.get("retriever_id") and not partial:
        raise WarehouseError(422, "a retriever alert needs retriever_id", {"location": "retriever_id"})
    if source == "condition" and not condition and not partial:
        raise WarehouseError(422, "an alert needs a condition ({field, operator, value}) or a retriever_id",
                       {"location": "condition"})
    if condition:
        compile_filter(condition, "condition")  # 422 on a bad condition
    trigger_on = body.get("trigger_on", "results")
    if trigger_on not in ("results", "no_results"):
        raise WarehouseError(422, "trigger_on must be 'results' or 'no_results'", {"location": "trigger_on"})
    for key in ("min_count", "cooldown_seconds", "max_matches"):
        if key in body and (not isinstance(body[key], int | float) or body[key] < 0):
            raise WarehouseError(422, f"{key} must be a number ≥ 0", {"location": key})
    collections = list(body.get("collection_ids") or []) + ([body["collection_id"]] if body.get("collection_id") else [])
    config = {"collection_ids": collections, "source": source, "retriever_id": body.get("retriever_id"),
              "condition": condition, "inputs": body.get("inputs") or {}, "trigger_on": trigger_on,
              "min_count": int(body.get("min_count", 1)), "cooldown_seconds": float(body.get("cooldown_seconds", 0)),
              "channels": channels, "max_matches": int(body.get("max_matches", 20)),
              "include_matches": (nc or {}).get("include_matches", True) is not False,
              "include_scores": (nc or {}).get("include_scores", True) is not False}
    if partial:
        config = {k: v for k, v in config.items() if _given(k, body)}
    top = {"alert_name": name, "description": body.get("description"), "metadata": body.get("metadata"),
           "enabled": body.get("enabled")}
    return top, config


def _given(key: str, body: dict[str, Any]) -> bool:
    sources = {"collection_ids": ("collection_ids", "collection_id"), "condition": ("condition", "threshold"),
               "channels": ("notification_config", "notification"), "include_matches": ("notification_config",),
               "include_scores": ("notification_config",), "source": ("source", "retriever_id", "condition")}
    return any(k in body for k in sources.get(key, (key,)))


def resolve(s, namespace_id: str, config: dict[str, Any]) -> dict[str, Any]:
    """Collection and retriever identifiers → ids (422 naming what is missing)."""

    out = dict(config)
    if config.get("retriever_id"):
        try:
            r = get_retriever(s, namespace_id, config["retriever_id"])
        except WarehouseError:
            raise WarehouseError(422, f"retriever_id: retriever {config['retriever_id']!r} not found", {"location": "retriever_id"}) from None
        out["retriever_id"] = r.retriever_id
        if not config.get("collection_ids"):
            out["collection_ids"] = list(r.collection_ids)
    ids = []
    for c in config.get("collection_ids") or []:
        try:
            ids.append(get_collection(s, namespace_id, c).collection_id)
        except WarehouseError:
            raise WarehouseError(422, f"collection_ids: collection {c!r} not found", {"location": "collection_ids"}) from None
    if not ids:
        raise WarehouseError(422, "name the collections the alert watches (collection_id or collection_ids)",
                       {"location": "collection_ids"})
    out["collection_ids"] = ids
    return out


def _matches(svc, alert: Alert, namespace_id: str, collection_id: str, batch_id: str | None,
             application: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    cfg = alert.config
    scope: dict[str, Any] = {"collection_id": collection_id}
    if batch_id:
        scope["batch_id"] = batch_id
    condition = compile_filter(cfg.get("condition"), "condition")
    if application is not None:  # applied to a collection: its retriever asked with each new document's fields
        found = applications.alert_matches(svc, namespace_id, collection_id, batch_id, application)
    elif cfg["source"] == "retriever":
        with svc.catalog.session() as s:
            r = s.get(Retriever, cfg["retriever_id"])
            if r is None:
                raise WarehouseError(422, f"alert {alert.alert_name!r}: its retriever {cfg['retriever_id']} was deleted")
            colls = [c for cid in r.collection_ids if (c := s.get(Collection, cid)) is not None]
        res = execute(svc, namespace_id, colls, r.stages, r.input_schema, cfg.get("inputs") or {}, 1000)
        found = [d for d in res["documents"] if all(d.get(k) == v for k, v in scope.items())]
    else:
        hits = documents.scan(svc.index, namespace_id, {"must": [{"key": k, "match": {"value": v}}
                                                                 for k, v in scope.items()]})
        found = [document_view(h) for h in hits]
    if condition is not None:
        found = [d for d in found if condition.matches(d)]
    return found


def evaluate(svc, alert_id: str, collection_id: str, batch_id: str | None, trigger: str = "batch",
             application: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run one alert over the documents ``batch_id`` wrote into ``collection_id``; records the run. With an
    ``application`` (a collection's alert_applications entry) the retriever is asked once per new document."""
    now = datetime.now(UTC)
    with svc.catalog.session() as s:
        alert = s.get(Alert, alert_id)
        ns = s.get(Namespace, alert.namespace_id)
        org = ns.organization_id if ns else None
    cfg, run_id = alert.config, new_id("arun")
    stats = {"collection_id": collection_id, "batch_id": batch_id}

    def record(session, status: str, **fields: Any) -> None:
        session.add(EnrichmentRun(run_id=run_id, kind="alert", resource_id=alert_id, namespace_id=alert.namespace_id,
                                  status=status, trigger=trigger, started_at=now, finished_at=datetime.now(UTC),
                                  **fields))

    try:
        found = _matches(svc, alert, alert.namespace_id, collection_id, batch_id, application)
    except WarehouseError as exc:
        with svc.catalog.session() as s:
            record(s, "FAILED", error=exc.message, stats=stats)
            record_event(s, "alert.execution.failed", alert.namespace_id, alert_id,
                         {"alert_id": alert_id, "error": exc.message, "batch_id": batch_id}, f"alert.failed:{run_id}")
        return {"status": "FAILED", "error": exc.message}
    n = len(found)
    fire = n >= max(cfg["min_count"], 1) if cfg["trigger_on"] == "results" else n == 0
    last = alert.last_fired_at
    if last is not None and last.tzinfo is None:
        last = last.replace(tzinfo=UTC)
    cooling = fire and last is not None and (now - last).total_seconds() < cfg["cooldown_seconds"]
    status = "SUPPRESSED" if cooling else ("FIRED" if fire else "NOT_FIRED")
    matches = [{"document_id": d["document_id"], **({"score": d.get("score")} if cfg["include_scores"] and "score" in d else {}),
                **({"document": {k: v for k, v in d.items() if k != "vectors"}} if cfg["include_matches"] else {})}
               for d in found[: cfg["max_matches"]]]
    event = None
    with svc.catalog.session() as s:
        record(s, status, stats={**stats, "match_count": n}, result={"matches": matches})
        if status == "FIRED":
            s.get(Alert, alert_id).last_fired_at = now
            payload = {"alert_id": alert_id, "alert_name": alert.alert_name, "collection_id": collection_id,
                       "batch_id": batch_id, "match_count": n, "matches": matches, "run_id": run_id}
            event = record_event(s, "alert.triggered", alert.namespace_id, alert_id, payload, f"alert.triggered:{run_id}")
            s.expunge(event)
    if event is not None:
        targets = channel_targets(cfg.get("channels") or [])
        if targets:  # signed with the channel's signing_secret when it has one
            deliver_to(svc.catalog, event, targets, alert_id=alert_id, organization_id=org)
        svc.wake_dispatcher()
    return {"status": status, "match_count": n, "run_id": run_id}


def watching(catalog, namespace_id: str, collection_id: str) -> list[str]:
    """The enabled alerts of the namespace that watch ``collection_id``."""
    with catalog.session() as s:
        return [a.alert_id for a in s.query(Alert).filter(Alert.namespace_id == namespace_id, Alert.enabled == 1)
                if collection_id in (a.config or {}).get("collection_ids", [])]


def after_batch(svc, namespace_id: str, collection_id: str, batch_id: str) -> list[dict[str, Any]]:
    """Every enabled alert of the namespace that watches ``collection_id``, over that batch's documents."""
    return [evaluate(svc, a, collection_id, batch_id) for a in watching(svc.catalog, namespace_id, collection_id)]
