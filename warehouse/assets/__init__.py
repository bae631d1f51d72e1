"""Partitioned Dagster assets: bucket objects, collection documents (collection × batch), extractor code."""

from warehouse.assets.buckets import bucket_objects
from warehouse.assets.collections import collection_documents, extractor_code
from warehouse.assets.partitions import BATCHES, BUCKETS, COLLECTION_BATCHES, COLLECTIONS

__all__ = ["BATCHES", "BUCKETS", "COLLECTIONS", "COLLECTION_BATCHES", "bucket_objects", "collection_documents",
           "extractor_code"]
