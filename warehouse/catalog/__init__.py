"""The catalog: the ORM (``models``, ``db``) and the domain operations on it.

Owns namespaces (``bootstrap``), buckets and objects (``buckets``, ``objects``, the inbox registration in
``inbox``), collections (``collections``: create/delete and the one index schema), batches
(``batches``: ``BatchStatus``, create/submit/cancel/trigger), tasks, events, lookups by id or name
(``lookups``) and paging. Raises :class:`warehouse.errors.WarehouseError`, never HTTP errors.

May import: settings, errors, ids, storage, index. Operations that also touch the index, the object
store or Dagster receive the process's ``Services``; they never build one.
"""

from warehouse.catalog.db import Catalog, lock_row
from warehouse.catalog.models import (
    Alert,
    ApiKey,
    Base,
    Batch,
    BlobUpload,
    Bucket,
    Cluster,
    Collection,
    EnrichmentRun,
    Event,
    Namespace,
    Object,
    Plugin,
    PluginUpload,
    Retriever,
    RetrieverVersion,
    Task,
    Taxonomy,
    Webhook,
    WebhookDelivery,
)

__all__ = [
    "Alert",
    "ApiKey",
    "Base",
    "Batch",
    "BlobUpload",
    "Bucket",
    "Catalog",
    "Cluster",
    "lock_row",
    "Collection",
    "EnrichmentRun",
    "Event",
    "Namespace",
    "Object",
    "Plugin",
    "PluginUpload",
    "Retriever",
    "RetrieverVersion",
    "Task",
    "Taxonomy",
    "Webhook",
    "WebhookDelivery",
]
