"""Recording events (``batch.completed``, …) in the catalog for webhook delivery.

Recording is idempotent on ``dedupe_key``: the run-status sensor may see a run again after a
restart, and the event is still recorded once.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from warehouse.catalog import Batch, Event
from warehouse.catalog.batches import BatchStatus
from warehouse.ids import new_id

BATCH_EVENTS = {BatchStatus.COMPLETED: "batch.completed", BatchStatus.COMPLETED_WITH_ERRORS: "batch.completed_with_errors",
                BatchStatus.FAILED: "batch.failed", BatchStatus.CANCELED: "batch.canceled"}


def record_event(session: Session, event_type: str, namespace_id: str | None, resource_id: str | None,
                 payload: dict[str, Any], dedupe_key: str) -> Event | None:
    """Store the event unless one with ``dedupe_key`` exists; the new event, or None."""
    if session.query(Event.event_id).filter(Event.dedupe_key == dedupe_key).first() is not None:
        return None
    event = Event(event_id=new_id("evt"), namespace_id=namespace_id, event_type=event_type,
                  resource_id=resource_id, payload=payload, dedupe_key=dedupe_key)
    session.add(event)
    session.flush()
    return event


def record_batch_event(session: Session, batch: Batch, run_id: str | None = None) -> str | None:
    """The event for a batch that reached a final status (once per submission); its type, or None."""
    event_type = BATCH_EVENTS.get(batch.status)
    if event_type is None:
        return None
    submitted = batch.submitted_at.isoformat() if batch.submitted_at else "never"
    payload = {"batch_id": batch.batch_id, "bucket_id": batch.bucket_id, "status": batch.status,
               "collection_ids": batch.collection_ids or [], "documents_written": batch.documents_written,
               "objects": len(batch.object_ids or []),
               "objects_failed": len({f.get("object_id") for f in batch.failed_objects or []}),
               "error": batch.error, "dagster_run_id": run_id}
    new = record_event(session, event_type, batch.namespace_id, batch.batch_id, payload,
                       f"{event_type}:{batch.batch_id}:{submitted}:{batch.status}")
    return event_type if new else None
