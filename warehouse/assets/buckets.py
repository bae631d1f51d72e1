"""``bucket_objects``: a bucket's objects, one partition per bucket.

Materializing a partition registers every file waiting in the bucket's inbox (however many) and
records what the bucket holds. The new-object sensors record the same asset, partition by
partition, as they register files tick by tick.
"""


from dagster import AssetExecutionContext, MaterializeResult, MetadataValue, asset
from sqlalchemy import func

from warehouse.assets.partitions import BUCKETS
from warehouse.catalog import Bucket, Namespace, Object
from warehouse.catalog.batches import queue_objects
from warehouse.catalog.inbox import inbox_prefix, new_files, register_files
from warehouse.resources import WarehouseResource


def bucket_metadata(session, bucket: Bucket, **extra) -> dict:
    count, size = session.query(func.count(Object.object_id), func.coalesce(func.sum(Object.size_bytes), 0)).filter(
        Object.bucket_id == bucket.bucket_id).one()
    ns = session.get(Namespace, bucket.namespace_id)
    return {"bucket_id": bucket.bucket_id, "bucket_name": bucket.bucket_name, "namespace": ns.namespace_name,
            "objects": int(count), "bytes": int(size),
            "inbox": inbox_prefix(bucket), **extra}


@asset(
    key="bucket_objects",
    partitions_def=BUCKETS,
    group_name="warehouse",
    description="The objects of a bucket (partition = bucket id). Materialize to register every file "
    "waiting in the bucket's inbox and queue it for the collections that source the bucket.",
)
def bucket_objects(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    bucket_id = context.partition_key
    store = warehouse.objects()
    with warehouse.catalog().session() as s:
        bucket = s.get(Bucket, bucket_id)
        if bucket is None:
            raise ValueError(f"bucket {bucket_id} no longer exists; the catalog_sync sensor removes its partition")
        files = new_files(store, inbox_prefix(bucket), None, limit=10**9)
        registered = register_files(s, store, bucket, files)
        batch = queue_objects(s, bucket, registered.object_ids, "bucket_objects: inbox scan")
        for skip in registered.skipped:
            context.log.warning(f"skipped {skip['key']}: {skip['reason']}")
        metadata = bucket_metadata(s, bucket, new_objects=len(registered.created),
                                   updated_objects=len(registered.updated), skipped_files=len(registered.skipped),
                                   queued_batch=batch.batch_id if batch else "none")
    if batch is not None:
        context.log.info(f"queued batch {batch.batch_id} with {len(batch.object_ids)} object(s); "
                         "the queued_batches sensor starts its runs")
    metadata["skipped"] = MetadataValue.json(registered.skipped[:50])
    return MaterializeResult(metadata=metadata)
