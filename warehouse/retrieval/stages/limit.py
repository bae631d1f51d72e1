"""``limit``: keep the first N documents (after an optional offset)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from warehouse.retrieval.stages.base import Stage, register


class LimitParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(default=10, ge=0, le=10_000)
    offset: int = Field(default=0, ge=0)


@register
class LimitStage(Stage):
    stage_id = "limit"
    category = "reduce"
    description = "Keep the first `limit` documents after skipping `offset`."
    icon = "list-end"
    Params = LimitParams

    def run(self, ctx, docs):
        return docs[self.params.offset : self.params.offset + self.params.limit]
