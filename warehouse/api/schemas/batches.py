"""Batch request bodies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from warehouse.api.schemas.common import Strict


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
