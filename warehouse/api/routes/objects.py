"""``/v1/buckets/{bucket}/objects``: objects and their blobs, with the documents they produced."""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Query, Response

from warehouse.api.deps import namespace, services
from warehouse.api.schemas import (
    CreateObjectRequest,
    CreateObjectsBatchRequest,
    ListRequest,
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
from warehouse.services import Services

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
    body.refuse_unhonoured()
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size, default=100)
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        q = s.query(Object).filter(Object.bucket_id == bucket.bucket_id)
        total = q.count()
        rows = q.order_by(Object.created_at, Object.object_id).offset(offset).limit(limit).all()
    return listing([object_view(o) for o in rows], total, limit, offset)



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
