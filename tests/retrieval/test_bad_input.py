"""Bad input gets a precise error in the envelope, and stored data stays intact."""

from __future__ import annotations

import pytest

from tests.conftest import wait_batch

pytestmark = [pytest.mark.ray]


def _err(resp, status: int) -> dict:
    assert resp.status_code == status, resp.text
    body = resp.json()
    assert body["success"] is False and body["status"] == status
    return body["error"]


@pytest.fixture(scope="module")
def ns(live):
    name, c = live.new_namespace()
    bucket = c.post("/v1/buckets", json={"bucket_name": "b", "bucket_schema": {"properties": {"content": {"type": "text"}}}}).json()
    return name, c, bucket


def test_bad_api_key_and_missing_header(live):
    import httpx

    err = _err(httpx.get(f"{live.base_url}/v1/buckets", headers={"Authorization": "Bearer nope", "X-Namespace": "x"}), 401)
    assert err["type"] == "UnauthorizedError" and err["message"] == "invalid API key"
    err = _err(httpx.get(f"{live.base_url}/v1/buckets"), 401)
    assert "Authorization" in err["message"]


def test_missing_and_unknown_namespace(live):
    with live.client() as c:
        err = _err(c.get("/v1/buckets"), 400)
        assert "X-Namespace" in err["message"]
    with live.client("no-such-namespace") as c:
        err = _err(c.get("/v1/buckets"), 404)
        assert "no-such-namespace" in err["message"] and err["details"]["header"] == "X-Namespace"


def test_unknown_bucket(ns):
    _, c, _ = ns
    err = _err(c.post("/v1/buckets/bkt_missing/objects", json={"blobs": [{"property": "content", "type": "text", "data": "x"}]}), 404)
    assert err["type"] == "NotFoundError" and "bkt_missing" in err["message"]


def test_malformed_body(ns):
    _, c, _ = ns
    err = _err(c.post("/v1/buckets", content=b'{"bucket_name": "x",', headers={"Content-Type": "application/json"}), 422)
    assert "not valid JSON" in err["message"]
    err = _err(c.post("/v1/buckets", json={"bucket_schema": {"properties": {}}}), 422)
    assert "missing required field 'bucket_name'" in err["message"]
    err = _err(c.post("/v1/buckets", json={"bucket_name": "y", "bucket_schema": {"properties": {"a": {"type": "blob"}}}}), 422)
    assert "bucket_schema.properties.a.type" in err["message"]


def test_unknown_body_key_with_hint(ns):
    _, c, bucket = ns
    err = _err(c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"collection_id": "col_x"}), 422)
    assert "unknown key 'collection_id'" in err["message"] and "collection_ids" in err["message"]
    err = _err(c.post("/v1/buckets", json={"bucket_name": "z", "colour": "red"}), 422)
    assert err["details"]["errors"][0]["location"] == "colour"
    # nothing was created by the refused requests
    names = [b["bucket_name"] for b in c.post("/v1/buckets/list", json={}).json()["results"]]
    assert names == ["b"]


def test_retriever_stage_errors_are_precise(ns):
    _, c, bucket = ns
    coll = c.post("/v1/collections", json={"collection_name": "cc", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
                                           "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"}}).json()
    bad_stage = {"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
        "searches": [{"feature_uri": "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1", "query": "x", "topk": 3}]}}}
    err = _err(c.post("/v1/retrievers", json={"retriever_name": "r", "collection_ids": [coll["collection_id"]], "stages": [bad_stage]}), 422)
    assert "unknown parameter 'searches.0.topk'" in err["message"]
    unknown_stage = {"stage_name": "s", "config": {"stage_id": "teleport", "parameters": {}}}
    err = _err(c.post("/v1/retrievers", json={"retriever_name": "r", "collection_ids": [coll["collection_id"]], "stages": [unknown_stage]}), 422)
    assert "unknown stage_id 'teleport'" in err["message"]
    legacy_uri = {"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
        "searches": [{"feature_uri": "mixpeek://text_extractor@v1/multilingual_e5_large_instruct_v1", "query": "x"}]}}}
    err = _err(c.post("/v1/retrievers/execute", json={"collection_identifiers": [coll["collection_id"]], "stages": [legacy_uri]}), 422)
    assert "all_minilm_l6_v2_v1" in err["message"]
    ok = c.post("/v1/retrievers", json={"retriever_name": "needs-query", "collection_identifiers": [coll["collection_id"]],
                                        "input_schema": {"query": {"type": "string", "required": True}},
                                        "stages": [{"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
                                            "searches": [{"feature_uri": "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1",
                                                          "query": "{{INPUT.query}}"}]}}}]}).json()
    err = _err(c.post(f"/v1/retrievers/{ok['retriever_id']}/execute", json={"inputs": {}}), 422)
    assert "missing required input 'query'" in err["message"]
    err = _err(c.post(f"/v1/retrievers/{ok['retriever_id']}/execute", json={"query": "x"}), 422)
    assert "inputs" in err["message"]


def test_unknown_extractor_and_bad_parameters(ns):
    _, c, bucket = ns
    src = {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]}
    err = _err(c.post("/v1/collections", json={"collection_name": "x", "source": src,
                                               "feature_extractor": {"feature_extractor_name": "nope", "version": "v1"}}), 422)
    assert "unknown feature extractor 'nope'" in err["message"] and "text_extractor@v1" in err["message"]
    err = _err(c.post("/v1/collections", json={"collection_name": "x", "source": src, "feature_extractor": {
        "feature_extractor_name": "text_extractor", "version": "v1", "parameters": {"chunk_sise": 5}}}), 422)
    assert "chunk_sise" in err["message"] and "chunk_size" in err["message"]
    err = _err(c.post("/v1/collections", json={"collection_name": "x", "source": src, "feature_extractor": {
        "feature_extractor_name": "text_extractor", "version": "v1",
        "parameters": {"split_by": "words", "chunk_size": 5, "chunk_overlap": 5}}}), 422)
    assert "chunk_overlap" in err["message"]


def test_extraction_that_raises_fails_alone_and_keeps_old_documents(live):
    _, c = live.new_namespace()
    bucket = c.post("/v1/buckets", json={"bucket_name": "f", "bucket_schema": {"properties": {"content": {"type": "text"}}}}).json()
    coll = c.post("/v1/collections", json={"collection_name": "flaky", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
                                           "feature_extractor": {"feature_extractor_name": "flaky_embed", "version": "1.0.0"}}).json()
    good = [c.post(f"/v1/buckets/{bucket['bucket_id']}/objects",
                   json={"blobs": [{"property": "content", "type": "text", "data": f"fine text {i}"}]}).json()["object_id"] for i in range(5)]
    bad = c.post(f"/v1/buckets/{bucket['bucket_id']}/objects",
                 json={"blobs": [{"property": "content", "type": "text", "data": "please EXPLODE now"}]}).json()["object_id"]
    empty = c.post(f"/v1/buckets/{bucket['bucket_id']}/objects",
                   json={"blobs": [{"property": "content", "type": "text", "data": "   "}]}).json()["object_id"]
    batch = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", params={"auto_submit": "true"}, json={}).json()
    final = wait_batch(c, batch["batch_id"])
    assert final["status"] == "COMPLETED_WITH_ERRORS"
    assert final["documents_written"] == 5
    reasons = {f["object_id"]: f for f in final["failed_objects"]}
    assert set(reasons) == {bad, empty}
    assert "EXPLODE" in reasons[bad]["error"] and reasons[bad]["error_type"] == "EXTRACTION_ERROR"
    assert reasons[empty]["error_type"] == "EMPTY_INPUT"
    assert final["skipped_rows"][0]["object_id"] == empty
    # a batch where every object fails is FAILED, and the documents already stored stay
    again = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", params={"auto_submit": "true"}, json={"object_ids": [bad]}).json()
    assert wait_batch(c, again["batch_id"])["status"] == "FAILED"
    listed = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={"limit": 50}).json()
    assert listed["pagination"]["total"] == 5 and {d["source_object_id"] for d in listed["results"]} == set(good)


def test_cancel_draft_batch_then_refuse_second_cancel(ns):
    _, c, bucket = ns
    c.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={"blobs": [{"property": "content", "type": "text", "data": "x"}]})
    batch = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"collection_ids": []}).json()
    assert batch["status"] == "DRAFT"
    err = _err(c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={}), 422)
    assert "no collections" in err["message"]
    canceled = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/cancel").json()
    assert canceled["status"] == "CANCELED"
    err = _err(c.post(f"/v1/batches/{batch['batch_id']}/cancel"), 409)
    assert "already finished (CANCELED)" in err["message"]


def test_canceled_batch_can_be_submitted_again(live):
    _, c = live.new_namespace()
    bucket = c.post("/v1/buckets", json={"bucket_name": "r", "bucket_schema": {"properties": {"content": {"type": "text"}}}}).json()
    c.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={"blobs": [{"property": "content", "type": "text", "data": "hello"}]})
    c.post("/v1/collections", json={"collection_name": "h", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
                                    "feature_extractor": {"feature_extractor_name": "text_embed", "version": "1.0.0"}})
    batch = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={}).json()
    assert c.post(f"/v1/batches/{batch['batch_id']}/cancel").json()["status"] == "CANCELED"
    c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={})
    final = wait_batch(c, batch["batch_id"])
    assert final["status"] == "COMPLETED" and final["documents_written"] == 1
