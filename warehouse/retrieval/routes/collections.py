"""``/v1/collections``: collections (source + extractor), their documents, and triggers."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from warehouse.batch.runner import collection_vector_specs
from warehouse.batch.submit import queue_batch
from warehouse.catalog import Batch, Bucket, Collection, Namespace, Object, Retriever
from warehouse.extractors.loader import code_version
from warehouse.ids import new_id, uuid_from_document_id
from warehouse.index.bm25 import bm25_index, has_text_input
from warehouse.retrieval.deps import namespace, services
from warehouse.retrieval.errors import ApiError, not_found
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.routes.common import get_bucket, get_collection, page_args
from warehouse.retrieval.schemas import (
    CreateCollectionRequest,
    ListRequest,
    TriggerCollectionRequest,
)
from warehouse.retrieval.service import Services
from warehouse.retrieval.views import collection_view, document_view, listing

router = APIRouter(tags=["collections"])


def _doc_count(svc: Services, c: Collection) -> int:
    return svc.index.count(c.namespace_id, {"must": [{"key": "collection_id", "match": {"value": c.collection_id}}]})


def _view(svc: Services, c: Collection, hashed: dict | None = None) -> dict:
    """The collection with ``index_status``: is the index written by the extractor's current code?

    ``hashed`` memoises folder hashes across the collections of one listing (many share an extractor).
    """
    out = collection_view(c, _doc_count(svc, c))
    fe = c.feature_extractor or {}
    indexed = (c.metadata_ or {}).get("_indexed") or {}
    hashed = {} if hashed is None else hashed
    try:
        # Hash the folder now: an extractor edited on disk shows as a new version before anything reloads it.
        path = svc.registry.get(fe.get("feature_extractor_name"), fe.get("version")).path
        current = hashed[path] if path in hashed else hashed.setdefault(path, code_version(path))
    except (LookupError, OSError):
        current = None
    out["index_status"] = {
        "indexed_code_version": indexed.get("code_version"), "current_code_version": current,
        "last_batch_id": indexed.get("batch_id"), "last_dagster_run_id": indexed.get("dagster_run_id"),
        "stale": bool(indexed.get("code_version")) and indexed.get("code_version") != current,
    }
    return out


_PASSTHROUGH_INDEX = {"string": "keyword", "integer": "integer", "number": "float", "float": "float",
                      "boolean": "bool", "date": "datetime", "datetime": "datetime"}


def _payload_indexes(ns: Namespace, c: Collection, schemas: list[dict]) -> dict[str, str]:
    """The namespace's declared payload indexes, plus one per passed-through field of a filterable type."""
    out = {i["field_name"]: i["type"] for i in ns.payload_indexes or []}
    props: dict[str, dict] = {}
    for schema in schemas:
        props.update(schema.get("properties") or {})
    for item in c.feature_extractor.get("field_passthrough") or []:
        source = item if isinstance(item, str) else item.get("source_path")
        target = item if isinstance(item, str) else (item.get("target_path") or source)
        kind = _PASSTHROUGH_INDEX.get((props.get(source) or {}).get("type"))
        if kind and target:
            out.setdefault(target, kind)
    return out


@router.post("/v1/collections", summary="Create a collection")
def create_collection(body: CreateCollectionRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    if body.feature_extractor is None:
        raise ApiError(422, "a collection needs feature_extractor: {feature_extractor_name, version, input_mappings}",
                       {"location": "feature_extractor"})
    if body.source.type != "bucket":
        raise ApiError(422, f"source type {body.source.type!r} is not supported yet; use 'bucket'", {"location": "source.type"})
    if not body.source.bucket_ids:
        raise ApiError(422, "source.bucket_ids must name at least one bucket", {"location": "source.bucket_ids"})
    fe = body.feature_extractor
    try:
        ext = svc.registry.get(fe.feature_extractor_name, fe.version)
    except LookupError as exc:
        raise ApiError(422, str(exc), {"location": "feature_extractor"}) from exc
    params = {**(fe.params or {}), **(fe.parameters or {})}
    params.pop("extractor_type", None)
    schema_props = ext.spec.parameter_schema.get("properties")
    if schema_props:
        unknown = sorted(set(params) - set(schema_props))
        if unknown:
            raise ApiError(422, f"unknown parameter(s) {unknown} for {ext.spec.ref}; allowed: {sorted(schema_props)}",
                           {"location": "feature_extractor.parameters"})
    if ext.spec.chunking:
        from warehouse.batch.chunking import split_text
        try:
            split_text("probe text", params.get("split_by", ext.spec.parameter_defaults.get("split_by", "none")),
                       int(params.get("chunk_size", 1000)), int(params.get("chunk_overlap", 0)))
        except ValueError as exc:
            raise ApiError(422, f"feature_extractor.parameters: {exc}", {"location": "feature_extractor.parameters"}) from exc
    if not ext.spec.vector_features:
        raise ApiError(422, f"extractor {ext.spec.ref} declares no embedding feature, so the collection would have no "
                       "vector index", {"location": "feature_extractor"})
    with svc.catalog.session() as s:
        buckets = [get_bucket(s, ns.namespace_id, b) for b in body.source.bucket_ids]
        bucket_ids = [b.bucket_id for b in buckets]
        schemas = [b.bucket_schema or {} for b in buckets]
        if s.query(Collection).filter(Collection.namespace_id == ns.namespace_id,
                                      Collection.collection_name == body.collection_name).count():
            raise ApiError(409, f"collection {body.collection_name!r} already exists in this namespace")
        if isinstance(fe.input_mappings, dict):
            for path in fe.input_mappings.values():
                if not isinstance(path, str):
                    raise ApiError(422, "input_mappings values must be object paths (strings)",
                                   {"location": "feature_extractor.input_mappings"})
        passthrough = [p if isinstance(p, str) else p.model_dump(exclude_none=True) for p in fe.field_passthrough or []]
        collection_id = new_id("col")
        vector_indexes = [{
            "name": f.feature_name, "feature_uri": ext.spec.feature_uri(f), "type": "single",
            "index": {"name": ext.spec.vector_name(f), "dimensions": f.embedding_dim, "distance": f.distance_metric,
                      "type": "dense"},
            "feature_extractor": ext.spec.ref,
        } for f in ext.spec.vector_features]
        if has_text_input(ext):
            vector_indexes.append(bm25_index(ext))
        c = Collection(
            collection_id=collection_id, namespace_id=ns.namespace_id, collection_name=body.collection_name,
            description=body.description, source={"type": "bucket", "bucket_ids": bucket_ids},
            feature_extractor={"feature_extractor_name": ext.spec.name, "version": ext.spec.version,
                               "feature_extractor_id": ext.spec.extractor_id,
                               "input_mappings": fe.input_mappings, "field_passthrough": passthrough,
                               "parameters": params},
            vector_indexes=vector_indexes, metadata_=body.metadata or {},
            enabled=0 if body.enabled is False else 1,
        )
        s.add(c)
    svc.index.ensure_vectors(ns.namespace_id, collection_vector_specs(ext, c))
    svc.index.ensure_payload_indexes(ns.namespace_id, _payload_indexes(ns, c, schemas))
    svc.dagster.add_partition("collections", c.collection_id)
    _event(svc, "collection.created", c)
    return collection_view(c)


def _event(svc: Services, event_type: str, c: Collection) -> None:
    svc.record_event(event_type, c.namespace_id, c.collection_id,
                     {"collection_id": c.collection_id, "collection_name": c.collection_name},
                     f"{event_type}:{c.collection_id}")


@router.get("/v1/collections", summary="List collections")
def list_collections_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0),
                         ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, ListRequest(limit=limit, offset=offset))


@router.post("/v1/collections/list", summary="List collections")
def list_collections(body: ListRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, body or ListRequest())


def _list(svc: Services, ns: Namespace, body: ListRequest):
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    with svc.catalog.session() as s:
        q = s.query(Collection).filter(Collection.namespace_id == ns.namespace_id)
        if body.search:
            q = q.filter(Collection.collection_name.contains(body.search))
        total = q.count()
        rows = q.order_by(Collection.created_at).offset(offset).limit(limit).all()
    hashed: dict = {}
    return listing([_view(svc, c, hashed) for c in rows], total, limit, offset)


@router.get("/v1/collections/{collection_identifier}", summary="Get a collection (with vector_indexes[].feature_uri)")
def get_collection_route(collection_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
    return _view(svc, c)


@router.get("/v1/collections/{collection_identifier}/features", summary="Feature URIs of a collection")
def collection_features(collection_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
    return {"collection_id": c.collection_id, "features": c.vector_indexes}


@router.delete("/v1/collections/{collection_identifier}", summary="Delete a collection and its documents")
def delete_collection(collection_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
        busy = [b.batch_id for b in s.query(Batch).filter(Batch.namespace_id == ns.namespace_id,
                                                         Batch.status.in_(["QUEUED", "PROCESSING"]))
                if c.collection_id in (b.collection_ids or [])]
        if busy:
            raise ApiError(409, f"collection is being processed by batch(es) {busy}; cancel them first")
        users = [r.retriever_name for r in s.query(Retriever).filter(Retriever.namespace_id == ns.namespace_id)
                 if c.collection_id in (r.collection_ids or [])]
        s.delete(c)
    svc.lookups.forget("collections")
    svc.index.delete(ns.namespace_id, {"must": [{"key": "collection_id", "match": {"value": c.collection_id}}]})
    svc.dagster.delete_partition("collections", c.collection_id)
    _event(svc, "collection.deleted", c)
    return {"success": True, "collection_id": c.collection_id, "message": "collection deleted",
            "warnings": [f"retriever {u!r} still references this collection" for u in users]}


@router.post("/v1/collections/{collection_identifier}/trigger", status_code=202, summary="Process the collection's sources")
def trigger(collection_identifier: str, body: TriggerCollectionRequest | None = None, ns: Namespace = Depends(namespace),
            svc: Services = Depends(services)):
    body = body or TriggerCollectionRequest()
    batches = []
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
        for bucket_id in c.source.get("bucket_ids", []):
            if body.include_buckets and bucket_id not in body.include_buckets:
                continue
            q = s.query(Object.object_id).filter(Object.bucket_id == bucket_id)
            if body.object_ids:
                q = q.filter(Object.object_id.in_(body.object_ids))
            object_ids = [o for (o,) in q.order_by(Object.created_at)]
            if not object_ids:
                continue
            batch = Batch(batch_id=new_id("btch"), namespace_id=ns.namespace_id, bucket_id=bucket_id,
                          batch_name=f"trigger:{c.collection_name}", object_ids=object_ids,
                          collection_ids=[c.collection_id])
            s.add(batch)
            queue_batch(s, batch)
            batches.append(batch)
    for b in batches:
        svc.dispatch(b.batch_id)
    if not batches:
        raise ApiError(422, "the collection's source buckets hold no objects to process", {"collection_id": c.collection_id})
    return {"task_id": batches[0].task_id, "task_ids": [b.task_id for b in batches], "batch_id": batches[0].batch_id,
            "batch_ids": [b.batch_id for b in batches], "collection_id": c.collection_id, "total_tiers": 1,
            "object_count": sum(len(b.object_ids) for b in batches),
            "message": f"processing {sum(len(b.object_ids) for b in batches)} object(s) in {len(batches)} batch(es)"}


# -- documents -----------------------------------------------------------------------------------------
def _vector_names(c: Collection) -> dict[str, str]:
    return {vi["index"]["name"]: vi["name"] for vi in c.vector_indexes or []}


def list_documents_in(svc: Services, ns_id: str, collections: list[Collection], body: ListRequest) -> dict:
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size, default=10)
    compiled = compile_filter(body.filters, "filters")
    flt = {"must": [{"key": "collection_id", "match": {"any": [c.collection_id for c in collections]}}]}
    if compiled is not None and compiled.qdrant is not None:
        flt["must"].append(compiled.qdrant)
    with_vectors = bool(body.return_vectors)
    names = {k: v for c in collections for k, v in _vector_names(c).items()}
    if compiled is None or compiled.qdrant is not None:
        total = svc.index.count(ns_id, flt)
        hits, cursor, skip = [], body.cursor, offset
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
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
    return list_documents_in(svc, ns.namespace_id, [c], body or ListRequest())


@router.get("/v1/collections/{collection_identifier}/documents", summary="List documents")
def list_documents_get(collection_identifier: str, limit: int | None = Query(None, ge=1, le=1000),
                       offset: int | None = Query(None, ge=0), ns: Namespace = Depends(namespace),
                       svc: Services = Depends(services)):
    return list_documents(collection_identifier, ListRequest(limit=limit, offset=offset), ns, svc)


def _document(svc: Services, ns_id: str, document_id: str, collection: Collection | None, with_vectors: bool = False):
    try:
        point = str(uuid_from_document_id(document_id))
    except ValueError as exc:
        raise ApiError(422, f"malformed document id {document_id!r}: {exc}", {"document_id": document_id}) from exc
    hits = svc.index.retrieve(ns_id, [point], with_vectors=with_vectors)
    if not hits or (collection is not None and hits[0].payload.get("collection_id") != collection.collection_id):
        raise not_found("document", document_id)
    return hits[0]


@router.get("/v1/collections/{collection_identifier}/documents/{document_id}", summary="Get a document")
def get_document(collection_identifier: str, document_id: str, return_vectors: bool = False,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
    return document_view(_document(svc, ns.namespace_id, document_id, c, return_vectors), return_vectors, _vector_names(c))


@router.get("/v1/documents/{document_id}", summary="Get a document by id (namespace-wide)")
def get_document_any(document_id: str, return_vectors: bool = False, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    return document_view(_document(svc, ns.namespace_id, document_id, None, return_vectors), return_vectors)


def _lineage(svc: Services, ns: Namespace, document_id: str, collection: Collection | None) -> dict:
    hit = _document(svc, ns.namespace_id, document_id, collection)
    payload = hit.payload or {}
    lineage = dict((payload.get("_internal") or {}).get("lineage") or {})
    with svc.catalog.session() as s:
        obj = s.get(Object, lineage.get("source_object_id") or payload.get("source_object_id"))
        bucket = s.get(Bucket, obj.bucket_id) if obj else None
        batch = s.get(Batch, lineage.get("batch_id")) if lineage.get("batch_id") else None
        coll = s.get(Collection, payload.get("collection_id"))
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
        "chain": [x for x in (
            {"type": "bucket", "id": bucket.bucket_id} if bucket else None,
            {"type": "object", "id": obj.object_id} if obj else None,
            {"type": "batch", "id": batch.batch_id} if batch else None,
            {"type": "dagster_run", "id": lineage["dagster_run_id"]} if lineage.get("dagster_run_id") else None,
            {"type": "collection", "id": payload.get("collection_id")},
            {"type": "document", "id": document_id}) if x],
    }


@router.get("/v1/collections/{collection_identifier}/documents/{document_id}/lineage", summary="Lineage of a document")
def document_lineage(collection_identifier: str, document_id: str, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, collection_identifier)
    return _lineage(svc, ns, document_id, c)


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


