"""``attribute_filter``: keep documents whose payload matches a condition tree.

Right after a ``feature_search`` the filter is pushed into that Qdrant query (so top_k counts
only matching documents); otherwise it runs on the candidates, or scrolls the collections when it
is the first stage.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.stages.base import Stage, StageContext, register


class AttributeFilterParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str | None = None
    operator: str | None = None
    value: Any = None
    conditions: dict[str, Any] | None = None
    case_insensitive: bool | None = None
    limit: int = Field(default=1000, ge=1, le=10_000, description="Max documents when this is the first stage.")

    @model_validator(mode="after")
    def _one_form(self):
        if self.conditions is None and self.field is None:
            raise ValueError("give either field/operator/value or conditions")
        return self

    def expression(self) -> dict[str, Any]:
        if self.conditions is not None:
            return self.conditions
        return {"field": self.field, "operator": self.operator or "eq", "value": self.value}


@register
class AttributeFilterStage(Stage):
    stage_id = "attribute_filter"
    category = "filter"
    description = "Keep documents whose payload fields satisfy a condition (eq, ne, gt, in, exists, … with AND/OR/NOT)."
    icon = "filter"
    Params = AttributeFilterParams

    def __init__(self, name: str, parameters: dict[str, Any]) -> None:
        super().__init__(name, parameters)
        self.compiled = compile_filter(self.params.expression(), f"stage {name}")
        self.pushed_down = False

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if self.pushed_down:
            self.metadata["pushed_down"] = True
            return [d for d in docs if self.compiled.matches(d)]
        if ctx.metadata.get("stages_run", 0) == 0:
            return self._scan(ctx)
        return [d for d in docs if self.compiled.matches(d)]

    def _scan(self, ctx: StageContext) -> list[dict[str, Any]]:
        flt = {"must": [{"key": "collection_id", "match": {"any": [c.collection_id for c in ctx.collections]}}]}
        if self.compiled.qdrant:
            flt["must"].append(self.compiled.qdrant)
        out, offset = [], None
        while len(out) < self.params.limit:
            hits, offset = ctx.services.index.scroll(ctx.namespace_id, flt, limit=256, offset=offset)
            out.extend(d for d in (document_view(h) for h in hits) if self.compiled.matches(d))
            if offset is None:
                break
        return out[: self.params.limit]
