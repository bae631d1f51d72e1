"""The IndexStore interface: one Qdrant collection (Edge: one shard) per namespace.

Requests cross process boundaries (the single-owner rule), so filters and queries are plain
JSON in Qdrant's own REST shapes:

* filter: ``{"must": [...], "should": [...], "must_not": [...]}`` whose conditions are
  ``{"key", "match": {"value"|"any"|"except"|"text"|"phrase"|"prefix"}}``,
  ``{"key", "range": {"gt","gte","lt","lte"}}``, ``{"is_empty": {"key"}}``,
  ``{"is_null": {"key"}}``, ``{"has_id": [...]}`` or a nested filter.
* query: :class:`VectorQuery` (nearest neighbours on one named vector) or
  :class:`FusionQuery` (several prefetches fused by ``rrf`` or ``dbsf`` inside the engine).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import asdict, dataclass, field
from typing import Any

Filter = dict[str, Any]


class IndexError_(RuntimeError):
    """The index rejected an operation; the message says which and why."""


Vector = list[float] | dict[str, list]  # dense, or sparse as {"indices": [...], "values": [...]}


def is_sparse(vector: Any) -> bool:
    return isinstance(vector, dict)


@dataclass
class IndexPoint:
    """One document: its point id (a UUID string), named vectors (dense or sparse) and payload."""

    id: str
    vectors: dict[str, Vector]
    payload: dict[str, Any]


@dataclass
class Hit:
    id: str
    score: float
    payload: dict[str, Any] | None = None
    vectors: dict[str, list[float]] | None = None


@dataclass
class VectorSpec:
    """A named vector of the namespace's collection: dense (size, distance) or sparse (IDF-weighted)."""

    name: str
    size: int
    distance: str = "cosine"  # cosine | euclid | dot
    sparse: bool = False


@dataclass
class VectorQuery:
    using: str
    vector: Vector
    limit: int = 10
    filter: Filter | None = None
    score_threshold: float | None = None
    with_payload: bool = True
    with_vectors: bool | list[str] = False
    mmr_lambda: float | None = None  # rerank by Maximal Marginal Relevance: 1 = relevance only, 0 = diversity only
    mmr_candidates: int | None = None  # how many nearest candidates MMR picks from (default: limit)
    kind: str = field(default="vector", init=False)


@dataclass
class FusionQuery:
    prefetch: list[VectorQuery]
    method: str = "rrf"  # rrf | dbsf
    k: int = 60
    weights: list[float] | None = None
    limit: int = 10
    filter: Filter | None = None
    with_payload: bool = True
    with_vectors: bool | list[str] = False
    kind: str = field(default="fusion", init=False)


Query = VectorQuery | FusionQuery


def query_to_json(query: Query) -> dict[str, Any]:
    return asdict(query)


def query_from_json(data: dict[str, Any]) -> Query:
    data = dict(data)
    kind = data.pop("kind", "vector")
    if kind == "fusion":
        data["prefetch"] = [query_from_json(p) for p in data.get("prefetch", [])]
        return FusionQuery(**data)
    return VectorQuery(**data)


class IndexStore(ABC):
    """Vector + payload storage of documents, one collection per namespace.

    Example:
        >>> store = EdgeIndexStore("/tmp/index")                    # doctest: +SKIP
        >>> store.ensure_vectors("ns_1", [VectorSpec("text_v1", 384)])  # doctest: +SKIP
        >>> store.upsert("ns_1", [IndexPoint(id, {"text_v1": vec}, payload)])  # doctest: +SKIP
        >>> store.query("ns_1", VectorQuery(using="text_v1", vector=vec, limit=5))  # doctest: +SKIP
    """

    #: payload fields every namespace indexes (keyword unless stated).
    PAYLOAD_INDEXES: dict[str, str] = {
        "collection_id": "keyword",
        "source_object_id": "keyword",
        "root_object_id": "keyword",
        "bucket_id": "keyword",
        "batch_id": "keyword",
        "blob_id": "keyword",
    }

    @abstractmethod
    def ensure_vectors(self, namespace_id: str, vectors: list[VectorSpec]) -> None:
        """Create the namespace's collection and the named vectors it lacks (idempotent).

        Raises IndexError_ when a vector exists with another size or distance.
        """

    #: the payload index types a namespace or collection may ask for.
    PAYLOAD_INDEX_TYPES = ("keyword", "integer", "float", "bool", "text", "datetime")

    @abstractmethod
    def ensure_payload_indexes(self, namespace_id: str, indexes: dict[str, str]) -> None:
        """Index payload fields (``{field: type}``, types in PAYLOAD_INDEX_TYPES) so filters on them
        use an index instead of reading every candidate's payload. Idempotent; a no-op before the
        namespace has vectors."""

    @abstractmethod
    def drop_namespace(self, namespace_id: str) -> None: ...

    @abstractmethod
    def upsert(self, namespace_id: str, points: list[IndexPoint]) -> None: ...

    @abstractmethod
    def delete(self, namespace_id: str, filter: Filter) -> None:
        """Delete every point matching ``filter``."""

    @abstractmethod
    def query(self, namespace_id: str, query: Query) -> list[Hit]: ...

    def query_batch(self, namespace_id: str, queries: list[Query]) -> list[list[Hit]]:
        return [self.query(namespace_id, q) for q in queries]

    @abstractmethod
    def retrieve(
        self, namespace_id: str, ids: list[str], with_vectors: bool | list[str] = False
    ) -> list[Hit]: ...

    @abstractmethod
    def scroll(
        self,
        namespace_id: str,
        filter: Filter | None = None,
        limit: int = 100,
        offset: str | None = None,
        with_vectors: bool | list[str] = False,
    ) -> tuple[list[Hit], str | None]: ...

    @abstractmethod
    def count(self, namespace_id: str, filter: Filter | None = None) -> int: ...

    @abstractmethod
    def set_payload(self, namespace_id: str, payload: dict[str, Any], filter: Filter) -> None: ...

    def set_payloads(self, namespace_id: str, updates: list[tuple[str, dict[str, Any]]], key: str | None = None) -> None:
        """Merge a different payload into each point (``[(point_id, payload)]``); with ``key`` the fields go
        inside that payload object (``key="taxonomies"`` adds ``taxonomies.<field>``, keeping its other
        fields). Stores override this with one batched write."""
        for point_id, payload in updates:
            self.set_payload(namespace_id, {key: payload} if key else payload, {"has_id": [point_id]})

    @abstractmethod
    def optimize(self, namespace_id: str) -> None:
        """Merge and index segments after a bulk load."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release resources (flush shards, close clients)."""
