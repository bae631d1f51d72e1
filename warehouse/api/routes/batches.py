"""Batches: a bucket's (``/v1/buckets/{bucket}/batches``), and by id at ``/v1/batches/{id}`` and
``/v1/tasks/{id}`` (bearer only, no namespace needed)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from warehouse.api.deps import caller, namespace, services
from warehouse.api.schemas import (
    AddObjectsRequest,
    CreateBatchRequest,
    ListBatchesRequest,
    ListRequest,
    ListTasksRequest,
    PatchBatchRequest,
    RetryBatchRequest,
    SubmitBatchRequest,
)
from warehouse.api.schemas.common import Strict
from warehouse.api.views import batch_view, listing, task_view
from warehouse.catalog import Batch, Namespace, Object, Task, batches
from warehouse.catalog.api_keys import Grant
from warehouse.catalog.batches import BatchStatus
from warehouse.catalog.lookups import get_batch, get_bucket
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.errors import WarehouseError, not_found, refuse_set
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
def _bucket_batch(svc: Services, ns: Namespace, bucket_identifier: str, batch_id: str):
    """The bucket and one of its batches, read-only (404 naming whichever is not there)."""
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        return bucket, get_batch(s, bucket, batch_id)


@router.post("/v1/buckets/{bucket_identifier}/batches", summary="Create a batch (DRAFT unless auto_submit)")
def create_batch(bucket_identifier: str, body: CreateBatchRequest | None = None, auto_submit: bool = False,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    body = body or CreateBatchRequest()
    refuse_set({"filters": body.filters, "dedup_strategy": body.dedup_strategy if body.dedup_strategy == "skip" else None},
               {"filters": "not supported; choose the objects with object_ids (list them with a filter first)",
                "dedup_strategy": "'skip' is not supported: a batch reprocesses its objects and replaces their "
                                  "documents ('replace', 'force'); leave already processed objects out of object_ids"})
    submit = auto_submit or bool(body.auto_submit) or bool(body.trigger_processing)
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        batch = batches.create_batch(s, bucket, body.object_ids, body.collection_ids, body.limit, body.batch_name,
                                     body.metadata, submit=submit)
    if submit:
        svc.dispatch(batch.batch_id)
    return batch_view(batch)


@router.post("/v1/buckets/{bucket_identifier}/batches/trigger",
             summary="Create and submit a batch (the tutorial's form of create with auto_submit)")
def trigger_batch(bucket_identifier: str, body: CreateBatchRequest | None = None, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    return create_batch(bucket_identifier, body, True, ns, svc)


@router.post("/v1/buckets/{bucket_identifier}/batches/{batch_id}/objects", summary="Add objects to a DRAFT batch")
def add_objects(bucket_identifier: str, batch_id: str, body: AddObjectsRequest, ns: Namespace = Depends(namespace),
                svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        return batch_view(batches.add_objects(s, bucket, get_batch(s, bucket, batch_id), body.object_ids))


@router.post("/v1/buckets/{bucket_identifier}/batches/{batch_id}/submit", summary="Submit a batch for processing")
def submit_batch(bucket_identifier: str, batch_id: str, body: SubmitBatchRequest | None = None,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    if body is not None:  # include_processing_history holds either way: a batch's history is always kept (…/logs)
        refuse_set({"webhook_url": body.webhook_url},
                   {"webhook_url": "not supported per batch; register a webhook for batch.completed with POST "
                                   "/v1/organizations/webhooks"})
    bucket, _ = _bucket_batch(svc, ns, bucket_identifier, batch_id)  # whose batch it is, read-only
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
    bucket, _ = _bucket_batch(svc, ns, bucket_identifier, batch_id)
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
    body.refuse_unhonoured()
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
    _bucket_batch(svc, ns, bucket_identifier, batch_id)
    return cancel_batch_by_id(svc, batch_id)


# -- listings across a namespace, a batch's history, and batch housekeeping -------------------------------
@router.post("/v1/batches/list", summary="List the namespace's batches (newest first)")
def list_all_batches(body: ListBatchesRequest | None = None, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    body = body or ListBatchesRequest()
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size, default=100)
    with svc.catalog.session() as s:
        q = s.query(Batch).filter(Batch.namespace_id == ns.namespace_id)
        if body.status:
            q = q.filter(Batch.status == body.status.upper())
        if body.bucket_id:
            q = q.filter(Batch.bucket_id == get_bucket(s, ns.namespace_id, body.bucket_id).bucket_id)
        rows = q.order_by(Batch.created_at.desc()).all()
    if body.collection_id:  # collection_ids is a JSON list: matched here, portable across SQLite and PostgreSQL
        rows = [b for b in rows if body.collection_id in (b.collection_ids or [])]
    return listing([batch_view(b) for b in rows[offset:offset + limit]], len(rows), limit, offset)


@router.post("/v1/tasks/list", summary="List the namespace's tasks (newest first)")
def list_tasks(body: ListTasksRequest | None = None, limit: int | None = Query(None, ge=1, le=1000),
               offset: int | None = Query(None, ge=0, le=MAX_OFFSET), ns: Namespace = Depends(namespace),
               svc: Services = Depends(services)):
    body = body or ListTasksRequest()
    limit, offset = page_args(body.limit or limit, body.offset if body.offset is not None else offset, body.page,
                              body.page_size)
    with svc.catalog.session() as s:
        q = s.query(Task).filter(Task.namespace_id == ns.namespace_id)
        if body.status:
            q = q.filter(Task.status == body.status.upper())
        if body.task_type:
            q = q.filter(Task.task_type == body.task_type)
        if body.search:
            q = q.filter(Task.task_type.contains(body.search) | Task.resource_id.contains(body.search))
        total = q.count()
        rows = q.order_by(Task.created_at.desc()).offset(offset).limit(limit).all()
    return listing([task_view(t) for t in rows], total, limit, offset)


@router.get("/v1/buckets/{bucket_identifier}/batches/{batch_id}/logs", summary="A batch's history, oldest first")
def batch_logs(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace),
               svc: Services = Depends(services)):
    _, batch = _bucket_batch(svc, ns, bucket_identifier, batch_id)
    with svc.catalog.session() as s:
        logs = batches.batch_log(s, batch)
    return {"batch_id": batch.batch_id, "status": batch.status, "logs": logs, "total_count": len(logs)}


@router.get("/v1/buckets/{bucket_identifier}/batches/{batch_id}/failed-documents",
            summary="Objects that produced no documents, and rows skipped, with reasons")
def failed_documents(bucket_identifier: str, batch_id: str, collection_id: str | None = None,
                     limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0, le=MAX_OFFSET),
                     ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    _, batch = _bucket_batch(svc, ns, bucket_identifier, batch_id)
    rows = batches.failed_rows(batch, collection_id)
    limit, offset = page_args(limit, offset, default=100)
    return {"batch_id": batch.batch_id, **listing(rows[offset:offset + limit], len(rows), limit, offset),
            "failed_object_count": len({f["object_id"] for f in batch.failed_objects or []}),
            "skipped_row_count": len(batch.skipped_rows or [])}


@router.patch("/v1/buckets/{bucket_identifier}/batches/{batch_id}", summary="Rename a batch or replace its metadata")
def patch_batch(bucket_identifier: str, batch_id: str, body: PatchBatchRequest, ns: Namespace = Depends(namespace),
                svc: Services = Depends(services)):
    _bucket_batch(svc, ns, bucket_identifier, batch_id)
    if body.batch_name is None and body.metadata is None:
        raise WarehouseError(400, "nothing to update: send batch_name and/or metadata")
    with svc.catalog.session() as s:
        row = s.get(Batch, batch_id)
        if body.batch_name is not None:
            row.batch_name = body.batch_name
        if body.metadata is not None:  # the system's keys (retry_of, resubmit_of…) stay
            system = {k: v for k, v in (row.metadata_ or {}).items() if k in ("retry_of", "retry_count", "retry_mode",
                                                                             "resubmit_of")}
            row.metadata_ = {**body.metadata, **system}
        s.flush()
        return batch_view(row)


@router.delete("/v1/buckets/{bucket_identifier}/batches/{batch_id}", summary="Delete a batch that is not running")
def delete_batch(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):
    _, batch = _bucket_batch(svc, ns, bucket_identifier, batch_id)
    with svc.catalog.session() as s:
        batches.delete_batch(s, batch)
    return {"success": True, "batch_id": batch_id,
            "message": "batch deleted; the documents it wrote stay (DELETE .../documents first to remove them)"}


@router.delete("/v1/buckets/{bucket_identifier}/batches/{batch_id}/documents",
               summary="Delete the documents a batch wrote (that a later batch has not rewritten)")
def delete_batch_documents(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace),
                           svc: Services = Depends(services)):
    _, batch = _bucket_batch(svc, ns, bucket_identifier, batch_id)
    if batch.status in (BatchStatus.QUEUED, BatchStatus.PROCESSING):
        raise WarehouseError(409, f"batch is {batch.status}; cancel it first", {"batch_id": batch_id})
    flt = {"must": [{"key": "batch_id", "match": {"value": batch_id}}]}
    found = svc.index.count(ns.namespace_id, flt)
    if found:
        svc.index.delete(ns.namespace_id, flt)
    return {"batch_id": batch_id, "deleted_count": found,
            "message": f"deleted {found} document(s) written by batch {batch_id}"}


@router.post("/v1/buckets/{bucket_identifier}/batches/{batch_id}/resubmit",
             summary="Run a finished batch again: all its objects, as a new batch")
def resubmit_batch(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace),
                   svc: Services = Depends(services)):
    bucket, _ = _bucket_batch(svc, ns, bucket_identifier, batch_id)
    with svc.catalog.session() as s:
        again = batches.resubmit_batch(s, bucket, batch_id)
        out = batch_view(again)
    svc.dispatch(out["batch_id"])
    return {**out, "resubmit_of": batch_id}


@router.post("/v1/buckets/{bucket_identifier}/batches/submit-all", summary="Submit every DRAFT batch of a bucket")
def submit_all(bucket_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        drafts = [b.batch_id for b in s.query(Batch).filter(Batch.bucket_id == bucket.bucket_id,
                                                               Batch.status == BatchStatus.DRAFT)]
    submitted, skipped = [], []
    for batch_id in drafts:
        try:
            with svc.catalog.session() as s:
                task = batches.submit_batch(s, bucket, batch_id)
            svc.dispatch(batch_id)
            submitted.append({"batch_id": batch_id, "task_id": task.task_id})
        except WarehouseError as exc:  # an empty draft stays a draft, and says why
            skipped.append({"batch_id": batch_id, "reason": exc.message})
    return {"submitted": submitted, "skipped": skipped, "submitted_count": len(submitted)}


_ADVICE = {
    "EXTRACTION_ERROR": "the extractor raised: read the error, fix the data or the extractor, then POST .../retry",
    "EMPTY_INPUT": "the object had nothing to embed: fix or remove it, then POST .../retry with retry_mode 'all'",
    "MISSING_INPUT": "the object lacks a field the collection's input_mappings name: update the object or the "
                     "mapping, then retry with retry_mode 'all'",
}


@router.get("/v1/buckets/{bucket_identifier}/batches/{batch_id}/diagnose",
            summary="A batch's failures grouped by kind, with what to do about each")
def diagnose(bucket_identifier: str, batch_id: str, ns: Namespace = Depends(namespace),
             svc: Services = Depends(services)):
    _, batch = _bucket_batch(svc, ns, bucket_identifier, batch_id)
    groups: dict[str, dict] = {}
    for f in batch.failed_objects or []:
        kind = f.get("error_type") or "UNKNOWN"
        g = groups.setdefault(kind, {"error_type": kind, "count": 0, "object_ids": [], "example": f.get("error"),
                                     "advice": _ADVICE.get(kind, "read the error; fix, then retry")})
        g["count"] += 1
        g["object_ids"].append(f.get("object_id"))
    healthy = batch.status == BatchStatus.COMPLETED and not groups
    return {"batch_id": batch.batch_id, "status": batch.status, "healthy": healthy, "error": batch.error,
            "failures": sorted(groups.values(), key=lambda g: -g["count"]),
            "skipped_rows": len(batch.skipped_rows or []), "documents_written": batch.documents_written,
            "retryable": sum(g["count"] for k, g in groups.items() if k in batches.TRANSIENT_ERRORS)}


class BulkSubmitRequest(Strict):
    collection_ids: list[str] | None = None
    chunk_size: int = Field(default=1000, ge=1, le=50_000)
    max_objects: int | None = Field(default=None, ge=1)
    filters: Any = None
    dedup_strategy: Literal["skip", "replace", "force"] | None = None


@router.post("/v1/buckets/{bucket_identifier}/batches/bulk-submit",
             summary="Submit every object of a bucket, in batches of chunk_size")
def bulk_submit(bucket_identifier: str, body: BulkSubmitRequest | None = None, ns: Namespace = Depends(namespace),
                svc: Services = Depends(services)):
    body = body or BulkSubmitRequest()
    refuse_set({"filters": body.filters, "dedup_strategy": body.dedup_strategy if body.dedup_strategy == "skip" else None},
               {"filters": "not supported; create batches of the chosen object_ids instead",
                "dedup_strategy": "'skip' is not supported: batches reprocess their objects and replace their documents"})
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        q = s.query(Object.object_id).filter(Object.bucket_id == bucket.bucket_id).order_by(Object.created_at,
                                                                                          Object.object_id)
        ids = [o for (o,) in (q.limit(body.max_objects) if body.max_objects else q)]
    made = []
    for start in range(0, len(ids), body.chunk_size):
        with svc.catalog.session() as s:
            batch = batches.create_batch(s, bucket, ids[start:start + body.chunk_size], body.collection_ids, None,
                                         f"bulk {start // body.chunk_size + 1}", None, submit=True)
            made.append(batch_view(batch))
        svc.dispatch(made[-1]["batch_id"])
    return {"batches": made, "batch_ids": [b["batch_id"] for b in made], "total_objects": len(ids),
            "batch_count": len(made)}
