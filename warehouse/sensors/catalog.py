"""``catalog_sync``: keeps the dynamic partitions and the extractor code versions in step with the catalog.

The API adds and removes partitions as buckets and collections come and go; this sensor repairs
whatever that missed (Dagster down at the time, a catalog edited elsewhere) and, when a collection's
extractor changes code version, records a new ``extractor_code`` observation for the collection —
which marks its document partitions stale in the UI.
"""

from __future__ import annotations

import json

from dagster import (
    AddDynamicPartitionsRequest,
    DefaultSensorStatus,
    DeleteDynamicPartitionsRequest,
    SensorEvaluationContext,
    SensorResult,
    sensor,
)

from warehouse.assets.collections import code_observations
from warehouse.assets.partitions import BATCHES, BUCKETS, CLUSTERS, COLLECTIONS, TAXONOMIES
from warehouse.catalog import Batch, Bucket, Cluster, Collection, Taxonomy
from warehouse.resources import WarehouseResource


@sensor(name="catalog_sync", minimum_interval_seconds=15, default_status=DefaultSensorStatus.RUNNING,
        description="Adds/removes bucket, collection, batch, taxonomy and cluster partitions to match the catalog; observes "
        "extractor code versions.")
def catalog_sync(context: SensorEvaluationContext, warehouse: WarehouseResource):
    with warehouse.catalog().session() as s:
        wanted = {
            BUCKETS.name: {b for (b,) in s.query(Bucket.bucket_id)},
            COLLECTIONS.name: {c for (c,) in s.query(Collection.collection_id)},
            BATCHES.name: {b for (b,) in s.query(Batch.batch_id).filter(Batch.submitted_at.isnot(None))},
            TAXONOMIES.name: {t for (t,) in s.query(Taxonomy.taxonomy_id)},
            CLUSTERS.name: {c for (c,) in s.query(Cluster.cluster_id)},
        }
    requests, changes = [], []
    for name, keys in wanted.items():
        have = set(context.instance.get_dynamic_partitions(name))
        if add := sorted(keys - have):
            requests.append(AddDynamicPartitionsRequest(name, add))
            changes.append(f"+{len(add)} {name}")
        if drop := sorted(have - keys):
            requests.append(DeleteDynamicPartitionsRequest(name, drop))
            changes.append(f"-{len(drop)} {name}")
    seen = json.loads(context.cursor) if context.cursor else None
    observations, versions = code_observations(context.instance, warehouse, known=seen)
    context.update_cursor(json.dumps(versions, sort_keys=True))
    if changes or observations:
        context.log.info(", ".join(changes + [f"{len(observations)} extractor code version(s) observed"]))
    return SensorResult(dynamic_partitions_requests=requests, asset_events=observations)
