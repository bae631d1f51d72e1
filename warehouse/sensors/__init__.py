"""Dagster sensors: new objects (local directory, S3), queued batches, run outcomes, catalog sync."""

from warehouse.sensors.batches import (
    batch_run_canceled,
    batch_run_failed,
    batch_run_succeeded,
    process_batch,
    queued_batches,
)
from warehouse.sensors.catalog import catalog_sync
from warehouse.sensors.objects import local_new_objects, s3_new_objects

__all__ = ["batch_run_canceled", "batch_run_failed", "batch_run_succeeded", "catalog_sync", "local_new_objects",
           "process_batch", "queued_batches", "s3_new_objects"]
