"""Partitioned Dagster assets: bucket objects, collection documents (collection × batch), extractor code,
taxonomy assignments and cluster groups (a partition per definition)."""

from warehouse.assets.buckets import bucket_objects
from warehouse.assets.collections import collection_documents, extractor_code
from warehouse.assets.enrichment import (
    cluster_groups,
    clusters_daily,
    enrichment_after_batches,
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
           "cluster_groups", "clusters_daily", "collection_documents", "enrichment_after_batches", "extractor_code",
           "refresh_cluster", "refresh_taxonomy", "taxonomies_hourly", "taxonomy_assignments"]
