"""Batches in the catalog: their statuses, creating, queueing and cancelling them.

A queued batch is picked up by whoever runs batches in this deployment — the API server's own
runner (``WAREHOUSE_ORCHESTRATOR=inline``) or the ``queued_batches`` sensor (``dagster``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from warehouse.catalog.db import lock_row
from warehouse.catalog.lookups import get_collection
from warehouse.catalog.models import Batch, Bucket, Collection, Event, Object, Task
from warehouse.errors import WarehouseError
from warehouse.ids import new_id


class BatchStatus(StrEnum):
    """``DRAFT → QUEUED → PROCESSING → COMPLETED | COMPLETED_WITH_ERRORS | FAILED | CANCELED`` (a batch's,
    and each of its collection parts')."""

    DRAFT = "DRAFT"
    QUEUED = "QUEUED"
    PROCESSING = "PROCESSING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELED = "CANCELED"


#: statuses a batch (or a part) ends in
TERMINAL = frozenset({BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_ERRORS, BatchStatus.FAILED,
                      BatchStatus.CANCELED})
#: the finished statuses in which documents were written
SUCCEEDED = frozenset({BatchStatus.COMPLETED, BatchStatus.COMPLETED_WITH_ERRORS})
#: statuses of a batch that someone is about to work on, or is working on
ACTIVE = frozenset({BatchStatus.QUEUED, BatchStatus.PROCESSING})


def collections_of_bucket(session: Session, namespace_id: str, bucket_id: str) -> list[Collection]:
    """The enabled collections that read ``bucket_id``'s objects themselves (a multi-tier collection over them is
    fed by its upstream collection's batches instead, once the upstream has written)."""
    return [c for c in session.query(Collection).filter(Collection.namespace_id == namespace_id)
            if bucket_id in (c.source or {}).get("bucket_ids", []) and c.enabled
            and (c.source or {}).get("type", "bucket") == "bucket"]


def queue_batch(session: Session, batch: Batch) -> Task:
    """DRAFT/finished → QUEUED with a fresh task; picked up after the commit."""
    task = Task(task_id=new_id("task"), namespace_id=batch.namespace_id, task_type="api_buckets_batches_submit",
                status=BatchStatus.QUEUED, inputs={"batch_id": batch.batch_id, "collection_ids": batch.collection_ids},
                resource_id=batch.batch_id)
    session.add(task)
    batch.task_id = task.task_id
    batch.status = BatchStatus.QUEUED
    batch.submitted_at = datetime.now(UTC)
    batch.completed_at = None
    # A submission starts from a clean slate: parts, counts and failures of an earlier run go.
    batch.stats, batch.failed_objects, batch.skipped_rows, batch.error = {}, [], [], None
    batch.documents_written = batch.documents_replaced = 0
    return task


def queue_objects(session: Session, bucket: Bucket, object_ids: list[str], batch_name: str) -> Batch | None:
    """A QUEUED batch of ``object_ids`` for every collection that sources the bucket (None if none does)."""
    collections = collections_of_bucket(session, bucket.namespace_id, bucket.bucket_id)
    if not collections or not object_ids:
        return None
    batch = Batch(batch_id=new_id("btch"), namespace_id=bucket.namespace_id, bucket_id=bucket.bucket_id,
                  batch_name=batch_name, object_ids=object_ids, collection_ids=[c.collection_id for c in collections])
    session.add(batch)
    queue_batch(session, batch)
    return batch


def check_members(s: Session, bucket: Bucket, object_ids: list[str], collection_ids: list[str]) -> list[str]:
    """404 for an object not in ``bucket``, 422 for a collection that does not source it; the collections' ids."""
    if object_ids:
        found = {o for (o,) in s.query(Object.object_id).filter(Object.object_id.in_(object_ids),
                                                               Object.bucket_id == bucket.bucket_id)}
        missing = [o for o in object_ids if o not in found]
        if missing:
            raise WarehouseError(404, f"object(s) {missing[:10]} not found in bucket {bucket.bucket_name!r}",
                                 {"missing_object_ids": missing[:100]})
    resolved = []
    for cid in collection_ids:
        c = get_collection(s, bucket.namespace_id, cid)
        if bucket.bucket_id not in (c.source or {}).get("bucket_ids", []):
            raise WarehouseError(422, f"collection {c.collection_name!r} does not source bucket {bucket.bucket_name!r}",
                                 {"collection_id": c.collection_id})
        resolved.append(c.collection_id)
    return resolved


def create_batch(s: Session, bucket: Bucket, object_ids: list[str] | None, collection_ids: list[str] | None,
                 limit: int | None = None, batch_name: str | None = None, metadata: dict | None = None,
                 submit: bool = False) -> Batch:
    """A DRAFT batch (QUEUED with ``submit``) of ``object_ids`` (default: the bucket's objects, at most ``limit``)
    for ``collection_ids`` (default: every enabled collection that sources the bucket)."""
    if object_ids is None:
        q = s.query(Object.object_id).filter(Object.bucket_id == bucket.bucket_id).order_by(Object.created_at)
        object_ids = [o for (o,) in (q.limit(limit) if limit else q)]
    if collection_ids is None:
        collection_ids = [c.collection_id for c in collections_of_bucket(s, bucket.namespace_id, bucket.bucket_id)]
    collection_ids = check_members(s, bucket, object_ids, collection_ids)
    batch = Batch(batch_id=new_id("btch"), namespace_id=bucket.namespace_id, bucket_id=bucket.bucket_id,
                  batch_name=batch_name, object_ids=list(dict.fromkeys(object_ids)),
                  collection_ids=collection_ids, metadata_=metadata or {})
    s.add(batch)
    if submit:
        require_submittable(batch)
        queue_batch(s, batch)
    return batch


def add_objects(s: Session, bucket: Bucket, batch: Batch, object_ids: list[str]) -> Batch:
    if batch.status != BatchStatus.DRAFT:
        raise WarehouseError(409, f"batch is {batch.status}; objects can be added only to a DRAFT batch")
    check_members(s, bucket, object_ids, [])
    batch.object_ids = list(dict.fromkeys([*(batch.object_ids or []), *object_ids]))
    return batch


def submit_batch(s: Session, bucket: Bucket, batch_id: str, collection_ids: list[str] | None = None) -> Task:
    """QUEUED (again) with a new task; a batch already queued or processing is a 409.

    The batch row is locked before anything is read (call it first in a fresh session), so of several
    concurrent submits exactly one queues the batch and the others get the 409 — never two runs of one
    submission.
    """
    batch = lock_row(s, Batch, batch_id)
    if batch.status in ACTIVE:
        raise WarehouseError(409, f"batch is already {batch.status}", {"batch_id": batch.batch_id, "task_id": batch.task_id})
    if collection_ids:
        batch.collection_ids = check_members(s, bucket, [], collection_ids)
    require_submittable(batch)
    return queue_batch(s, batch)


#: failure kinds a retry in ``transient_only`` mode takes again: the extractor raised (a timeout, an unreachable URL,
#: a worker lost — or a bug; ``all`` takes the data problems too: missing fields, bad vectors, empty inputs…)
TRANSIENT_ERRORS = frozenset({"EXTRACTION_ERROR"})


def retry_batch(s: Session, bucket: Bucket, batch_id: str, mode: str = "transient_only",
                max_retry_count: int = 3) -> Batch:
    """A new QUEUED batch of ``batch_id``'s failed objects only (a batch that failed as a whole: all its objects),
    for the same collections; ``metadata`` records ``retry_of`` and ``retry_count``. 409 while the batch runs, when
    nothing qualifies, or when its objects were retried ``max_retry_count`` times already."""
    batch = lock_row(s, Batch, batch_id)
    if batch.status not in TERMINAL:
        raise WarehouseError(409, f"batch is {batch.status}; retry it once it has finished", {"batch_id": batch_id})
    count = int((batch.metadata_ or {}).get("retry_count") or 0) + 1
    if count > max_retry_count:
        raise WarehouseError(409, f"batch {batch_id} is retry {count - 1} of its objects already (max_retry_count "
                             f"{max_retry_count}); fix the data or raise max_retry_count", {"batch_id": batch_id})
    failures = batch.failed_objects or []
    if batch.status == BatchStatus.FAILED and not failures:
        object_ids = list(batch.object_ids or [])
    else:
        object_ids = list(dict.fromkeys(f["object_id"] for f in failures
                                        if mode == "all" or f.get("error_type") in TRANSIENT_ERRORS))
    existing = {o for (o,) in s.query(Object.object_id).filter(Object.object_id.in_(object_ids))} if object_ids else set()
    object_ids = [o for o in object_ids if o in existing]
    if not object_ids:
        kinds = sorted({f.get("error_type") for f in failures})
        raise WarehouseError(409, f"batch {batch_id} has no failed objects to retry in mode {mode!r}"
                             + (f" (its failures: {kinds}; retry_mode 'all' takes every kind)" if kinds else ""),
                             {"batch_id": batch_id})
    retry = Batch(batch_id=new_id("btch"), namespace_id=batch.namespace_id, bucket_id=bucket.bucket_id,
                  batch_name=f"retry of {batch.batch_name or batch_id}", object_ids=object_ids,
                  collection_ids=list(batch.collection_ids or []),
                  metadata_={"retry_of": batch_id, "retry_count": count, "retry_mode": mode})
    s.add(retry)
    require_submittable(retry)
    queue_batch(s, retry)
    return retry


def require_submittable(batch: Batch) -> None:
    if not batch.collection_ids:
        raise WarehouseError(422, "batch has no collections to process; pass collection_ids or create a collection "
                             "that sources this bucket", {"batch_id": batch.batch_id})
    if not batch.object_ids:
        raise WarehouseError(422, "batch has no objects", {"batch_id": batch.batch_id})


def mark_canceled(s: Session, batch_id: str) -> Batch:
    """Cancel a batch in the catalog: DRAFT/QUEUED ones (and their task) at once; a PROCESSING one is stopped
    by its runner between result batches. A finished batch is a 409."""
    batch = s.get(Batch, batch_id)
    if batch.status in TERMINAL:
        raise WarehouseError(409, f"batch already finished ({batch.status})")
    if batch.status in (BatchStatus.DRAFT, BatchStatus.QUEUED):
        batch.status = BatchStatus.CANCELED
        if batch.task_id and (task := s.get(Task, batch.task_id)) is not None:
            task.status = BatchStatus.CANCELED
    return batch


def trigger_collection(s: Session, c: Collection, include_buckets: list[str] | None = None,
                       object_ids: list[str] | None = None) -> list[Batch]:
    """A QUEUED batch per source bucket of ``c`` that holds objects (optionally only ``include_buckets`` and
    ``object_ids``), for ``c`` alone."""
    batches = []
    for bucket_id in c.source.get("bucket_ids", []):
        if include_buckets and bucket_id not in include_buckets:
            continue
        q = s.query(Object.object_id).filter(Object.bucket_id == bucket_id)
        if object_ids:
            q = q.filter(Object.object_id.in_(object_ids))
        ids = [o for (o,) in q.order_by(Object.created_at)]
        if not ids:
            continue
        batch = Batch(batch_id=new_id("btch"), namespace_id=c.namespace_id, bucket_id=bucket_id,
                      batch_name=f"trigger:{c.collection_name}", object_ids=ids, collection_ids=[c.collection_id])
        s.add(batch)
        queue_batch(s, batch)
        batches.append(batch)
    return batches


def batch_log(s: Session, batch: Batch) -> list[dict[str, Any]]:
    """What happened to a batch, oldest first, from what the catalog recorded: created, submitted, each
    collection's part (documents written, its error), each failed object and skipped row with its reason, the
    events recorded for it, finished. Entries are ``{timestamp, level, message, ...}`` (timestamp None when the
    moment was not recorded: per-object failures carry none)."""
    def at(when) -> str | None:
        return when.isoformat() if when is not None else None

    entries = [{"timestamp": at(batch.created_at), "level": "info",
                "message": f"batch created with {len(batch.object_ids or [])} object(s) for collections "
                           f"{batch.collection_ids or []}"}]
    if batch.submitted_at is not None:
        entries.append({"timestamp": at(batch.submitted_at), "level": "info", "message": "batch submitted"})
    events = (s.query(Event).filter(Event.resource_id == batch.batch_id).order_by(Event.created_at).all())
    timed = [{"timestamp": at(e.created_at), "level": "error" if e.event_type.endswith("failed") else "info",
              "message": f"event {e.event_type}", "event_id": e.event_id} for e in events]
    for collection_id, part in ((batch.stats or {}).get("collections") or {}).items():
        timed.append({"timestamp": part.get("finished_at"), "level": "error" if part.get("error") else "info",
                      "collection_id": collection_id,
                      "message": f"collection {collection_id}: {part.get('status')}, "
                                 f"{part.get('documents_written', 0)} document(s) written"
                                 + (f" — {part['error']}" if part.get("error") else "")})
    entries += sorted(timed, key=lambda e: (e["timestamp"] or "")[:26])  # all UTC: the ISO prefix orders them
    entries += [{"timestamp": None, "level": "error", "collection_id": f.get("collection_id"),
                 "object_id": f.get("object_id"),
                 "message": f"object {f.get('object_id')} failed ({f.get('error_type')}): {f.get('error')}"}
                for f in batch.failed_objects or []]
    entries += [{"timestamp": None, "level": "warning", "collection_id": r.get("collection_id"),
                 "message": f"row {r.get('document_id') or r.get('object_id')} skipped: {r.get('reason')}"}
                for r in batch.skipped_rows or []]
    if batch.completed_at is not None:
        entries.append({"timestamp": at(batch.completed_at), "level": "error" if batch.error else "info",
                        "message": f"batch {batch.status}" + (f": {batch.error}" if batch.error else "")})
    return entries


def failed_rows(batch: Batch, collection_id: str | None = None) -> list[dict[str, Any]]:
    """The objects that produced no documents (with error type and reason) and the rows skipped, optionally of one
    collection; each with ``kind`` ``failed_object`` or ``skipped_row``."""
    rows = ([{"kind": "failed_object", **f} for f in batch.failed_objects or []]
            + [{"kind": "skipped_row", **r} for r in batch.skipped_rows or []])
    return [r for r in rows if collection_id is None or r.get("collection_id") == collection_id]


def delete_batch(s: Session, batch: Batch) -> None:
    """Forget a batch that is not running (its documents stay; delete them first with
    ``DELETE .../documents`` if they should go too). 409 while it is QUEUED or PROCESSING: cancel it first."""
    if batch.status in (BatchStatus.QUEUED, BatchStatus.PROCESSING):
        raise WarehouseError(409, f"batch is {batch.status}; cancel it first", {"batch_id": batch.batch_id})
    s.delete(s.get(Batch, batch.batch_id))


def resubmit_batch(s: Session, bucket: Bucket, batch_id: str) -> Batch:
    """A new QUEUED batch of all of a finished batch's objects that still exist, for the same collections
    (``metadata.resubmit_of`` names the original); 409 while it runs."""
    batch = s.get(Batch, batch_id)
    if batch.status not in TERMINAL:
        raise WarehouseError(409, f"batch is {batch.status}; submit it, or resubmit once it has finished",
                             {"batch_id": batch_id})
    existing = {o for (o,) in s.query(Object.object_id).filter(Object.object_id.in_(batch.object_ids or []))}
    again = Batch(batch_id=new_id("btch"), namespace_id=batch.namespace_id, bucket_id=bucket.bucket_id,
                  batch_name=f"resubmit of {batch.batch_name or batch_id}",
                  object_ids=[o for o in batch.object_ids or [] if o in existing],
                  collection_ids=list(batch.collection_ids or []), metadata_={"resubmit_of": batch_id})
    s.add(again)
    require_submittable(again)
    queue_batch(s, again)
    return again

