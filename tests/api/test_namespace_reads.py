"""Reads across a namespace: its counts, documents over several collections, a field's distinct values, what an
object became, and a collection cloned — checked against documents written directly, so every count is known."""

from __future__ import annotations

import pytest

from tests.api.seeding import in_process_api, text_collection
from tests.api.test_documents import unit


@pytest.fixture()
def env(tmp_path):
    with in_process_api(tmp_path, ("default", "other")) as (http, made):
        bucket, one = text_collection(http, "b", "one")
        http.post("/v1/collections", json={
            "collection_name": "two", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "content"}}}).json()
        obj = http.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
            "blobs": [{"property": "content", "type": "text", "data": "a source text"}]}).json()
        dense = next(vi for vi in one["vector_indexes"] if vi["index"]["type"] == "dense")["name"]
        genres = {"one": ["news", "news", "sport"], "two": ["news", "music"]}
        for coll, gs in genres.items():
            for i, g in enumerate(gs):
                resp = http.post(f"/v1/collections/{coll}/documents", json={
                    "vectors": {dense: unit(i)}, "text": f"{coll} {i}", "genre": g, "tags": [g, "all"],
                    "source_object_id": obj["object_id"]})
                assert resp.status_code == 200, resp.text
        yield http, made, bucket, obj


def test_namespace_stats_count_what_is_there(env):
    http, made, _, _ = env
    stats = http.get("/v1/namespaces/default/stats").json()
    assert (stats["bucket_count"], stats["collection_count"], stats["object_count"], stats["document_count"]) == \
        (1, 2, 1, 5)
    both = http.post("/v1/namespaces/stats/batch", json={"namespace_ids": ["default", made["other"].namespace_id,
                                                                         "nope"]}).json()
    assert [r["document_count"] for r in both["results"]] == [5, 0] and both["not_found"] == ["nope"]
    assert http.get("/v1/namespaces/nope/stats").status_code == 404


def test_documents_list_across_collections_and_distinct_values(env):
    http, _, _, _ = env
    everything = http.post("/v1/documents/list", json={"limit": 100}).json()
    assert everything["total_count"] == 5
    only_two = http.post("/v1/documents/list", json={"collection_ids": ["two"], "filters": {
        "field": "genre", "operator": "eq", "value": "music"}}).json()
    assert [d["text"] for d in only_two["results"]] == ["two 1"]
    assert http.post("/v1/documents/list", json={"collection_ids": ["nope"]}).status_code == 404
    assert http.post("/v1/documents/list", json={"sort": {"field": "text"}}).json()["error"]["details"]["location"] \
        == "sort"
    distinct = http.post("/v1/collections/one/documents/distinct", json={"field": "genre"}).json()
    assert distinct["values"] == [{"value": "news", "count": 2}, {"value": "sport", "count": 1}]
    tags = http.post("/v1/collections/one/documents/distinct", json={"field": "tags", "limit": 1}).json()
    assert tags["values"] == [{"value": "all", "count": 3}] and tags["total_distinct"] == 1
    filtered = http.post("/v1/collections/two/documents/distinct", json={
        "field": "genre", "filters": {"field": "text", "operator": "eq", "value": "two 0"}}).json()
    assert filtered["values"] == [{"value": "news", "count": 1}]
    assert http.post("/v1/collections/one/documents/distinct", json={}).status_code == 422


def test_an_objects_decomposition_tree_lists_its_documents_per_collection(env):
    http, _, _, obj = env
    tree = http.get(f"/v1/objects/{obj['object_id']}/decomposition-tree").json()
    assert tree["document_count"] == 5
    per = {c["collection_name"]: c["document_count"] for c in tree["collections"]}
    assert per == {"one": 3, "two": 2}
    assert sum(len(b["document_ids"]) for c in tree["collections"] for b in c["blobs"]) == 5
    bare = http.get(f"/v1/objects/{obj['object_id']}/decomposition-tree",
                    params={"include_document_ids": False}).json()
    assert all(b["document_ids"] == [] for c in bare["collections"] for b in c["blobs"])
    assert http.get("/v1/objects/obj_nope/decomposition-tree").status_code == 404


def test_a_cloned_collection_is_empty_with_the_same_extractor_and_overrides_are_checked(env):
    http, _, _, _ = env
    clone = http.post("/v1/collections/one/clone", json={"collection_name": "one-copy", "description": "copy"})
    assert clone.status_code == 200, clone.text
    clone = clone.json()
    src = http.get("/v1/collections/one").json()
    assert clone["collection_id"] != src["collection_id"] and clone["description"] == "copy"
    assert clone["feature_extractor"]["input_mappings"] == src["feature_extractor"]["input_mappings"]
    assert clone["source"] == src["source"]
    assert http.get("/v1/collections/one-copy/documents/count").json()["count"] == 0
    assert http.post("/v1/collections/one/clone", json={"collection_name": "two"}).status_code == 409
    bad = http.post("/v1/collections/one/clone", json={"collection_name": "x", "feature_extractor": {
        "feature_extractor_name": "text_extractor", "version": "v1", "parameters": {"chunk_size": "big"}}})
    assert bad.status_code == 422 and "feature_extractor" in bad.json()["error"]["details"]["location"]
    assert http.get("/v1/collections").json()["total_count"] == 3
