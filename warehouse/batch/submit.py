"""Queueing batches: shared by the API routes and the Dagster sensors.

A queued batch is picked up by whoever runs batches in this deployment — the API server's own
runner (``WAREHOUSE_ORCHESTRATOR=inline``) or the ``queued_batches`` sensor (``dagster``).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.orm import Session

from warehouse.catalog import Batch, Bucket, Collection, Task
from warehouse.ids import new_id


def collections_of_bucket(session: Session, namespace_id: str, bucket_id: str) -> list[Collection]:
    """The enabled collections that source ``bucket_id``."""
    return [c for c in session.query(Collection).filter(Collection.namespace_id == namespace_id)
            if bucket_id in (c.source or {}).get("bucket_ids", []) and c.enabled]


def queue_batch(session: Session, batch: Batch) -> Task:
    """DRAFT/finished → QUEUED with a fresh task; picked up after the commit."""
    task = Task(task_id=new_id("task"), namespace_id=batch.namespace_id, task_type="api_buckets_batches_submit",
                status="QUEUED", inputs={"batch_id": batch.batch_id, "collection_ids": batch.collection_ids},
                resource_id=batch.batch_id)
    session.add(task)
    batch.task_id = task.task_id
    batch.status = "QUEUED"
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
