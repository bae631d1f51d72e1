"""A collection's post-processing applications: alerts and retriever enrichments that run on each document a batch
writes into it (the hosted ``alert_applications`` and ``retriever_enrichments``).

Each application builds its retriever's inputs from the document (``input_mappings``: a document field by path, or
a constant). An **alert application** runs the alert's retriever once per new document and fires the alert (the
alert's own ``trigger_on``, ``min_count``, cooldown and channels) on the matches of the whole batch, each match
naming the document that found it. A **retriever enrichment** runs its retriever once per new document (those
matching its ``scroll_filters``) and writes fields of the results back onto the document (``write_back_fields``:
the first result's value, all of them as a list, or joined with ", "). Applications run after the collection's
taxonomies and clusters when the API runs them (under Dagster those run from their sensor), in
``execution_phase`` order (alerts 3, enrichments 4 by default), higher ``priority`` first within a phase.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from warehouse.catalog import Alert, Collection, EnrichmentRun, Retriever
from warehouse.catalog.lookups import get_retriever
from warehouse.enrichment import documents
from warehouse.errors import WarehouseError
from warehouse.ids import new_id, uuid_from_document_id
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import compile_filter, get_path
from warehouse.retrieval.pipeline import execute
from warehouse.retrieval.retrievers import saved_retriever

log = logging.getLogger(__name__)
ALERT_PHASE, ENRICHMENT_PHASE = 3, 4
WRITE_MODES = ("first", "all_as_array", "concat")
#: fields an enrichment may not write: the document's identity, lineage and system fields
_SYSTEM_FIELDS = {"document_id", "collection_id", "source_object_id", "root_object_id", "bucket_id", "blob_id",
                  "batch_id", "feature_refs", "created_at", "_internal", "source_document_id", "source_collection_id"}


def _fail(where: str, message: str) -> WarehouseError:
    return WarehouseError(422, f"{where}: {message}", {"location": where})


def _check_keys(item: Any, where: str, allowed: set[str], required: set[str]) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise _fail(where, f"must be an object with {sorted(required)}")
    unknown = sorted(set(item) - allowed)
    if unknown:
        raise _fail(f"{where}.{unknown[0]}", f"unknown key; the keys are {sorted(allowed)}")
    missing = sorted(required - {k for k, v in item.items() if v is not None})
    if missing:
        raise _fail(f"{where}.{missing[0]}", "required")
    return item


def _check_mappings(raw: Any, where: str, retriever: Retriever) -> list[dict[str, Any]]:
    """``[{input_key, source: {source_type: document_field|constant, path|value}}]`` against the retriever's inputs."""
    if not isinstance(raw, list) or not raw:
        raise _fail(where, "needs at least one {input_key, source} mapping")
    inputs = set((retriever.input_schema or {}).get("properties") or retriever.input_schema or {})
    out = []
    for i, item in enumerate(raw):
        at = f"{where}[{i}]"
        _check_keys(item, at, {"input_key", "source"}, {"input_key", "source"})
        if inputs and item["input_key"] not in inputs:
            raise _fail(f"{at}.input_key", f"{item['input_key']!r} is not an input of retriever "
                        f"{retriever.retriever_name!r} (its inputs: {sorted(inputs)})")
        source = _check_keys(item["source"], f"{at}.source", {"source_type", "path", "value"}, {"source_type"})
        kind = source["source_type"]
        if kind == "document_field":
            if not isinstance(source.get("path"), str) or not source["path"]:
                raise _fail(f"{at}.source.path", "a document_field source needs the field's path (dot notation)")
        elif kind == "constant":
            if "value" not in source:
                raise _fail(f"{at}.source.value", "a constant source needs its value")
        else:
            raise _fail(f"{at}.source.source_type", f"{kind!r} is not one of ['constant', 'document_field']")
        out.append({"input_key": item["input_key"], "source": dict(source)})
    return out


def _phase(item: dict[str, Any], where: str, default: int) -> tuple[int, int]:
    phase = item.get("execution_phase", default)
    phase = default if phase is None else phase
    if phase not in (1, 2, 3, 4):
        raise _fail(f"{where}.execution_phase", f"must be 1, 2, 3 or 4, got {phase!r}")
    priority = item.get("priority") or 0
    if not isinstance(priority, int) or isinstance(priority, bool) or not 0 <= priority <= 1000:
        raise _fail(f"{where}.priority", f"must be an integer from 0 to 1000, got {priority!r}")
    return phase, priority


def check_applications(s, namespace_id: str, alert_apps: list[Any] | None,
                       enrichments: list[Any] | None) -> list[dict[str, Any]]:
    """The normalised applications of a collection create or update, each checked against this namespace's alerts
    and retrievers; a 422 (404 for a missing alert or retriever) names the item's field."""
    out: list[dict[str, Any]] = []
    for i, item in enumerate(alert_apps or []):
        where = f"alert_applications[{i}]"
        _check_keys(item, where, {"alert_id", "input_mappings", "execution_mode", "execution_phase", "priority"},
                    {"alert_id", "input_mappings"})
        if item.get("execution_mode") not in (None, "on_ingest"):
            raise _fail(f"{where}.execution_mode", f"{item['execution_mode']!r} is not supported: an applied alert "
                        "runs on each batch's new documents (on_ingest); run an alert on demand with "
                        "POST /v1/alerts/{alert_id}/execute")
        alert = s.get(Alert, item["alert_id"])
        if alert is None or alert.namespace_id != namespace_id:
            raise WarehouseError(404, f"{where}.alert_id: alert {item['alert_id']!r} not found in this namespace",
                                 {"location": f"{where}.alert_id"})
        if (alert.config or {}).get("source") != "retriever":
            raise _fail(f"{where}.alert_id", f"alert {alert.alert_name!r} has no retriever (it checks a payload "
                        "condition): input_mappings feed a retriever; create the alert with source 'retriever'")
        retriever = s.get(Retriever, alert.config["retriever_id"])
        if retriever is None:
            raise _fail(f"{where}.alert_id", f"alert {alert.alert_name!r}'s retriever was deleted")
        phase, priority = _phase(item, where, ALERT_PHASE)
        out.append({"kind": "alert", "alert_id": alert.alert_id, "retriever_id": retriever.retriever_id,
                    "input_mappings": _check_mappings(item["input_mappings"], f"{where}.input_mappings", retriever),
                    "execution_phase": phase, "priority": priority, "enabled": True})
    for i, item in enumerate(enrichments or []):
        where = f"retriever_enrichments[{i}]"
        _check_keys(item, where, {"retriever_id", "input_mappings", "write_back_fields", "execution_phase",
                                  "priority", "scroll_filters", "enabled"},
                    {"retriever_id", "input_mappings", "write_back_fields"})
        retriever = get_retriever(s, namespace_id, item["retriever_id"])
        fields = item["write_back_fields"]
        if not isinstance(fields, list) or not fields:
            raise _fail(f"{where}.write_back_fields", "needs at least one {source_field, target_field, mode}")
        written = []
        for j, field in enumerate(fields):
            at = f"{where}.write_back_fields[{j}]"
            _check_keys(field, at, {"source_field", "target_field", "mode"}, {"source_field", "target_field"})
            target, mode = field["target_field"], field.get("mode") or "first"
            if target in _SYSTEM_FIELDS or target.startswith("_") or not target.replace("_", "").isalnum():
                raise _fail(f"{at}.target_field", f"{target!r} cannot be written: name a field of your own "
                            "(letters, digits, _), not a system or lineage field")
            if mode not in WRITE_MODES:
                raise _fail(f"{at}.mode", f"{mode!r} is not one of {list(WRITE_MODES)}")
            written.append({"source_field": field["source_field"], "target_field": target, "mode": mode})
        scroll = compile_filter(item.get("scroll_filters"), f"{where}.scroll_filters")
        if scroll is not None and scroll.qdrant is None:
            raise _fail(f"{where}.scroll_filters", "must be a filter the index runs (eq, in, range, exists…)")
        if item.get("enabled") not in (None, True, False):
            raise _fail(f"{where}.enabled", f"must be true or false, got {item['enabled']!r}")
        phase, priority = _phase(item, where, ENRICHMENT_PHASE)
        out.append({"kind": "enrichment", "retriever_id": retriever.retriever_id,
                    "input_mappings": _check_mappings(item["input_mappings"], f"{where}.input_mappings", retriever),
                    "write_back_fields": written, "scroll_filters": item.get("scroll_filters"),
                    "execution_phase": phase, "priority": priority, "enabled": item.get("enabled") is not False})
    return out


def as_requested(apps: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """A collection's applications in the request's shape (``alert_applications``, ``retriever_enrichments``)."""
    alerts = [{"alert_id": a["alert_id"], "input_mappings": a["input_mappings"], "execution_mode": "on_ingest",
               "execution_phase": a["execution_phase"], "priority": a["priority"]}
              for a in apps if a["kind"] == "alert"]
    enrichments = [{k: a[k] for k in ("retriever_id", "input_mappings", "write_back_fields", "scroll_filters",
                                      "execution_phase", "priority", "enabled")}
                   for a in apps if a["kind"] == "enrichment"]
    return {"alert_applications": alerts, "retriever_enrichments": enrichments}


def inputs_of(document: dict[str, Any], mappings: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The retriever inputs built from ``document``; None when a mapped field is missing (nothing to ask with)."""
    inputs = {}
    for m in mappings:
        source = m["source"]
        if source["source_type"] == "constant":
            inputs[m["input_key"]] = source.get("value")
            continue
        value = get_path(document, source["path"])
        if value is None:
            return None
        inputs[m["input_key"]] = value
    return inputs


def write_back(results: list[dict[str, Any]], fields: list[dict[str, Any]]) -> dict[str, Any]:
    """The fields to merge into a document from its retriever results."""
    out: dict[str, Any] = {}
    for f in fields:
        values = [v for r in results if (v := get_path(r, f["source_field"])) is not None]
        if not values:
            continue
        if f["mode"] == "first":
            out[f["target_field"]] = values[0]
        elif f["mode"] == "all_as_array":
            out[f["target_field"]] = values
        else:
            out[f["target_field"]] = ", ".join(str(v) for v in values)
    return out


def _answers(svc, namespace_id: str, collection_id: str, batch_id: str, app: dict[str, Any],
             scope: dict[str, Any] | None = None) -> Iterator[tuple[dict[str, Any], list[dict[str, Any]] | None]]:
    """Each document ``batch_id`` wrote into the collection (those matching ``scope``), with what the application's
    retriever answers when asked with the document's mapped fields (the document itself left out) — None when a
    mapped field is missing."""
    r, colls = saved_retriever(svc, namespace_id, app["retriever_id"])
    must = [{"key": "collection_id", "match": {"value": collection_id}}, {"key": "batch_id", "match": {"value": batch_id}}]
    for hit in documents.scan(svc.index, namespace_id, {"must": must + ([scope] if scope else [])}):
        doc = document_view(hit)
        inputs = inputs_of(doc, app["input_mappings"])
        if inputs is None:
            yield doc, None
            continue
        found = execute(svc, namespace_id, colls, r.stages, r.input_schema, inputs, 100)["documents"]
        yield doc, [d for d in found if d.get("document_id") != doc["document_id"]]


def enrich(svc, namespace_id: str, collection_id: str, batch_id: str, app: dict[str, Any]) -> dict[str, Any]:
    """One retriever enrichment over the documents ``batch_id`` wrote; records the run."""
    started, run_id = datetime.now(UTC), new_id("erun")
    stats: dict[str, Any] = {"collection_id": collection_id, "batch_id": batch_id, "retriever_id": app["retriever_id"]}
    status, error = "COMPLETED", None
    try:
        scroll = compile_filter(app.get("scroll_filters"), "scroll_filters")
        updates, seen, without_inputs = [], 0, 0
        for doc, results in _answers(svc, namespace_id, collection_id, batch_id, app, scroll.qdrant if scroll else None):
            seen += 1
            if results is None:
                without_inputs += 1
            elif fields := write_back(results, app["write_back_fields"]):
                updates.append((str(uuid_from_document_id(doc["document_id"])), fields))
        documents.write(svc.index, namespace_id, updates)
        stats.update(documents=seen, enriched=len(updates), missing_inputs=without_inputs)
    except WarehouseError as exc:
        status, error = "FAILED", exc.message
    with svc.catalog.session() as s:
        s.add(EnrichmentRun(run_id=run_id, kind="enrichment", resource_id=collection_id, namespace_id=namespace_id,
                            status=status, trigger=f"batch:{batch_id}", stats=stats, error=error,
                            started_at=started, finished_at=datetime.now(UTC)))
    return {"status": status, "run_id": run_id, **stats, **({"error": error} if error else {})}


def alert_matches(svc, namespace_id: str, collection_id: str, batch_id: str | None,
                  app: dict[str, Any]) -> list[dict[str, Any]]:
    """The alert application's matches: its retriever asked once per new document, with inputs from the document;
    each match names the document that found it (``triggered_by``)."""
    if not batch_id:
        return []
    return [{**r, "triggered_by": doc["document_id"]}
            for doc, results in _answers(svc, namespace_id, collection_id, batch_id, app) for r in results or []]


def of_collection(catalog, collection_id: str) -> list[dict[str, Any]]:
    """The enabled applications of a collection, in the order they run."""
    with catalog.session() as s:
        c = s.get(Collection, collection_id)
        apps = [a for a in (c.applications or []) if a.get("enabled", True)] if c is not None else []
    return sorted(apps, key=lambda a: (a["execution_phase"], -a["priority"]))
