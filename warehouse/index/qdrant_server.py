"""IndexStore on a Qdrant server or cluster through qdrant-client (the scale-out deployment).

``QdrantClient(location=":memory:")`` or ``path=`` gives qdrant-client's local mode, which the
congruence tests use to check that this implementation answers like the Edge one.
"""

from __future__ import annotations

from typing import Any

from qdrant_client import QdrantClient, models
from qdrant_client.http.exceptions import UnexpectedResponse

from warehouse.index.base import (
    Filter,
    FusionQuery,
    Hit,
    IndexError_,
    IndexPoint,
    IndexStore,
    Query,
    VectorQuery,
    VectorSpec,
    is_sparse,
)

_DISTANCES = {
    "cosine": models.Distance.COSINE,
    "euclid": models.Distance.EUCLID,
    "dot": models.Distance.DOT,
}
_SCHEMAS = {
    "keyword": models.PayloadSchemaType.KEYWORD,
    "integer": models.PayloadSchemaType.INTEGER,
    "float": models.PayloadSchemaType.FLOAT,
    "bool": models.PayloadSchemaType.BOOL,
    "text": models.PayloadSchemaType.TEXT,
    "datetime": models.PayloadSchemaType.DATETIME,
}


def to_qdrant_filter(flt: Filter | None) -> models.Filter | None:
    """Qdrant REST filter JSON → ``qdrant_client.models.Filter`` (the same shape)."""
    return models.Filter.model_validate(flt) if flt else None


def _vectors(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        return {k: ({"indices": list(v.indices), "values": list(v.values)} if isinstance(v, models.SparseVector)
                    else list(v)) for k, v in raw.items()}
    return {"": list(raw)}


def _client_vector(v: Any) -> Any:
    if is_sparse(v):
        return models.SparseVector(indices=list(v["indices"]), values=list(v["values"]))
    return list(v)


class QdrantIndexStore(IndexStore):
    """One Qdrant collection named ``{prefix}{namespace_id}`` per namespace."""

    def __init__(self, client: QdrantClient, prefix: str = "warehouse_") -> None:
        self.client = client
        self.prefix = prefix

    @classmethod
    def from_url(cls, url: str, api_key: str | None = None) -> QdrantIndexStore:
        return cls(QdrantClient(url=url, api_key=api_key))

    def _name(self, namespace_id: str) -> str:
        return f"{self.prefix}{namespace_id}"

    def _exists(self, namespace_id: str) -> bool:
        return self.client.collection_exists(self._name(namespace_id))

    def _vector_specs(self, namespace_id: str) -> dict[str, VectorSpec]:
        info = self.client.get_collection(self._name(namespace_id))
        vectors = info.config.params.vectors or {}
        if not isinstance(vectors, dict):
            vectors = {"": vectors}
        specs = {
            name: VectorSpec(name, params.size, params.distance.value.lower())
            for name, params in vectors.items()
        }
        for name in info.config.params.sparse_vectors or {}:
            specs[name] = VectorSpec(name, 0, "dot", sparse=True)
        return specs

    def ensure_vectors(self, namespace_id: str, vectors: list[VectorSpec]) -> None:
        name = self._name(namespace_id)
        if not self._exists(namespace_id):
            self.client.create_collection(
                name,
                vectors_config={
                    v.name: models.VectorParams(size=v.size, distance=_DISTANCES[v.distance])
                    for v in vectors if not v.sparse
                },
                sparse_vectors_config={
                    v.name: models.SparseVectorParams(modifier=models.Modifier.IDF) for v in vectors if v.sparse
                } or None,
            )
            for field, schema in self.PAYLOAD_INDEXES.items():
                self.client.create_payload_index(name, field, _SCHEMAS[schema])
            return
        known = self._vector_specs(namespace_id)
        for spec in vectors:
            have = known.get(spec.name)
            if have is None:
                self._add_vector(name, spec)
            elif (have.size, have.distance, have.sparse) != (spec.size, spec.distance, spec.sparse):
                raise IndexError_(
                    f"vector {spec.name!r} in namespace {namespace_id} has size {have.size}/"
                    f"{have.distance}, not {spec.size}/{spec.distance}"
                )

    def ensure_payload_indexes(self, namespace_id: str, indexes: dict[str, str]) -> None:
        if not self._exists(namespace_id):
            return
        for field, schema in indexes.items():
            if schema not in _SCHEMAS:
                raise IndexError_(f"payload index type {schema!r} for {field!r} is not one of {sorted(_SCHEMAS)}")
            self.client.create_payload_index(self._name(namespace_id), field, _SCHEMAS[schema])

    def _add_vector(self, name: str, spec: VectorSpec) -> None:
        if spec.sparse:
            config = models.SparseVectorNameConfig(sparse=models.SparseVectorParams(modifier=models.Modifier.IDF))
        else:
            config = models.DenseVectorNameConfig(
                dense=models.DenseVectorConfig(size=spec.size, distance=_DISTANCES[spec.distance]))
        self.client.create_vector_name(name, spec.name, config)

    def drop_namespace(self, namespace_id: str) -> None:
        if self._exists(namespace_id):
            self.client.delete_collection(self._name(namespace_id))

    def upsert(self, namespace_id: str, points: list[IndexPoint]) -> None:
        if not points:
            return
        self.client.upsert(
            self._name(namespace_id),
            points=[models.PointStruct(id=p.id, vector={k: _client_vector(v) for k, v in p.vectors.items()},
                                       payload=p.payload) for p in points],
            wait=True,
        )

    def delete(self, namespace_id: str, filter: Filter) -> None:
        if self._exists(namespace_id):
            self.client.delete(
                self._name(namespace_id),
                points_selector=models.FilterSelector(filter=to_qdrant_filter(filter)),
                wait=True,
            )

    def set_payload(self, namespace_id: str, payload: dict[str, Any], filter: Filter) -> None:
        self.client.set_payload(
            self._name(namespace_id), payload=payload, points=to_qdrant_filter(filter), wait=True
        )

    def set_payloads(self, namespace_id: str, updates: list[tuple[str, dict[str, Any]]], key: str | None = None) -> None:
        for start in range(0, len(updates), 1000):
            ops = [models.SetPayloadOperation(set_payload=models.SetPayload(payload=payload, points=[point_id], key=key))
                   for point_id, payload in updates[start:start + 1000]]
            self.client.batch_update_points(self._name(namespace_id), update_operations=ops, wait=True)

    def optimize(self, namespace_id: str) -> None:
        """A Qdrant server optimises in the background; nothing to wait for here."""

    def _request(self, query: Query) -> models.QueryRequest:
        if isinstance(query, VectorQuery):
            nearest = _client_vector(query.vector)
            if query.mmr_lambda is not None:
                nearest = models.NearestQuery(nearest=nearest, mmr=models.Mmr(
                    diversity=1.0 - query.mmr_lambda,
                    candidates_limit=max(query.mmr_candidates or query.limit, query.limit)))
            return models.QueryRequest(
                query=nearest,
                using=query.using,
                filter=to_qdrant_filter(query.filter),
                limit=query.limit,
                score_threshold=query.score_threshold,
                with_payload=query.with_payload,
                with_vector=query.with_vectors,
            )
        if isinstance(query, FusionQuery):
            prefetch = [
                models.Prefetch(
                    query=_client_vector(p.vector),
                    using=p.using,
                    filter=to_qdrant_filter(p.filter),
                    limit=p.limit,
                    score_threshold=p.score_threshold,
                )
                for p in query.prefetch
            ]
            if query.method == "rrf":
                fusion = models.RrfQuery(rrf=models.Rrf(k=query.k, weights=query.weights))
            else:
                fusion = models.FusionQuery(fusion=models.Fusion.DBSF)
            return models.QueryRequest(
                prefetch=prefetch,
                query=fusion,
                filter=to_qdrant_filter(query.filter),
                limit=query.limit,
                with_payload=query.with_payload,
                with_vector=query.with_vectors,
            )
        raise IndexError_(f"unsupported query {query!r}")

    @staticmethod
    def _hit(p) -> Hit:
        return Hit(
            id=str(p.id),
            score=float(getattr(p, "score", 0.0) or 0.0),
            payload=p.payload,
            vectors=_vectors(p.vector),
        )

    def query(self, namespace_id: str, query: Query) -> list[Hit]:
        return self.query_batch(namespace_id, [query])[0]

    def query_batch(self, namespace_id: str, queries: list[Query]) -> list[list[Hit]]:
        if not self._exists(namespace_id):
            return [[] for _ in queries]
        try:
            responses = self.client.query_batch_points(
                self._name(namespace_id), requests=[self._request(x) for x in queries]
            )
        except (ValueError, UnexpectedResponse) as exc:  # wrong vector name or shape, as Edge reports it
            raise IndexError_(f"query rejected by Qdrant: {exc}") from exc
        return [[self._hit(p) for p in r.points] for r in responses]

    def retrieve(
        self, namespace_id: str, ids: list[str], with_vectors: bool | list[str] = False
    ) -> list[Hit]:
        if not ids or not self._exists(namespace_id):
            return []
        records = self.client.retrieve(
            self._name(namespace_id), ids=ids, with_payload=True, with_vectors=with_vectors
        )
        return [self._hit(r) for r in records]

    def scroll(
        self,
        namespace_id: str,
        filter: Filter | None = None,
        limit: int = 100,
        offset: str | None = None,
        with_vectors: bool | list[str] = False,
    ) -> tuple[list[Hit], str | None]:
        if not self._exists(namespace_id):
            return [], None
        records, next_offset = self.client.scroll(
            self._name(namespace_id),
            scroll_filter=to_qdrant_filter(filter),
            limit=limit,
            offset=offset,
            with_payload=True,
            with_vectors=with_vectors,
        )
        return [self._hit(r) for r in records], (str(next_offset) if next_offset else None)

    def count(self, namespace_id: str, filter: Filter | None = None) -> int:
        if not self._exists(namespace_id):
            return 0
        return self.client.count(
            self._name(namespace_id), count_filter=to_qdrant_filter(filter), exact=True
        ).count

    def close(self) -> None:
        self.client.close()


