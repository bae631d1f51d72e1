"""Dagster Definitions: the warehouse's assets, checks, jobs, schedules, sensors and resources.

``dagster dev -w workspace.yaml`` (or ``warehouse up``) loads ``defs``. The resource is built from the
same ``WAREHOUSE_*`` settings as the API server: the home, the base URL of the process that owns the
index (``WAREHOUSE_INDEX_OWNER_URL``, default the local API server) and the executor
(``WAREHOUSE_DAGSTER_EXECUTOR``: ``owner``, ``in_process`` or ``ray_job``), which picks the resource's class.
"""

from dagster import Definitions

from warehouse.assets import (
    bucket_objects,
    cluster_groups,
    clusters_daily,
    collection_documents,
    extractor_code,
    process_batch,
    process_tier_batch,
    refresh_cluster,
    refresh_taxonomy,
    taxonomies_hourly,
    taxonomy_assignments,
    tier_documents,
)
from warehouse.resources import warehouse_resource
from warehouse.sensors import (
    batch_run_canceled,
    batch_run_failed,
    batch_run_succeeded,
    catalog_sync,
    collection_schedules,
    enrichment_after_batches,
    local_new_objects,
    queued_batches,
    s3_new_objects,
)
from warehouse.settings import load_settings

defs = Definitions(
    assets=[bucket_objects, collection_documents, tier_documents, extractor_code, taxonomy_assignments,
            cluster_groups],
    jobs=[process_batch, process_tier_batch, refresh_taxonomy, refresh_cluster],
    schedules=[taxonomies_hourly, clusters_daily],
    sensors=[queued_batches, batch_run_succeeded, batch_run_failed, batch_run_canceled, local_new_objects,
             s3_new_objects, catalog_sync, enrichment_after_batches, collection_schedules],
    resources={"warehouse": warehouse_resource(load_settings())},
)
