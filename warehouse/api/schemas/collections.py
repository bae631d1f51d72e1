"""Collection request bodies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from warehouse.api.schemas.common import Strict
from warehouse.errors import rename_aliases


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
        data = rename_aliases(data, {"name": "collection_name"})
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


class UpdateFeatureExtractor(Strict):
    """Only ``field_passthrough`` may change; the rest must be left out or repeat the current value."""

    feature_extractor_name: str | None = None
    version: str | None = None
    input_mappings: Any = None
    parameters: dict[str, Any] | None = None
    field_passthrough: list[str | FieldPassthrough] | None = None


class UpdateCollectionRequest(Strict):
    """PATCH a collection: name, description, metadata, enabled, field_passthrough. Source and extractor are
    refused with the reason (the collection's documents were made from them)."""

    collection_name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    metadata: dict[str, Any] | None = None
    enabled: bool | None = None
    feature_extractor: UpdateFeatureExtractor | None = None
    source: Any = Field(default=None, description="Cannot change: refused when set.")
    alert_applications: list[Any] | None = Field(
        default=None, description="Replaces the collection's alert applications ([] removes them).")
    retriever_enrichments: list[Any] | None = Field(
        default=None, description="Replaces the collection's retriever enrichments ([] removes them).")

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"name": "collection_name"})
