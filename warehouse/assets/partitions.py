"""The dynamic partitions of the warehouse's assets, and keeping them in step with the catalog.

- ``buckets``: one partition per bucket (``bucket_objects``);
- ``collections`` × ``batches``: ``collection_documents`` is partitioned by collection and batch, so a
  backfill can re-process a whole collection (every batch of it) or chosen batches;
- ``taxonomies`` and ``clusters``: one partition per taxonomy / cluster definition (the enrichment
  assets use them).

Counts stay bounded: a partition per bucket, collection, batch and definition, never per object.
"""

from __future__ import annotations

from dagster import DynamicPartitionsDefinition, MultiPartitionKey, MultiPartitionsDefinition

BUCKETS = DynamicPartitionsDefinition(name="buckets")
COLLECTIONS = DynamicPartitionsDefinition(name="collections")
BATCHES = DynamicPartitionsDefinition(name="batches")
TAXONOMIES = DynamicPartitionsDefinition(name="taxonomies")
CLUSTERS = DynamicPartitionsDefinition(name="clusters")
COLLECTION_BATCHES = MultiPartitionsDefinition({"collection": COLLECTIONS, "batch": BATCHES})


def collection_batch_key(collection_id: str, batch_id: str) -> MultiPartitionKey:
    return MultiPartitionKey({"collection": collection_id, "batch": batch_id})
