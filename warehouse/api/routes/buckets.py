"""``/v1/buckets``: buckets (their objects are in ``objects.py``, their batches in ``batches.py``)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query

from warehouse.api.deps import namespace, services
from warehouse.api.schemas import CreateBucketRequest, ListRequest, UpdateBucketRequest
from warehouse.api.views import bucket_view, listing
from warehouse.catalog import Bucket, Namespace
from warehouse.catalog import buckets as bucket_ops
from warehouse.catalog.lookups import get_bucket
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.errors import refuse_set
from warehouse.services import Services

router = APIRouter(prefix="/v1/buckets", tags=["buckets"])


@router.post("", summary="Create a bucket")
def create_bucket(body: CreateBucketRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    refuse_set({"storage_class": body.storage_class if body.storage_class != "standard" else None,
                "destination": body.destination, "ingest_filter": body.ingest_filter,
                "source_adapter": body.source_adapter},
               dict.fromkeys(("storage_class", "destination", "ingest_filter", "source_adapter"),
                             "not supported by this server; leave it out"))
    bucket = bucket_ops.create_bucket(
        svc, ns, body.bucket_name, body.bucket_schema.model_dump(exclude_none=True) if body.bucket_schema else None,
        body.description, body.unique_key, body.metadata)
    return bucket_view(bucket)


@router.get("", summary="List buckets")
def list_buckets_get(search: str | None = None, limit: int | None = Query(None, ge=1, le=1000),
                     offset: int | None = Query(None, ge=0, le=MAX_OFFSET), ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    return _list_buckets(svc, ns, ListRequest(search=search, limit=limit, offset=offset))


@router.post("/list", summary="List buckets")
def list_buckets(body: ListRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list_buckets(svc, ns, body or ListRequest())


def _list_buckets(svc: Services, ns: Namespace, body: ListRequest):
    body.refuse_unhonoured("search")
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    with svc.catalog.session() as s:
        q = s.query(Bucket).filter(Bucket.namespace_id == ns.namespace_id)
        if body.search:
            q = q.filter(Bucket.bucket_name.contains(body.search))
        total = q.count()
        rows = [bucket_view(b, *bucket_ops.bucket_stats(s, b.bucket_id)) for b in q.order_by(Bucket.created_at).offset(offset).limit(limit)]
    return listing(rows, total, limit, offset)


@router.get("/{bucket_identifier}", summary="Get a bucket by id or name")
def get_bucket_route(bucket_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        b = get_bucket(s, ns.namespace_id, bucket_identifier)
        return bucket_view(b, *bucket_ops.bucket_stats(s, b.bucket_id))


@router.patch("/{bucket_identifier}", summary="Update a bucket (the keys given; the schema may only grow)")
@router.put("/{bucket_identifier}", summary="Update a bucket (the keys given; the schema may only grow)")
def update_bucket_route(bucket_identifier: str, body: UpdateBucketRequest, ns: Namespace = Depends(namespace),
                        svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        b = get_bucket(s, ns.namespace_id, bucket_identifier)
    b = bucket_ops.update_bucket(svc, ns, b, body.model_dump(exclude_unset=True))
    with svc.catalog.session() as s:
        return bucket_view(b, *bucket_ops.bucket_stats(s, b.bucket_id))


@router.delete("/{bucket_identifier}", summary="Delete a bucket, its objects and their documents")
def delete_bucket(bucket_identifier: str, force: bool = False, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    bucket_id = bucket_ops.delete_bucket(svc, ns, bucket_identifier, force)
    return {"success": True, "bucket_id": bucket_id, "message": "bucket deleted"}
