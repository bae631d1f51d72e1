"""Ordering stages: ``sort_attribute``, ``sort_relevance``, ``score_normalize``."""

from __future__ import annotations

import math
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.errors import rename_aliases
from warehouse.retrieval.filters import get_path, set_path, split_sorted
from warehouse.retrieval.stages.base import Stage, StageContext, register


class SortAttributeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="Dotted path of the payload field to sort by.")
    direction: Literal["asc", "desc"] = "desc"
    nulls_last: bool = True

    @model_validator(mode="before")
    @classmethod
    def _alias(cls, data):
        data = rename_aliases(data, {"sort_field": "field", "order": "direction"})
        if isinstance(data, dict) and "null_handling" in data:
            handling = data.pop("null_handling")
            data["nulls_last"] = handling != "first"
        return data


@register
class SortAttributeStage(Stage):
    stage_id = "sort_attribute"
    category = "sort"
    description = "Order documents by a payload field (asc or desc); documents without it go last (or first)."
    icon = "arrow-down-wide-narrow"
    Params = SortAttributeParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        present, missing = split_sorted(docs, lambda d: get_path(d, p.field), p.direction == "desc")
        self.metadata["missing_field"] = len(missing)
        return present + missing if p.nulls_last else missing + present


class SortRelevanceParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score_field: str = "score"
    direction: Literal["asc", "desc"] = "desc"
    missing_score: float | None = Field(default=None, description="Score for documents without the field; "
                                        "None puts them last.")


@register
class SortRelevanceStage(Stage):
    stage_id = "sort_relevance"
    category = "sort"
    description = "Order documents by a score field (default `score`), e.g. after a rerank or normalisation."
    icon = "arrow-down-1-0"
    Params = SortRelevanceParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        scored, unscored = [], []
        for d in docs:
            value = get_path(d, p.score_field)
            if not isinstance(value, int | float) or isinstance(value, bool):
                value = p.missing_score
            (unscored if value is None else scored).append((value, d))
        scored.sort(key=lambda item: item[0], reverse=p.direction == "desc")  # stable: ties keep their order
        return [d for _, d in scored] + [d for _, d in unscored]


class ScoreNormalizeParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    method: Literal["minmax", "zscore", "sigmoid", "rank"] = "minmax"
    score_field: str = "score"
    output_field: str | None = Field(default=None, description="Write here instead of overwriting score_field.")


@register
class ScoreNormalizeStage(Stage):
    stage_id = "score_normalize"
    category = "sort"
    description = "Rescale scores: minmax to [0, 1], zscore, sigmoid, or rank (1 for the first, falling linearly)."
    icon = "sliders-horizontal"
    Params = ScoreNormalizeParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        values = [get_path(d, p.score_field) for d in docs]
        nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
        if not nums:
            return docs
        lo, hi = min(nums), max(nums)
        mean = sum(nums) / len(nums)
        std = math.sqrt(sum((x - mean) ** 2 for x in nums) / len(nums))
        out, target = [], p.output_field or p.score_field
        for i, (d, v) in enumerate(zip(docs, values, strict=True)):
            if not isinstance(v, int | float) or isinstance(v, bool):
                out.append(d)
                continue
            if p.method == "minmax":
                new = (v - lo) / (hi - lo) if hi > lo else 1.0
            elif p.method == "zscore":
                new = (v - mean) / std if std > 0 else 0.0
            elif p.method == "sigmoid":
                new = 1.0 / (1.0 + math.exp(-v))
            else:
                new = 1.0 - i / len(docs)
            d = dict(d)
            set_path(d, target, new)
            out.append(d)
        self.metadata.update(method=p.method, min=lo, max=hi)
        return out
