"""Request bodies of the v1 API, in the Mixpeek 0.82 shapes, with the documented aliases.

Unknown keys are refused (``extra="forbid"``) with the key named, except on objects, whose root
keys are the object's own fields. Aliases from other API generations are folded in before
validation (``schema`` → ``bucket_schema``, ``name`` → ``*_name``, ``collection_ids`` →
``collection_identifiers``, a one-element ``feature_extractors`` list → ``feature_extractor``…).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


def _alias(data: Any, pairs: dict[str, str]) -> Any:
    """Accept documented alternative spellings: ``{old: new}`` renames ``old`` unless ``new`` is given."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for old, new in pairs.items():
        if old in data and new not in data:
            data[new] = data.pop(old)
    return data


# -- namespaces ---------------------------------------------------------------------------------
class FeatureExtractorRef(Strict):
    feature_extractor_name: str
    version: str = "v1"
    params: dict[str, Any] | None = None
    parameters: dict[str, Any] | None = None


class CreateNamespaceRequest(Strict):
    namespace_name: str = Field(min_length=3, max_length=255)
    description: str | None = None
    feature_extractors: list[FeatureExtractorRef] | None = None
    mode: Literal["managed", "standalone"] | None = None
    namespace_id: str | None = None
    payload_indexes: list[dict[str, Any]] | None = None
    auto_create_indexes: bool | None = None
    ttl_seconds: int | None = None
    vector_configs: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return _alias(data, {"name": "namespace_name"})


# -- buckets ------------------------------------------------------------------------------------
FieldType = Literal[
    "string", "number", "integer", "float", "boolean", "object", "array", "date", "datetime",
    "text", "image", "audio", "video", "pdf", "excel",
]
BLOB_TYPES = {"text", "image", "audio", "video", "pdf", "excel"}


class SchemaField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: FieldType
    required: bool | None = None
    description: str | None = None
    default: Any = None
    enum: list[Any] | None = None
    items: Any = None
    properties: Any = None
    examples: list[Any] | None = None


class BucketSchema(Strict):
    properties: dict[str, SchemaField] = Field(default_factory=dict)


class CreateBucketRequest(Strict):
    bucket_name: str = Field(min_length=1, max_length=255)
    bucket_schema: BucketSchema | None = None
    description: str | None = None
    unique_key: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    storage_class: str | None = None
    destination: Any = None
    ingest_filter: Any = None
    source_adapter: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return _alias(data, {"schema": "bucket_schema", "name": "bucket_name"})


# -- objects ------------------------------------------------------------------------------------
class BlobRequest(Strict):
    property: str = Field(min_length=1)
    type: Literal["text", "image", "audio", "video", "pdf", "excel", "string", "json"]
    data: Any = None
    upload_id: str | None = None
    key_prefix: str | None = None
    checksum: str | None = None
    metadata: dict[str, Any] | None = None
    canonicalize_source: bool | None = None
    force_remirror: bool | None = None
    mime_type: str | None = None
    content_type: str | None = None
    filename: str | None = None


class CreateObjectRequest(BaseModel):
    """Root keys beyond these are the object's own fields (schema properties / metadata)."""

    model_config = ConfigDict(extra="allow")
    blobs: list[BlobRequest] = Field(default_factory=list)
    key_prefix: str | None = None
    skip_duplicates: bool | None = None
    canonicalize_source: bool | None = None
    force_remirror: bool | None = None
    edges: list[dict[str, Any]] | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] | None = None


class CreateObjectsBatchRequest(Strict):
    objects: list[CreateObjectRequest] = Field(min_length=1, max_length=1000)


# -- collections ----------------------------------------------------------------------------------
class SourceConfig(Strict):
    type: Literal["bucket", "collection", "taxonomy", "cluster", "direct_upsert", "signals", "none"]
    bucket_ids: list[str] | None = None
    collection_id: str | None = None
    collection_ids: list[str] | None = None
    source_namespace_id: str | None = None
    source_filters: Any = None
    field_map: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        if isinstance(data, dict) and isinstance(data.get("bucket_id"), str) and "bucket_ids" not in data:
            data = dict(data)
            data["bucket_ids"] = [data.pop("bucket_id")]
        return data


class FieldPassthrough(Strict):
    source_path: str
    target_path: str | None = None
    default: Any = None
    required: bool | None = None


class FeatureExtractorConfig(Strict):
    feature_extractor_name: str
    version: str = "v1"
    input_mappings: dict[str, Any] | list[dict[str, Any]] | None = None
    field_passthrough: list[FieldPassthrough | str] | None = None
    parameters: dict[str, Any] | None = None
    params: dict[str, Any] | None = None
    include_all_source_fields: bool | None = None
    feature_extractor_id: str | None = None


class CreateCollectionRequest(Strict):
    collection_name: str = Field(min_length=1, max_length=255)
    source: SourceConfig
    feature_extractor: FeatureExtractorConfig | None = None
    description: str | None = None
    metadata: dict[str, Any] | None = None
    enabled: bool | None = None
    features: Any = None
    input_schema: Any = None
    schedule: Any = None
    taxonomy_applications: Any = None
    cluster_applications: Any = None
    alert_applications: Any = None
    retriever_enrichments: Any = None
    retriever_transform: Any = None
    embedding_task: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        data = _alias(data, {"name": "collection_name"})
        if isinstance(data, dict) and "feature_extractors" in data and "feature_extractor" not in data:
            fes = data.pop("feature_extractors")
            if isinstance(fes, list) and len(fes) == 1:
                data["feature_extractor"] = fes[0]
            else:
                raise ValueError("a collection has exactly one feature extractor: send 'feature_extractor' (singular)")
        return data


class TriggerCollectionRequest(Strict):
    include_buckets: list[str] | None = None
    include_collections: list[str] | None = None
    object_ids: list[str] | None = None
    source_filters: Any = None
    dedup_strategy: Literal["skip", "replace", "force"] | None = None
    reembed: bool | None = None


# -- batches ----------------------------------------------------------------------------------
class CreateBatchRequest(Strict):
    object_ids: list[str] | None = None
    collection_ids: list[str] | None = None
    filters: Any = None
    limit: int | None = None
    dedup_strategy: Literal["skip", "replace", "force"] | None = None
    metadata: dict[str, Any] | None = None
    batch_name: str | None = None
    auto_submit: bool | None = None
    trigger_processing: bool | None = None


class SubmitBatchRequest(Strict):
    include_processing_history: bool | None = None
    collection_ids: list[str] | None = None
    webhook_url: str | None = None


class AddObjectsRequest(Strict):
    object_ids: list[str] = Field(min_length=1)


# -- retrievers ----------------------------------------------------------------------------------
class RetrieverInputField(BaseModel):
    model_config = ConfigDict(extra="forbid")
    type: str
    required: bool | None = None
    description: str | None = None
    default: Any = None
    examples: list[Any] | None = None
    enum: list[Any] | None = None
    items: Any = None
    properties: Any = None


class CreateRetrieverRequest(Strict):
    retriever_name: str = Field(min_length=1, max_length=255)
    stages: list[dict[str, Any]] = Field(min_length=1)
    collection_identifiers: list[str] | None = None
    input_schema: dict[str, RetrieverInputField] | None = None
    description: str | None = None
    budget_limits: dict[str, Any] | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    display_config: Any = None
    visibility: Any = None
    marketplace_listing_id: Any = None
    requires_subscription: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        data = _alias(data, {"name": "retriever_name", "collection_ids": "collection_identifiers"})
        if isinstance(data, dict) and isinstance(data.get("input_schema"), dict) and "properties" in data["input_schema"] \
                and isinstance(data["input_schema"]["properties"], dict) and "type" not in data["input_schema"]["properties"]:
            data = dict(data)
            data["input_schema"] = data["input_schema"]["properties"]
        return data


class ExecuteRetrieverRequest(Strict):
    inputs: dict[str, Any] = Field(default_factory=dict)
    filters: dict[str, Any] | None = None
    pagination: dict[str, Any] | None = None
    limit: int | None = Field(default=None, ge=1, le=10_000)
    offset: int | None = Field(default=None, ge=0)
    stream: bool | None = None
    expand: Any = None
    skip_cache: bool | None = None
    return_presigned_urls: bool | None = None
    return_vectors: bool | None = None
    write_token: Any = None
    consistency: Any = None
    target_collection_id: str | None = None
    explain: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return _alias(data, {"input": "inputs"})


class AdhocExecuteRequest(ExecuteRetrieverRequest):
    stages: list[dict[str, Any]] = Field(min_length=1)
    collection_identifiers: list[str] | None = None
    input_schema: dict[str, RetrieverInputField] | None = None
    budget_limits: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return _alias(data, {"input": "inputs", "collection_ids": "collection_identifiers"})


class BatchQuery(Strict):
    inputs: dict[str, Any] = Field(default_factory=dict)
    filters: dict[str, Any] | None = None
    limit: int | None = Field(default=None, ge=1, le=10_000)
    offset: int | None = Field(default=None, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return _alias(data, {"input": "inputs"})


class BatchExecuteRequest(Strict):
    queries: list[BatchQuery] = Field(min_length=1, max_length=50)
    concurrency: int = Field(default=5, ge=1, le=32)
    return_presigned_urls: bool | None = None
    return_vectors: bool | None = None
    stream: bool | None = None


class ListRequest(BaseModel):
    """List bodies: filters and paging (unknown keys refused)."""

    model_config = ConfigDict(extra="forbid")
    search: str | None = None
    filters: Any = None
    sort: Any = None
    sorts: Any = None
    limit: int | None = Field(default=None, ge=1, le=1000)
    offset: int | None = Field(default=None, ge=0)
    page: int | None = None
    page_size: int | None = None
    cursor: str | None = None
    include_total: bool | None = None
    select: Any = None
    return_presigned_urls: bool | None = None
    return_vectors: bool | None = None
    return_vector_names: Any = None
    group_by: Any = None
    expand: Any = None
    partition: Any = None
