"""New-object sensors: files dropped into a bucket's inbox become objects and start processing.

One sensor per storage backend (``local_new_objects`` for the directory store of the embedded
default, ``s3_new_objects`` for S3-compatible stores); each is a no-op with a skip reason when the
deployment uses the other backend. Per bucket the cursor is the ``(last_modified, key)`` of the last
file taken; a tick takes at most ``MAX_FILES_PER_TICK`` files in all, oldest first, registers them
(idempotently), queues one batch per bucket for the collections that source it, and records a
``bucket_objects`` materialization of the bucket's partition. The ``queued_batches`` sensor starts
the runs.
"""

from __future__ import annotations

import json

from dagster import (
    AddDynamicPartitionsRequest,
    AssetMaterialization,
    DefaultSensorStatus,
    MetadataValue,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    sensor,
)

from warehouse.assets.buckets import bucket_metadata
from warehouse.assets.partitions import BATCHES, BUCKETS
from warehouse.catalog import Bucket
from warehouse.catalog.batches import queue_objects
from warehouse.catalog.inbox import cursor_key, inbox_prefix, new_files, register_files
from warehouse.resources import WarehouseResource

MAX_FILES_PER_TICK = 200


def scan_inboxes(context: SensorEvaluationContext, warehouse: WarehouseResource, backend: str,
                 max_files: int = MAX_FILES_PER_TICK):
    name = f"{backend}_new_objects"
    settings = warehouse.settings()
    if settings.object_store != backend:
        return SkipReason(f"this deployment stores objects in {settings.object_store!r}; this sensor watches "
                          f"{backend!r} (WAREHOUSE_OBJECT_STORE={backend} turns it on)")
    store = warehouse.objects()
    cursor = json.loads(context.cursor) if context.cursor else {}
    budget = max_files
    events, new_batches, bucket_keys, notes = [], [], [], []
    with warehouse.catalog().session() as s:
        buckets = s.query(Bucket).order_by(Bucket.created_at).all()
        for bucket in buckets:
            if budget <= 0:
                break
            try:  # one tenant's broken bucket or file is reported and skipped; the others go on
                with s.begin_nested():
                    files = new_files(store, inbox_prefix(bucket), cursor.get(bucket.bucket_id), budget)
                    if not files:
                        continue
                    registered = register_files(s, store, bucket, files)
                    batch = queue_objects(s, bucket, registered.object_ids, f"{name}: new files")
            except Exception as exc:  # noqa: BLE001 - reported in the tick and the log, with the bucket named
                context.log.error(f"bucket {bucket.bucket_id} ({bucket.bucket_name!r}) of namespace "
                                  f"{bucket.namespace_id}: inbox skipped this tick: {type(exc).__name__}: {exc}")
                notes.append(f"{bucket.bucket_id}: skipped ({type(exc).__name__}: {exc})")
                continue
            budget -= len(files)
            cursor[bucket.bucket_id] = cursor_key(files[-1])
            for skip in registered.skipped:
                context.log.warning(f"skipped {skip['key']}: {skip['reason']}")
            if batch is not None:
                new_batches.append(batch.batch_id)
            bucket_keys.append(bucket.bucket_id)
            notes.append(f"{bucket.bucket_name}: {len(registered.created)} new, {len(registered.updated)} changed, "
                         f"{len(registered.skipped)} skipped" + (f" → batch {batch.batch_id}" if batch else ""))
            events.append(AssetMaterialization(
                asset_key="bucket_objects", partition=bucket.bucket_id,
                description=f"{name} registered files from the bucket's inbox",
                metadata={**bucket_metadata(s, bucket, new_objects=len(registered.created),
                                            updated_objects=len(registered.updated),
                                            skipped_files=len(registered.skipped),
                                            queued_batch=batch.batch_id if batch else "none"),
                          "skipped": MetadataValue.json(registered.skipped[:50])}))
    context.update_cursor(json.dumps(cursor, sort_keys=True))
    if not events:
        return SkipReason("no new files in any bucket inbox" + (f"; {'; '.join(notes)}" if notes else ""))
    context.log.info("; ".join(notes))
    requests = [AddDynamicPartitionsRequest(BUCKETS.name, bucket_keys)]
    if new_batches:
        requests.append(AddDynamicPartitionsRequest(BATCHES.name, new_batches))
    return SensorResult(asset_events=events, dynamic_partitions_requests=requests)


@sensor(name="local_new_objects", minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING,
        description="Registers files dropped under <home>/objects/inbox/<namespace_id>/<bucket_id>/ and queues them.")
def local_new_objects(context: SensorEvaluationContext, warehouse: WarehouseResource):
    return scan_inboxes(context, warehouse, "local")


@sensor(name="s3_new_objects", minimum_interval_seconds=10, default_status=DefaultSensorStatus.RUNNING,
        description="Registers objects put under s3://<WAREHOUSE_S3_BUCKET>/inbox/<namespace_id>/<bucket_id>/ and queues them.")
def s3_new_objects(context: SensorEvaluationContext, warehouse: WarehouseResource):
    return scan_inboxes(context, warehouse, "s3")
