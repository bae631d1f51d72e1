"""Batches as Dagster runs: queued batches start runs; run outcomes flow back into batches and events.

``queued_batches`` turns every QUEUED batch into one run request per collection of the batch
(partition collection × batch), with the run key ``{batch}:{collection}:{submitted_at}`` — a batch
submitted twice runs twice, a tick seen twice starts nothing new. The run's asset moves the batch
to PROCESSING and records its outcome; the run-status sensors cover what the asset cannot: a run
that failed before or outside the asset, or one cancelled from the UI, and record the batch's
events (``batch.completed``, ``batch.failed``, …) for webhook delivery.
"""

from __future__ import annotations

from datetime import UTC, datetime

from dagster import (
    AddDynamicPartitionsRequest,
    DagsterEventType,
    DagsterRunStatus,
    DefaultSensorStatus,
    RunRequest,
    RunStatusSensorContext,
    SensorEvaluationContext,
    SensorResult,
    SkipReason,
    run_status_sensor,
    sensor,
)

from warehouse.assets.collections import code_observations, process_batch, process_tier_batch
from warehouse.assets.partitions import BATCHES, COLLECTIONS, collection_batch_key
from warehouse.batch.runner import record_part
from warehouse.catalog import Batch, Collection, lock_row, schedules
from warehouse.catalog.batches import ACTIVE, TERMINAL, BatchStatus
from warehouse.catalog.events import record_batch_event
from warehouse.resources import WarehouseResource

MAX_BATCHES_PER_TICK = 50
BATCH_TAG, COLLECTION_TAG = "warehouse/batch_id", "warehouse/collection_id"

@sensor(jobs=[process_batch, process_tier_batch], minimum_interval_seconds=2,
        default_status=DefaultSensorStatus.RUNNING,
        description="Starts a run for every collection of every queued batch: process_batch for collections of "
        "objects, process_tier_batch for multi-tier collections (fed by another collection's documents).")
def queued_batches(context: SensorEvaluationContext, warehouse: WarehouseResource):
    with warehouse.catalog().session() as s:
        batches = (s.query(Batch).filter(Batch.status == BatchStatus.QUEUED).order_by(Batch.submitted_at)
                   .limit(MAX_BATCHES_PER_TICK).all())
        tiered = {c.collection_id for c in s.query(Collection).filter(
            Collection.collection_id.in_({c for b in batches for c in b.collection_ids or []}))
            if (c.source or {}).get("type") == "collection"}
    if not batches:
        return SkipReason("no QUEUED batches")
    have_batches = set(context.instance.get_dynamic_partitions(BATCHES.name))
    have_collections = set(context.instance.get_dynamic_partitions(COLLECTIONS.name))
    new_batches = [b.batch_id for b in batches if b.batch_id not in have_batches]
    new_collections = sorted({c for b in batches for c in b.collection_ids or []} - have_collections)
    requests = []
    for b in batches:
        submitted = (b.submitted_at or b.created_at).isoformat()
        for collection_id in b.collection_ids or []:
            requests.append(RunRequest(
                job_name=(process_tier_batch if collection_id in tiered else process_batch).name,
                run_key=f"{b.batch_id}:{collection_id}:{submitted}",
                partition_key=collection_batch_key(collection_id, b.batch_id),
                tags={BATCH_TAG: b.batch_id, COLLECTION_TAG: collection_id, "warehouse/bucket_id": b.bucket_id,
                      "warehouse/namespace_id": b.namespace_id, "warehouse/batch_name": b.batch_name or ""},
            ))
    # The runs' provenance must name the extractor's code version, or a later code change could not
    # mark these partitions stale: observe it now where it was never observed (or changed).
    observations, _ = code_observations(context.instance, warehouse, sorted({c for b in batches
                                                                             for c in b.collection_ids or []}))
    partitions = []
    if new_batches:
        partitions.append(AddDynamicPartitionsRequest(BATCHES.name, new_batches))
    if new_collections:
        partitions.append(AddDynamicPartitionsRequest(COLLECTIONS.name, new_collections))
    return SensorResult(run_requests=requests, dynamic_partitions_requests=partitions, asset_events=observations)


def _settle(context: RunStatusSensorContext, warehouse: WarehouseResource, status: str) -> None:
    run = context.dagster_run
    # Runs the sensor started carry warehouse tags; runs launched from the UI or a backfill carry the
    # partition's dimension tags.
    batch_id = run.tags.get(BATCH_TAG) or run.tags.get("dagster/partition/batch")
    collection_id = run.tags.get(COLLECTION_TAG) or run.tags.get("dagster/partition/collection")
    if not batch_id or not collection_id:
        return
    catalog = warehouse.catalog()
    with catalog.session() as s:
        batch = s.get(Batch, batch_id)
        if batch is None:
            return
        part = ((batch.stats or {}).get("collections") or {}).get(collection_id) or {}
        open_part = part.get("status") not in TERMINAL
    if status != "SUCCESS" and (open_part or batch.status in ACTIVE):
        error = _failure_message(context, warehouse) if status == "FAILURE" else "the Dagster run was canceled"
        record_part(catalog, batch_id, collection_id, {
            "status": BatchStatus.FAILED if status == "FAILURE" else BatchStatus.CANCELED, "error": error,
            "dagster_run_id": run.run_id, "finished_at": datetime.now(UTC).isoformat()})
        if status == BatchStatus.CANCELED:
            with catalog.session() as s:
                b = lock_row(s, Batch, batch_id)
                b.status, b.completed_at = BatchStatus.CANCELED, datetime.now(UTC)
    with catalog.session() as s:
        event = record_batch_event(s, s.get(Batch, batch_id), run.run_id)
    if event:
        context.log.info(f"recorded {event} for batch {batch_id}")


def _failure_message(context: RunStatusSensorContext, warehouse: WarehouseResource) -> str:
    """The run's failure, and — when its step process crashed before it could record why — what that usually
    means here: a Ray driver ends at once when its raylet goes (Ray does not raise, it exits)."""
    run_id = context.dagster_run.run_id
    message = getattr(context.dagster_event, "message", None) or "the Dagster run failed"
    text = f"Dagster run {run_id} failed: {message}"
    try:
        records = context.instance.get_records_for_run(run_id, of_type=DagsterEventType.STEP_FAILURE).records
        crashed = any(getattr(r.event_log_entry.dagster_event.event_specific_data.error, "cls_name", None)
                      == "ChildProcessCrashException" for r in records)
    except Exception:  # noqa: BLE001 - the plain message still says the run failed
        crashed = False
    if crashed:
        text += " — its step process exited without recording a result"
        ray_address = warehouse.settings().ray_address
        if ray_address:
            text += (f"; batches run on the Ray head at {ray_address}, and a Ray driver exits at once when its "
                     "raylet is lost (see logs/ray.log): retry or resubmit the batch once Ray is back")
    return text


@run_status_sensor(run_status=DagsterRunStatus.SUCCESS, name="batch_run_succeeded",
                   default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=2)
def batch_run_succeeded(context: RunStatusSensorContext, warehouse: WarehouseResource):
    _settle(context, warehouse, "SUCCESS")


@run_status_sensor(run_status=DagsterRunStatus.FAILURE, name="batch_run_failed",
                   default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=2)
def batch_run_failed(context: RunStatusSensorContext, warehouse: WarehouseResource):
    _settle(context, warehouse, "FAILURE")


@run_status_sensor(run_status=DagsterRunStatus.CANCELED, name="batch_run_canceled",
                   default_status=DefaultSensorStatus.RUNNING, minimum_interval_seconds=2)
def batch_run_canceled(context: RunStatusSensorContext, warehouse: WarehouseResource):
    _settle(context, warehouse, BatchStatus.CANCELED)


@sensor(minimum_interval_seconds=30, default_status=DefaultSensorStatus.RUNNING,
        description="Queues a batch for every collection whose schedule (cron or interval) is due; queued_batches "
        "then runs it like any other.")
def collection_schedules(context: SensorEvaluationContext, warehouse: WarehouseResource):
    with warehouse.catalog().session() as s:
        queued = [(b.batch_id, b.collection_ids) for b in schedules.run_due(s)]
    if not queued:
        return SkipReason("no collection schedule is due")
    for batch_id, collection_ids in queued:
        context.log.info(f"queued batch {batch_id} for scheduled collection(s) {collection_ids}")
    return SkipReason(f"queued {len(queued)} scheduled batch(es); queued_batches starts their runs")
