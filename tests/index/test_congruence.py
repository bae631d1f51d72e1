"""One set of index operations against Edge, qdrant-client and the owner's endpoint; same answers."""

from __future__ import annotations

import uuid

import numpy as np
import pytest
from qdrant_client import QdrantClient

from warehouse.index import FusionQuery, IndexError_, IndexPoint, VectorQuery, VectorSpec
from warehouse.index.edge import EdgeIndexStore
from warehouse.index.qdrant_server import QdrantIndexStore

NS = "ns_test"


def _points(n: int = 60, seed: int = 7) -> list[IndexPoint]:
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        out.append(IndexPoint(
            id=str(uuid.UUID(int=i + 1)),
            vectors={"a": rng.standard_normal(8).tolist(), "b": rng.standard_normal(4).tolist()},
            payload={"collection_id": "c1" if i % 2 else "c2", "source_object_id": f"obj_{i // 3}", "rank": i,
                     "document_id": "doc_" + uuid.UUID(int=i + 1).hex},
        ))
    return out


@pytest.fixture(params=["edge", "qdrant_local", "remote"])
def store(request, tmp_path, live):
    if request.param == "edge":
        s = EdgeIndexStore(tmp_path / "edge")
    elif request.param == "qdrant_local":
        s = QdrantIndexStore(QdrantClient(location=":memory:"))
    else:
        from warehouse.index.remote import RemoteIndexStore

        s = RemoteIndexStore(live.base_url, live.services.settings.resolved_internal_token())
        s.drop_namespace(NS)
    yield s
    if request.param == "remote":
        s.drop_namespace(NS)
    s.close()


def _load(store):
    store.ensure_vectors(NS, [VectorSpec("a", 8), VectorSpec("b", 4)])
    store.ensure_vectors(NS, [VectorSpec("a", 8)])  # idempotent
    store.upsert(NS, _points())


def test_query_filters_and_counts(store):
    _load(store)
    assert store.count(NS) == 60
    assert store.count(NS, {"must": [{"key": "collection_id", "match": {"value": "c1"}}]}) == 30
    q = np.random.default_rng(1).standard_normal(8).tolist()
    hits = store.query(NS, VectorQuery(using="a", vector=q, limit=5,
                                       filter={"must": [{"key": "rank", "range": {"gte": 10, "lt": 40}}]}))
    assert len(hits) == 5 and all(10 <= h.payload["rank"] < 40 for h in hits)
    # exact brute force agrees with the engine's top-5
    pts = [p for p in _points() if 10 <= p.payload["rank"] < 40]
    qv = np.array(q) / np.linalg.norm(q)
    sims = sorted(((float(np.dot(qv, np.array(p.vectors["a"]) / np.linalg.norm(p.vectors["a"]))), p.id) for p in pts), reverse=True)
    assert [h.id for h in hits] == [pid for _, pid in sims[:5]]
    assert hits[0].score == pytest.approx(sims[0][0], abs=1e-4)


def test_fusion_and_batch(store):
    _load(store)
    qa = np.random.default_rng(2).standard_normal(8).tolist()
    qb = np.random.default_rng(3).standard_normal(4).tolist()
    single = store.query_batch(NS, [VectorQuery(using="a", vector=qa, limit=10), VectorQuery(using="b", vector=qb, limit=10)])
    fused = store.query(NS, FusionQuery(prefetch=[VectorQuery(using="a", vector=qa, limit=10),
                                                  VectorQuery(using="b", vector=qb, limit=10)], method="rrf", k=60, limit=5))
    ranks: dict[str, float] = {}
    for hits in single:
        for r, h in enumerate(hits):
            ranks[h.id] = ranks.get(h.id, 0) + 1 / (60 + r)  # Qdrant ranks from 0
    expected = sorted(ranks, key=lambda k: (-ranks[k], k))[:5]
    assert {h.id for h in fused} == set(expected)
    assert fused[0].score == pytest.approx(max(ranks.values()), rel=1e-3)


def test_delete_scroll_retrieve(store):
    _load(store)
    keep = [p.id for p in _points() if p.payload["source_object_id"] == "obj_0"][:1]
    store.delete(NS, {"must": [{"key": "source_object_id", "match": {"value": "obj_0"}}], "must_not": [{"has_id": keep}]})
    assert store.count(NS) == 58
    got, nxt = store.scroll(NS, {"must": [{"key": "collection_id", "match": {"value": "c2"}}]}, limit=7)
    assert len(got) == 7 and nxt is not None
    rest, _ = store.scroll(NS, {"must": [{"key": "collection_id", "match": {"value": "c2"}}]}, limit=100, offset=nxt)
    assert len(got) + len(rest) == store.count(NS, {"must": [{"key": "collection_id", "match": {"value": "c2"}}]})
    rec = store.retrieve(NS, keep, with_vectors=True)
    assert rec[0].payload["rank"] == 0 and len(rec[0].vectors["a"]) == 8


def test_shape_mismatch_is_refused(store):
    _load(store)
    with pytest.raises(IndexError_):
        store.ensure_vectors(NS, [VectorSpec("a", 16)])


def test_unknown_namespace_reads_empty(store):
    assert store.count("ns_nothing_here") == 0
    assert store.query("ns_nothing_here", VectorQuery(using="a", vector=[0.0] * 8)) == []


BM25_TEXTS = ["Quantum computers use qubits to compute.", "Bees pollinate flowers in spring.",
              "Qubits decohere quickly in warm rooms.", "Rivers carve canyons over long ages.",
              "Flowers bloom in spring after the rains."]


def test_bm25_sparse_vectors_and_hybrid_fusion_agree(store):
    from warehouse.index.bm25 import bm25_spec, encode_documents, encode_query

    store.ensure_vectors(NS, [VectorSpec("a", 8), bm25_spec()])
    store.ensure_vectors(NS, [bm25_spec()])  # idempotent
    rng = np.random.default_rng(3)
    sparse = encode_documents(BM25_TEXTS)
    store.upsert(NS, [IndexPoint(id=str(uuid.UUID(int=100 + i)), vectors={"a": rng.standard_normal(8).tolist(),
                                                                             "bm25": sparse[i]},
                                 payload={"collection_id": "c1", "rank": i}) for i in range(len(BM25_TEXTS))])
    hits = store.query(NS, VectorQuery(using="bm25", vector=encode_query("qubits"), limit=5))
    assert sorted(h.payload["rank"] for h in hits) == [0, 2]  # only documents with the term
    spring = store.query(NS, VectorQuery(using="bm25", vector=encode_query("flowers in spring"), limit=5))
    assert [h.payload["rank"] for h in spring][:2] in ([1, 4], [4, 1])
    # a rare term outweighs a common one (IDF from the engine): "canyons" appears once
    assert store.query(NS, VectorQuery(using="bm25", vector=encode_query("spring canyons"), limit=1))[0].payload[
        "rank"] == 3
    fused = store.query(NS, FusionQuery(prefetch=[
        VectorQuery(using="bm25", vector=encode_query("qubits"), limit=5),
        VectorQuery(using="a", vector=rng.standard_normal(8).tolist(), limit=5)], method="rrf", k=60, limit=5))
    assert {0, 2} <= {h.payload["rank"] for h in fused}
    with pytest.raises(IndexError_):
        store.query(NS, VectorQuery(using="bm25", vector=[0.1] * 8, limit=1))
    [got] = store.retrieve(NS, [str(uuid.UUID(int=100))], with_vectors=["bm25"])
    assert sorted(got.vectors["bm25"]["indices"]) == sorted(sparse[0]["indices"])


def test_payload_indexes_are_idempotent_and_checked(store):
    store.ensure_payload_indexes("ns_absent", {"rank": "integer"})  # no namespace yet: nothing to do
    _load(store)
    store.ensure_payload_indexes(NS, {"rank": "integer", "collection_id": "keyword"})
    store.ensure_payload_indexes(NS, {"rank": "integer"})
    assert store.count(NS, {"must": [{"key": "rank", "range": {"gte": 10, "lt": 20}}]}) == 10
    with pytest.raises(IndexError_):
        store.ensure_payload_indexes(NS, {"rank": "vector"})
