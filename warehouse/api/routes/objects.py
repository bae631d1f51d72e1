"""``/v1/buckets/{bucket}/objects``: objects and their blobs, with the documents they produced."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response

from warehouse.api.deps import namespace, services
from warehouse.api.listing import selection, sort_keys, sort_rows
from warehouse.api.schemas import (
    CreateObjectRequest,
    CreateObjectsBatchRequest,
    ListRequest,
    ObjectAggregationRequest,
    UpdateObjectRequest,
)
from warehouse.api.views import listing, object_view
from warehouse.catalog import Namespace, Object
from warehouse.catalog import buckets as bucket_ops
from warehouse.catalog.batches import queue_objects
from warehouse.catalog.lookups import get_bucket, get_object
from warehouse.catalog.objects import place_object, update_object
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.errors import WarehouseError
from warehouse.outbound import OutboundPolicy
from warehouse.retrieval.aggregation import Aggregator
from warehouse.retrieval.filters import compile_filter, project
from warehouse.services import Services
from warehouse.storage.base import DOWNLOAD_URL_SECONDS

router = APIRouter(prefix="/v1/buckets", tags=["objects"])


#: the insertion policy under a bucket's unique key (the bucket's default_policy when left out)
Policy = Literal["insert", "update", "upsert"]


@router.post("/{bucket_identifier}/objects", summary="Create an object with blobs (or, under the bucket's unique "
             "key, update the one it matches)")
def create_object(bucket_identifier: str, body: CreateObjectRequest, auto_process: bool = False,
                  policy: Policy | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        obj, operation = place_object(s, svc.objects, bucket, body, OutboundPolicy.from_settings(svc.settings), policy)
        batch = None
        if auto_process and operation != "existing":
            batch = queue_objects(s, bucket, [obj.object_id], "auto_process")
        out = {**object_view(obj), "operation": operation}
    if batch is not None:
        svc.dispatch(batch.batch_id)
        out.update(batch_id=batch.batch_id, task_id=batch.task_id)
    return out


@router.post("/{bucket_identifier}/objects/batch", summary="Create up to 1,000 objects")
def create_objects_batch(bucket_identifier: str, body: CreateObjectsBatchRequest, auto_process: bool = False,
                         policy: Policy | None = None, ns: Namespace = Depends(namespace),
                         svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        placed, outbound = [], OutboundPolicy.from_settings(svc.settings)
        for i, item in enumerate(body.objects):
            try:
                placed.append(place_object(s, svc.objects, bucket, item, outbound, policy))
            except WarehouseError as exc:
                raise WarehouseError(exc.status, f"objects[{i}]: {exc.message}", {"index": i, **exc.details}) from exc
        touched = list(dict.fromkeys(o.object_id for o, op in placed if op != "existing"))
        batch = queue_objects(s, bucket, touched, "auto_process") if auto_process and touched else None
        views = [{**object_view(o), "operation": op} for o, op in placed]
    if batch is not None:
        svc.dispatch(batch.batch_id)
    return {"objects": views, "count": len(views),
            "batch_id": batch.batch_id if batch else None, "task_id": batch.task_id if batch else None}


@router.get("/{bucket_identifier}/objects", summary="List objects")
def list_objects_get(bucket_identifier: str, limit: int | None = Query(None, ge=1, le=1000),
                     offset: int | None = Query(None, ge=0, le=MAX_OFFSET), ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    return _list_objects(svc, ns, bucket_identifier, ListRequest(limit=limit, offset=offset))


@router.post("/{bucket_identifier}/objects/list", summary="List objects")
def list_objects(bucket_identifier: str, body: ListRequest | None = None, ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):
    return _list_objects(svc, ns, bucket_identifier, body or ListRequest())


def _list_objects(svc: Services, ns: Namespace, bucket_identifier: str, body: ListRequest):
    """The bucket's objects, oldest first unless sorted; ``filters`` (the filter language of documents, over the
    object as it is shown), ``search`` and a sort by a field that is not a column read the bucket's objects in
    pages and page the matches here; otherwise the catalog pages them itself."""
    body.refuse_unhonoured("filters", "search", "sort", "sorts", "select", "return_presigned_urls")
    presign = _presigner(svc) if body.return_presigned_urls else None
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size, default=100)
    compiled = compile_filter(body.filters, "filters")
    sorts = sort_keys(body.sort, body.sorts)
    term = _search_term(body.search)
    select = selection(body.select)
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        q = s.query(Object).filter(Object.bucket_id == bucket.bucket_id)
        if compiled is None and term is None and all(f in _SORT_COLUMNS for f, _ in sorts):
            total = q.count()
            order = [(_SORT_COLUMNS[f].desc() if desc else _SORT_COLUMNS[f].asc()).nulls_last() for f, desc in sorts]
            rows = q.order_by(*order, Object.created_at, Object.object_id).offset(offset).limit(limit).all()
            views = [object_view(o) for o in rows]
        else:
            views = [v for o in _objects_in(s, bucket.bucket_id) if (v := _shown_if_matching(o, compiled, term))]
            views = sort_rows(views, sorts)
            total, views = len(views), views[offset: offset + limit]
    if presign is not None:
        views = [_with_download_urls(svc, v, presign) for v in views]
    return listing([project(v, select, _ALWAYS_SELECTED) for v in views] if select else views, total, limit, offset)


def _presigner(svc: Services):
    presign = getattr(svc.objects, "presign_get", None)
    if presign is None:
        raise WarehouseError(422, "return_presigned_urls: this warehouse keeps blobs in local files, which no URL "
                             "signs; read blobs where their url points, or run with WAREHOUSE_OBJECT_STORE=s3",
                             {"location": "return_presigned_urls"})
    return presign


def _with_download_urls(svc: Services, view: dict, presign) -> dict:
    """The object with a ``presigned_url`` (valid for an hour) on each blob kept in the object store; blobs held
    inline or at an outside URL have none."""
    blobs = []
    for blob in view["blobs"]:
        key = svc.objects.key_from_url(blob["url"]) if isinstance(blob.get("url"), str) else None
        blobs.append({**blob, "presigned_url": presign(key, DOWNLOAD_URL_SECONDS)} if key else blob)
    return {**view, "blobs": blobs}


#: object fields the catalog sorts by itself (a sort by any other field reads the bucket's objects)
_SORT_COLUMNS = {"created_at": Object.created_at, "updated_at": Object.updated_at, "object_id": Object.object_id,
                 "key_prefix": Object.key_prefix, "size_bytes": Object.size_bytes, "status": Object.status}
#: fields every selection keeps
_ALWAYS_SELECTED = ("object_id", "bucket_id")


def _objects_in(s, bucket_id: str):
    """The bucket's objects, oldest first, read from the catalog in pages."""
    return s.query(Object).filter(Object.bucket_id == bucket_id).order_by(Object.created_at,
                                                                           Object.object_id).yield_per(500)


def _shown_if_matching(o: Object, compiled, term: str | None = None) -> dict | None:
    """The object as shown when it mentions ``term`` and matches ``compiled``; None otherwise."""
    if term is not None and not _mentions(o, term):
        return None
    view = object_view(o)
    return view if compiled is None or compiled.matches(view) else None


def _search_term(search: str | None) -> str | None:
    return search.strip().casefold() if search and search.strip() else None


def _mentions(o: Object, term: str) -> bool:
    """Whether ``term`` (case folded) is in the object's key, its own fields' text or its blobs' names and URLs."""
    texts = [o.key_prefix or "", *_strings(o.fields or {})]
    for blob in o.blobs or []:
        texts += [str(blob.get(k)) for k in ("property", "url", "filename", "key") if blob.get(k)]
        texts += _strings(blob.get("metadata") or {})
    return any(term in t.casefold() for t in texts)


def _strings(value) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [t for v in value.values() for t in _strings(v)]
    if isinstance(value, list):
        return [t for v in value for t in _strings(v)]
    return []


@router.post("/{bucket_identifier}/objects/aggregate", summary="Count, sum, average… a bucket's objects by group")
def aggregate_objects(bucket_identifier: str, body: ObjectAggregationRequest, ns: Namespace = Depends(namespace),
                      svc: Services = Depends(services)):
    """One pass over the bucket's objects as they are shown (``warehouse.retrieval.aggregation``)."""
    compiled = compile_filter(body.filters, "filters")
    aggregator = Aggregator(body, group_by_required=True)
    scanned = 0
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        for o in _objects_in(s, bucket.bucket_id):
            scanned += 1
            if view := _shown_if_matching(o, compiled):
                aggregator.add(view)
    return aggregator.result(bucket_id=bucket.bucket_id, rows_scanned=scanned)


@router.get("/{bucket_identifier}/objects/{object_identifier}", summary="Get an object")
def get_object_route(bucket_identifier: str, object_identifier: str, include_document_count: bool = True,
               include_documents: bool = True, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    """The object, its document count, and (first 100) the documents it produced with their batch and run."""
    with svc.catalog.session() as s:
        obj = get_object(s, get_bucket(s, ns.namespace_id, bucket_identifier), object_identifier)
    flt = {"must": [{"key": "source_object_id", "match": {"value": obj.object_id}}]}
    count = svc.index.count(ns.namespace_id, flt) if include_document_count or include_documents else None
    out = object_view(obj, count if include_document_count else None)
    if include_documents:
        hits, _ = svc.index.scroll(ns.namespace_id, flt, limit=100)
        out["documents"] = [_document_ref(h.payload or {}) for h in hits]
    return out


def _document_ref(payload: dict) -> dict:
    lineage = (payload.get("_internal") or {}).get("lineage") or {}
    return {"document_id": payload.get("document_id"), "collection_id": payload.get("collection_id"),
            "blob_property": lineage.get("blob_property"), "chunk_index": lineage.get("chunk_index"),
            "batch_id": lineage.get("batch_id"), "dagster_run_id": lineage.get("dagster_run_id"),
            "feature_extractor": lineage.get("feature_extractor")}


@router.patch("/{bucket_identifier}/objects/{object_identifier}", summary="Update an object's fields or blobs")
@router.put("/{bucket_identifier}/objects/{object_identifier}", summary="Update an object's fields or blobs")
def update_object_route(bucket_identifier: str, object_identifier: str, body: UpdateObjectRequest,
                        auto_process: bool = False, ns: Namespace = Depends(namespace),
                        svc: Services = Depends(services)):
    changes = {k: v for k, v in body.model_dump(exclude_unset=True).items() if k != "blobs"}
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        obj = get_object(s, bucket, object_identifier)
        changed = update_object(s, svc.objects, bucket, obj, changes, body.blobs,
                                OutboundPolicy.from_settings(svc.settings))
        batch = queue_objects(s, bucket, [obj.object_id], "auto_process") if auto_process and changed else None
        out = {**object_view(obj), "operation": "updated" if changed else "unchanged"}
    if batch is not None:
        svc.dispatch(batch.batch_id)
        out.update(batch_id=batch.batch_id, task_id=batch.task_id)
    return out


@router.delete("/{bucket_identifier}/objects/{object_identifier}", status_code=204,
               summary="Delete an object and its documents")
def delete_object(bucket_identifier: str, object_identifier: str, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        obj = get_object(s, bucket, object_identifier)
    bucket_ops.delete_object(svc, ns, bucket, obj)
    return Response(status_code=204)
