"""``rerank``: re-score the top candidates with a cross-encoder that reads query and document together.

The model is named by ``inference_name``: Mixpeek's names (``BAAI__bge_reranker_v2_m3``), a Hugging
Face id or a local directory with a sentence-transformers cross-encoder. Scoring goes through the
query inference layer (one batched ``predict`` per execution). The new score replaces ``score``
(the retrieval score moves to ``scores.retrieval``) and is also written to ``score_field``.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.errors import WarehouseError, rename_aliases
from warehouse.retrieval.filters import get_path, set_path
from warehouse.retrieval.inference import InferenceUnavailable
from warehouse.retrieval.stages.base import Stage, StageContext, register
from warehouse.retrieval.templates import render


class RerankParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    inference_name: str = Field(default="BAAI__bge_reranker_v2_m3", description="Cross-encoder: Mixpeek inference "
                                "name, Hugging Face id, or local directory.")
    query: str = Field(default="{{INPUT.query}}", description="The text the documents are scored against.")
    document_field: str = Field(default="text", description="Dotted path of the document text to score.")
    top_k: int | None = Field(default=None, ge=1, le=10_000, description="Keep this many after reranking.")
    max_candidates: int = Field(default=100, ge=1, le=10_000, description="Rerank the first N inputs; the rest "
                                "follow in their previous order.")
    score_field: str = "scores.rerank"
    batch_size: int = Field(default=32, ge=1, le=1024)
    max_document_chars: int = Field(default=2000, ge=1)

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"model": "inference_name", "top_n": "top_k"})


@register
class RerankStage(Stage):
    stage_id = "rerank"
    category = "sort"
    description = "Re-score the top candidates with a cross-encoder (query and document read together)."
    icon = "list-ordered"
    Params = RerankParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        query = render(p.query, ctx.inputs)  # the default query is a template too
        if not isinstance(query, str) or not query.strip():
            raise WarehouseError(422, f"stage {self.name!r} (rerank): the query is empty; pass inputs.query or set "
                           "parameters.query", {"stage_name": self.name})
        head, tail = docs[: p.max_candidates], docs[p.max_candidates:]
        texts = [get_path(d, p.document_field) for d in head]
        scorable = [i for i, t in enumerate(texts) if isinstance(t, str) and t.strip()]
        try:
            scores = ctx.services.inference.rerank(p.inference_name, query,
                                                   [texts[i][: p.max_document_chars] for i in scorable], p.batch_size)
        except InferenceUnavailable as exc:
            raise WarehouseError(503, f"stage {self.name!r} (rerank): {exc}", {"stage_name": self.name}) from None
        by_pos = dict(zip(scorable, scores, strict=True))
        rescored = []
        for i, d in enumerate(head):
            d = dict(d)
            if "score" in d:
                set_path(d, "scores.retrieval", d["score"])
            if i in by_pos:
                d["score"] = by_pos[i]
                set_path(d, p.score_field, by_pos[i])
            rescored.append(d)
        # documents without text cannot be judged: after the scored ones, in their previous order
        order = sorted(range(len(head)), key=lambda i: (i not in by_pos, -by_pos.get(i, 0.0), i))
        out = [rescored[i] for i in order] + tail
        self.metadata.update(model=p.inference_name, reranked=len(scorable), without_text=len(head) - len(scorable))
        return out[: p.top_k] if p.top_k else out
