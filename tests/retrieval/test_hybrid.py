"""Hybrid search: text collections index BM25 beside their dense vectors; feature_search fuses both."""

from __future__ import annotations

import pytest

from tests.conftest import wait_batch

pytestmark = [pytest.mark.ray]
TEXTS = ["Quantum computers manipulate qubits with microwave pulses.",
         "Honeybees pollinate almond orchards every spring.",
         "Glaciers carve U-shaped valleys as they retreat.",
         "Superconducting qubits need dilution refrigerators.",
         "Spring rains swell the rivers of the valley."]


@pytest.fixture(scope="module")
def hybrid(live):
    _, client = live.new_namespace()
    bucket = client.post("/v1/buckets", json={"bucket_name": "h", "bucket_schema": {
        "properties": {"text": {"type": "text"}}}}).json()
    coll = client.post("/v1/collections", json={
        "collection_name": "h", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"}}}).json()
    ids = [client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "blobs": [{"property": "text", "type": "text", "data": t}]}).json()["object_id"] for t in TEXTS]
    batch = client.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"object_ids": ids}).json()
    client.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={})
    assert wait_batch(client, batch["batch_id"])["status"] == "COMPLETED"
    return client, coll


def _search(client, coll, searches, **params):
    resp = client.post("/v1/retrievers/execute", json={"collection_identifiers": [coll["collection_id"]], "stages": [
        {"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": searches, **params}}}]})
    return resp


def test_text_collections_expose_a_bm25_index(hybrid):
    _, coll = hybrid
    uris = {vi["feature_uri"]: vi["type"] for vi in coll["vector_indexes"]}
    assert uris == {"mixpeek://text_extractor@v1/all_minilm_l6_v2_v1": "single",
                    "mixpeek://text_extractor@v1/bm25": "sparse"}


def test_bm25_ranks_by_term_and_idf(hybrid):
    client, coll = hybrid
    resp = _search(client, coll, [{"feature_uri": "mixpeek://text_extractor@v1/bm25", "query": "qubits refrigerators",
                                   "top_k": 5}])
    assert resp.status_code == 200, resp.text
    docs = resp.json()["documents"]
    assert [d["text"] for d in docs] == [TEXTS[3], TEXTS[0]]  # both terms, then one; nothing without a term
    assert docs[0]["score"] > docs[1]["score"] > 0
    same = _search(client, coll, [{"feature_uri": "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1",
                                   "lexical": True, "query": "qubits refrigerators", "top_k": 5}]).json()["documents"]
    assert [d["document_id"] for d in same] == [d["document_id"] for d in docs]


def test_hybrid_rrf_fuses_dense_and_lexical_in_one_query(hybrid):
    client, coll = hybrid
    resp = _search(client, coll, [
        {"feature_uri": "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1", "query": "insects visiting fruit trees",
         "top_k": 5},
        {"feature_uri": "mixpeek://text_extractor@v1/bm25", "query": "honeybees almond", "top_k": 5, "weight": 2}],
        fusion="rrf", rrf_k=10, final_top_k=3)
    body = resp.json()
    assert resp.status_code == 200, body
    docs = body["documents"]
    assert docs[0]["text"] == TEXTS[1]  # the only lexical match, and the dense favourite
    assert len(docs) == 3  # the rest come from the dense list alone
    fusion = body["stage_statistics"]["stages"]["s"]["metadata"]["fusion"]
    assert fusion["method"] == "rrf" and fusion["k"] == 10 and fusion["weights"] == [1.0, 2.0]


@pytest.mark.parametrize("search,message", [
    ({"feature_uri": "mixpeek://text_extractor@v1/bm25", "query": "the and of"}, "no searchable terms"),
    ({"feature_uri": "mixpeek://text_extractor@v1/bm25", "query": {"input_mode": "vector", "value": [0.1] * 384}},
     "BM25 (lexical) index"),
    ({"feature_uri": "mixpeek://text_extractor@v1/bm25", "query": "x", "lexical": "yes please"}, "lexical"),
])
def test_lexical_search_errors_are_precise(hybrid, search, message):
    client, coll = hybrid
    resp = _search(client, coll, [search])
    assert resp.status_code == 422
    assert message in resp.text


def test_a_following_limit_is_pushed_into_the_engine_query(hybrid):
    client, coll = hybrid
    search = {"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
        "searches": [{"feature_uri": "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1", "query": "cold places",
                      "top_k": 5}], "final_top_k": 5}}}
    limit = {"stage_name": "top", "stage_type": "reduce", "config": {"stage_id": "limit", "parameters": {"limit": 2}}}
    full = client.post("/v1/retrievers/execute", json={"collection_identifiers": [coll["collection_id"]],
                                                       "stages": [search]}).json()
    cut = client.post("/v1/retrievers/execute", json={"collection_identifiers": [coll["collection_id"]],
                                                      "stages": [search, limit]}).json()
    assert [d["document_id"] for d in cut["documents"]] == [d["document_id"] for d in full["documents"]][:2]
    stats = cut["stage_statistics"]["stages"]["s"]
    assert stats["output_count"] == 2 and stats["metadata"]["limit_pushed_down"] == 2
    assert len(full["documents"]) == 5
