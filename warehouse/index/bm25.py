"""BM25 sparse vectors: Qdrant's own BM25 encoder (Rust, from ``qdrant-edge-py``) + the engine's IDF.

Documents are encoded with the BM25 term-frequency part (``k``, ``b``, average length); the query
side is the set of its terms; the index's ``idf`` modifier multiplies in the inverse document
frequency at search time, computed over the namespace's points. English tokenisation, stop words
and Snowball stemming. The same vectors work on Edge and on a Qdrant server.

Example:
    >>> doc = encode_documents(["Qubits decohere quickly."])[0]
    >>> sorted(doc) == ["indices", "values"]
    True
"""

from __future__ import annotations

import threading
from functools import cache
from typing import Any

import qdrant_edge as q

from warehouse.index.base import VectorSpec

BM25_VECTOR = "bm25"
BM25_FEATURE = "bm25"
_LOCK = threading.Lock()


def bm25_spec() -> VectorSpec:
    return VectorSpec(BM25_VECTOR, 0, "dot", sparse=True)


@cache
def _model() -> q.Bm25:
    return q.Bm25(q.Bm25Config(language="english"))


def _plain(vec) -> dict[str, Any] | None:
    if not vec.indices:
        return None
    return {"indices": [int(i) for i in vec.indices], "values": [float(v) for v in vec.values]}


def encode_documents(texts: list[str | None]) -> list[dict[str, Any] | None]:
    """Sparse vectors (``{"indices", "values"}``) for documents; None for empty texts."""
    model = _model()
    with _LOCK:
        return [_plain(model.embed_document(t)) if isinstance(t, str) and t.strip() else None for t in texts]


def encode_query(text: str) -> dict[str, Any] | None:
    """The query's sparse vector, or None when no term survives tokenisation (all stop words)."""
    with _LOCK:
        return _plain(_model().embed_query(text))
