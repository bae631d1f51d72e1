"""Dagster sensors, every one of them: new objects (local directory, S3), queued batches, run outcomes,
catalog sync, and enrichment after batches.

Sensors cursor on ``(last_modified, key)`` or a timestamp, bound the work per tick, and use idempotent
run keys. May import: everything below the API, and ``warehouse.assets`` (the jobs they start).
"""

from warehouse.sensors.batches import (
    batch_run_canceled,
    batch_run_failed,
    batch_run_succeeded,
    collection_schedules,
    queued_batches,
)
from warehouse.sensors.catalog import catalog_sync
from warehouse.sensors.enrichment import enrichment_after_batches
from warehouse.sensors.objects import local_new_objects, s3_new_objects

__all__ = ["batch_run_canceled", "batch_run_failed", "batch_run_succeeded", "catalog_sync", "collection_schedules",
           "enrichment_after_batches", "local_new_objects", "queued_batches", "s3_new_objects"]
