"""``mmr``: Maximal Marginal Relevance — relevant results that are not near-copies of each other.

Greedy selection: each step takes the document maximising ``λ·relevance − (1−λ)·max similarity to
those already taken``. Similarity comes from stored vectors of a dense feature (cosine or dot,
several features weighted) or from payload fields (share of equal values).

When ``mmr`` directly follows a ``feature_search`` with one dense search over the same feature
(filters allowed between them only when the engine runs them), the selection runs inside Qdrant
in the same query (``Nearest`` + MMR); the stage then only annotates the engine's order with
each document's marginal score.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.errors import WarehouseError, rename_aliases
from warehouse.retrieval.filters import get_path, set_path
from warehouse.retrieval.stages.base import Stage, StageContext, register
from warehouse.retrieval.stages.vectors import document_vectors


class DiversityFeature(BaseModel):
    model_config = ConfigDict(extra="forbid")
    feature_uri: str
    weight: float = Field(default=1.0, gt=0)


class MmrParams(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    lambda_: float = Field(default=0.7, ge=0, le=1, alias="lambda",
                           description="1 = relevance only, 0 = diversity only.")
    top_k: int = Field(default=25, ge=1, le=10_000)
    diversity_feature_uri: str | None = Field(default=None, description="Dense feature whose vectors measure "
                                              "similarity (default: the feature the preceding search used).")
    diversity_features: list[DiversityFeature] | None = None
    diversity_fields: list[str] | None = Field(default=None, description="Payload fields: similarity is the "
                                               "share of these fields with equal values.")
    score_field: str = "score"
    mmr_score_field: str = "scores.mmr"
    similarity_metric: Literal["cosine", "dot"] = "cosine"

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"top_n": "top_k", "embedding_field": "diversity_feature_uri", "lambda_": "lambda"})


@register
class MmrStage(Stage):
    stage_id = "mmr"
    category = "sort"
    description = "Maximal Marginal Relevance: trade relevance against similarity to results already chosen."
    icon = "shuffle"
    Params = MmrParams

    def __init__(self, name: str, parameters: dict[str, Any]) -> None:
        super().__init__(name, parameters)
        self.pushed_down = False

    def features(self, ctx: StageContext) -> list[tuple[str, float]]:
        p = self.params
        if p.diversity_features:
            return [(f.feature_uri, f.weight) for f in p.diversity_features]
        uri = p.diversity_feature_uri or ctx.metadata.get("dense_feature_uri")
        return [(uri, 1.0)] if uri else []

    def pushable_over(self, feature_uri: str) -> bool:
        """Can Qdrant run this MMR as part of a single dense search over ``feature_uri``?"""
        p = self.params
        if p.diversity_fields or p.similarity_metric != "cosine" or p.score_field != "score":
            return False
        if p.diversity_features:
            return len(p.diversity_features) == 1 and p.diversity_features[0].feature_uri == feature_uri
        return p.diversity_feature_uri in (None, feature_uri)

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        self.metadata.update(**{"lambda": p.lambda_, "pushed_down": self.pushed_down})
        if not docs:
            return []
        sim, how = self._similarity(ctx, docs)
        self.metadata["similarity"] = how
        scores = [float(d[p.score_field]) if isinstance(d.get(p.score_field), int | float) else None for d in docs]
        missing = sum(s is None for s in scores)
        if missing:
            self.metadata["missing_score"] = missing
        if self.pushed_down:
            # the engine chose the order with raw cosine relevance: annotate it the same way
            relevance = np.array([s if s is not None else 0.0 for s in scores])
            order = list(range(len(docs)))
        else:
            relevance = _minmax(np.array([s if s is not None else np.nan for s in scores]))
            order = None
        chosen, marginal = _select(relevance, sim, p.lambda_, min(p.top_k, len(docs)), order)
        out = []
        for i, m in zip(chosen, marginal, strict=True):
            d = dict(docs[i])
            set_path(d, p.mmr_score_field, round(float(m), 6))
            out.append(d)
        return out

    def _similarity(self, ctx: StageContext, docs: list[dict[str, Any]]) -> tuple[np.ndarray, str]:
        p = self.params
        if p.diversity_fields:
            values = [[repr(get_path(d, f)) for f in p.diversity_fields] for d in docs]
            arr = np.array(values, dtype=object)
            sim = np.mean([arr[:, j][:, None] == arr[:, j][None, :] for j in range(arr.shape[1])], axis=0)
            return sim.astype(float), f"fields {p.diversity_fields}"
        features = self.features(ctx)
        if not features:
            raise WarehouseError(422, f"stage {self.name!r} (mmr): name the feature whose vectors measure similarity — "
                           "diversity_feature_uri, diversity_features or diversity_fields — or put it after a "
                           "feature_search with a dense search", {"stage_name": self.name})
        total = np.zeros((len(docs), len(docs)))
        missing = 0
        for uri, weight in features:
            vectors = document_vectors(ctx, docs, uri)
            dim = len(next(iter(vectors.values()))) if vectors else 1
            mat = np.array([vectors.get(d.get("document_id"), [0.0] * dim) for d in docs], dtype=float)
            missing = max(missing, sum(d.get("document_id") not in vectors for d in docs))
            if p.similarity_metric == "cosine":
                norms = np.linalg.norm(mat, axis=1, keepdims=True)
                mat = mat / np.where(norms == 0, 1, norms)
            total += weight * (mat @ mat.T)
        if missing:
            self.metadata["missing_vectors"] = missing
        return total / sum(w for _, w in features), f"{p.similarity_metric} of {[u for u, _ in features]}"


def _minmax(values: np.ndarray) -> np.ndarray:
    """Scores to [0, 1]; documents without a score count as least relevant."""
    known = values[~np.isnan(values)]
    if known.size == 0:
        return np.ones_like(values)
    lo, hi = known.min(), known.max()
    scaled = (values - lo) / (hi - lo) if hi > lo else np.ones_like(values)
    return np.nan_to_num(scaled, nan=0.0)


def _select(relevance: np.ndarray, sim: np.ndarray, lam: float, k: int,
            order: list[int] | None = None) -> tuple[list[int], list[float]]:
    """Greedy MMR; with ``order`` given, only the marginal scores along that order."""
    n = len(relevance)
    chosen: list[int] = []
    marginal: list[float] = []
    redundancy = np.full(n, -np.inf)  # max similarity to the chosen ones
    remaining = np.ones(n, dtype=bool)
    for step in range(k):
        penalty = np.where(np.isinf(redundancy), 0.0, redundancy)
        score = lam * relevance - (1 - lam) * penalty
        if order is not None:
            pick = order[step]
        else:
            score = np.where(remaining, score, -np.inf)
            pick = int(np.argmax(score))  # ties: the earlier (higher-ranked) document
        chosen.append(pick)
        marginal.append(float(score[pick]))
        remaining[pick] = False
        redundancy = np.maximum(redundancy, sim[pick])
    return chosen, marginal
