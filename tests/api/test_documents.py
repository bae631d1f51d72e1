"""Documents written directly: create with your own vectors, update (merge / replace), delete by id and by
filter, count, batch get — each counted before and after, and every bad input a 4xx that names the field and
changes nothing."""

from __future__ import annotations

import math

import pytest
from fastapi.testclient import TestClient

from tests.api.seeding import in_process_api, text_collection

DIM = 384


def unit(seed: int) -> list[float]:
    raw = [math.sin(seed * 7.1 + i * 0.37) for i in range(DIM)]
    norm = math.sqrt(sum(v * v for v in raw))
    return [v / norm for v in raw]


@pytest.fixture()
def env(tmp_path):
    with in_process_api(tmp_path, ("default", "other")) as (http, _):
        bucket, coll = text_collection(http, "b", "c")
        dense = next(vi for vi in coll["vector_indexes"] if vi["index"]["type"] == "dense")
        yield http, coll, dense, bucket


def _count(http) -> int:
    return http.get("/v1/collections/c/documents/count").json()["count"]


def _create(http, dense, seed: int, **fields) -> dict:
    resp = http.post("/v1/collections/c/documents", json={"vectors": {dense["name"]: unit(seed)}, **fields})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_created_document_is_stored_searchable_and_counted(env):
    http, coll, dense, _ = env
    doc = _create(http, dense, 1, text="Glaciers carve valleys", genre="geology", metadata={"source": "import"})
    assert doc["document_id"].startswith("doc_") and doc["collection_id"] == coll["collection_id"]
    assert doc["_internal"]["lineage"]["source"] == "direct"
    got = http.get(f"/v1/collections/c/documents/{doc['document_id']}", params={"return_vectors": True}).json()
    assert got["genre"] == "geology" and got["metadata"] == {"source": "import"}
    assert got["vectors"][dense["name"]] == pytest.approx(unit(1), abs=1e-6)
    assert "bm25" in " ".join(got["vectors"])  # the lexical index got the text
    assert _count(http) == 1
    # A vector query finds it first, through a saved retriever's engine.
    found = http.post("/v1/retrievers/execute", json={
        "collection_identifiers": ["c"], "inputs": {}, "stages": [{"stage_name": "s", "stage_type": "filter", "config": {
            "stage_id": "feature_search", "parameters": {"searches": [{"feature_uri": dense["feature_uri"],
                                                                      "query": {"input_mode": "vector", "value": unit(1)},
                                                                      "top_k": 5}], "final_top_k": 5}}}]})
    assert found.status_code == 200, found.text
    assert found.json()["documents"][0]["document_id"] == doc["document_id"]
    # Lineage names an object of the caller's namespace.
    assert http.get(f"/v1/documents/{doc['document_id']}").json()["genre"] == "geology"


@pytest.mark.parametrize("body, where", [
    ({"vectors": {"nope": [0.0] * DIM}}, "vectors.nope"),
    ({"vectors": {"@dense": [0.0] * 3}}, "vectors.@dense"),
    ({"vectors": {"@dense": ["x"] * DIM}}, "vectors.@dense"),
    ({"document_id": "doc_00000000000000000000000000000000"}, "body.document_id"),
    ({"_internal": {"lineage": {}}}, "body._internal"),
    ({"clusters": {}}, "body.clusters"),
    ({"collection_id": "col_other"}, "collection_id"),
    ({"features": [{"feature_extractor_id": "x"}]}, "features"),
    ({"document_schema_version": "v9"}, "document_schema_version"),
])
def test_a_bad_create_is_refused_naming_the_field_and_writes_nothing(env, body, where):
    http, _, dense, _ = env
    if "vectors" in body:
        body = {"vectors": {(dense["name"] if k == "@dense" else k): v for k, v in body["vectors"].items()}}
        where = where.replace("@dense", dense["name"])
    resp = http.post("/v1/collections/c/documents", json=body)
    assert resp.status_code == 422, resp.text
    err = resp.json()["error"]
    location = err["details"].get("location") or err["details"]["errors"][0]["location"]
    assert location.startswith(where), err
    assert _count(http) == 0


def test_lineage_may_name_only_the_callers_objects(env):
    http, _, dense, bucket = env
    obj = http.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "blobs": [{"property": "content", "type": "text", "data": "a note"}]}).json()
    doc = _create(http, dense, 2, source_object_id=obj["object_id"])
    assert doc["source_object_id"] == obj["object_id"] and doc["bucket_id"] == bucket["bucket_id"]
    assert http.get(f"/v1/documents/{doc['document_id']}/lineage").json()["source_object"]["object_id"] == obj["object_id"]
    other = TestClient(http.app)
    other.headers.update({"Authorization": http.headers["authorization"], "X-Namespace": "other"})
    other.post("/v1/buckets", json={"bucket_name": "b", "bucket_schema": {"properties": {"content": {"type": "text"}}}})
    other.post("/v1/collections", json={
        "collection_name": "c", "source": {"type": "bucket", "bucket_ids": ["b"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}}})
    resp = other.post("/v1/collections/c/documents", json={"source_object_id": obj["object_id"]})
    assert resp.status_code == 404  # another namespace's object is not there
    assert other.get(f"/v1/documents/{doc['document_id']}").status_code == 404
    assert other.delete(f"/v1/documents/{doc['document_id']}").status_code == 404
    assert _count(http) == 1


def test_patch_merges_put_replaces_and_system_fields_stay(env):
    http, coll, dense, _ = env
    doc = _create(http, dense, 3, text="old text", genre="a", year=2001)
    d = doc["document_id"]
    patched = http.patch(f"/v1/collections/c/documents/{d}", json={"genre": "b", "vectors": {dense["name"]: unit(4)}})
    assert patched.status_code == 200, patched.text
    assert patched.json()["genre"] == "b" and patched.json()["year"] == 2001
    vec = http.get(f"/v1/documents/{d}", params={"return_vectors": True}).json()["vectors"][dense["name"]]
    assert vec == pytest.approx(unit(4), abs=1e-6)
    put = http.put(f"/v1/documents/{d}", json={"rating": 5}).json()
    assert put["rating"] == 5 and "genre" not in put and "year" not in put
    assert put["collection_id"] == coll["collection_id"] and put["document_id"] == d and put["text"] == "old text"
    refused = http.patch(f"/v1/collections/c/documents/{d}", json={"collection_id": "col_elsewhere"})
    assert refused.status_code == 422 and "collection_id" in refused.json()["error"]["message"]
    assert http.get(f"/v1/documents/{d}").json()["collection_id"] == coll["collection_id"]


def test_batch_update_by_ids_and_by_filter(env):
    http, _, dense, _ = env
    ids = [_create(http, dense, 10 + i, genre="news" if i < 3 else "sport")["document_id"] for i in range(5)]
    missing = "doc_" + "0" * 32
    out = http.post("/v1/collections/c/documents/batch", json={"updates": [
        {"document_id": ids[0], "update_data": {"flag": "x"}}, {"document_id": missing, "update_data": {"flag": "x"}}]})
    assert out.status_code == 200, out.text
    assert out.json()["updated_count"] == 1 and out.json()["failed_count"] == 1
    out = http.post("/v1/collections/c/documents/batch", json={
        "filters": {"field": "genre", "operator": "eq", "value": "sport"}, "update_data": {"reviewed": True}}).json()
    assert out["updated_count"] == 2
    reviewed = http.post("/v1/collections/c/documents/list", json={
        "filters": {"field": "reviewed", "operator": "eq", "value": True}}).json()
    assert sorted(r["document_id"] for r in reviewed["results"]) == sorted(ids[3:])
    for body in ({}, {"updates": [{"document_id": ids[0], "update_data": {}}], "filters": {"field": "genre", "operator": "eq",
                                                                                             "value": "news"}},
                 {"filters": {"field": "genre", "operator": "eq", "value": "news"}},
                 {"filters": {"field": "genre", "operator": "eq", "value": "news"}, "update_data": {"document_id": "x"}}):
        assert http.post("/v1/collections/c/documents/batch", json=body).status_code == 422, body
    assert _count(http) == 5


def test_delete_by_id_and_by_filter_counts_before_and_after(env):
    http, _, dense, _ = env
    ids = [_create(http, dense, 20 + i, genre="news" if i < 4 else "sport")["document_id"] for i in range(6)]
    assert _count(http) == 6
    assert http.delete(f"/v1/collections/c/documents/{ids[0]}").status_code == 204
    assert http.get(f"/v1/collections/c/documents/{ids[0]}").status_code == 404
    assert _count(http) == 5
    out = http.request("DELETE", "/v1/collections/c/documents/batch", json={
        "filters": {"field": "genre", "operator": "eq", "value": "news"}, "reason": "cleanup"}).json()
    assert out["deleted_count"] == 3 and _count(http) == 2
    out = http.request("DELETE", "/v1/collections/c/documents/batch", json={"document_ids": [ids[4], ids[0]]}).json()
    assert out["deleted_count"] == 1 and out["failed_count"] == 1 and _count(http) == 1
    for body in ({}, {"filters": {}}, {"document_ids": []}):
        assert http.request("DELETE", "/v1/collections/c/documents/batch", json=body).status_code == 422, body
    assert _count(http) == 1


def test_batch_get_reports_what_is_not_there(env):
    http, _, dense, _ = env
    a = _create(http, dense, 30)["document_id"]
    missing = "doc_" + "f" * 32
    got = http.post("/v1/documents/batch-get", json={"document_ids": [missing, a]}).json()
    assert [d["document_id"] for d in got["documents"]] == [a] and got["not_found"] == [missing]
    bad = http.post("/v1/documents/batch-get", json={"document_ids": ["nope"]})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["document_id"] == "nope"
