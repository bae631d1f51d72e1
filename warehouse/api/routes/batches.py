"""Batches: a bucket's (``/v1/buckets/{bucket}/batches``), and by id at ``/v1/batches/{id}`` and
``/v1/tasks/{id}`` (bearer only, no namespace needed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from warehouse.api.deps import caller, namespace, services
from warehouse.api.schemas import (
    AddObjectsRequest,
    CreateBatchRequest,
    ListRequest,
    RetryBatchRequest,
    SubmitBatchRequest,
)
from warehouse.api.views import batch_view, listing, task_view
from warehouse.catalog import Batch, Namespace, Task, batches
from warehouse.catalog.api_keys import Grant
from warehouse.catalog.lookups import get_batch, get_bucket
from warehouse.catalog.paging import page_args
from warehouse.errors import WarehouseError, not_found
from warehouse.services import Services

router = APIRouter(tags=["batches", "tasks"])


def _owned_or_404(svc: Services, who: Grant, model, kind: str, identifier: str):
    """The row, if it exists and belongs to one of the caller's namespaces; else NotFound."""
    with svc.catalog.session() as s:
        row = s.get(model, identifier)
        if row is not None and row.namespace_id is not None:
            ns = s.get(Namespace, row.namespace_id)
            if ns is None or ns.organization_id != who.organization_id or not who.reaches(ns.namespace_id):
                row = None
    if row is None:
        raise not_found(kind, identifier)
    return row


@router.get("/v1/batches/{batch_id}", summary="Get a batch by id")
def get_batch_by_id(batch_id: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    return batch_view(_owned_or_404(svc, who, Batch, "batch", batch_id))


@router.post("/v1/batches/{batch_id}/cancel", summary="Cancel a batch")
def cancel_batch(batch_id: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    return _cancel(svc, who, batch_id)


def _cancel(svc: Services, who: Grant, batch_id: str):
    _owned_or_404(svc, who, Batch, "batch", batch_id)
    return cancel_batch_by_id(svc, batch_id)


def cancel_batch_by_id(svc: Services, batch_id: str) -> dict:
    """Cancel a batch: DRAFT/QUEUED ones at once, a running one between its result batches."""
    with svc.catalog.session() as s:
        batches.mark_canceled(s, batch_id)
    svc.cancel(batch_id)
    with svc.catalog.session() as s:
        return batch_view(s.get(Batch, batch_id))


@router.get("/v1/tasks/{task_id}", summary="Get a task")
def get_task(task_id: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    return task_view(_owned_or_404(svc, who, Task, "task", task_id))


@router.delete("/v1/tasks/{task_id}", summary="Cancel the work behind a task")
@router.post("/v1/tasks/{task_id}/kill", summary="Cancel the work behind a task")
def kill_task(task_id: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    task = _owned_or_404(svc, who, Task, "task", task_id)
    if task.resource_id and task.resource_id.startswith("btch_"):
        _cancel(svc, who, task.resource_id)
    with svc.catalog.session() as s:
        return task_view(s.get(Task, task_id))


# -- a bucket's batches -------------------------------------------------------------------------------
@router.post("/v1/buckets/{bucket_identifier}/batches", summary="Create a batch (DRAFT unless auto_submit)")
def create_batch(bucket_identifier: str, body: CreateBatchRequest | None = None, auto_submit: bool = False,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    body = body or CreateBatchRequest()
    submit = auto_submit or bool(body.auto_submit) or bool(body.trigger_processing)
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        batch = batches.create_batch(s, bucket, body.object_ids, body.collection_ids, body.limit, body.batch_name,
                                     body.metadata, submit=submit)
    if submit:
        svc.dispatch(batch.batch_id)
    return batch_view(batch)


@router.post("/v1/buckets/{bucket_identifier}/batches/{batch_id}/objects", summary="Add objects to a DRAFT batch")
def add_objects(bucket_identifier: str, batch_id: str, body: AddObjectsRequest, ns: Namespace = Depends(namespace),
                svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        return batch_view(batches.add_objects(s, bucket, get_batch(s, bucket, batch_id), body.object_ids))


@router.post("/v1/buckets/{bucket_identifier}/batches/{batch_id}/submit", summary="Submit a batch for processing")
def submit_batch(bucket_identifier: str, batch_id: str, body: SubmitBatchRequest | None = None,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:  # whose batch it is, read-only
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        get_batch(s, bucket, batch_id)
    with svc.catalog.session() as s:  # then the locked read-modify-write, in a session of its own
        task = batches.submit_batch(s, bucket, batch_id, body.collection_ids if body else None)
    svc.dispatch(batch_id)
    return task_view(task)


@router.post("/v1/buckets/{bucket_identifier}/batches/{batch_id}/retry",
             summary="Retry a finished batch's failed objects only (a new batch)")
def retry_batch(bucket_identifier: str, batch_id: str, body: RetryBatchRequest | None = None,
                ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    body = body or RetryBatchRequest()
    if body.tier_nums and set(body.tier_nums) != {0}:
        raise WarehouseError(422, "tier_nums: this server's batches have one tier, 0; leave it out",
                             {"location": "tier_nums"})
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        get_batch(s, bucket, batch_id)
    with svc.catalog.session() as s:
        retry = batches.retry_batch(s, bucket, batch_id, body.retry_mode, body.max_retry_count)
        out = batch_view(retry)
    svc.dispatch(out["batch_id"])
    return out


@router.get("/v1/buckets/{bucket_identifier}/batches/{batch_id}", summary="Get a batch")
def get_bucket_batch(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        return batch_view(get_batch(s, get_bucket(s, ns.namespace_id, bucket_identifier), batch_id))


@router.post("/v1/buckets/{bucket_identifier}/batches/list", summary="List batches of a bucket")
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


@router.post("/v1/buckets/{bucket_identifier}/batches/{batch_id}/cancel", summary="Cancel a batch")
def cancel_bucket_batch(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace),
                        svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        get_batch(s, get_bucket(s, ns.namespace_id, bucket_identifier), batch_id)
    return cancel_batch_by_id(svc, batch_id)
