"""Documents as the retriever engine and its callers see them: an index hit's payload with its ``doc_`` id."""

from __future__ import annotations

from typing import Any

from warehouse.ids import document_id_from_uuid


def document_view(hit, with_vectors: bool = False, vector_names: dict[str, str] | None = None) -> dict[str, Any]:
    payload = dict(hit.payload or {})
    doc = {"document_id": payload.get("document_id") or document_id_from_uuid(hit.id), **payload}
    if with_vectors and hit.vectors:
        names = vector_names or {}
        doc["vectors"] = {names.get(k, k): v for k, v in hit.vectors.items()}
    return doc
