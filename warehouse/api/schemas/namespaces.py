"""Namespace request bodies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from warehouse.api.schemas.common import Strict
from warehouse.errors import rename_aliases


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
        return rename_aliases(data, {"name": "namespace_name"})
