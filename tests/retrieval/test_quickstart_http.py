"""The quickstart flow over HTTP against a live server: bucket → … → ranked documents."""

from __future__ import annotations

import pytest

from tests.conftest import wait_batch

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TEXTS = {
    "headphones": "Noise cancelling headphones block out the sound of airplanes and trains.",
    "coffee": "A French press makes strong coffee from coarsely ground beans.",
    "quantum": "Quantum computers use qubits to run some calculations much faster.",
    "garden": "Tomatoes grow best in full sun with regular watering.",
}


@pytest.fixture(scope="module")
def corpus(live):
    name, c = live.new_namespace()
    bucket = c.post("/v1/buckets", json={"bucket_name": "products", "bucket_schema": {"properties": {
        "content": {"type": "text", "required": True}, "category": {"type": "string"}}}}).json()
    ids = {}
    for cat, text in TEXTS.items():
        obj = c.post(f"/v1/buckets/{bucket['bucket_id']}/objects",
                     json={"category": cat, "blobs": [{"property": "content", "type": "text", "data": text}]})
        assert obj.status_code == 200, obj.text
        ids[cat] = obj.json()["object_id"]
    coll = c.post("/v1/collections", json={
        "collection_name": "products-text", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}, "field_passthrough": [{"source_path": "category"}]}})
    assert coll.status_code == 200, coll.text
    coll = coll.json()
    batch = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches",
                   json={"batch_name": "q", "object_ids": list(ids.values()), "collection_ids": [coll["collection_id"]]}).json()
    assert batch["status"] == "DRAFT"
    task = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit",
                  json={"collection_ids": [coll["collection_id"]]}).json()
    assert task["status"] in ("QUEUED", "PROCESSING", "COMPLETED") and task["task_type"] == "api_buckets_batches_submit"
    final = wait_batch(c, batch["batch_id"])
    assert final["status"] == "COMPLETED", final
    assert final["documents_written"] == 4 and final["failed_objects"] == []
    assert c.get(f"/v1/tasks/{task['task_id']}").json()["status"] == "COMPLETED"
    return {"ns": name, "client": c, "bucket": bucket, "collection": coll, "ids": ids, "batch": final}


def test_collection_exposes_feature_uri(corpus):
    c, coll = corpus["client"], corpus["collection"]
    got = c.get(f"/v1/collections/{coll['collection_id']}").json()
    assert got["vector_indexes"][0]["feature_uri"] == "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1"
    assert got["vector_indexes"][0]["index"]["dimensions"] == 384
    assert got["document_count"] == 4


def _search_retriever(c, coll, name, extra_stages=(), fusion_searches=None):
    uri = coll["vector_indexes"][0]["feature_uri"]
    searches = fusion_searches or [{"feature_uri": uri, "query": {"input_mode": "text", "value": "{{INPUT.query}}"}, "top_k": 10}]
    body = {"retriever_name": name, "collection_identifiers": [coll["collection_id"]],
            "input_schema": {"query": {"type": "string", "required": True}},
            "stages": [{"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search",
                        "parameters": {"searches": searches, "final_top_k": 5, "fusion": "rrf"}}}, *extra_stages]}
    resp = c.post("/v1/retrievers", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_execute_returns_ranked_documents(corpus):
    c, coll = corpus["client"], corpus["collection"]
    ret = _search_retriever(c, coll, "semantic")
    assert ret["collection_identifiers"] == [coll["collection_id"]] and ret["stages"][0]["parameters"]["final_top_k"] == 5
    result = c.post(f"/v1/retrievers/{ret['retriever_id']}/execute", json={"inputs": {"query": "headphones for flights"}})
    assert result.status_code == 200, result.text
    docs = result.json()["documents"]
    assert docs[0]["category"] == "headphones" and docs[0]["source_object_id"] == corpus["ids"]["headphones"]
    assert [d["score"] for d in docs] == sorted([d["score"] for d in docs], reverse=True)
    stats = result.json()["stage_statistics"]["stages"]["search"]
    assert stats["input_count"] == 0 and stats["output_count"] == 4
    # 'input' is accepted as an alias of 'inputs'
    again = c.post(f"/v1/retrievers/{ret['retriever_id']}/execute", json={"input": {"query": "brewing coffee"}, "limit": 1})
    assert [d["category"] for d in again.json()["documents"]] == ["coffee"]


def test_attribute_filter_after_search(corpus):
    c, coll = corpus["client"], corpus["collection"]
    stage = {"stage_name": "only", "stage_type": "filter", "config": {"stage_id": "attribute_filter", "parameters": {
        "conditions": {"OR": [{"field": "category", "operator": "eq", "value": "garden"},
                              {"field": "category", "operator": "eq", "value": "quantum"}]}}}}
    ret = _search_retriever(c, coll, "filtered", [stage])
    docs = c.post(f"/v1/retrievers/{ret['retriever_id']}/execute", json={"inputs": {"query": "headphones"}}).json()
    assert {d["category"] for d in docs["documents"]} == {"garden", "quantum"}
    assert docs["stage_statistics"]["stages"]["only"]["metadata"]["pushed_down"] is True


def test_weighted_fusion_echoes_weights(corpus):
    c, coll = corpus["client"], corpus["collection"]
    uri = coll["vector_indexes"][0]["feature_uri"]
    searches = [{"feature_uri": uri, "query": "{{INPUT.query}}", "top_k": 10, "weight": 1.0},
                {"feature_uri": uri, "query": "tomatoes", "top_k": 10, "weight": 0.0}]
    adhoc = {"collection_identifiers": [coll["collection_id"]], "inputs": {"query": "qubits"},
             "stages": [{"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
                 "searches": searches, "final_top_k": 2, "fusion": "weighted"}}}]}
    out = c.post("/v1/retrievers/execute", json=adhoc).json()
    assert out["documents"][0]["category"] == "quantum"
    assert out["stage_statistics"]["stages"]["s"]["metadata"]["fusion"]["weights"] == [1.0, 0.0]
    adhoc["stages"][0]["config"]["parameters"]["fusion"] = "rrf"
    out = c.post("/v1/retrievers/execute", json=adhoc).json()
    assert out["stage_statistics"]["stages"]["s"]["metadata"]["fusion"]["k"] == 60
    assert len(out["documents"]) == 2


def test_resubmit_is_idempotent_and_delete_removes_documents(corpus):
    c, bucket, coll = corpus["client"], corpus["bucket"], corpus["collection"]
    before = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={"limit": 100}).json()
    ids_before = sorted(d["document_id"] for d in before["results"])
    batch_id = corpus["batch"]["batch_id"]
    c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch_id}/submit", json={})
    final = wait_batch(c, batch_id)
    assert final["status"] == "COMPLETED" and final["documents_replaced"] == 4
    after = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={"limit": 100}).json()
    assert sorted(d["document_id"] for d in after["results"]) == ids_before
    assert after["pagination"]["total"] == 4
    # lineage leads from a document back to its object, bucket and batch
    doc = after["results"][0]
    lineage = c.get(f"/v1/collections/{coll['collection_id']}/documents/{doc['document_id']}/lineage").json()
    assert lineage["source_object"]["object_id"] == doc["source_object_id"]
    assert lineage["bucket"]["bucket_id"] == bucket["bucket_id"] and lineage["batch"]["batch_id"] == batch_id
    assert lineage["feature_extractor"] == "text_extractor@v1"
    victim = corpus["ids"]["garden"]
    assert c.delete(f"/v1/buckets/{bucket['bucket_id']}/objects/{victim}").status_code == 204
    left = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={"limit": 100}).json()
    assert left["pagination"]["total"] == 3
    assert victim not in {d["source_object_id"] for d in left["results"]}


def test_chunking_and_custom_plugin(live):
    name, c = live.new_namespace()
    bucket = c.post("/v1/buckets", json={"bucket_name": "articles", "bucket_schema": {"properties": {"text": {"type": "text"}}}}).json()
    text = "First sentence here. Second one follows. Third closes it."
    obj = c.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={"blobs": [{"property": "text", "type": "text", "data": text}]}).json()
    chunked = c.post("/v1/collections", json={
        "collection_name": "chunks", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1", "input_mappings": {"text": "text"},
                              "parameters": {"split_by": "sentences", "chunk_size": 1}}}).json()
    hashed = c.post("/v1/collections", json={
        "collection_name": "hashed", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_embed", "version": "1.0.0", "input_mappings": {"text": "text"}}}).json()
    assert hashed["vector_indexes"][0]["feature_uri"] == "mixpeek://text_embed@1.0.0/text_embed_v1_embedding"
    trig = c.post(f"/v1/collections/{chunked['collection_id']}/trigger", json={})
    assert trig.status_code == 202 and trig.json()["total_tiers"] == 1
    batch = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"collection_ids": [hashed["collection_id"]]},
                   params={"auto_submit": "true"}).json()
    assert wait_batch(c, trig.json()["batch_id"])["documents_written"] == 3
    assert wait_batch(c, batch["batch_id"])["documents_written"] == 1
    docs = c.post(f"/v1/collections/{chunked['collection_id']}/documents/list", json={"limit": 10}).json()["results"]
    assert sorted(d["text"] for d in docs) == ["First sentence here.", "Second one follows.", "Third closes it."]
    assert sorted(d["_internal"]["lineage"]["chunk_index"] for d in docs) == [0, 1, 2]
    # the realtime service embeds the same text to the same vector: exact match scores 1
    out = c.post("/v1/retrievers/execute", json={
        "collection_identifiers": [hashed["collection_id"]], "inputs": {"q": text},
        "stages": [{"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": "mixpeek://text_embed@1.0.0/text_embed_v1_embedding", "query": "{{INPUT.q}}", "top_k": 5}]}}}]}).json()
    assert out["documents"][0]["source_object_id"] == obj["object_id"]
    assert out["documents"][0]["score"] == pytest.approx(1.0, abs=1e-4)


def test_health_reports_warm_models_and_workers(live, corpus):
    import time

    import httpx

    for _ in range(600):
        checks = httpx.get(f"{live.base_url}/v1/health").json()["checks"]
        if checks["batch_workers"] != "loading" and checks["query_models"] == "ready":
            break
        time.sleep(0.1)
    assert checks["catalog"] == "ok"
    assert checks["query_models"] == "ready"
    assert checks["batch_workers"] == "ready", checks
