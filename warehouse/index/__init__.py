"""The vector index behind one ``IndexStore`` interface: Qdrant Edge in-process, a Qdrant server, or the
Edge owner over HTTP (single-owner rule); BM25 sparse vectors.

May import: settings, errors, ids. Knows points, vectors and filters — not collections or batches.
"""

from warehouse.index.base import (
    FusionQuery,
    Hit,
    IndexError_,
    IndexPoint,
    IndexStore,
    VectorQuery,
    VectorSpec,
)
from warehouse.index.edge import EdgeIndexStore
from warehouse.index.remote import RemoteIndexStore

__all__ = [
    "FusionQuery",
    "Hit",
    "IndexError_",
    "IndexPoint",
    "IndexStore",
    "VectorQuery",
    "VectorSpec",
    "make_index_store",
]


def make_index_store(settings) -> IndexStore:
    """The index store the settings name (``edge`` | ``qdrant`` | ``remote``)."""
    if settings.index_store == "qdrant":
        # lazy: qdrant-client costs ~2 s of imports, and only the scale-out deployment needs it
        from warehouse.index.qdrant_server import QdrantIndexStore

        return QdrantIndexStore.from_url(settings.qdrant_url, settings.qdrant_api_key)
    if settings.index_store == "remote":
        if not settings.index_owner_url:
            raise ValueError("WAREHOUSE_INDEX_OWNER_URL must be set when WAREHOUSE_INDEX_STORE=remote")
        return RemoteIndexStore(settings.index_owner_url, settings.resolved_internal_token())
    return EdgeIndexStore(settings.index_dir)
