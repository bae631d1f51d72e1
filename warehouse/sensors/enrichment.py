"""``enrichment_after_batches``: after a batch writes documents into a collection, refresh the taxonomies that
target it and run its auto-executing cluster definitions.

The cursor is the ``completed_at`` of the last finished batch seen; run keys are
``{taxonomy or cluster}:{batch}``, so a tick seen twice starts nothing new.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from dagster import DefaultSensorStatus, RunRequest, SensorEvaluationContext, SkipReason, sensor

from warehouse.assets.enrichment import partitions_of, refresh_cluster, refresh_taxonomy
from warehouse.assets.partitions import CLUSTERS, TAXONOMIES
from warehouse.catalog import Batch
from warehouse.catalog.batches import SUCCEEDED
from warehouse.enrichment.runs import due_after_batch
from warehouse.resources import WarehouseResource


@sensor(name="enrichment_after_batches", minimum_interval_seconds=5, default_status=DefaultSensorStatus.RUNNING,
        jobs=[refresh_taxonomy, refresh_cluster],
        description="After a batch writes documents into a collection: materialize the taxonomies that target it "
        "and run its auto-executing cluster definitions (cooldown and minimum document count respected).")
def enrichment_after_batches(context: SensorEvaluationContext, warehouse: WarehouseResource):
    cursor = context.cursor or datetime.now(UTC).replace(tzinfo=None).isoformat()
    with warehouse.catalog().session() as s:
        done = (s.query(Batch).filter(Batch.completed_at > datetime.fromisoformat(cursor),
                                      Batch.status.in_(SUCCEEDED))
                .order_by(Batch.completed_at).limit(100).all())
    if not done:
        context.update_cursor(cursor)
        return SkipReason("no batch finished since the last tick")
    have_tax, have_clu = set(partitions_of(context, TAXONOMIES.name)), set(partitions_of(context, CLUSTERS.name))
    requests = []
    for b in done:
        written = {cid for cid, part in ((b.stats or {}).get("collections") or {}).items()
                   if int(part.get("documents_written") or 0) > 0}
        for cid in sorted(written):
            tax, clu = due_after_batch(warehouse.catalog(), cid)
            requests += [RunRequest(job_name="refresh_taxonomy", partition_key=t, run_key=f"{t}:{b.batch_id}",
                                    tags={"warehouse/trigger": f"batch:{b.batch_id}"}) for t in tax if t in have_tax]
            requests += [RunRequest(job_name="refresh_cluster", partition_key=c, run_key=f"{c}:{b.batch_id}",
                                    tags={"warehouse/trigger": f"batch:{b.batch_id}"}) for c in clu if c in have_clu]
    last = done[-1].completed_at
    context.update_cursor((last.replace(tzinfo=None) if last.tzinfo else last).isoformat())
    if requests:
        context.log.info(json.dumps([f"{r.job_name}:{r.partition_key}" for r in requests]))
    return requests or SkipReason(f"{len(done)} batch(es) finished; nothing targets their collections")
