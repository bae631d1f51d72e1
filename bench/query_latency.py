"""Query latency: retriever execute over HTTP vs the raw engine query, same process, same data.

Starts the API server on loopback (its own temporary home), creates a namespace, a bucket and a
text_extractor collection over HTTP, then writes N synthetic 384-d documents (unit vectors with a
`category` and `year` payload, ids and lineage fields as the batch engine writes them) straight into
the index store the server owns, and optimises the shard (HNSW built, as after a bulk load).
Then it times:

- ``execute``: ``POST /v1/retrievers/execute`` with feature_search (a vector query, top_k 100)
  + attribute_filter (category) + limit 10, over a keep-alive HTTP connection;
- ``raw``: the same filtered top-10 as one query on the Qdrant Edge shard in this process.

Prints JSON lines: {"stage": "load", ...} then {"p50_ms", "p99_ms", "raw_p50_ms", "raw_p99_ms", "ratio"}.
Targets at 100k: p50 <= 10 ms and ratio (p50 / raw p50) <= 3.

Usage: python bench/query_latency.py [--n 100000] [--queries 300]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CATEGORIES = [f"cat{i}" for i in range(10)]


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(np.asarray(values), q))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=1, help="repeat the timed queries (for profiling)")
    args = parser.parse_args()

    from bench._server import serve
    from warehouse.batch.runner import collection_vector_specs
    from warehouse.ids import document_uuid
    from warehouse.index import IndexPoint, VectorQuery
    from warehouse.retrieval.filters import compile_filter

    home = Path(tempfile.mkdtemp(prefix="wh-latency-"))
    base, key, svc = serve(home, warm_batch_workers=False)
    c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=60)
    # The filtered fields are declared as payload indexes, as a user who filters on them would.
    ns = c.post("/v1/namespaces", json={"namespace_name": "latency", "payload_indexes": [
        {"field_name": "category", "type": "keyword"}, {"field_name": "year", "type": "integer"}]}).json()
    c.headers["X-Namespace"] = "latency"
    bucket = c.post("/v1/buckets", json={"bucket_name": "synthetic",
                                         "bucket_schema": {"properties": {"text": {"type": "text"}}}}).json()
    coll = c.post("/v1/collections", json={
        "collection_name": "synthetic", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"}}}).json()
    uri = coll["vector_indexes"][0]["feature_uri"]
    ext = svc.registry.get("text_extractor", "v1")
    vector_name = ext.spec.vector_name(ext.spec.vector_features[0])
    namespace_id = ns["namespace_id"]

    rng = np.random.default_rng(7)
    start = time.perf_counter()
    svc.index.ensure_vectors(namespace_id, collection_vector_specs(ext))
    for lo in range(0, args.n, 5000):
        vecs = rng.standard_normal((min(5000, args.n - lo), 384)).astype(np.float32)
        vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
        points = []
        for i, vec in enumerate(vecs, start=lo):
            object_id = f"obj_{i:07d}"
            doc_id = document_uuid(coll["collection_id"], object_id, "blob", "v1", ext.spec.ref, 0)
            points.append(IndexPoint(id=str(doc_id), vectors={vector_name: vec.tolist()}, payload={
                "document_id": f"doc_{doc_id.hex}", "collection_id": coll["collection_id"],
                "source_object_id": object_id, "root_object_id": object_id, "bucket_id": bucket["bucket_id"],
                "category": CATEGORIES[i % len(CATEGORIES)], "year": 2000 + i % 25, "text": f"synthetic {i}"}))
        svc.index.upsert(namespace_id, points)
    svc.index.optimize(namespace_id)
    print(json.dumps({"stage": "load", "docs": args.n, "seconds": round(time.perf_counter() - start, 1)}), flush=True)

    queries = rng.standard_normal((args.queries, 384)).astype(np.float32)
    queries /= np.linalg.norm(queries, axis=1, keepdims=True)

    def body(vec, category):
        return {"collection_identifiers": [coll["collection_id"]], "stages": [
            {"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
                "searches": [{"feature_uri": uri, "query": {"input_mode": "vector", "value": vec}, "top_k": 100}],
                "final_top_k": 100}}},
            {"stage_name": "category", "stage_type": "filter", "config": {"stage_id": "attribute_filter", "parameters": {
                "field": "category", "operator": "eq", "value": category}}},
            {"stage_name": "top", "stage_type": "reduce", "config": {"stage_id": "limit", "parameters": {"limit": 10}}},
        ]}

    bodies = [body(q.tolist(), CATEGORIES[i % len(CATEGORIES)]) for i, q in enumerate(queries)]
    for b in bodies[:20]:  # warm the connection, the route and the engine's caches
        resp = c.post("/v1/retrievers/execute", json=b)
        resp.raise_for_status()
    assert len(resp.json()["documents"]) == 10, resp.text[:500]
    http_ms = []
    for b in bodies * args.rounds:
        t = time.perf_counter()
        c.post("/v1/retrievers/execute", json=b).raise_for_status()
        http_ms.append((time.perf_counter() - t) * 1000)

    shard_queries = []
    for i, q in enumerate(queries):
        flt = compile_filter({"AND": [{"field": "collection_id", "operator": "eq", "value": coll["collection_id"]},
                                      {"field": "category", "operator": "eq", "value": CATEGORIES[i % len(CATEGORIES)]}]})
        shard_queries.append(VectorQuery(using=vector_name, vector=q.tolist(), limit=10, filter=flt.qdrant))
    for sq in shard_queries[:20]:
        svc.index.query(namespace_id, sq)
    raw_ms = []
    for sq in shard_queries:
        t = time.perf_counter()
        svc.index.query(namespace_id, sq)
        raw_ms.append((time.perf_counter() - t) * 1000)
    p50, raw_p50 = statistics.median(http_ms), statistics.median(raw_ms)
    print(json.dumps({"docs": args.n, "queries": len(bodies), "p50_ms": round(p50, 2),
                      "p99_ms": round(percentile(http_ms, 99), 2), "raw_p50_ms": round(raw_p50, 3),
                      "raw_p99_ms": round(percentile(raw_ms, 99), 3), "ratio": round(p50 / raw_p50, 2)}), flush=True)


if __name__ == "__main__":
    main()
