"""``collection_documents`` (collection × batch) and ``extractor_code`` (per collection).

A ``collection_documents`` partition is one batch processed into one collection: a Ray Data job over
the batch's objects whose documents are upserted with lineage (the Dagster run id included). Progress
streams into the run's logs; the materialization records objects, documents written and replaced,
failures with reasons, throughput and the extractor's ``name@version`` and code version. The
``no_failed_objects`` check fails when any object produced no documents.

``extractor_code`` is an observable source partitioned by collection whose data version is the code
version (hash of manifest and code) of the collection's extractor. The ``catalog_sync`` sensor
records a new observation when it changes, and Dagster then marks that collection's document
partitions stale — a backfill of the collection re-indexes them.
"""


from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetDep,
    AssetExecutionContext,
    AssetKey,
    AssetObservation,
    DataVersionsByPartition,
    MaterializeResult,
    MetadataValue,
    SpecificPartitionsPartitionMapping,
    asset,
    define_asset_job,
    observable_source_asset,
)
from dagster._core.definitions.data_version import DATA_VERSION_TAG

from warehouse.assets.buckets import bucket_objects
from warehouse.assets.partitions import COLLECTION_BATCHES, COLLECTIONS, collection_batch_key
from warehouse.catalog import Batch, Collection
from warehouse.catalog.batches import BatchStatus
from warehouse.resources import WarehouseResource, throttled_progress


def extractor_versions(warehouse: WarehouseResource, collection_ids: list[str] | None = None) -> dict[str, str]:
    """``{collection_id: "name@version:code_version"}`` for the collections whose extractor is installed."""
    registry = warehouse.registry()
    out = {}
    with warehouse.catalog().session() as s:
        q = s.query(Collection)
        if collection_ids is not None:
            q = q.filter(Collection.collection_id.in_(collection_ids))
        for c in q:
            fe = c.feature_extractor or {}
            try:
                ext = registry.get(fe.get("feature_extractor_name"), fe.get("version"), c.namespace_id)
            except LookupError:
                continue
            out[c.collection_id] = f"{ext.spec.ref}:{ext.code_version}"
    return out


def code_observations(instance, warehouse: WarehouseResource, collection_ids: list[str] | None = None,
                      known: dict[str, str] | None = None) -> tuple[list[AssetObservation], dict[str, str]]:
    """``extractor_code`` observations for collections whose current code version is not the last one
    observed (``known``, else the instance's latest observation); also returns the current versions."""
    versions = extractor_versions(warehouse, collection_ids)
    out = []
    for cid, version in sorted(versions.items()):
        if known is not None:
            last = known.get(cid)
        else:
            record = instance.get_latest_data_version_record(AssetKey("extractor_code"), True, cid)
            last = record.asset_observation.tags.get(DATA_VERSION_TAG) if record and record.asset_observation else None
        if last != version:
            ref, code = version.rsplit(":", 1)
            out.append(AssetObservation(asset_key="extractor_code", partition=cid, tags={DATA_VERSION_TAG: version},
                                        metadata={"extractor": ref, "code_version": code}))
    return out, versions


@observable_source_asset(
    key="extractor_code",
    partitions_def=COLLECTIONS,
    group_name="warehouse",
    description="The code version of each collection's feature extractor (hash of its manifest and code). "
    "A new version marks the collection's documents stale.",
)
def extractor_code(context, warehouse: WarehouseResource) -> DataVersionsByPartition:
    keys = set(context.instance.get_dynamic_partitions(COLLECTIONS.name))
    return DataVersionsByPartition({k: v for k, v in extractor_versions(warehouse).items() if k in keys})


@asset(
    key="collection_documents",
    partitions_def=COLLECTION_BATCHES,
    deps=[
        # The edge draws lineage bucket → collection; no partition-level dependency, so registering
        # new objects in a bucket does not mark documents already written from other batches stale.
        AssetDep(bucket_objects, partition_mapping=SpecificPartitionsPartitionMapping([])),
        AssetDep(extractor_code),
    ],
    check_specs=[AssetCheckSpec("no_failed_objects", asset="collection_documents",
                                description="Every object of the batch produced documents (or was skipped as empty).")],
    output_required=False,
    group_name="warehouse",
    kinds={"ray", "qdrant"},
    description="Documents of a collection written from one batch (partition = collection × batch): a Ray "
    "Data job runs the collection's extractor over the batch's objects and upserts vectors and payload "
    "with lineage. Backfill a collection to re-index it; re-runs replace, never duplicate.",
)
def collection_documents(context: AssetExecutionContext, warehouse: WarehouseResource):
    yield from _write_documents(context, warehouse)


@asset(
    key="tier_documents",
    partitions_def=COLLECTION_BATCHES,
    deps=[
        # A multi-tier collection reads the documents another collection wrote: the edge draws that lineage
        # (its materializations name the upstream partition); re-running an upstream queues the tier again.
        AssetDep(collection_documents, partition_mapping=SpecificPartitionsPartitionMapping([])),
        AssetDep(extractor_code),
    ],
    check_specs=[AssetCheckSpec("no_failed_objects", asset="tier_documents",
                                description="Every object with upstream documents produced documents here.")],
    output_required=False,
    group_name="warehouse",
    kinds={"ray", "qdrant"},
    description="Documents of a multi-tier collection (its source is another collection) written from one batch "
    "(partition = collection × batch): after an upstream batch writes, the same objects' upstream documents "
    "(filtered by the collection's source_filters) run through this collection's extractor. Its metadata names "
    "the upstream partition; document lineage walks back through every tier to the object.",
)
def tier_documents(context: AssetExecutionContext, warehouse: WarehouseResource):
    yield from _write_documents(context, warehouse)


def _write_documents(context: AssetExecutionContext, warehouse: WarehouseResource):
    """One batch into one collection: the body of both document assets."""
    keys = context.partition_key.keys_by_dimension
    collection_id, batch_id = keys["collection"], keys["batch"]
    with warehouse.catalog().session() as s:
        batch, collection = s.get(Batch, batch_id), s.get(Collection, collection_id)
        if batch is None or collection is None:
            missing = "batch " + batch_id if batch is None else "collection " + collection_id
            raise ValueError(f"{missing} no longer exists; the catalog_sync sensor removes its partition")
        if batch.bucket_id not in (collection.source or {}).get("bucket_ids", []):
            reason = (f"nothing to do: batch {batch_id} holds objects of bucket {batch.bucket_id}, which "
                      f"collection {collection.collection_name!r} does not source")
            context.log.info(reason)
            # No materialization (the partition stays missing); the check has nothing to fail on.
            yield AssetCheckResult(check_name="no_failed_objects", passed=True, description=reason)
            return
        name, bucket_id, namespace_id = collection.collection_name, batch.bucket_id, collection.namespace_id
        n_objects = len(batch.object_ids or [])
        upstream = {k: (batch.metadata_ or {}).get(k) for k in ("upstream_batch_id", "upstream_collection_id", "tier")}
    context.log.info(f"processing batch {batch_id} ({n_objects} objects of bucket {bucket_id}) into "
                     f"collection {name!r} ({collection_id})")
    result = warehouse.run_partition(batch_id, collection_id, context.run.run_id, throttled_progress(context.log.info),
                                     context.log.info, context=context)
    if result["status"] == BatchStatus.CANCELED:
        raise RuntimeError(f"batch {batch_id} was canceled while processing collection {name!r}")
    failures = result.get("failures") or []
    for failure in failures[:20]:
        context.log.warning(f"object {failure['object_id']} failed ({failure.get('error_type')}): {failure['error']}")
    if len(failures) > 20:
        context.log.warning(f"… and {len(failures) - 20} more failed objects (see the batch's failed_objects)")
    metadata = {
        "batch_id": batch_id, "collection_id": collection_id, "collection_name": name, "bucket_id": bucket_id,
        "namespace_id": namespace_id, "batch_status": result.get("batch_status"), "status": result["status"],
        "objects": result.get("objects", n_objects), "documents_written": result.get("documents_written", 0),
        "documents_replaced": result.get("documents_replaced", 0), "objects_failed": result.get("objects_failed", 0),
        "rows_skipped_empty": result.get("rows_skipped", 0), "rows": result.get("rows", 0),
        "seconds": result.get("seconds"), "rows_per_second": result.get("rows_per_second"),
        "extractor": result.get("extractor"), "extractor_code_version": result.get("extractor_code_version"),
        "ray_job_id": result.get("ray_job_id"),
        "index": MetadataValue.text(f"namespace {namespace_id}, documents with collection_id={collection_id}"),
        "failures": MetadataValue.json([{k: f.get(k) for k in ("object_id", "error_type", "error")}
                                        for f in failures[:50]]),
        "dagster/row_count": result.get("documents_written", 0),
        **({"tier": upstream["tier"], "upstream_collection_id": upstream["upstream_collection_id"],
            "upstream_batch_id": upstream["upstream_batch_id"],
            "upstream_partition": collection_batch_key(upstream["upstream_collection_id"], upstream["upstream_batch_id"])}
           if upstream.get("upstream_batch_id") else {}),
    }
    yield MaterializeResult(
        metadata={k: v for k, v in metadata.items() if v is not None},
        check_results=[AssetCheckResult(
            check_name="no_failed_objects", passed=not failures, severity=AssetCheckSeverity.ERROR,
            description=None if not failures else f"{len(failures)} object(s) produced no documents",
            metadata={"objects_failed": len({f['object_id'] for f in failures}),
                      "reasons": MetadataValue.json(sorted({f.get('error_type') or 'ERROR' for f in failures}))},
        )],
    )


process_batch = define_asset_job(
    "process_batch", selection=[collection_documents], partitions_def=COLLECTION_BATCHES,
    description="Process one batch into one collection (a collection_documents partition).",
)
process_tier_batch = define_asset_job(
    "process_tier_batch", selection=[tier_documents], partitions_def=COLLECTION_BATCHES,
    description="Process one batch of upstream documents into a multi-tier collection (a tier_documents partition).",
)
