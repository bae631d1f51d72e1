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


_UNSUPPORTED = "Not supported by this server: refused when set."


class UpdateNamespaceRequest(Strict):
    """PATCH / PUT a namespace: the keys given change, the others stay."""

    namespace_name: str | None = Field(default=None, min_length=3, max_length=64)
    description: str | None = None
    feature_extractors: list[FeatureExtractorRef] | None = Field(
        default=None, description="Extractors to add (the existing ones stay).")
    payload_indexes: list[dict[str, Any]] | None = Field(default=None, description="The namespace's payload indexes "
                                                         "[{field_name, type}] (replaces the list).")
    auto_create_indexes: bool | None = Field(default=None, description=_UNSUPPORTED)
    adaptive_indexing: bool | None = Field(default=None, description=_UNSUPPORTED)
    repair_vectors: bool | None = Field(default=None, description=_UNSUPPORTED)
    infrastructure: Any = Field(default=None, description=_UNSUPPORTED)
    trusted_issuers: Any = Field(default=None, description=_UNSUPPORTED)
    spend_budget: Any = Field(default=None, description=_UNSUPPORTED)
    pinned: Any = Field(default=None, description=_UNSUPPORTED)
    tiering: Any = Field(default=None, description=_UNSUPPORTED)
    expires_at: Any = Field(default=None, description=_UNSUPPORTED)
    ttl_seconds: int | None = Field(default=None, description=_UNSUPPORTED)
    cost_cap_override: Any = Field(default=None, description=_UNSUPPORTED)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"name": "namespace_name"})
