"""Fetching the stored vectors of result documents (for near-duplicate removal and MMR)."""

from __future__ import annotations

from typing import Any

from warehouse.errors import WarehouseError
from warehouse.ids import uuid_from_document_id
from warehouse.retrieval.stages.base import StageContext
from warehouse.retrieval.stages.feature_search import parse_feature_uri


def vector_name_for(ctx: StageContext, feature_uri: str) -> str:
    name, version, feature_name = parse_feature_uri(feature_uri)
    ext = ctx.services.registry.get(name, version, ctx.namespace_id)
    feature = next((f for f in ext.spec.vector_features if f.feature_name == feature_name), None)
    if feature is None:
        raise WarehouseError(422, f"{feature_uri!r} names no dense feature of {ext.spec.ref}; use one of "
                       f"{[ext.spec.feature_uri(f) for f in ext.spec.vector_features]}", {"feature_uri": feature_uri})
    return ext.spec.vector_name(feature)


def document_vectors(ctx: StageContext, docs: list[dict[str, Any]], feature_uri: str) -> dict[str, list[float]]:
    """``{document_id: vector}`` of ``feature_uri`` for the documents (one batched retrieve)."""
    using = vector_name_for(ctx, feature_uri)
    ids = {str(uuid_from_document_id(d["document_id"])): d["document_id"] for d in docs
           if str(d.get("document_id", "")).startswith("doc_")}
    hits = ctx.services.index.retrieve(ctx.namespace_id, list(ids), with_vectors=[using]) if ids else []
    return {ids[h.id]: h.vectors[using] for h in hits if h.vectors and h.vectors.get(using) is not None}
