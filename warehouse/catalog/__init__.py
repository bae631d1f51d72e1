"""The catalog: namespaces, API keys, buckets, objects, collections, batches, tasks, retrievers, events,
taxonomies, clusters, alerts, webhooks and their runs and deliveries."""

from warehouse.catalog.db import Catalog, lock_row
from warehouse.catalog.models import (
    Alert,
    ApiKey,
    Base,
    Batch,
    Bucket,
    Cluster,
    Collection,
    EnrichmentRun,
    Event,
    Namespace,
    Object,
    Retriever,
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
    "Bucket",
    "Catalog",
    "Cluster",
    "lock_row",
    "Collection",
    "EnrichmentRun",
    "Event",
    "Namespace",
    "Object",
    "Retriever",
    "Task",
    "Taxonomy",
    "Webhook",
    "WebhookDelivery",
]
