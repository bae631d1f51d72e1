"""Batch request bodies."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from warehouse.api.schemas.common import Strict
from warehouse.catalog.paging import MAX_OFFSET


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


class RetryBatchRequest(Strict):
    retry_mode: Literal["transient_only", "all"] = Field(
        default="transient_only", description="transient_only: objects whose extractor raised; all: every failed "
        "object (after fixing the data).")
    tier_nums: list[int] | None = Field(default=None, description="This server's batches have one tier: [] or [0].")
    max_retry_count: int = Field(default=3, ge=1, le=10, description="Refused once the objects were retried this "
                                 "many times.")


class AddObjectsRequest(Strict):
    object_ids: list[str] = Field(min_length=1)


class PatchBatchRequest(Strict):
    batch_name: str | None = Field(default=None, min_length=1, max_length=255)
    metadata: dict[str, Any] | None = None


class _Paged(Strict):
    limit: int | None = Field(default=None, ge=1, le=1000)
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    page: int | None = Field(default=None, ge=1, le=MAX_OFFSET)
    page_size: int | None = Field(default=None, ge=1, le=1000)


class ListBatchesRequest(_Paged):
    """Batches of the caller's namespace, newest first."""
    status: str | None = None
    bucket_id: str | None = None
    collection_id: str | None = None


class ListTasksRequest(_Paged):
    """Tasks of the caller's namespace, newest first; ``search`` matches the task type or the resource id."""
    status: str | None = None
    task_type: str | None = None
    search: str | None = None
