"""The catalog: namespaces, API keys, buckets, objects, collections, batches, tasks, retrievers."""

from warehouse.catalog.db import Catalog
from warehouse.catalog.models import (
    ApiKey,
    Base,
    Batch,
    Bucket,
    Collection,
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
    "Collection",
    "Namespace",
    "Object",
    "Retriever",
    "Task",
]
