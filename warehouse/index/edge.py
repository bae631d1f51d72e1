"""IndexStore on Qdrant Edge: Qdrant's Rust engine in-process, one shard directory per namespace.

Only one process may open a shard (its WAL is locked), so exactly one long-lived process — the
API server — owns an :class:`EdgeIndexStore`; others use :class:`RemoteIndexStore`.
"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from pathlib import Path
from typing import Any

import qdrant_edge as q

from warehouse.ids import is_valid_id
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

_DISTANCES = {"cosine": q.Distance.Cosine, "euclid": q.Distance.Euclid, "dot": q.Distance.Dot}
_SCHEMAS = {
    "keyword": q.PayloadSchemaType.Keyword,
    "integer": q.PayloadSchemaType.Integer,
    "float": q.PayloadSchemaType.Float,
    "bool": q.PayloadSchemaType.Bool,
    "text": q.PayloadSchemaType.Text,
    "datetime": q.PayloadSchemaType.Datetime,
}


def _match(match: dict[str, Any]):
    if "value" in match:
        return q.MatchValue(match["value"])
    if "any" in match:
        return q.MatchAny(list(match["any"]))
    if "except" in match:
        return q.MatchExcept(list(match["except"]))
    if "text" in match:
        return q.MatchText(match["text"])
    if "text_any" in match:
        return q.MatchTextAny(match["text_any"])
    if "phrase" in match:
        return q.MatchPhrase(match["phrase"])
    if "prefix" in match:
        return q.MatchPrefix(match["prefix"])
    raise IndexError_(f"unsupported match condition {match!r}")


def _condition(cond: dict[str, Any]):
    if any(k in cond for k in ("must", "should", "must_not")):
        return to_edge_filter(cond)
    if "has_id" in cond:
        return q.HasIdCondition({uuid.UUID(str(i)) for i in cond["has_id"]})
    if "is_empty" in cond:
        return q.IsEmptyCondition(cond["is_empty"]["key"])
    if "is_null" in cond:
        return q.IsNullCondition(cond["is_null"]["key"])
    if "nested" in cond:
        return q.NestedCondition(cond["nested"]["key"], to_edge_filter(cond["nested"]["filter"]))
    key = cond.get("key")
    if key is None:
        raise IndexError_(f"condition without a key: {cond!r}")
    if "match" in cond:
        return q.FieldCondition(key, match=_match(cond["match"]))
    if "range" in cond:
        r = cond["range"]
        return q.FieldCondition(
            key, range=q.RangeFloat(gte=r.get("gte"), gt=r.get("gt"), lte=r.get("lte"), lt=r.get("lt"))
        )
    if "values_count" in cond:
        v = cond["values_count"]
        return q.FieldCondition(
            key, values_count=q.ValuesCount(lt=v.get("lt"), gt=v.get("gt"), lte=v.get("lte"), gte=v.get("gte"))
        )
    raise IndexError_(f"unsupported condition {cond!r}")


def to_edge_filter(flt: Filter | None):
    """Qdrant REST filter JSON → ``qdrant_edge.Filter``."""
    if not flt:
        return None
    parts = {}
    for clause in ("must", "should", "must_not"):
        conds = flt.get(clause)
        if conds:
            parts[clause] = [_condition(c) for c in conds]
    return q.Filter(**parts) if parts else None


def _vectors(raw: Any) -> dict[str, Any] | None:
    if raw is None:
        return None
    if isinstance(raw, dict):
        return {k: _plain_vector(v) for k, v in raw.items()}
    return {"": list(raw)}


def _plain_vector(v: Any) -> Any:
    if isinstance(v, q.SparseVector):
        return {"indices": [int(i) for i in v.indices], "values": [float(x) for x in v.values]}
    return list(v)


def _edge_vector(v: Any) -> Any:
    if is_sparse(v):
        return q.SparseVector(indices=list(v["indices"]), values=list(v["values"]))
    return list(v)


class EdgeIndexStore(IndexStore):
    """Shards under ``root/<namespace_id>``, opened lazily and kept open for the process's life."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self._shards: dict[str, q.EdgeShard] = {}
        self._vectors: dict[str, dict[str, VectorSpec]] = {}
        self._indexed: dict[str, set[tuple[str, str]]] = {}
        self._lock = threading.RLock()

    # -- shard lifecycle -------------------------------------------------------------------
    def _path(self, namespace_id: str) -> Path:
        if not is_valid_id(namespace_id):  # a shard directory: never a path a caller could aim elsewhere
            raise IndexError_(f"invalid namespace id {namespace_id!r}")
        return self.root / namespace_id

    def _shard(self, namespace_id: str) -> q.EdgeShard | None:
        shard = self._shards.get(namespace_id)
        if shard is not None:
            return shard
        path = self._path(namespace_id)
        config = path / "edge_config.json"
        if not config.exists():
            return None
        shard = q.EdgeShard.load(str(path))
        self._shards[namespace_id] = shard
        spec = json.loads(config.read_text())
        self._vectors[namespace_id] = {
            name: VectorSpec(name, v["size"], v["distance"].lower())
            for name, v in spec.get("vectors", {}).items()
        }
        for name in spec.get("sparse_vectors", {}) or {}:
            self._vectors[namespace_id][name] = VectorSpec(name, 0, "dot", sparse=True)
        return shard

    def ensure_vectors(self, namespace_id: str, vectors: list[VectorSpec]) -> None:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is None:
                first, rest = vectors[0], vectors[1:]
                if first.sparse:
                    config = q.EdgeConfig(sparse_vectors={first.name: q.EdgeSparseVectorParams(modifier=q.Modifier.Idf)})
                else:
                    config = q.EdgeConfig(
                        vectors={first.name: q.EdgeVectorParams(size=first.size, distance=_DISTANCES[first.distance])}
                    )
                shard = q.EdgeShard.create(str(self._path(namespace_id)), config)
                self._shards[namespace_id] = shard
                self._vectors[namespace_id] = {first.name: first}
                for field, schema in self.PAYLOAD_INDEXES.items():
                    shard.update(q.UpdateOperation.create_field_index(field, _SCHEMAS[schema]))
                vectors = rest
            known = self._vectors[namespace_id]
            for spec in vectors:
                have = known.get(spec.name)
                if have is None:
                    if spec.sparse:
                        shard.update(q.UpdateOperation.create_sparse_vector(spec.name, q.Modifier.Idf))
                    else:
                        shard.update(
                            q.UpdateOperation.create_dense_vector(spec.name, spec.size, _DISTANCES[spec.distance])
                        )
                    known[spec.name] = spec
                elif (have.size, have.distance, have.sparse) != (spec.size, spec.distance, spec.sparse):
                    raise IndexError_(
                        f"vector {spec.name!r} in namespace {namespace_id} has size {have.size}/"
                        f"{have.distance}, not {spec.size}/{spec.distance}; use a new extractor "
                        "version for a different vector shape"
                    )

    def ensure_payload_indexes(self, namespace_id: str, indexes: dict[str, str]) -> None:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is None:
                return
            done = self._indexed.setdefault(namespace_id, set())
            for field, schema in indexes.items():
                if schema not in _SCHEMAS:
                    raise IndexError_(f"payload index type {schema!r} for {field!r} is not one of {sorted(_SCHEMAS)}")
                if (field, schema) not in done:
                    shard.update(q.UpdateOperation.create_field_index(field, _SCHEMAS[schema]))
                    done.add((field, schema))

    def vector_names(self, namespace_id: str) -> dict[str, VectorSpec]:
        with self._lock:
            self._shard(namespace_id)
            return dict(self._vectors.get(namespace_id, {}))

    def drop_namespace(self, namespace_id: str) -> None:
        with self._lock:
            shard = self._shards.pop(namespace_id, None)
            if shard is not None:
                shard.close()
            self._vectors.pop(namespace_id, None)
            self._indexed.pop(namespace_id, None)
            shutil.rmtree(self._path(namespace_id), ignore_errors=True)

    # -- writes ---------------------------------------------------------------------------
    def upsert(self, namespace_id: str, points: list[IndexPoint]) -> None:
        if not points:
            return
        with self._lock:
            shard = self._require(namespace_id)
            known = self._vectors[namespace_id]
            for p in points:
                for name, vec in p.vectors.items():
                    spec = known.get(name)
                    if spec is None:
                        raise IndexError_(f"point {p.id}: unknown vector {name!r} in {namespace_id}")
                    if spec.sparse != is_sparse(vec):
                        raise IndexError_(f"point {p.id}: vector {name!r} must be "
                                          + ("sparse {indices, values}" if spec.sparse else "a dense list"))
                    if not spec.sparse and len(vec) != spec.size:
                        raise IndexError_(
                            f"point {p.id}: vector {name!r} has {len(vec)} dimensions, expected {spec.size}"
                        )
            shard.update(
                q.UpdateOperation.upsert_points(
                    [q.Point(uuid.UUID(p.id), {k: _edge_vector(v) for k, v in p.vectors.items()}, p.payload)
                     for p in points]
                )
            )

    def delete(self, namespace_id: str, filter: Filter) -> None:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is not None:
                shard.update(q.UpdateOperation.delete_points_by_filter(to_edge_filter(filter)))

    def set_payload(self, namespace_id: str, payload: dict[str, Any], filter: Filter) -> None:
        with self._lock:
            shard = self._require(namespace_id)
            shard.update(q.UpdateOperation.set_payload_by_filter(to_edge_filter(filter), payload))

    def set_payloads(self, namespace_id: str, updates: list[tuple[str, dict[str, Any]]], key: str | None = None) -> None:
        with self._lock:
            shard = self._require(namespace_id)
            for point_id, payload in updates:
                shard.update(q.UpdateOperation.set_payload([uuid.UUID(str(point_id))], payload, key))

    def optimize(self, namespace_id: str) -> None:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is not None:
                shard.optimize()
                shard.flush()

    def _require(self, namespace_id: str) -> q.EdgeShard:
        shard = self._shard(namespace_id)
        if shard is None:
            raise IndexError_(f"namespace {namespace_id} has no index yet (no collection wrote to it)")
        return shard

    # -- reads ----------------------------------------------------------------------------
    def _edge_query(self, query: Query) -> q.QueryRequest:
        if isinstance(query, VectorQuery):
            if query.mmr_lambda is not None:
                nearest = q.Mmr(_edge_vector(query.vector), query.mmr_lambda,
                                max(query.mmr_candidates or query.limit, query.limit), using=query.using)
            else:
                nearest = q.Query.Nearest(_edge_vector(query.vector), using=query.using)
            return q.QueryRequest(
                limit=query.limit,
                query=nearest,
                filter=to_edge_filter(query.filter),
                score_threshold=query.score_threshold,
                with_payload=query.with_payload,
                with_vector=query.with_vectors,
            )
        if isinstance(query, FusionQuery):
            prefetches = [
                q.Prefetch(
                    limit=p.limit,
                    query=q.Query.Nearest(_edge_vector(p.vector), using=p.using),
                    filter=to_edge_filter(p.filter),
                    score_threshold=p.score_threshold,
                )
                for p in query.prefetch
            ]
            fusion = (
                q.Fusion.Rrf(k=query.k, weights=query.weights)
                if query.method == "rrf"
                else q.Fusion.Dbsf()
            )
            return q.QueryRequest(
                limit=query.limit,
                prefetches=prefetches,
                query=fusion,
                filter=to_edge_filter(query.filter),
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
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is None:
                return []
            self._check_using(namespace_id, query)
            return [self._hit(p) for p in shard.query(self._edge_query(query))]

    def query_batch(self, namespace_id: str, queries: list[Query]) -> list[list[Hit]]:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is None:
                return [[] for _ in queries]
            for query in queries:
                self._check_using(namespace_id, query)
            batch = q.QueryBatchRequest([self._edge_query(x) for x in queries])
            return [[self._hit(p) for p in res] for res in shard.query_batch(batch)]

    def _check_using(self, namespace_id: str, query: Query) -> None:
        subs = query.prefetch if isinstance(query, FusionQuery) else [query]
        known = self._vectors.get(namespace_id, {})
        for sub in subs:
            spec = known.get(sub.using)
            if spec is None:
                raise IndexError_(f"namespace {namespace_id} has no vector named {sub.using!r}")
            if spec.sparse != is_sparse(sub.vector):
                raise IndexError_(f"query for {sub.using!r} must be " + ("a sparse {indices, values} vector"
                                                                       if spec.sparse else "a dense vector"))
            if not spec.sparse and len(sub.vector) != spec.size:
                raise IndexError_(
                    f"query vector for {sub.using!r} has {len(sub.vector)} dimensions, expected {spec.size}"
                )

    def retrieve(
        self, namespace_id: str, ids: list[str], with_vectors: bool | list[str] = False
    ) -> list[Hit]:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is None or not ids:
                return []
            records = shard.retrieve([uuid.UUID(i) for i in ids], with_payload=True, with_vector=with_vectors)
            return [self._hit(r) for r in records]

    def scroll(
        self,
        namespace_id: str,
        filter: Filter | None = None,
        limit: int = 100,
        offset: str | None = None,
        with_vectors: bool | list[str] = False,
    ) -> tuple[list[Hit], str | None]:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is None:
                return [], None
            records, next_offset = shard.scroll(
                q.ScrollRequest(
                    offset=uuid.UUID(offset) if offset else None,
                    limit=limit,
                    filter=to_edge_filter(filter),
                    with_payload=True,
                    with_vector=with_vectors,
                )
            )
            return [self._hit(r) for r in records], (str(next_offset) if next_offset else None)

    def count(self, namespace_id: str, filter: Filter | None = None) -> int:
        with self._lock:
            shard = self._shard(namespace_id)
            if shard is None:
                return 0
            return shard.count(q.CountRequest(exact=True, filter=to_edge_filter(filter)))

    def close(self) -> None:
        with self._lock:
            for shard in self._shards.values():
                shard.flush()
                shard.close()
            self._shards.clear()
            self._vectors.clear()
