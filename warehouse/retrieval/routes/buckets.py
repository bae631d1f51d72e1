"""``/v1/buckets``: buckets, their objects and their batches."""

from __future__ import annotations

import base64
import binascii
import json

from fastapi import APIRouter, Depends, Query, Response
from sqlalchemy import func

from warehouse.batch.submit import collections_of_bucket, queue_batch, queue_objects
from warehouse.catalog import Batch, Bucket, Collection, Namespace, Object
from warehouse.ids import content_etag, new_id
from warehouse.retrieval.deps import namespace, services
from warehouse.retrieval.errors import ApiError, not_found
from warehouse.retrieval.routes.common import get_bucket, get_collection, page_args
from warehouse.retrieval.schemas import (
    BLOB_TYPES,
    AddObjectsRequest,
    BlobRequest,
    CreateBatchRequest,
    CreateBucketRequest,
    CreateObjectRequest,
    CreateObjectsBatchRequest,
    ListRequest,
    SubmitBatchRequest,
)
from warehouse.retrieval.service import Services
from warehouse.retrieval.views import batch_view, bucket_view, listing, object_view, task_view

router = APIRouter(prefix="/v1/buckets", tags=["buckets"])
_MIME = {"text": "text/plain", "image": "image/*", "audio": "audio/*", "video": "video/*", "pdf": "application/pdf",
         "excel": "application/vnd.ms-excel", "string": "text/plain", "json": "application/json"}


def _bucket_stats(s, bucket_id: str) -> tuple[int, int]:
    count, size = s.query(func.count(Object.object_id), func.coalesce(func.sum(Object.size_bytes), 0)).filter(
        Object.bucket_id == bucket_id).one()
    return int(count), int(size)


# -- buckets -------------------------------------------------------------------------------------------
@router.post("", summary="Create a bucket")
def create_bucket(body: CreateBucketRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        clash = s.query(Bucket).filter(Bucket.namespace_id == ns.namespace_id, Bucket.bucket_name == body.bucket_name).one_or_none()
        if clash is not None:
            raise ApiError(409, f"bucket {body.bucket_name!r} already exists in this namespace", {"bucket_id": clash.bucket_id})
        bucket = Bucket(
            bucket_id=new_id("bkt"), namespace_id=ns.namespace_id, bucket_name=body.bucket_name,
            description=body.description,
            bucket_schema=body.bucket_schema.model_dump(exclude_none=True) if body.bucket_schema else {"properties": {}},
            unique_key=body.unique_key, metadata_=body.metadata or {},
        )
        s.add(bucket)
    svc.dagster.add_partition("buckets", bucket.bucket_id)
    return bucket_view(bucket)


@router.get("", summary="List buckets")
def list_buckets_get(search: str | None = None, limit: int | None = Query(None, ge=1, le=1000),
                     offset: int | None = Query(None, ge=0), ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    return _list_buckets(svc, ns, ListRequest(search=search, limit=limit, offset=offset))


@router.post("/list", summary="List buckets")
def list_buckets(body: ListRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list_buckets(svc, ns, body or ListRequest())


def _list_buckets(svc: Services, ns: Namespace, body: ListRequest):
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    with svc.catalog.session() as s:
        q = s.query(Bucket).filter(Bucket.namespace_id == ns.namespace_id)
        if body.search:
            q = q.filter(Bucket.bucket_name.contains(body.search))
        total = q.count()
        rows = [bucket_view(b, *_bucket_stats(s, b.bucket_id)) for b in q.order_by(Bucket.created_at).offset(offset).limit(limit)]
    return listing(rows, total, limit, offset)


@router.get("/{bucket_identifier}", summary="Get a bucket by id or name")
def get_bucket_route(bucket_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        b = get_bucket(s, ns.namespace_id, bucket_identifier)
        return bucket_view(b, *_bucket_stats(s, b.bucket_id))


@router.delete("/{bucket_identifier}", summary="Delete a bucket, its objects and their documents")
def delete_bucket(bucket_identifier: str, force: bool = False, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        b = get_bucket(s, ns.namespace_id, bucket_identifier)
        users = [c.collection_name for c in s.query(Collection).filter(Collection.namespace_id == ns.namespace_id)
                 if b.bucket_id in (c.source or {}).get("bucket_ids", [])]
        if users and not force:
            raise ApiError(409, f"bucket is the source of collection(s) {users}; delete them first or pass ?force=true",
                           {"collections": users})
        busy = s.query(Batch).filter(Batch.bucket_id == b.bucket_id, Batch.status.in_(["QUEUED", "PROCESSING"])).count()
        if busy:
            raise ApiError(409, f"bucket has {busy} batch(es) in progress; cancel them first")
        bucket_id = b.bucket_id
        s.query(Object).filter(Object.bucket_id == bucket_id).delete()
        s.query(Batch).filter(Batch.bucket_id == bucket_id).delete()
        s.query(Bucket).filter(Bucket.bucket_id == bucket_id).delete()
    svc.index.delete(ns.namespace_id, {"must": [{"key": "bucket_id", "match": {"value": bucket_id}}]})
    svc.objects.delete_prefix(f"{ns.namespace_id}/{bucket_id}/")
    svc.dagster.delete_partition("buckets", bucket_id)
    return {"success": True, "bucket_id": bucket_id, "message": "bucket deleted"}


# -- objects -------------------------------------------------------------------------------------------
def _blob_record(svc: Services, ns_id: str, bucket: Bucket, object_id: str, blob: BlobRequest, index: int) -> dict:
    props = (bucket.bucket_schema or {}).get("properties", {})
    where = f"blobs[{index}]"
    if props and blob.property not in props:
        raise ApiError(422, f"{where}: property {blob.property!r} is not in the bucket schema; properties: {sorted(props)}",
                       {"location": where})
    declared = props.get(blob.property, {}).get("type")
    if declared and declared in BLOB_TYPES and blob.type in BLOB_TYPES and declared != blob.type:
        raise ApiError(422, f"{where}: property {blob.property!r} is declared as {declared!r}, the blob says {blob.type!r}",
                       {"location": where})
    if blob.upload_id:
        raise ApiError(400, f"{where}: upload_id references are not supported by this server yet; send the content "
                       "inline in 'data' (text, base64, or an s3:// / https:// URL)", {"location": where})
    record = {"blob_id": new_id("blob"), "property": blob.property, "type": blob.type,
              "mime_type": blob.mime_type or blob.content_type or _MIME.get(blob.type), "metadata": blob.metadata or {}}
    if blob.type in ("text", "string", "json"):
        if blob.data is None:
            raise ApiError(422, f"{where}: a {blob.type} blob needs 'data'", {"location": where})
        data = blob.data if isinstance(blob.data, str) else json.dumps(blob.data)
        record.update(data=data, size_bytes=len(data.encode("utf-8")))
        return record
    if not isinstance(blob.data, str) or not blob.data:
        raise ApiError(422, f"{where}: a {blob.type} blob needs 'data' as base64 or a URL", {"location": where})
    if blob.data.startswith(("s3://", "http://", "https://")):
        record.update(url=blob.data, size_bytes=0)
        return record
    if blob.data.startswith("file://") or "://" in blob.data[:16]:
        raise ApiError(422, f"{where}: URL scheme not accepted; use s3://, https:// or base64 content", {"location": where})
    try:
        raw = base64.b64decode(blob.data.split(",", 1)[-1] if blob.data.startswith("data:") else blob.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ApiError(422, f"{where}: 'data' is neither a URL nor valid base64 ({exc})", {"location": where}) from exc
    key = f"{ns_id}/{bucket.bucket_id}/{object_id}/{record['blob_id']}"
    record.update(url=svc.objects.put(key, raw, record["mime_type"]), size_bytes=len(raw), checksum=content_etag(raw))
    return record


def create_object_record(svc: Services, ns: Namespace, bucket: Bucket, body: CreateObjectRequest) -> Object:
    fields = dict(body.model_extra or {})
    if body.metadata:
        fields.setdefault("metadata", body.metadata)
        for k, v in body.metadata.items():
            fields.setdefault(k, v)
    object_id = new_id("obj")
    blobs = [_blob_record(svc, ns.namespace_id, bucket, object_id, b, i) for i, b in enumerate(body.blobs)]
    for b in blobs:
        for k, v in (b.get("metadata") or {}).items():
            fields.setdefault(k, v)
    props = (bucket.bucket_schema or {}).get("properties", {})
    present = {b["property"] for b in blobs} | set(fields)
    missing = [name for name, p in props.items() if p.get("required") and name not in present]
    if missing:
        raise ApiError(422, f"object is missing required schema propert(ies) {missing}", {"missing": missing})
    if not blobs and not fields:
        raise ApiError(422, "an object needs at least one blob or field", {"location": "blobs"})
    fingerprint = json.dumps([[b["property"], b.get("data") or b.get("checksum") or b.get("url")] for b in blobs]
                             + [fields], sort_keys=True, default=str)
    return Object(object_id=object_id, namespace_id=ns.namespace_id, bucket_id=bucket.bucket_id,
                  key_prefix=body.key_prefix, blobs=blobs, fields=fields, etag=content_etag(fingerprint),
                  size_bytes=sum(int(b.get("size_bytes") or 0) for b in blobs))


@router.post("/{bucket_identifier}/objects", summary="Create an object with blobs")
def create_object(bucket_identifier: str, body: CreateObjectRequest, auto_process: bool = False,
                  ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        obj = create_object_record(svc, ns, bucket, body)
        s.add(obj)
        batch = None
        if auto_process:
            batch = _auto_batch(svc, s, ns, bucket, [obj.object_id])
    if batch is not None:
        svc.dispatch(batch.batch_id)
    out = object_view(obj)
    if batch is not None:
        out.update(batch_id=batch.batch_id, task_id=batch.task_id)
    return out


def _auto_batch(svc: Services, s, ns: Namespace, bucket: Bucket, object_ids: list[str]) -> Batch | None:
    return queue_objects(s, bucket, object_ids, "auto_process")


@router.post("/{bucket_identifier}/objects/batch", summary="Create up to 1,000 objects")
def create_objects_batch(bucket_identifier: str, body: CreateObjectsBatchRequest, auto_process: bool = False,
                         ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        objs = []
        for i, item in enumerate(body.objects):
            try:
                objs.append(create_object_record(svc, ns, bucket, item))
            except ApiError as exc:
                raise ApiError(exc.status, f"objects[{i}]: {exc.message}", {"index": i, **exc.details}) from exc
        s.add_all(objs)
        batch = _auto_batch(svc, s, ns, bucket, [o.object_id for o in objs]) if auto_process else None
    if batch is not None:
        svc.dispatch(batch.batch_id)
    return {"objects": [object_view(o) for o in objs], "count": len(objs),
            "batch_id": batch.batch_id if batch else None, "task_id": batch.task_id if batch else None}


@router.get("/{bucket_identifier}/objects", summary="List objects")
def list_objects_get(bucket_identifier: str, limit: int | None = Query(None, ge=1, le=1000),
                     offset: int | None = Query(None, ge=0), ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    return _list_objects(svc, ns, bucket_identifier, ListRequest(limit=limit, offset=offset))


@router.post("/{bucket_identifier}/objects/list", summary="List objects")
def list_objects(bucket_identifier: str, body: ListRequest | None = None, ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):
    return _list_objects(svc, ns, bucket_identifier, body or ListRequest())


def _list_objects(svc: Services, ns: Namespace, bucket_identifier: str, body: ListRequest):
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size, default=100)
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        q = s.query(Object).filter(Object.bucket_id == bucket.bucket_id)
        total = q.count()
        rows = q.order_by(Object.created_at, Object.object_id).offset(offset).limit(limit).all()
    return listing([object_view(o) for o in rows], total, limit, offset)


def _get_object(s, bucket: Bucket, object_identifier: str) -> Object:
    obj = s.get(Object, object_identifier)
    if obj is None or obj.bucket_id != bucket.bucket_id:
        raise not_found("object", object_identifier, bucket_id=bucket.bucket_id)
    return obj


@router.get("/{bucket_identifier}/objects/{object_identifier}", summary="Get an object")
def get_object(bucket_identifier: str, object_identifier: str, include_document_count: bool = True,
               include_documents: bool = True, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    """The object, its document count, and (first 100) the documents it produced with their batch and run."""
    with svc.catalog.session() as s:
        obj = _get_object(s, get_bucket(s, ns.namespace_id, bucket_identifier), object_identifier)
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


@router.delete("/{bucket_identifier}/objects/{object_identifier}", summary="Delete an object and its documents")
def delete_object(bucket_identifier: str, object_identifier: str, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        obj = _get_object(s, bucket, object_identifier)
        s.delete(obj)
    svc.index.delete(ns.namespace_id, {"must": [{"key": "source_object_id", "match": {"value": obj.object_id}}]})
    svc.objects.delete_prefix(f"{ns.namespace_id}/{bucket.bucket_id}/{obj.object_id}/")
    return Response(status_code=204)


# -- batches -------------------------------------------------------------------------------------------
def _check_batch_members(s, ns: Namespace, bucket: Bucket, object_ids: list[str], collection_ids: list[str]) -> list[str]:
    if object_ids:
        found = {o for (o,) in s.query(Object.object_id).filter(Object.object_id.in_(object_ids),
                                                               Object.bucket_id == bucket.bucket_id)}
        missing = [o for o in object_ids if o not in found]
        if missing:
            raise ApiError(404, f"object(s) {missing[:10]} not found in bucket {bucket.bucket_name!r}",
                           {"missing_object_ids": missing[:100]})
    resolved = []
    for cid in collection_ids:
        c = get_collection(s, ns.namespace_id, cid)
        if bucket.bucket_id not in (c.source or {}).get("bucket_ids", []):
            raise ApiError(422, f"collection {c.collection_name!r} does not source bucket {bucket.bucket_name!r}",
                           {"collection_id": c.collection_id})
        resolved.append(c.collection_id)
    return resolved


@router.post("/{bucket_identifier}/batches", summary="Create a batch (DRAFT unless auto_submit)")
def create_batch(bucket_identifier: str, body: CreateBatchRequest | None = None, auto_submit: bool = False,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    body = body or CreateBatchRequest()
    submit = auto_submit or bool(body.auto_submit) or bool(body.trigger_processing)
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        object_ids = body.object_ids
        if object_ids is None:
            q = s.query(Object.object_id).filter(Object.bucket_id == bucket.bucket_id).order_by(Object.created_at)
            object_ids = [o for (o,) in (q.limit(body.limit) if body.limit else q)]
        collection_ids = body.collection_ids
        if collection_ids is None:
            collection_ids = [c.collection_id for c in collections_of_bucket(s, ns.namespace_id, bucket.bucket_id)]
        collection_ids = _check_batch_members(s, ns, bucket, object_ids, collection_ids)
        batch = Batch(batch_id=new_id("btch"), namespace_id=ns.namespace_id, bucket_id=bucket.bucket_id,
                      batch_name=body.batch_name, object_ids=list(dict.fromkeys(object_ids)),
                      collection_ids=collection_ids, metadata_=body.metadata or {})
        s.add(batch)
        if submit:
            _require_submittable(batch)
            queue_batch(s, batch)
    if submit:
        svc.dispatch(batch.batch_id)
    return batch_view(batch)


def _require_submittable(batch: Batch) -> None:
    if not batch.collection_ids:
        raise ApiError(422, "batch has no collections to process; pass collection_ids or create a collection "
                       "that sources this bucket", {"batch_id": batch.batch_id})
    if not batch.object_ids:
        raise ApiError(422, "batch has no objects", {"batch_id": batch.batch_id})


def _get_batch(s, bucket: Bucket, batch_id: str) -> Batch:
    batch = s.get(Batch, batch_id)
    if batch is None or batch.bucket_id != bucket.bucket_id:
        raise not_found("batch", batch_id, bucket_id=bucket.bucket_id)
    return batch


@router.post("/{bucket_identifier}/batches/{batch_id}/objects", summary="Add objects to a DRAFT batch")
def add_objects(bucket_identifier: str, batch_id: str, body: AddObjectsRequest, ns: Namespace = Depends(namespace),
                svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        batch = _get_batch(s, bucket, batch_id)
        if batch.status != "DRAFT":
            raise ApiError(409, f"batch is {batch.status}; objects can be added only to a DRAFT batch")
        _check_batch_members(s, ns, bucket, body.object_ids, [])
        batch.object_ids = list(dict.fromkeys([*(batch.object_ids or []), *body.object_ids]))
    return batch_view(batch)


@router.post("/{bucket_identifier}/batches/{batch_id}/submit", summary="Submit a batch for processing")
def submit_batch(bucket_identifier: str, batch_id: str, body: SubmitBatchRequest | None = None,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        batch = _get_batch(s, bucket, batch_id)
        if batch.status in ("QUEUED", "PROCESSING"):
            raise ApiError(409, f"batch is already {batch.status}", {"batch_id": batch_id, "task_id": batch.task_id})
        if body and body.collection_ids:
            batch.collection_ids = _check_batch_members(s, ns, bucket, [], body.collection_ids)
        _require_submittable(batch)
        task = queue_batch(s, batch)
    svc.dispatch(batch.batch_id)
    return task_view(task)


@router.get("/{bucket_identifier}/batches/{batch_id}", summary="Get a batch")
def get_batch(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        return batch_view(_get_batch(s, get_bucket(s, ns.namespace_id, bucket_identifier), batch_id))


@router.post("/{bucket_identifier}/batches/list", summary="List batches of a bucket")
def list_batches(bucket_identifier: str, body: ListRequest | None = None, ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):
    body = body or ListRequest()
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        q = s.query(Batch).filter(Batch.bucket_id == bucket.bucket_id)
        total = q.count()
        rows = q.order_by(Batch.created_at.desc()).offset(offset).limit(limit).all()
    return listing([batch_view(b) for b in rows], total, limit, offset)


@router.post("/{bucket_identifier}/batches/{batch_id}/cancel", summary="Cancel a batch")
def cancel_batch(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    from warehouse.retrieval.routes.batches import cancel_batch_by_id

    with svc.catalog.session() as s:
        _get_batch(s, get_bucket(s, ns.namespace_id, bucket_identifier), batch_id)
    return cancel_batch_by_id(svc, batch_id)
