"""Taxonomy, cluster, alert and webhook request bodies.

These resources accept several documented shapes (the reference's ``config`` form, the tutorials'
flat forms, the showcase variants), so the models name every top-level key each shape may use and
refuse any other; the domain (``warehouse.enrichment``) then checks the nested structure and the
combinations, with messages that say which form to use.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from warehouse.api.schemas.common import Strict
from warehouse.catalog.paging import MAX_OFFSET


class DefinitionListRequest(Strict):
    """List body of taxonomies, clusters, alerts and webhooks."""

    limit: int | None = Field(default=None, ge=1, le=1000)
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    page: int | None = Field(default=None, ge=1, le=MAX_OFFSET)
    page_size: int | None = Field(default=None, ge=1, le=1000)
    search: str | None = None


# -- taxonomies -------------------------------------------------------------------------------------
class TaxonomyRequest(Strict):
    """Create (or, every key optional, patch) a taxonomy: ``{taxonomy_name, config: {...}}`` or the flat form."""

    taxonomy_name: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    config: dict[str, Any] | None = Field(default=None, description="The documented form: everything but the name, "
                                          "description and metadata goes here.")
    taxonomy_type: str | None = Field(default=None, description="flat (default) or hierarchical")
    retriever_id: str | None = None
    collection_id: str | None = Field(default=None, description="Flat form: the collection to classify.")
    input_mappings: list[Any] | None = None
    enrichment_fields: list[Any] | None = None
    threshold: float | None = None
    execution_mode: str | None = Field(default=None, description="materialize (default) or on_demand")
    top_k: int | None = None
    feature_uri: str | None = None
    inference_strategy: str | None = Field(default=None, description="retriever (default) or linear_probe")
    source_collection: dict[str, Any] | None = None
    target_collection_ids: list[str] | None = None
    reference_collection_id: str | None = None
    hierarchical_nodes: list[Any] | None = None
    path_field: str | None = None
    path_separator: str | None = None


class CloneTaxonomyRequest(Strict):
    """``POST /v1/taxonomies/{t}/clone``: a new taxonomy with the source's configuration."""

    taxonomy_name: str = Field(min_length=1, max_length=255, description="The clone's name: new in the namespace.")
    description: str | None = Field(default=None, description="Default: the source's.")


class TaxonomyExecuteRequest(Strict):
    """``documents``/``document_ids``/``inputs``: classify and return; otherwise materialize into collections."""

    documents: list[Any] | None = None
    document_ids: list[Any] | None = None
    collection_id: str | None = None
    collection_ids: list[str] | None = None
    scroll_filters: Any = None
    batch_size: int | None = None
    inputs: dict[str, Any] | None = None
    parallelism: Any = None
    budget_limits: Any = None


class ApplyTaxonomyRequest(Strict):
    taxonomy_id: str | None = None
    scroll_filters: Any = None
    batch_size: int | None = None
    parallelism: Any = None
    budget_limits: Any = None


# -- clusters -----------------------------------------------------------------------------------------
class ClusterRequest(Strict):
    """Create a cluster definition (``CreateClusterRequest`` or the tutorial's short form); a patch may send
    these keys too, and is told which of them can change."""

    cluster_name: str | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    collection_ids: list[str] | None = None
    collection_id: str | None = None
    source_cluster_ids: list[str] | None = None
    cluster_type: str | None = None
    vector_config: dict[str, Any] | None = None
    attribute_config: dict[str, Any] | None = None
    filters: Any = None
    llm_labeling: dict[str, Any] | None = None
    feature_uri: str | None = None
    algorithm: dict[str, Any] | None = None
    dimension_reduction: Any = None
    text_field: str | None = None
    sample_size: int | None = None
    enrich_source_collection: bool | None = None
    source_enrichment_config: Any = None
    auto_execute_on_batch: bool | None = None
    auto_execute_min_documents: int | None = None
    auto_execute_cooldown_seconds: int | None = None
    num_keywords: int | None = None


class ClusterExecuteRequest(Strict):
    mode: str | None = None
    source_execution_ids: list[str] | None = None
    assignment_threshold: float | None = None
    filters: Any = None
    sample_size: int | None = None
    vis_n_components: int | None = None
    defer_visualization: bool | None = None
    layout_stability: Any = None
    llm_labeling: bool | dict[str, Any] | None = None


# -- alerts and webhooks ------------------------------------------------------------------------------
class AlertRequest(Strict):
    """Create (or patch) an alert: the documented ``notification_config`` form or the tutorial's ``notification``."""

    name: str | None = None
    alert_name: str | None = None
    description: str | None = None
    collection_id: str | None = None
    collection_ids: list[str] | None = None
    notification_config: dict[str, Any] | None = None
    notification: dict[str, Any] | None = None
    source: str | None = Field(default=None, description="condition or retriever")
    retriever_id: str | None = None
    trigger_on: str | None = None
    min_count: int | None = None
    threshold: float | None = None
    condition: dict[str, Any] | None = None
    inputs: dict[str, Any] | None = None
    cooldown_seconds: int | None = None
    renotify_interval_seconds: int | None = None
    enabled: bool | None = None
    metadata: dict[str, Any] | None = None
    max_matches: int | None = None
    system_condition: Any = None
    namespace_selector: Any = None


class ExecuteAlertRequest(Strict):
    collection_id: str | None = None
    batch_id: str | None = None


class WebhookRequest(Strict):
    """Create (or update) an organisation webhook: ``channels`` or the tutorial's single ``url``."""

    webhook_name: str | None = None
    event_types: Any = Field(default=None, description="Event types ('batch.completed', 'batch.*', '*').")
    events: Any = Field(default=None, description="Alias of event_types.")
    channels: Any = Field(default=None, description="[{channel: 'webhook', configs: {url, headers, timeout}}]")
    url: str | None = None
    headers: dict[str, Any] | None = None
    signing_secret: str | None = None
    secret: str | None = None
    resource_types: list[Any] | None = None
    is_active: bool | None = None
    namespace_ids: list[str] | None = None
    metadata: dict[str, Any] | None = None
    timeout: float | None = None
