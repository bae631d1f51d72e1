"""``/v1/taxonomies``: flat and hierarchical taxonomies, their versions and executions, and
``POST /v1/collections/{c}/apply-taxonomy``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import fields, list_page
from warehouse.api.schemas import (
    ApplyTaxonomyRequest,
    CloneTaxonomyRequest,
    DefinitionListRequest,
    TaxonomyExecuteRequest,
    TaxonomyRequest,
)
from warehouse.api.views import _ts, enrichment_run_view, task_view
from warehouse.catalog import EnrichmentRun, Namespace, Taxonomy
from warehouse.catalog.lookups import get_collection, get_taxonomy
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.catalog.tasks import start_task
from warehouse.enrichment import runs, taxonomies
from warehouse.enrichment.documents import scope_filter
from warehouse.errors import WarehouseError, refuse_set
from warehouse.ids import new_id, uuid_from_document_id
from warehouse.retrieval.documents import document_view
from warehouse.services import Services

router = APIRouter(tags=["taxonomies"])


def taxonomy_view(t: Taxonomy, config: dict[str, Any] | None = None) -> dict[str, Any]:
    cfg = config or t.config
    nodes = (cfg.get("hierarchical_nodes") if cfg["taxonomy_type"] == "hierarchical"
             else [{"collection_id": cfg["source_collection"].get("collection_id"), "label": None}])
    return {"taxonomy_id": t.taxonomy_id, "taxonomy_name": t.taxonomy_name, "description": t.description,
            "version": t.version, "taxonomy_type": cfg["taxonomy_type"], "config": cfg,
            "retriever_id": cfg.get("retriever_id"), "input_mappings": cfg.get("input_mappings"), "nodes": nodes,
            "target_collection_ids": cfg.get("target_collection_ids") or [], "ready": True,
            "metadata": t.metadata_ or {}, "created_at": _ts(t.created_at), "updated_at": _ts(t.updated_at)}


def _event(svc: Services, event_type: str, t: Taxonomy) -> None:
    svc.record_event(event_type, t.namespace_id, t.taxonomy_id,
                     {"taxonomy_id": t.taxonomy_id, "taxonomy_name": t.taxonomy_name, "version": t.version},
                     f"{event_type}:{t.taxonomy_id}:{t.version}")


@router.post("/v1/taxonomies", summary="Create a taxonomy (flat or hierarchical)")
def create_taxonomy(body: TaxonomyRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    top, config = taxonomies.parse_request(fields(body))
    if not top.get("taxonomy_name"):
        raise WarehouseError(422, "taxonomy_name is required", {"location": "taxonomy_name"})
    return taxonomy_view(_create(svc, ns.namespace_id, top["taxonomy_name"], config, top.get("description"),
                                 top.get("metadata") or {}))


def _create(svc: Services, namespace_id: str, name: str, config: dict[str, Any], description: str | None,
            metadata: dict[str, Any]) -> Taxonomy:
    """A new taxonomy (version 1) with ``config`` resolved against the namespace, its Dagster partition, its event."""
    with svc.catalog.session() as s:
        _refuse_taken_name(s, namespace_id, name)
        made = Taxonomy(taxonomy_id=new_id("tax"), namespace_id=namespace_id, taxonomy_name=name, version=1)
        made.config = taxonomies.resolve(svc, s, namespace_id, made, config).config
        made.description, made.metadata_ = description, metadata
        s.add(made)
    svc.dagster.add_partition("taxonomies", made.taxonomy_id)
    _event(svc, "taxonomy.created", made)
    return made


def _refuse_taken_name(s, namespace_id: str, name: str) -> None:
    if s.query(Taxonomy).filter(Taxonomy.namespace_id == namespace_id, Taxonomy.taxonomy_name == name).count():
        raise WarehouseError(409, f"taxonomy_name: {name!r} already exists in this namespace; choose another name",
                             {"location": "taxonomy_name"})


@router.get("/v1/taxonomies", summary="List taxonomies")
def list_taxonomies_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0, le=MAX_OFFSET),
                        ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, limit, offset)


@router.post("/v1/taxonomies/list", summary="List taxonomies")
def list_taxonomies(body: DefinitionListRequest | None = None, ns: Namespace = Depends(namespace),
                    svc: Services = Depends(services)):
    body = body or DefinitionListRequest()
    return _list(svc, ns, *page_args(body.limit, body.offset, body.page, body.page_size), body.search)


def _list(svc, ns, limit, offset, search=None):
    return list_page(svc.catalog, ns.namespace_id, Taxonomy, Taxonomy.taxonomy_name, lambda s, t: taxonomy_view(t),
                     limit, offset, search)


@router.get("/v1/taxonomies/{taxonomy_id}", summary="Get a taxonomy (?version= for an earlier one)")
def get_taxonomy_route(taxonomy_id: str, version: int | None = Query(None, ge=1), ns: Namespace = Depends(namespace),
                       svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        t = get_taxonomy(s, ns.namespace_id, taxonomy_id)
    if version is None or version == t.version:
        return taxonomy_view(t)
    old = next((h for h in t.history or [] if h["version"] == version), None)
    if old is None:
        raise WarehouseError(404, f"taxonomy {t.taxonomy_name!r} has no version {version}; versions: "
                       f"{[h['version'] for h in t.history or []] + [t.version]}")
    return {**taxonomy_view(t, old["config"]), "version": version, "taxonomy_name": old.get("taxonomy_name", t.taxonomy_name)}


@router.patch("/v1/taxonomies/{taxonomy_id}", summary="Update a taxonomy (a new version)")
def patch_taxonomy(taxonomy_id: str, body: TaxonomyRequest | None = None, ns: Namespace = Depends(namespace),
                   svc: Services = Depends(services)):
    body = fields(body)
    with svc.catalog.session() as s:
        t = get_taxonomy(s, ns.namespace_id, taxonomy_id)
        merged = {"taxonomy_name": body.get("taxonomy_name", t.taxonomy_name),
                  "description": body.get("description", t.description),
                  "metadata": body.get("metadata", t.metadata_)}
        if "config" in body:
            merged["config"] = {**_raw(t.config), **(body["config"] or {})}
        else:
            rest = {k: v for k, v in body.items() if k not in merged}
            if rest:
                merged["config"] = {**_raw(t.config), **rest}
        top, config = taxonomies.parse_request(merged) if "config" in merged else (merged, t.config)
        plan = taxonomies.resolve(svc, s, ns.namespace_id, t, dict(config))
        if top["taxonomy_name"] != t.taxonomy_name:
            _refuse_taken_name(s, ns.namespace_id, top["taxonomy_name"])
        t.history = [*(t.history or []), {"version": t.version, "config": t.config, "taxonomy_name": t.taxonomy_name,
                                          "updated_at": _ts(t.updated_at or t.created_at)}]
        t.version += 1
        t.config, t.taxonomy_name = plan.config, top["taxonomy_name"]
        t.description, t.metadata_ = top.get("description"), top.get("metadata") or {}
    _event(svc, "taxonomy.updated", t)
    return taxonomy_view(t)


@router.post("/v1/taxonomies/{taxonomy_id}/clone", summary="A new taxonomy with this one's configuration")
def clone_taxonomy(taxonomy_id: str, body: CloneTaxonomyRequest, ns: Namespace = Depends(namespace),
                   svc: Services = Depends(services)):
    """The clone starts at version 1 with the source's current configuration (its references checked again) and
    metadata; it is not attached to any collection the source is applied to."""
    with svc.catalog.session() as s:
        source = get_taxonomy(s, ns.namespace_id, taxonomy_id)
    description = body.description if "description" in body.model_fields_set else source.description
    clone = _create(svc, ns.namespace_id, body.taxonomy_name, dict(source.config), description,
                    dict(source.metadata_ or {}))
    return {"taxonomy": taxonomy_view(clone), "source_taxonomy_id": source.taxonomy_id}


def _raw(config: dict[str, Any]) -> dict[str, Any]:
    """A stored config in the request form again (for PATCH merges)."""
    out = {k: v for k, v in config.items() if v is not None}
    return out


@router.delete("/v1/taxonomies/{taxonomy_id}", summary="Delete a taxonomy")
def delete_taxonomy(taxonomy_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        t = get_taxonomy(s, ns.namespace_id, taxonomy_id)
        s.delete(t)
    svc.dagster.delete_partition("taxonomies", t.taxonomy_id)
    _event(svc, "taxonomy.deleted", t)
    return {"success": True, "taxonomy_id": t.taxonomy_id, "message": "taxonomy deleted (fields already written into "
            "documents stay; re-run a retriever or collection to clear them)"}


@router.get("/v1/taxonomies/{taxonomy_id}/versions", summary="Versions of a taxonomy")
@router.post("/v1/taxonomies/{taxonomy_id}/versions", summary="Versions of a taxonomy (POST form)")
def taxonomy_versions(taxonomy_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        t = get_taxonomy(s, ns.namespace_id, taxonomy_id)
    versions = [{"version": h["version"], "taxonomy_name": h.get("taxonomy_name"), "config": h["config"],
                 "updated_at": h.get("updated_at")} for h in t.history or []]
    versions.append({"version": t.version, "taxonomy_name": t.taxonomy_name, "config": t.config,
                     "updated_at": _ts(t.updated_at), "current": True})
    return {"taxonomy_id": t.taxonomy_id, "results": versions, "total": len(versions)}


@router.get("/v1/taxonomies/{taxonomy_id}/executions", summary="Materializations of a taxonomy")
def taxonomy_executions(taxonomy_id: str, limit: int = Query(20, ge=1, le=200), ns: Namespace = Depends(namespace),
                        svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        t = get_taxonomy(s, ns.namespace_id, taxonomy_id)
        rows = (s.query(EnrichmentRun).filter(EnrichmentRun.resource_id == t.taxonomy_id)
                .order_by(EnrichmentRun.started_at.desc()).limit(limit).all())
    return {"results": [enrichment_run_view(r) for r in rows], "total": len(rows)}




#: accepted by the hosted API's taxonomy runs, not honoured by this server's: refused, never dropped
_NOT_ON_A_TAXONOMY_RUN = {
    "parallelism": "a materialization runs as one task that pages through the documents; set batch_size instead",
    "budget_limits": "taxonomy runs have no credit or time budget here; leave it out",
}


@router.post("/v1/taxonomies/{taxonomy_id}/execute", summary="Classify documents, or materialize the taxonomy")
@router.post("/v1/taxonomies/execute/{taxonomy_id}", include_in_schema=False)
def execute_taxonomy(taxonomy_id: str, body: TaxonomyExecuteRequest | None = None, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    """``documents`` / ``document_ids``: match them and return the assignments (nothing written).
    Otherwise: materialize into the target collections (or ``collection_ids``) as a task."""
    body = fields(body)
    refuse_set(body, _NOT_ON_A_TAXONOMY_RUN)
    given = [k for k in ("documents", "document_ids", "inputs") if body.get(k)]
    if len(given) > 1:
        raise WarehouseError(422, f"{given[1]}: give one of documents, document_ids or inputs (got {given})",
                             {"location": given[1]})
    if given:  # classify: nothing is materialized
        refuse_set(body, {k: "applies when materializing into collections; classifying documents, document_ids or "
                          "inputs returns the assignments and writes nothing — leave it out"
                          for k in ("collection_id", "collection_ids", "scroll_filters", "batch_size")})
    with svc.catalog.session() as s:
        t = get_taxonomy(s, ns.namespace_id, taxonomy_id)
        plan = taxonomies.resolve(svc, s, ns.namespace_id, t, dict(t.config))
    docs = body.get("documents")
    if body.get("inputs") and not docs:
        docs = [body["inputs"]]
    if body.get("document_ids"):
        ids = body["document_ids"]
        if not isinstance(ids, list) or not all(isinstance(i, str) and i.startswith("doc_") for i in ids):
            raise WarehouseError(422, "document_ids must be a list of document ids ('doc_…')", {"location": "document_ids"})
        hits = svc.index.retrieve(ns.namespace_id, [str(uuid_from_document_id(i)) for i in ids])
        docs = [document_view(h) for h in hits]
        missing = sorted(set(ids) - {d["document_id"] for d in docs})
        if missing:
            raise WarehouseError(404, f"document(s) {missing} not found", {"document_ids": missing})
    if docs is not None:
        if not isinstance(docs, list) or not all(isinstance(d, dict) for d in docs):
            raise WarehouseError(422, "documents must be a list of objects (document payloads)", {"location": "documents"})
        matches = taxonomies.match_documents(svc, ns.namespace_id, plan, docs)
        results = [{**d, "taxonomy_assignment": taxonomies.match_view(m), **(m.fields if m else {})}
                   for d, m in zip(docs, matches, strict=True)]
        return {"taxonomy_id": t.taxonomy_id, "version": t.version, "results": results,
                "assigned": sum(m is not None for m in matches), "total": len(results)}
    targets = list(body.get("collection_ids") or []) + ([body["collection_id"]] if body.get("collection_id") else [])
    return _materialize_task(svc, ns, t, targets or None, body.get("scroll_filters"), body.get("batch_size") or 1000)


def _materialize_task(svc: Services, ns: Namespace, t: Taxonomy, collection_ids, scroll_filters, batch_size):
    if not isinstance(batch_size, int) or not 1 <= batch_size <= 10_000:
        raise WarehouseError(422, "batch_size must be an integer from 1 to 10000", {"location": "batch_size"})
    with svc.catalog.session() as s:
        ids = [get_collection(s, ns.namespace_id, c).collection_id for c in collection_ids or []]
    targets = ids or t.config.get("target_collection_ids")
    if not targets:
        raise WarehouseError(422, f"taxonomy {t.taxonomy_name!r} has no target collections; pass collection_id(s) or "
                       "set target_collection_ids", {"location": "collection_ids"})
    scope_filter(targets, scroll_filters, "scroll_filters")  # a bad filter is a 422 now, not a failed task later
    run_id = new_id("trun")
    task = start_task(svc.catalog, svc.background, ns.namespace_id, "taxonomy.materialize", t.taxonomy_id,
                      {"taxonomy_id": t.taxonomy_id, "collection_ids": targets, "scroll_filters": scroll_filters,
                       "batch_size": batch_size},
                      lambda: runs.run_taxonomy(svc, t.taxonomy_id, ids or None, scroll_filters, batch_size, run_id=run_id))
    return {**task_view(task), "run_id": run_id}


@router.post("/v1/collections/{collection_identifier}/apply-taxonomy", summary="Apply a taxonomy to a collection now")
def apply_taxonomy(collection_identifier: str, body: ApplyTaxonomyRequest | None = None, ns: Namespace = Depends(namespace),
                   svc: Services = Depends(services)):
    body = fields(body)
    refuse_set(body, _NOT_ON_A_TAXONOMY_RUN)
    if not body.get("taxonomy_id"):
        raise WarehouseError(422, "taxonomy_id is required", {"location": "taxonomy_id"})
    with svc.catalog.session() as s:
        t = get_taxonomy(s, ns.namespace_id, body["taxonomy_id"])
        c = get_collection(s, ns.namespace_id, collection_identifier)
    return _materialize_task(svc, ns, t, [c.collection_id], body.get("scroll_filters"), body.get("batch_size") or 1000)
