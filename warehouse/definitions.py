"""Dagster Definitions: the warehouse's assets, checks, jobs, schedules, sensors and resources.

``dagster dev -w workspace.yaml`` (or ``warehouse up``) loads ``defs``. The resource reads the same
``WAREHOUSE_*`` settings as the API server: the home, and the base URL of the process that owns the
index (``WAREHOUSE_INDEX_OWNER_URL``, default the local API server).
"""

from dagster import Definitions, EnvVar

from warehouse.assets import (
    bucket_objects,
    cluster_groups,
    clusters_daily,
    collection_documents,
    enrichment_after_batches,
    extractor_code,
    refresh_cluster,
    refresh_taxonomy,
    taxonomies_hourly,
    taxonomy_assignments,
)
from warehouse.resources import WarehouseResource
from warehouse.sensors import (
    batch_run_canceled,
    batch_run_failed,
    batch_run_succeeded,
    catalog_sync,
    local_new_objects,
    process_batch,
    queued_batches,
    s3_new_objects,
)

defs = Definitions(
    assets=[bucket_objects, collection_documents, extractor_code, taxonomy_assignments, cluster_groups],
    jobs=[process_batch, refresh_taxonomy, refresh_cluster],
    schedules=[taxonomies_hourly, clusters_daily],
    sensors=[queued_batches, batch_run_succeeded, batch_run_failed, batch_run_canceled, local_new_objects,
             s3_new_objects, catalog_sync, enrichment_after_batches],
    resources={
        "warehouse": WarehouseResource(
            home=EnvVar("WAREHOUSE_HOME").get_value(".warehouse"),
            index_owner_url=EnvVar("WAREHOUSE_INDEX_OWNER_URL").get_value("http://127.0.0.1:8000"),
            executor=EnvVar("WAREHOUSE_DAGSTER_EXECUTOR").get_value("owner"),
        )
    },
)
