"""Bodies of the index owner's internal endpoints (``/internal/*``, not in the public OpenAPI document)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from warehouse.api.schemas.common import Strict


class PartitionRunRequest(Strict):
    batch_id: str = Field(min_length=1)
    collection_id: str = Field(min_length=1)
    run_id: str | None = None


class PartitionCancelRequest(Strict):
    batch_id: str = Field(min_length=1)


class EnrichmentRunRequest(Strict):
    kind: Literal["taxonomy", "cluster"]
    resource_id: str = Field(min_length=1)
    dagster_run_id: str | None = None


class IndexOperationRequest(Strict):
    """One ``IndexStore`` call; which fields it needs depends on the operation in the path."""

    namespace_id: str = Field(min_length=1)
    vectors: list[dict[str, Any]] | None = None
    indexes: dict[str, str] | None = None
    points: list[dict[str, Any]] | None = None
    filter: dict[str, Any] | None = None
    payload: dict[str, Any] | None = None
    updates: list[list[Any]] | None = None
    key: str | None = None
    queries: list[dict[str, Any]] | None = None
    ids: list[str] | None = None
    with_vectors: bool | list[str] = False
    limit: int = Field(default=100, ge=1, le=10_000)
    offset: str | None = None
