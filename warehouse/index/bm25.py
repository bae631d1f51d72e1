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


#: input types whose documents carry ``text``: the text itself, a PDF's pages, a recording's or a video's transcript
TEXT_BEARING = {"text", "string", "pdf", "audio", "video"}


def has_text_input(ext) -> bool:
    """Collections of extractors whose documents carry text also get a BM25 index of it (hybrid search)."""
    return bool(TEXT_BEARING & set(ext.spec.supported_input_types))


def bm25_index(ext) -> dict[str, Any]:
    """The ``vector_indexes`` entry of a collection's BM25 index (searched with its feature_uri)."""
    return {"name": BM25_FEATURE, "feature_uri": f"mixpeek://{ext.spec.name}@{ext.spec.version}/{BM25_FEATURE}",
            "type": "sparse", "feature_extractor": ext.spec.ref,
            "index": {"name": BM25_VECTOR, "type": "sparse", "modifier": "idf", "model": "bm25 (english, k=1.2, b=0.75)"}}


def has_bm25(collection) -> bool:
    return any(vi.get("type") == "sparse" for vi in collection.vector_indexes or [])


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
