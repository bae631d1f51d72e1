"""PATCH / PUT of namespaces, buckets and collections: what may change does, what may not is refused with the
reason and the field named, and a refused update changes nothing."""

from __future__ import annotations

import pytest

from tests.api.seeding import in_process_api, text_collection


@pytest.fixture()
def http(tmp_path):
    with in_process_api(tmp_path, ("default", "taken")) as (client, _):
        text_collection(client, "b", "c", {"genre": {"type": "string"}})
        text_collection(client, "b2", "c2", {"genre": {"type": "string"}})
        yield client


def _refused(resp, status: int, where: str) -> None:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    assert where in (err["details"].get("location") or err["message"]), err


@pytest.mark.parametrize("method", ["PATCH", "PUT"])
def test_a_namespace_is_renamed_described_and_reindexed(http, method):
    resp = http.request(method, "/v1/namespaces/default", json={
        "namespace_name": "main", "description": "the main one", "payload_indexes": [
            {"field_name": "genre", "type": "keyword"}]})
    assert resp.status_code == 200, resp.text
    got = http.get("/v1/namespaces/main").json()
    assert got["description"] == "the main one" and got["namespace_name"] == "main"
    assert {"field_name": "genre", "type": "keyword"} in got["payload_indexes"]
    assert http.get("/v1/namespaces/default").status_code == 404
    _refused(http.request(method, "/v1/namespaces/main", json={"namespace_name": "taken"}), 409, "taken")
    _refused(http.request(method, "/v1/namespaces/main", json={"ttl_seconds": 3600}), 422, "ttl_seconds")
    _refused(http.request(method, "/v1/namespaces/main", json={"payload_indexes": [{"field_name": "x", "type": "blob"}]}),
             422, "payload_indexes[0]")
    assert http.get("/v1/namespaces/main").json()["description"] == "the main one"


def test_a_bucket_is_renamed_and_its_schema_only_grows(http):
    resp = http.patch("/v1/buckets/b", json={"bucket_name": "books", "description": "d", "metadata": {"team": "x"},
                                             "bucket_schema": {"properties": {"content": {"type": "text"},
                                                                              "genre": {"type": "string"},
                                                                              "year": {"type": "integer"}}}})
    assert resp.status_code == 200, resp.text
    got = http.get("/v1/buckets/books").json()
    assert got["description"] == "d" and got["metadata"] == {"team": "x"}
    assert set(got["bucket_schema"]["properties"]) == {"content", "genre", "year"}
    _refused(http.put("/v1/buckets/books", json={"bucket_name": "b2"}), 409, "b2")
    _refused(http.patch("/v1/buckets/books", json={"bucket_schema": {"properties": {"content": {"type": "text"}}}}),
             422, "bucket_schema.properties.genre")
    _refused(http.patch("/v1/buckets/books", json={"bucket_schema": {"properties": {
        "content": {"type": "image"}, "genre": {"type": "string"}, "year": {"type": "integer"}}}}),
        422, "bucket_schema.properties.content.type")
    _refused(http.patch("/v1/buckets/books", json={"unique_key": {"fields": ["genre"]}}), 422, "unique_key")
    assert set(http.get("/v1/buckets/books").json()["bucket_schema"]["properties"]) == {"content", "genre", "year"}


def test_a_collection_changes_what_it_may_and_refuses_its_extractor(http):
    resp = http.patch("/v1/collections/c", json={
        "collection_name": "articles", "description": "news", "enabled": False,
        "feature_extractor": {"field_passthrough": [{"source_path": "genre"}]}})
    assert resp.status_code == 200, resp.text
    got = http.get("/v1/collections/articles").json()
    assert got["description"] == "news" and got["enabled"] is False
    assert got["feature_extractor"]["field_passthrough"] == [{"source_path": "genre"}]
    assert got["feature_extractor"]["input_mappings"] == {"text": "content"}
    _refused(http.patch("/v1/collections/articles", json={"collection_name": "c2"}), 409, "collection_name")
    _refused(http.patch("/v1/collections/articles", json={"feature_extractor": {"feature_extractor_name": "other"}}),
             422, "feature_extractor.feature_extractor_name")
    _refused(http.patch("/v1/collections/articles", json={"feature_extractor": {"input_mappings": {"text": "genre"}}}),
             422, "feature_extractor.input_mappings")
    _refused(http.patch("/v1/collections/articles", json={"source": {"type": "bucket", "bucket_ids": ["b2"]}}),
             422, "source")
    _refused(http.patch("/v1/collections/articles", json={"feature_extractor": {"field_passthrough": [
        {"source_path": "genre", "target_path": "collection_id"}]}}), 422, "field_passthrough[0].target_path")
    # Repeating the extractor as it is, is no change.
    same = http.patch("/v1/collections/articles", json={"feature_extractor": {
        "feature_extractor_name": "text_extractor", "version": "v1"}, "enabled": True})
    assert same.status_code == 200 and same.json()["enabled"] is True
    assert http.get("/v1/collections/articles").json()["feature_extractor"]["field_passthrough"][0]["source_path"] == "genre"


@pytest.mark.parametrize("path, body, where", [
    ("/v1/namespaces", {"namespace_name": "ns1", "ttl_seconds": 60}, "ttl_seconds"),
    ("/v1/namespaces", {"namespace_name": "ns1", "auto_create_indexes": True}, "auto_create_indexes"),
    ("/v1/namespaces", {"namespace_name": "ns1", "mode": "standalone"}, "mode"),
    ("/v1/namespaces", {"namespace_name": "ns1", "vector_configs": [{"name": "v"}]}, "vector_configs"),
    ("/v1/buckets", {"bucket_name": "x", "storage_class": "coldline"}, "storage_class"),
    ("/v1/buckets", {"bucket_name": "x", "destination": {"type": "s3"}}, "destination"),
    ("/v1/buckets", {"bucket_name": "x", "ingest_filter": {"retriever_id": "r"}}, "ingest_filter"),
])
def test_a_create_key_this_server_would_ignore_is_refused(http, path, body, where):
    _refused(http.post(path, json=body), 422, where)
    assert http.get("/v1/namespaces/ns1").status_code == 404 and http.get("/v1/buckets/x").status_code == 404
    ok = http.post(path, json={k: v for k, v in body.items() if k in ("namespace_name", "bucket_name")})
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("path, body, where", [
    ("/v1/buckets/b/objects", {"blobs": [{"property": "content", "type": "text", "data": "x"}],
                                      "edges": [{"to": "obj_1"}]}, "edges"),
    ("/v1/collections/c/trigger", {"source_filters": {"field": "genre", "operator": "eq", "value": "x"}},
     "source_filters"),
    ("/v1/collections/c/trigger", {"include_collections": ["c2"]}, "include_collections"),
    ("/v1/collections/c/trigger", {"dedup_strategy": "skip"}, "dedup_strategy"),
    ("/v1/collections/c/trigger", {"reembed": True}, "reembed"),
])
def test_an_object_or_trigger_option_this_server_would_ignore_is_refused(http, path, body, where):
    objects = http.get("/v1/buckets/b/objects").json()["total_count"]
    batches = http.post("/v1/batches/list", json={}).json()["total_count"]
    _refused(http.post(path, json=body), 422, where)
    assert http.get("/v1/buckets/b/objects").json()["total_count"] == objects
    assert http.post("/v1/batches/list", json={}).json()["total_count"] == batches
