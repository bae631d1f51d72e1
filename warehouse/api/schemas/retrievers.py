"""Retriever request bodies: create, execute, ad-hoc and batch execution."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field, model_validator

from warehouse.api.schemas.common import BODY_CONFIG, Strict
from warehouse.catalog.paging import MAX_OFFSET
from warehouse.errors import rename_aliases


class RetrieverInputField(BaseModel):
    model_config = BODY_CONFIG
    type: str
    required: bool | None = None
    description: str | None = None
    default: Any = None
    examples: list[Any] | None = None
    enum: list[Any] | None = None
    items: Any = None
    properties: Any = None


class _RetrieverSpellings(Strict):
    """``name`` and ``collection_ids`` spellings, and an ``input_schema`` sent as a JSON Schema object
    (``{properties: {...}}``), on every body that defines a retriever."""

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        data = rename_aliases(data, {"name": "retriever_name", "collection_ids": "collection_identifiers"})
        if isinstance(data, dict) and isinstance(data.get("input_schema"), dict) and "properties" in data["input_schema"] \
                and isinstance(data["input_schema"]["properties"], dict) and "type" not in data["input_schema"]["properties"]:
            data = dict(data)
            data["input_schema"] = data["input_schema"]["properties"]
        return data


class CreateRetrieverRequest(_RetrieverSpellings):
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



class PatchRetrieverRequest(_RetrieverSpellings):
    """An edit of a saved retriever; every edit is a new version (``GET .../versions``, ``POST .../rollback``)."""
    retriever_name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    collection_identifiers: list[str] | None = None
    stages: list[dict[str, Any]] | None = Field(default=None, min_length=1)
    input_schema: dict[str, RetrieverInputField] | None = None
    budget_limits: dict[str, Any] | None = None
    display_config: Any = None
    visibility: Any = None
    marketplace_listing_id: Any = None
    requires_subscription: Any = None


class CloneRetrieverRequest(_RetrieverSpellings):
    retriever_name: str = Field(min_length=1, max_length=255)
    description: str | None = None
    collection_identifiers: list[str] | None = None
    stages: list[dict[str, Any]] | None = Field(default=None, min_length=1)
    input_schema: dict[str, RetrieverInputField] | None = None
    budget_limits: dict[str, Any] | None = None
    tags: list[str] | None = None
    metadata: dict[str, Any] | None = None
    display_config: Any = None


class RollbackRetrieverRequest(Strict):
    version: int = Field(ge=1)


class ExecuteRetrieverRequest(Strict):
    inputs: dict[str, Any] = Field(default_factory=dict)
    filters: dict[str, Any] | None = None
    pagination: dict[str, Any] | None = None
    limit: int | None = Field(default=None, ge=1, le=10_000)
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
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
        return rename_aliases(data, {"input": "inputs"})


class AdhocExecuteRequest(ExecuteRetrieverRequest):
    stages: list[dict[str, Any]] = Field(min_length=1)
    collection_identifiers: list[str] | None = None
    input_schema: dict[str, RetrieverInputField] | None = None
    budget_limits: dict[str, Any] | None = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"input": "inputs", "collection_ids": "collection_identifiers"})


class BatchQuery(Strict):
    inputs: dict[str, Any] = Field(default_factory=dict)
    filters: dict[str, Any] | None = None
    limit: int | None = Field(default=None, ge=1, le=10_000)
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"input": "inputs"})


class BatchExecuteRequest(Strict):
    queries: list[BatchQuery] = Field(min_length=1, max_length=50)
    concurrency: int = Field(default=5, ge=1, le=32)
    return_presigned_urls: bool | None = None
    return_vectors: bool | None = None
    stream: bool | None = None
