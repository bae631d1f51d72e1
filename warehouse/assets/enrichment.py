"""``taxonomy_assignments`` (a partition per taxonomy) and ``cluster_groups`` (a partition per cluster
definition), with their jobs and schedules (the sensor that refreshes them after batches is
``warehouse.sensors.enrichment``).

Both depend on ``collection_documents`` (lineage bucket → collection → taxonomy/cluster in the
graph, with no partition mapping: a new batch does not mark every taxonomy stale). A materialization
runs where the index lives — on the API server by default — and records what it wrote: documents,
assignments per label, the run id; a cluster materialization attaches its scatter plot (PNG).
"""



from dagster import (
    AssetDep,
    AssetExecutionContext,
    DefaultScheduleStatus,
    MaterializeResult,
    MetadataValue,
    RunRequest,
    ScheduleEvaluationContext,
    SkipReason,
    SpecificPartitionsPartitionMapping,
    asset,
    define_asset_job,
    schedule,
)

from warehouse.assets.collections import collection_documents, tier_documents
from warehouse.assets.partitions import CLUSTERS, TAXONOMIES
from warehouse.catalog import Cluster, Taxonomy
from warehouse.resources import WarehouseResource

_LINEAGE = [AssetDep(collection_documents, partition_mapping=SpecificPartitionsPartitionMapping([])),
            AssetDep(tier_documents, partition_mapping=SpecificPartitionsPartitionMapping([]))]


@asset(
    key="taxonomy_assignments",
    partitions_def=TAXONOMIES,
    deps=_LINEAGE,
    group_name="enrichment",
    kinds={"qdrant", "sklearn"},
    description="A taxonomy's assignments written into the documents of its target collections (partition = "
    "taxonomy): each document gets its best matching node above the threshold and the node's fields. "
    "Refreshed hourly and after batches that write into a target collection.",
)
def taxonomy_assignments(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    taxonomy_id = context.partition_key
    with warehouse.catalog().session() as s:
        t = s.get(Taxonomy, taxonomy_id)
        if t is None:
            raise ValueError(f"taxonomy {taxonomy_id} no longer exists; the catalog_sync sensor removes its partition")
        name, version, targets = t.taxonomy_name, t.version, t.config.get("target_collection_ids") or []
    if not targets:
        raise ValueError(f"taxonomy {name!r} has no target collections to materialize into; set "
                         "target_collection_ids (PATCH /v1/taxonomies/{id}) or use it on demand (taxonomy_enrich)")
    context.log.info(f"materializing taxonomy {name!r} v{version} into {targets}")
    stats = warehouse.run_enrichment("taxonomy", taxonomy_id, context.run.run_id, context.log.info)
    for warning in stats.get("warnings") or []:
        context.log.warning(warning)
    return MaterializeResult(metadata={
        "taxonomy_id": taxonomy_id, "taxonomy_name": name, "taxonomy_version": version,
        "run_id": stats["run_id"], "matching": stats["matching"], "collections": MetadataValue.json(stats["collections"]),
        "documents": stats["documents"], "assigned": stats["assigned"], "unassigned": stats["unassigned"],
        "mean_score": stats["mean_score"], "labels": MetadataValue.json(dict(list(stats["labels"].items())[:50])),
        "dagster/row_count": stats["documents"],
    })


@asset(
    key="cluster_groups",
    partitions_def=CLUSTERS,
    deps=_LINEAGE,
    group_name="enrichment",
    kinds={"qdrant", "sklearn"},
    description="A cluster definition's groups (partition = cluster definition): UMAP + HDBSCAN / k-means / "
    "agglomerative over a feature's vectors, c-TF-IDF (or LLM) labels, each member's group written into its "
    "payload. The materialization carries the 2-D layout as a scatter plot. Refreshed daily.",
)
def cluster_groups(context: AssetExecutionContext, warehouse: WarehouseResource) -> MaterializeResult:
    cluster_id = context.partition_key
    with warehouse.catalog().session() as s:
        c = s.get(Cluster, cluster_id)
        if c is None:
            raise ValueError(f"cluster {cluster_id} no longer exists; the catalog_sync sensor removes its partition")
        name = c.cluster_name
    context.log.info(f"running cluster definition {name!r} ({c.config['method']} over {c.config['feature_uri']})")
    result = warehouse.run_enrichment("cluster", cluster_id, context.run.run_id, context.log.info)
    if result.get("llm_labeling_error"):
        context.log.warning(f"LLM labelling failed, keyword labels kept: {result['llm_labeling_error']}")
    groups = result["groups"]
    table = "\n".join(f"| {g['label']} | {g['size']} | {', '.join(g['keywords'][:6])} |" for g in groups[:30])
    png = result["plot_png_base64"]
    return MaterializeResult(metadata={
        "cluster_id": cluster_id, "cluster_name": name, "run_id": result["run_id"], "method": result["method"],
        "groups": result["num_groups"], "noise_documents": result["noise_count"], "documents": result["documents"],
        "sampled": result["sampled"], "timings": MetadataValue.json(result["timings"]),
        "plot": MetadataValue.md(f"![cluster plot](data:image/png;base64,{png})"),
        "plot_path": MetadataValue.path(result["plot_path"]),
        "group_labels": MetadataValue.md("| label | size | keywords |\n|---|---|---|\n" + table),
        "dagster/row_count": result["documents"],
    })


refresh_taxonomy = define_asset_job("refresh_taxonomy", selection=[taxonomy_assignments], partitions_def=TAXONOMIES,
                                    description="Materialize one taxonomy into its target collections.")
refresh_cluster = define_asset_job("refresh_cluster", selection=[cluster_groups], partitions_def=CLUSTERS,
                                   description="Run one cluster definition.")


def partitions_of(context, name: str) -> list[str]:
    return sorted(context.instance.get_dynamic_partitions(name))


@schedule(job=refresh_taxonomy, cron_schedule="0 * * * *", default_status=DefaultScheduleStatus.RUNNING,
          description="Every hour: re-materialize every taxonomy that has target collections.")
def taxonomies_hourly(context: ScheduleEvaluationContext, warehouse: WarehouseResource):
    with warehouse.catalog().session() as s:
        wanted = {t.taxonomy_id for t in s.query(Taxonomy) if (t.config or {}).get("target_collection_ids")}
    keys = [k for k in partitions_of(context, TAXONOMIES.name) if k in wanted]
    if not keys:
        return SkipReason("no taxonomy with target collections")
    stamp = context.scheduled_execution_time.isoformat()
    return [RunRequest(partition_key=k, run_key=f"{k}:{stamp}", tags={"warehouse/trigger": "schedule"}) for k in keys]


@schedule(job=refresh_cluster, cron_schedule="0 3 * * *", default_status=DefaultScheduleStatus.RUNNING,
          description="Every day at 03:00: re-run every cluster definition.")
def clusters_daily(context: ScheduleEvaluationContext):
    keys = partitions_of(context, CLUSTERS.name)
    if not keys:
        return SkipReason("no cluster definitions")
    stamp = context.scheduled_execution_time.isoformat()
    return [RunRequest(partition_key=k, run_key=f"{k}:{stamp}", tags={"warehouse/trigger": "schedule"}) for k in keys]
