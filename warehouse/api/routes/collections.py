"""``/v1/collections``: collections (source + extractor), their documents, and triggers."""

from __future__ import annotations

import json
import uuid
from collections import Counter, defaultdict
from collections.abc import Iterator
from typing import Any

from fastapi import APIRouter, Depends, Query
from pydantic import Field, ValidationError

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import collection_in
from warehouse.api.schemas import (
    CreateCollectionRequest,
    DocumentAggregationRequest,
    ListRequest,
    TriggerCollectionRequest,
    UpdateCollectionRequest,
)
from warehouse.api.schemas.common import Strict
from warehouse.api.views import collection_view, listing
from warehouse.catalog import Batch, Bucket, Cluster, Collection, Namespace, Object, Taxonomy
from warehouse.catalog import collections as collection_ops
from warehouse.catalog.batches import trigger_collection
from warehouse.catalog.lookups import get_collection
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.catalog.schedules import check_schedule, next_run
from warehouse.enrichment import applications, taxonomies
from warehouse.enrichment.documents import pages
from warehouse.errors import WarehouseError, not_found, refuse_set
from warehouse.extractors.loader import code_version
from warehouse.retrieval import documents as docs
from warehouse.retrieval.aggregation import Aggregator
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import compile_filter, get_path
from warehouse.services import Services

router = APIRouter(tags=["collections"])


def _applications(svc: Services, namespace_id: str) -> dict[str, dict[str, list]]:
    """Per collection of the namespace: the taxonomies that materialize into it and the clusters that run after its
    batches (read once for a whole listing)."""
    out: dict[str, dict[str, list]] = defaultdict(lambda: {"taxonomy_applications": [], "cluster_applications": []})
    with svc.catalog.session() as s:
        for t in s.query(Taxonomy).filter(Taxonomy.namespace_id == namespace_id):
            for cid in taxonomies.after_batch_targets(t.config):
                out[cid]["taxonomy_applications"].append({"taxonomy_id": t.taxonomy_id, "execution_mode": "materialize"})
        for cl in s.query(Cluster).filter(Cluster.namespace_id == namespace_id):
            if not (cl.config or {}).get("auto_execute_on_batch"):
                continue
            for cid in cl.config.get("collection_ids", []):
                out[cid]["cluster_applications"].append({
                    "cluster_id": cl.cluster_id, "auto_execute_on_batch": True,
                    "min_document_threshold": cl.config.get("auto_execute_min_documents", 0),
                    "cooldown_seconds": cl.config.get("auto_execute_cooldown_seconds", 0)})
    return out


def _view(svc: Services, c: Collection, hashed: dict | None = None, apps: dict | None = None) -> dict:
    """The collection with ``index_status`` (is the index written by the extractor's current code?), its schedule
    and the taxonomies and clusters applied to it.

    ``hashed`` memoises folder hashes and ``apps`` the applications across the collections of one listing.
    """
    out = collection_view(c, docs.count(svc, c.namespace_id, c))
    out["schedule"] = c.schedule and {**c.schedule, "next_run_at": next_run(c.schedule, c.created_at).isoformat()}
    apps = _applications(svc, c.namespace_id) if apps is None else apps
    out.update(apps.get(c.collection_id) or {"taxonomy_applications": [], "cluster_applications": []})
    out.update(applications.as_requested(c.applications or []))
    fe = c.feature_extractor or {}
    indexed = (c.metadata_ or {}).get("_indexed") or {}
    hashed = {} if hashed is None else hashed
    try:
        # Hash the folder now: an extractor edited on disk shows as a new version before anything reloads it.
        path = svc.registry.get(fe.get("feature_extractor_name"), fe.get("version"), c.namespace_id).path
        current = hashed[path] if path in hashed else hashed.setdefault(path, code_version(path))
    except (LookupError, OSError):
        current = None
    out["index_status"] = {
        "indexed_code_version": indexed.get("code_version"), "current_code_version": current,
        "last_batch_id": indexed.get("batch_id"), "last_dagster_run_id": indexed.get("dagster_run_id"),
        "stale": bool(indexed.get("code_version")) and indexed.get("code_version") != current,
    }
    return out


# Keys of the hosted create that this server does elsewhere: each refused with where it lives here.
_NOT_ON_A_COLLECTION = {
    "retriever_transform": "not supported; write transformed documents with POST /v1/collections/{c}/documents",
    "embedding_task": "not supported; the extractor's parameters say what it embeds",
    "features": "derived from the feature_extractor; leave it out",
    "input_schema": "derived from the feature_extractor and the source; leave it out",
}


@router.post("/v1/collections", summary="Create a collection")
def create_collection(body: CreateCollectionRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    fe = body.feature_extractor
    upstream_filter = compile_filter(body.source.source_filters, "source.source_filters")
    if upstream_filter is not None and upstream_filter.qdrant is None:
        raise WarehouseError(422, "source.source_filters must be a filter the index runs (eq, in, range, exists…, "
                             "joined by AND/OR/NOT), not regex or text operators", {"location": "source.source_filters"})
    refuse_set({"source_namespace_id": body.source.source_namespace_id, "field_map": body.source.field_map or None},
               {"source_namespace_id": "a collection's source is in its own namespace; leave it out",
                "field_map": "not supported; map upstream fields with feature_extractor.input_mappings"})
    refuse_set({k: getattr(body, k) or None for k in _NOT_ON_A_COLLECTION}, _NOT_ON_A_COLLECTION)
    if fe is None:
        raise WarehouseError(422, "a collection needs feature_extractor: {feature_extractor_name, version, input_mappings}",
                             {"location": "feature_extractor"})
    schedule = None
    if body.schedule is not None:
        if body.source.type == "collection":
            raise WarehouseError(422, "schedule: a multi-tier collection runs when its upstream writes; schedule the "
                                 "upstream", {"location": "schedule"})
        schedule = check_schedule(body.schedule)
    try:
        ext = svc.registry.get(fe.feature_extractor_name, fe.version, ns.namespace_id)
        feature_uris = [ext.spec.feature_uri(f) for f in ext.spec.vector_features]
    except LookupError:
        feature_uris = []  # create_collection names the unknown extractor
    with svc.catalog.session() as s:  # checked before anything is made
        applied = collection_ops.check_taxonomy_applications(s, ns.namespace_id, body.taxonomy_applications or [])
        clusters = collection_ops.check_cluster_applications(s, ns.namespace_id, body.cluster_applications or [],
                                                             feature_uris)
        post = applications.check_applications(s, ns.namespace_id, body.alert_applications, body.retriever_enrichments)
    c = collection_ops.create_collection(svc, ns, collection_ops.CollectionRequest(
        collection_name=body.collection_name, source_type=body.source.type, bucket_ids=body.source.bucket_ids or [],
        source_collections=[*([body.source.collection_id] if body.source.collection_id else []),
                            *(body.source.collection_ids or [])],
        source_filters=body.source.source_filters,
        engine_filter=upstream_filter.qdrant if upstream_filter is not None else None, schedule=schedule,
        feature_extractor_name=fe.feature_extractor_name, version=fe.version, input_mappings=fe.input_mappings,
        field_passthrough=[p if isinstance(p, str) else p.model_dump(exclude_none=True) for p in fe.field_passthrough or []],
        parameters={**(fe.params or {}), **(fe.parameters or {})}, description=body.description,
        metadata=body.metadata or {}, enabled=body.enabled is not False, applications=post))
    if applied or clusters:
        with svc.catalog.session() as s:
            collection_ops.apply_taxonomies(s, c.collection_id, applied)
            collection_ops.apply_clusters(s, c.collection_id, clusters)
    return _view(svc, c)


class CloneCollectionRequest(Strict):
    collection_name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    source: dict[str, Any] | None = None
    feature_extractor: dict[str, Any] | None = None
    enabled: bool | None = None
    metadata: dict[str, Any] | None = None


@router.post("/v1/collections/{collection_identifier}/clone",
             summary="A new, empty collection with this one's source and extractor (each may be overridden)")
def clone_collection(collection_identifier: str, body: CloneCollectionRequest, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    src = collection_in(svc.catalog, ns, collection_identifier)
    merged = {"collection_name": body.collection_name,
              "description": body.description if body.description is not None else src.description,
              "source": body.source or src.source,
              "feature_extractor": {k: v for k, v in (body.feature_extractor or src.feature_extractor).items()
                                    if k != "feature_extractor_id" and v is not None},
              "metadata": body.metadata if body.metadata is not None else
              {k: v for k, v in (src.metadata_ or {}).items() if not k.startswith("_")},
              "enabled": body.enabled if body.enabled is not None else bool(src.enabled)}
    try:
        request = CreateCollectionRequest.model_validate(merged)
    except ValidationError as exc:  # an override in the wrong shape: named like a create's field
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise WarehouseError(422, f"{where}: {err['msg']}", {"location": where}) from None
    return create_collection(request, ns, svc)


@router.get("/v1/collections", summary="List collections")
def list_collections_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0, le=MAX_OFFSET),
                         ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, ListRequest(limit=limit, offset=offset))


@router.post("/v1/collections/list", summary="List collections")
def list_collections(body: ListRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, body or ListRequest())


def _list(svc: Services, ns: Namespace, body: ListRequest):
    body.refuse_unhonoured("search")
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    with svc.catalog.session() as s:
        q = s.query(Collection).filter(Collection.namespace_id == ns.namespace_id)
        if body.search:
            q = q.filter(Collection.collection_name.contains(body.search))
        total = q.count()
        rows = q.order_by(Collection.created_at).offset(offset).limit(limit).all()
    hashed: dict = {}
    apps = _applications(svc, ns.namespace_id)
    return listing([_view(svc, c, hashed, apps) for c in rows], total, limit, offset)


@router.get("/v1/collections/{collection_identifier}", summary="Get a collection (with vector_indexes[].feature_uri)")
def get_collection_route(collection_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return _view(svc, c)


@router.patch("/v1/collections/{collection_identifier}",
              summary="Update a collection: name, description, metadata, enabled, field_passthrough")
def update_collection_route(collection_identifier: str, body: UpdateCollectionRequest,
                            ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    changes = body.model_dump(exclude_unset=True)
    kinds = {"alert_applications": "alert", "retriever_enrichments": "enrichment"}
    given = {k: changes.pop(k) for k in kinds if k in changes}
    if given:  # each list given replaces that kind's applications, checked before anything changes
        with svc.catalog.session() as s:
            checked = applications.check_applications(s, ns.namespace_id, given.get("alert_applications"),
                                                      given.get("retriever_enrichments"))
            row = s.get(Collection, c.collection_id)
            kept = [a for a in row.applications or [] if not any(a["kind"] == kinds[k] for k in given)]
            row.applications = kept + checked
    if changes or not given:
        c = collection_ops.update_collection(svc, ns, c, changes)
    return _view(svc, collection_in(svc.catalog, ns, c.collection_id))


@router.get("/v1/collections/{collection_identifier}/features", summary="Feature URIs of a collection")
def collection_features(collection_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return {"collection_id": c.collection_id, "features": c.vector_indexes}


@router.delete("/v1/collections/{collection_identifier}", summary="Delete a collection and its documents")
def delete_collection(collection_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c, users = collection_ops.delete_collection(svc, ns, collection_identifier)
    return {"success": True, "collection_id": c.collection_id, "message": "collection deleted",
            "warnings": [f"retriever {u!r} still references this collection" for u in users]}


@router.post("/v1/collections/{collection_identifier}/trigger", status_code=202, summary="Process the collection's sources")
def trigger(collection_identifier: str, body: TriggerCollectionRequest | None = None, ns: Namespace = Depends(namespace),
            svc: Services = Depends(services)):
    body = body or TriggerCollectionRequest()
    refuse_set({"source_filters": body.source_filters, "include_collections": body.include_collections or None,
                "dedup_strategy": body.dedup_strategy if body.dedup_strategy == "skip" else None,
                "reembed": body.reembed},
               {"source_filters": "not supported; choose the objects with object_ids",
                "include_collections": "a trigger reprocesses this collection's source buckets (include_buckets); a "
                                       "multi-tier collection is fed by its upstream's batches",
                "dedup_strategy": "'skip' is not supported: a trigger reprocesses its objects and replaces their "
                                  "documents",
                "reembed": "not supported: a trigger runs the extractor on the objects again (it re-embeds)"})
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
        if (c.source or {}).get("type") == "collection":
            raise WarehouseError(422, f"collection {c.collection_name!r} is fed by its upstream collection's batches; "
                                 "trigger the upstream", {"location": "collection_identifier"})
        batches = trigger_collection(s, c, body.include_buckets, body.object_ids)
    for b in batches:
        svc.dispatch(b.batch_id)
    if not batches:
        raise WarehouseError(422, "the collection's source buckets hold no objects to process", {"collection_id": c.collection_id})
    return {"task_id": batches[0].task_id, "task_ids": [b.task_id for b in batches], "batch_id": batches[0].batch_id,
            "batch_ids": [b.batch_id for b in batches], "collection_id": c.collection_id, "total_tiers": 1,
            "object_count": sum(len(b.object_ids) for b in batches),
            "message": f"processing {sum(len(b.object_ids) for b in batches)} object(s) in {len(batches)} batch(es)"}


# -- documents -----------------------------------------------------------------------------------------
_vector_names = docs.vector_names


def _cursor(value: str | None) -> str | None:
    """A listing cursor is the ``next_cursor`` of the page before: a point id (UUID)."""
    if value is None:
        return None
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise WarehouseError(422, f"cursor {value[:80]!r} is not a cursor this server issued; pass the "
                             "pagination.next_cursor of the previous page", {"location": "cursor"}) from None


def list_documents_in(svc: Services, ns_id: str, collections: list[Collection], body: ListRequest) -> dict:
    body.refuse_unhonoured("filters", "cursor", "return_vectors")
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size, default=10)
    compiled = compile_filter(body.filters, "filters")
    flt = {"must": [{"key": "collection_id", "match": {"any": [c.collection_id for c in collections]}}]}
    if compiled is not None and compiled.qdrant is not None:
        flt["must"].append(compiled.qdrant)
    with_vectors = bool(body.return_vectors)
    names = {k: v for c in collections for k, v in _vector_names(c).items()}
    if compiled is None or compiled.qdrant is not None:
        total = svc.index.count(ns_id, flt)
        hits, cursor, skip = [], _cursor(body.cursor), offset
        if not cursor and skip:
            # Skip by scrolling ids only; the engine has no numeric offset for scroll.
            while skip > 0:
                page, cursor = svc.index.scroll(ns_id, flt, limit=min(skip, 1000), offset=cursor)
                skip -= len(page)
                if cursor is None:
                    break
        if skip <= 0 and (cursor or not offset):
            hits, cursor = svc.index.scroll(ns_id, flt, limit=limit, offset=cursor, with_vectors=with_vectors)
        docs = [document_view(h, with_vectors, names) for h in hits]
    else:
        everything, cursor = [], None
        while True:
            hits, cursor = svc.index.scroll(ns_id, flt, limit=1000, offset=cursor, with_vectors=with_vectors)
            everything.extend(d for d in (document_view(h, with_vectors, names) for h in hits) if compiled.matches(d))
            if cursor is None:
                break
        total, docs, cursor = len(everything), everything[offset: offset + limit], None
    pag = listing(docs, total, limit, offset)["pagination"]
    pag["next_cursor"] = cursor
    return {"results": docs, "documents": docs, "pagination": pag, "total_documents": total, "total_count": total}


@router.post("/v1/collections/{collection_identifier}/documents/list", summary="List documents")
def list_documents(collection_identifier: str, body: ListRequest | None = None, ns: Namespace = Depends(namespace),
                   svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return list_documents_in(svc, ns.namespace_id, [c], body or ListRequest())


class NamespaceDocumentsRequest(ListRequest):
    collection_ids: list[str] | None = None


@router.post("/v1/documents/list", summary="List documents across the namespace's collections (or those named)")
def list_namespace_documents(body: NamespaceDocumentsRequest | None = None, ns: Namespace = Depends(namespace),
                             svc: Services = Depends(services)):
    body = body or NamespaceDocumentsRequest()
    with svc.catalog.session() as s:
        if body.collection_ids:
            collections = [get_collection(s, ns.namespace_id, c) for c in body.collection_ids]
        else:
            collections = s.query(Collection).filter(Collection.namespace_id == ns.namespace_id).all()
    return list_documents_in(svc, ns.namespace_id, collections, body)


class DistinctRequest(Strict):
    field: str = Field(min_length=1)
    filters: Any = None
    limit: int | None = Field(default=None, ge=1, le=10_000)


@router.post("/v1/collections/{collection_identifier}/documents/distinct",
             summary="The distinct values of a document field, with counts")
def distinct_values(collection_identifier: str, body: DistinctRequest, ns: Namespace = Depends(namespace),
                    svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    counts: Counter = Counter()
    for payload in _matching_payloads(svc, ns.namespace_id, c, body.filters):  # one pass over the matches
        value = get_path(payload, body.field)
        for v in value if isinstance(value, list) else [value]:
            if v is not None and not isinstance(v, dict):
                counts[json.dumps(v, sort_keys=True)] += 1
    ranked = counts.most_common(body.limit)
    return {"field": body.field, "values": [{"value": json.loads(k), "count": n} for k, n in ranked],
            "total_distinct": len(ranked), "query_info": {}}


@router.post("/v1/collections/{collection_identifier}/documents/aggregate",
             summary="Count, sum, average… a collection's documents, by group or in all")
def aggregate_documents(collection_identifier: str, body: DocumentAggregationRequest,
                        ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    """One pass over the matching payloads (``warehouse.retrieval.aggregation``)."""
    c = collection_in(svc.catalog, ns, collection_identifier)
    aggregator = Aggregator(body)
    matched = 0
    for payload in _matching_payloads(svc, ns.namespace_id, c, body.filters):
        matched += 1
        aggregator.add(payload)
    return aggregator.result(collection_id=c.collection_id, rows_matched=matched)


def _matching_payloads(svc: Services, ns_id: str, c: Collection, filters: Any) -> Iterator[dict]:
    for hit in docs.matching(svc.index, ns_id, c.collection_id, compile_filter(filters, "filters")):
        yield hit.payload or {}


@router.get("/v1/collections/{collection_identifier}/documents", summary="List documents")
def list_documents_get(collection_identifier: str, limit: int | None = Query(None, ge=1, le=1000),
                       offset: int | None = Query(None, ge=0, le=MAX_OFFSET), ns: Namespace = Depends(namespace),
                       svc: Services = Depends(services)):
    return list_documents(collection_identifier, ListRequest(limit=limit, offset=offset), ns, svc)


def _document(svc: Services, ns_id: str, document_id: str, collection: Collection | None, with_vectors: bool = False):
    return docs.fetch(svc, ns_id, document_id, collection, with_vectors)


@router.get("/v1/collections/{collection_identifier}/documents/{document_id}", summary="Get a document")
def get_document(collection_identifier: str, document_id: str, return_vectors: bool = False,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return document_view(_document(svc, ns.namespace_id, document_id, c, return_vectors), return_vectors, _vector_names(c))


@router.get("/v1/documents/{document_id}", summary="Get a document by id (namespace-wide)")
def get_document_any(document_id: str, return_vectors: bool = False, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    hit = _document(svc, ns.namespace_id, document_id, None, return_vectors)
    names = None
    if return_vectors:  # vectors by the collection's feature names, as the collection-scoped read gives them
        with svc.catalog.session() as s:
            c = s.get(Collection, (hit.payload or {}).get("collection_id"))
            names = _vector_names(c) if c is not None else None
    return document_view(hit, return_vectors, names)


def _lineage(svc: Services, ns: Namespace, document_id: str, collection: Collection | None, depth: int = 0) -> dict:
    """Where a document came from: its object, bucket, batch and run — and, for a multi-tier collection's
    document, the upstream document it was made from (``upstream``, recursively), the chain running through
    every tier back to the bucket."""
    hit = _document(svc, ns.namespace_id, document_id, collection)
    payload = hit.payload or {}
    lineage = dict((payload.get("_internal") or {}).get("lineage") or {})
    with svc.catalog.session() as s:
        obj = s.get(Object, lineage.get("source_object_id") or payload.get("source_object_id"))
        bucket = s.get(Bucket, obj.bucket_id) if obj else None
        batch = s.get(Batch, lineage.get("batch_id")) if lineage.get("batch_id") else None
        coll = s.get(Collection, payload.get("collection_id"))
    upstream = None
    if lineage.get("source_document_id") and depth < 8:
        try:
            upstream = _lineage(svc, ns, lineage["source_document_id"], None, depth + 1)
        except WarehouseError:  # the upstream document was deleted or rewritten since
            upstream = {"document_id": lineage["source_document_id"], "missing": True, "chain": []}
    this_tier = [x for x in (
        {"type": "batch", "id": batch.batch_id} if batch else None,
        {"type": "dagster_run", "id": lineage["dagster_run_id"]} if lineage.get("dagster_run_id") else None,
        {"type": "collection", "id": payload.get("collection_id")},
        {"type": "document", "id": document_id}) if x]
    if upstream is not None and upstream.get("chain"):
        chain = upstream["chain"] + this_tier
    else:
        chain = [x for x in ({"type": "bucket", "id": bucket.bucket_id} if bucket else None,
                             {"type": "object", "id": obj.object_id} if obj else None) if x] + this_tier
    return {
        "document_id": document_id, "collection_id": payload.get("collection_id"),
        "collection_name": coll.collection_name if coll else None, "lineage": lineage,
        "source_object": {"object_id": obj.object_id, "bucket_id": obj.bucket_id, "etag": obj.etag,
                          "current_version": obj.etag == lineage.get("object_version")} if obj else None,
        "bucket": {"bucket_id": bucket.bucket_id, "bucket_name": bucket.bucket_name} if bucket else None,
        "batch": {"batch_id": batch.batch_id, "status": batch.status} if batch else None,
        "dagster_run_id": lineage.get("dagster_run_id"),
        "dagster_run_url": (f"http://{svc.settings.api_host}:{svc.settings.ui_port}/runs/{lineage['dagster_run_id']}"
                            if lineage.get("dagster_run_id") else None),
        "feature_extractor": lineage.get("feature_extractor"),
        "tier": (upstream.get("tier", 0) + 1) if upstream is not None else 0,
        "upstream": upstream,
        "chain": chain,
    }


@router.get("/v1/collections/{collection_identifier}/documents/{document_id}/lineage", summary="Lineage of a document")
def document_lineage(collection_identifier: str, document_id: str, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return _lineage(svc, ns, document_id, c)


@router.get("/v1/collections/{collection_identifier}/documents/{document_id}/ancestors",
            summary="The documents a multi-tier document was made from, nearest first")
def document_ancestors(collection_identifier: str, document_id: str, ns: Namespace = Depends(namespace),
                       svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    out, hit = [], _document(svc, ns.namespace_id, document_id, c)
    while (parent := (hit.payload or {}).get("source_document_id")) and len(out) < 8:
        try:
            hit = _document(svc, ns.namespace_id, parent, None)
        except WarehouseError:  # rewritten or deleted upstream since: the walk ends there
            break
        out.append(document_view(hit))
    return out


@router.get("/v1/collections/{collection_identifier}/documents/{document_id}/descendants",
            summary="The documents made from this one in multi-tier collections, tier by tier")
def document_descendants(collection_identifier: str, document_id: str, ns: Namespace = Depends(namespace),
                         svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    _document(svc, ns.namespace_id, document_id, c)  # 404 unless it is this collection's
    out, frontier = [], [document_id]
    while frontier and len(out) < 1000:  # breadth first: a tier at a time
        hits, _ = svc.index.scroll(ns.namespace_id, {"must": [{"key": "source_document_id", "match": {
            "any": frontier}}]}, limit=1000 - len(out))
        out += [document_view(h) for h in hits]
        frontier = [(h.payload or {}).get("document_id") for h in hits]
    return out


@router.get("/v1/documents/{document_id}/lineage", summary="Lineage of a document")
def document_lineage_any(document_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _lineage(svc, ns, document_id, None)


@router.get("/v1/objects/{object_id}/documents", summary="Documents produced from an object")
def object_documents(object_id: str, limit: int = Query(100, ge=1, le=1000), ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        obj = s.get(Object, object_id)
        if obj is None or obj.namespace_id != ns.namespace_id:
            raise not_found("object", object_id)
    flt = {"must": [{"key": "source_object_id", "match": {"value": object_id}}]}
    hits, _ = svc.index.scroll(ns.namespace_id, flt, limit=limit)
    docs = [document_view(h) for h in hits]
    return {"object_id": object_id, "results": docs, "total": svc.index.count(ns.namespace_id, flt)}




@router.get("/v1/objects/{object_id}/decomposition-tree",
            summary="An object and what it became: per collection, its documents (by blob and chunk)")
def decomposition_tree(object_id: str, include_document_ids: bool = True, ns: Namespace = Depends(namespace),
                       svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        obj = s.get(Object, object_id)
        if obj is None or obj.namespace_id != ns.namespace_id:
            raise not_found("object", object_id)
        names = {c.collection_id: c.collection_name
                 for c in s.query(Collection).filter(Collection.namespace_id == ns.namespace_id)}
    flt = {"must": [{"key": "source_object_id", "match": {"value": object_id}}]}
    tree: dict[str, dict] = {}
    for hits in pages(svc.index, ns.namespace_id, flt):
        for h in hits:
            p = h.payload or {}
            node = tree.setdefault(p.get("collection_id"), {
                "collection_id": p.get("collection_id"), "collection_name": names.get(p.get("collection_id")),
                "document_count": 0, "blobs": {}})
            node["document_count"] += 1
            blob = node["blobs"].setdefault(p.get("blob_id") or "", {"blob_id": p.get("blob_id"), "documents": 0,
                                                                      "document_ids": []})
            blob["documents"] += 1
            if include_document_ids:
                blob["document_ids"].append(p.get("document_id"))
    collections = [{**n, "blobs": list(n["blobs"].values())} for n in tree.values()]
    return {"object_id": object_id, "bucket_id": obj.bucket_id, "blobs": [
        {"blob_id": b.get("blob_id"), "property": b.get("property"), "type": b.get("type")} for b in obj.blobs or []],
        "collections": collections, "document_count": sum(n["document_count"] for n in collections)}
