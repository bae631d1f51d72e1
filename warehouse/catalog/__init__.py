"""The catalog: namespaces, API keys, buckets, objects, collections, batches, tasks, retrievers, events."""

from warehouse.catalog.db import Catalog, lock_row
from warehouse.catalog.models import (
    ApiKey,
    Base,
    Batch,
    Bucket,
    Collection,
    Event,
    Namespace,
    Object,
    Retriever,
    Task,
)

__all__ = [
    "ApiKey",
    "Base",
    "Batch",
    "Bucket",
    "Catalog",
    "lock_row",
    "Collection",
    "Event",
    "Namespace",
    "Object",
    "Retriever",
    "Task",
]
