"""Reducing stages: ``sample``, ``deduplicate``, ``group_by``, ``aggregate``."""

from __future__ import annotations

import random
from collections import defaultdict
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.errors import rename_aliases
from warehouse.retrieval.filters import get_path, order_key
from warehouse.retrieval.stages.base import Stage, StageContext, register
from warehouse.retrieval.stages.vectors import document_vectors


class SampleParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    count: int = Field(default=10, ge=1, le=10_000)
    strategy: Literal["random", "top", "stratified"] = "random"
    stratify_by: str | None = Field(default=None, description="Field whose values are sampled evenly (stratified).")
    seed: int | None = Field(default=None, description="Fix it for repeatable samples.")

    @model_validator(mode="after")
    def _stratify(self):
        if self.strategy == "stratified" and not self.stratify_by:
            raise ValueError("strategy 'stratified' needs stratify_by (the field to balance)")
        return self


@register
class SampleStage(Stage):
    stage_id = "sample"
    category = "reduce"
    description = "Keep `count` documents: at random (seeded), the top ones, or evenly across a field's values."
    icon = "dices"
    Params = SampleParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        if p.strategy == "top" or len(docs) <= p.count:
            return docs[: p.count]
        rng = random.Random(p.seed)
        if p.strategy == "random":
            keep = set(rng.sample(range(len(docs)), p.count))
            return [d for i, d in enumerate(docs) if i in keep]  # sampled, in the incoming order
        groups: dict[Any, list[int]] = defaultdict(list)
        for i, d in enumerate(docs):
            groups[str(get_path(d, p.stratify_by))].append(i)
        for members in groups.values():
            rng.shuffle(members)
        keep, order = set(), sorted(groups)
        while len(keep) < p.count:  # round robin over the strata
            for key in order:
                if groups[key] and len(keep) < p.count:
                    keep.add(groups[key].pop())
        self.metadata["strata"] = len(groups)
        return [d for i, d in enumerate(docs) if i in keep]


class DeduplicateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str | None = Field(default=None, description="Keep the first document per value of this field.")
    similarity_threshold: float | None = Field(default=None, gt=0, le=1, description="Drop a document whose "
                                               "vector has cosine ≥ threshold to one already kept.")
    feature_uri: str | None = Field(default=None, description="Which vector to compare (needed with "
                                    "similarity_threshold).")

    @model_validator(mode="before")
    @classmethod
    def _alias(cls, data):
        return rename_aliases(data, {"dedup_field": "field", "threshold": "similarity_threshold"})

    @model_validator(mode="after")
    def _one(self):
        if not self.field and self.similarity_threshold is None:
            raise ValueError("give field (exact duplicates) or similarity_threshold with feature_uri (near duplicates)")
        if self.similarity_threshold is not None and not self.feature_uri:
            raise ValueError("similarity_threshold needs feature_uri: the vectors to compare")
        return self


@register
class DeduplicateStage(Stage):
    stage_id = "deduplicate"
    category = "reduce"
    description = "Drop duplicates: the same value of a field, or near-duplicate vectors (cosine ≥ threshold)."
    icon = "copy-minus"
    Params = DeduplicateParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        out = docs
        if p.field:
            seen, out = set(), []
            for d in docs:
                key = repr(get_path(d, p.field))
                if key not in seen:
                    seen.add(key)
                    out.append(d)
        if p.similarity_threshold is not None:
            vectors = document_vectors(ctx, out, p.feature_uri)
            kept, kept_vecs = [], []
            for d in out:
                v = vectors.get(d["document_id"])
                if v is None:
                    kept.append(d)
                    continue
                v = np.asarray(v, dtype=np.float32)
                v = v / (np.linalg.norm(v) or 1.0)
                if kept_vecs and float(np.max(np.stack(kept_vecs) @ v)) >= p.similarity_threshold:
                    continue
                kept.append(d)
                kept_vecs.append(v)
            out = kept
        self.metadata["removed"] = len(docs) - len(out)
        return out


class GroupByParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    group_by_field: str = "source_object_id"
    max_per_group: int = Field(default=10, ge=1)
    max_groups: int | None = Field(default=None, ge=1)
    output_mode: Literal["flat", "grouped"] = Field(default="flat", description="flat: the kept documents in "
                                                    "rank order, each with `group_key`; grouped: one document per "
                                                    "group with its members under `documents`.")

    @model_validator(mode="before")
    @classmethod
    def _alias(cls, data):
        return rename_aliases(data, {"field": "group_by_field", "docs_per_group": "max_per_group"})


@register
class GroupByStage(Stage):
    stage_id = "group_by"
    category = "group"
    description = "Group documents by a field (default: their source object), keeping the best `max_per_group`."
    icon = "group"
    Params = GroupByParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        groups: dict[str, list[dict[str, Any]]] = {}
        flat = []
        for d in docs:  # incoming order = rank order; groups appear in the order of their best member
            key = str(get_path(d, p.group_by_field))
            if key not in groups:
                if p.max_groups is not None and len(groups) >= p.max_groups:
                    continue
                groups[key] = []
            if len(groups[key]) < p.max_per_group:
                groups[key].append(d)
                flat.append({**d, "group_key": key})
        self.metadata["groups"] = len(groups)
        if p.output_mode == "flat":
            return flat
        return [{"document_id": f"group:{key}", "group_key": key, "score": members[0].get("score"),
                 "count": len(members), "documents": members} for key, members in groups.items()]


def _aggregate(a, members: list[dict[str, Any]]) -> Any:
    if a.function == "count" and not a.field:
        return len(members)
    values = [v for v in (get_path(m, a.field) for m in members) if v is not None]
    nums = [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]
    if a.function == "count":
        return len(values)
    if a.function == "count_distinct":
        return len({repr(v) for v in values})
    if a.function == "collect":
        return values
    if a.function == "sum":
        return sum(nums)
    if not nums:
        return None
    return {"avg": sum(nums) / len(nums), "min": min(nums), "max": max(nums)}[a.function]


class Aggregation(BaseModel):
    model_config = ConfigDict(extra="forbid")
    function: Literal["count", "sum", "avg", "min", "max", "count_distinct", "collect"]
    field: str | None = None
    alias: str

    @model_validator(mode="after")
    def _field(self):
        if self.function != "count" and not self.field:
            raise ValueError(f"function {self.function!r} needs a field")
        return self


class GroupKey(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str
    alias: str | None = None


class AggregateParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    aggregations: list[Aggregation] = Field(min_length=1)
    group_by: list[GroupKey] = Field(default_factory=list)
    sort_by: str | None = Field(default=None, description="An alias to order the groups by (descending).")
    limit: int | None = Field(default=None, ge=1)


@register
class AggregateStage(Stage):
    stage_id = "aggregate"
    category = "reduce"
    description = "Count, sum, average, min, max, count distinct or collect fields, optionally per group."
    icon = "sigma"
    Params = AggregateParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        buckets: dict[tuple, list[dict[str, Any]]] = defaultdict(list)
        for d in docs:
            buckets[tuple(repr(get_path(d, g.field)) for g in p.group_by)].append(d)
        rows = []
        for members in buckets.values():
            row: dict[str, Any] = {}
            for g in p.group_by:
                row[g.alias or g.field] = get_path(members[0], g.field)
            for a in p.aggregations:
                row[a.alias] = _aggregate(a, members)
            rows.append(row)
        if p.sort_by:
            rows.sort(key=lambda r: order_key(r.get(p.sort_by) if r.get(p.sort_by) is not None else float("-inf")),
                      reverse=True)
        rows = rows[: p.limit] if p.limit else rows
        return [{"document_id": f"aggregate:{i}", **row} for i, row in enumerate(rows)]
