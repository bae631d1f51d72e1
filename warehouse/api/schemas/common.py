"""What every request body shares: unknown keys are refused, and the list body."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warehouse.catalog.paging import MAX_OFFSET
from warehouse.errors import WarehouseError
from warehouse.retrieval.aggregation import AggregationRequest, GroupByField

#: every request body: unknown keys refused, and no type coercion — ``true`` is not the integer 1, ``"5"`` not 5,
#: ``0`` not ``false`` (a client sending those has a bug it should hear about, not a guess stored)
BODY_CONFIG = ConfigDict(extra="forbid", strict=True)


class Strict(BaseModel):
    model_config = BODY_CONFIG


#: list-body fields every listing honours
PAGING = frozenset({"limit", "offset", "page", "page_size", "include_total"})


class ListRequest(BaseModel):
    """List bodies: filters and paging (unknown keys refused)."""

    model_config = BODY_CONFIG
    search: str | None = None
    filters: Any = None
    sort: Any = None
    sorts: Any = None
    limit: int | None = Field(default=None, ge=1, le=1000)
    offset: int | None = Field(default=None, ge=0, le=MAX_OFFSET)
    page: int | None = Field(default=None, ge=1, le=MAX_OFFSET)
    page_size: int | None = Field(default=None, ge=1, le=1000)
    cursor: str | None = None
    include_total: bool | None = None
    select: Any = None
    return_presigned_urls: bool | None = None
    return_vectors: bool | None = None
    return_vector_names: Any = None
    group_by: Any = None
    expand: Any = None
    partition: Any = None

    def refuse_unhonoured(self, *honoured: str) -> None:
        """A 422 naming the first field set that this listing does not apply (paging always applies): one
        body shape serves every listing, but no listing accepts an option and ignores it."""
        for name in ListRequest.model_fields:  # a subclass's own fields are its route's to apply
            if name in PAGING or name in honoured:
                continue
            if getattr(self, name) not in (None, False):
                raise WarehouseError(422, f"{name}: this listing does not support it; it takes "
                                     f"{sorted(PAGING | set(honoured))}", {"location": name})


class ObjectAggregationRequest(AggregationRequest):
    """``POST /v1/buckets/{b}/objects/aggregate``: objects are grouped by at least one field."""

    group_by: list[GroupByField] = Field(min_length=1)


class DocumentAggregationRequest(AggregationRequest):
    """``POST /v1/collections/{c}/documents/aggregate``: without ``group_by``, counts in one result."""
