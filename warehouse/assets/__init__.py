"""Partitioned Dagster assets with their jobs and schedules: bucket objects, collection documents
(collection × batch) with the ``process_batch`` job, a multi-tier collection's documents (``tier_documents``,
``process_tier_batch``), extractor code, taxonomy assignments and cluster
groups (a partition per definition) with ``refresh_taxonomy``/``refresh_cluster`` and their schedules.

Partitions are dynamic and bounded (per bucket, collection, batch, definition — never per object).
May import: everything below the API (catalog … enrichment, services) and ``warehouse.resources``.
"""

from warehouse.assets.buckets import bucket_objects
from warehouse.assets.collections import (
    collection_documents,
    extractor_code,
    process_batch,
    process_tier_batch,
    tier_documents,
)
from warehouse.assets.enrichment import (
    cluster_groups,
    clusters_daily,
    refresh_cluster,
    refresh_taxonomy,
    taxonomies_hourly,
    taxonomy_assignments,
)
from warehouse.assets.partitions import (
    BATCHES,
    BUCKETS,
    CLUSTERS,
    COLLECTION_BATCHES,
    COLLECTIONS,
    TAXONOMIES,
)

__all__ = ["BATCHES", "BUCKETS", "CLUSTERS", "COLLECTIONS", "COLLECTION_BATCHES", "TAXONOMIES", "bucket_objects",
           "cluster_groups", "clusters_daily", "collection_documents", "extractor_code", "process_batch",
           "process_tier_batch", "tier_documents",
           "refresh_cluster", "refresh_taxonomy", "taxonomies_hourly", "taxonomy_assignments"]
