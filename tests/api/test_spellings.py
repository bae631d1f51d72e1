"""Every alternate spelling of the reference's "where docs and implementations disagree" table
(../shared/reference/mixpeek-api.md §1.7), each accepted with the meaning of the canonical form — or, where this
server has no such option, refused with the field named (never accepted and ignored)."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from tests.api.seeding import in_process_api
from tests.api.test_documents import unit

DENSE = "all_minilm_l6_v2_v1"


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with in_process_api(tmp_path_factory.mktemp("spellings"), ("default", "other")) as (http, made):
        # schema→bucket_schema, name→bucket_name, source.bucket_id scalar, feature_extractors list, params,
        # field_passthrough as strings: the tutorial's create calls, all at once.
        bucket = http.post("/v1/buckets", json={"name": "notes", "schema": {"properties": {
            "content": {"type": "text"}, "genre": {"type": "string"}}}})
        assert bucket.status_code == 200, bucket.text
        coll = http.post("/v1/collections", json={
            "name": "c", "source": {"type": "bucket", "bucket_id": "notes"},
            "feature_extractors": [{"feature_extractor_name": "text_extractor", "version": "v1",
                                    "input_mappings": {"text": "content"}, "params": {"split_by": "none"},
                                    "field_passthrough": ["genre"]}]})
        assert coll.status_code == 200, coll.text
        for i, genre in enumerate(["news", "news", "sport", "music"]):
            http.post("/v1/collections/c/documents", json={"vectors": {DENSE: unit(i)}, "text": f"doc {i}",
                                                          "genre": genre, "rank": i, "source_object_id": None})
        http.post("/v1/collections/c/documents", json={"vectors": {DENSE: unit(9)}, "text": "unranked",
                                                      "genre": "none"})
        yield http, made, bucket.json(), coll.json()


def test_create_spellings_land_in_the_canonical_fields(env):
    http, _, bucket, coll = env
    assert bucket["bucket_name"] == "notes" and set(bucket["bucket_schema"]["properties"]) == {"content", "genre"}
    assert coll["collection_name"] == "c" and coll["source"]["bucket_ids"] == [bucket["bucket_id"]]
    fe = coll["feature_extractor"]
    assert fe["feature_extractor_name"] == "text_extractor" and fe["parameters"]["split_by"] == "none"
    assert fe["field_passthrough"] == ["genre"]
    two = http.post("/v1/collections", json={"collection_name": "x", "source": {"type": "bucket", "bucket_ids": ["notes"]},
                                             "feature_extractors": [{"feature_extractor_name": "text_extractor"}] * 2})
    assert two.status_code == 422 and "exactly one feature extractor" in two.text


def test_object_metadata_at_the_root_or_under_metadata(env):
    http, _, _, _ = env
    root = http.post("/v1/buckets/notes/objects", json={"blobs": [{"property": "content", "type": "text",
                                                                   "data": "x"}], "genre": "news"}).json()
    nested = http.post("/v1/buckets/notes/objects", json={"blobs": [{"property": "content", "type": "text",
                                                                     "data": "y"}], "metadata": {"genre": "news"}}).json()
    assert root["genre"] == "news" and nested["metadata"] == {"genre": "news"} and nested["genre"] == "news"


@pytest.mark.parametrize("headers, params", [({"X-Namespace": "default"}, {}), ({"X-Namespace-Id": "default"}, {}),
                                             ({}, {"namespace": "default"})])
def test_the_namespace_by_header_alias_or_query(env, headers, params):
    http, _, _, _ = env
    resp = _bare(http).get("/v1/buckets", headers=headers, params=params)
    assert resp.status_code == 200 and resp.json()["total_count"] == 1
    assert _bare(http).get("/v1/buckets", headers={"X-Namespace-Id": "other"}).json()["total_count"] == 0


def _bare(http) -> TestClient:
    """The same app and key, with no namespace header of its own."""
    client = TestClient(http.app)
    client.headers["Authorization"] = http.headers["Authorization"]
    return client


def test_namespaced_paths_are_the_top_level_routes_in_that_namespace(env):
    http, made, _, _ = env
    other = made["other"].namespace_id
    bare, h = _bare(http), {}
    made_bucket = bare.post(f"/v1/namespaces/{other}/buckets", headers=h, json={"bucket_name": "n2", "bucket_schema": {
        "properties": {"content": {"type": "text"}}}})
    assert made_bucket.status_code == 200, made_bucket.text
    assert made_bucket.json()["namespace_id"] == other
    assert bare.get("/v1/namespaces/other/buckets").json()["total_count"] == 1
    assert http.get("/v1/buckets/n2").status_code == 404  # it is in 'other', not in 'default'
    coll = bare.post("/v1/namespaces/other/collections", json={
        "collection_name": "c2", "source": {"type": "bucket", "bucket_ids": ["n2"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"}})
    assert coll.status_code == 200, coll.text
    ret = bare.post("/v1/namespaces/other/retrievers", json={
        "retriever_name": "r2", "collection_ids": ["c2"], "stages": [
            {"stage_type": "filter", "stage_id": "attribute_filter", "parameters": {
                "field": "genre", "operator": "eq", "value": "news"}}]})
    assert ret.status_code == 200, ret.text
    run = bare.post("/v1/namespaces/other/retrievers/r2/execute", json={"input": {}})
    assert run.status_code == 200 and run.json()["documents"] == []
    trig = bare.post("/v1/namespaces/other/buckets/n2/batches/trigger", json={})
    assert trig.status_code == 422 and "no objects" in trig.text  # an empty bucket: said, not queued
    clash = bare.get(f"/v1/namespaces/{other}/buckets", headers={"X-Namespace": "default"})
    assert clash.status_code == 400 and clash.json()["error"]["details"]["location"] == "path.namespace"
    assert bare.get("/v1/namespaces/other/stats").json()["bucket_count"] == 1  # not an alias: its own route


def _run(http, stages: list, **body) -> dict:
    resp = http.post("/v1/retrievers/execute", json={"collection_ids": ["c"], "stages": stages, **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_execute_input_and_the_three_stage_shapes_and_both_collection_keys(env):
    http, _, _, _ = env
    news = {"field": "genre", "operator": "eq", "value": "news"}
    canonical = [{"stage_name": "f", "stage_type": "filter", "config": {"stage_id": "attribute_filter",
                                                                       "parameters": news}}]
    flat = [{"stage_type": "filter", "stage_id": "attribute_filter", "parameters": news}]
    named = [{"stage_name": "f", "stage_id": "attribute_filter", "parameters": news}]
    results = [sorted(d["text"] for d in _run(http, s, input={})["documents"]) for s in (canonical, flat, named)]
    assert results == [["doc 0", "doc 1"]] * 3
    made = http.post("/v1/retrievers", json={"name": "r", "collection_ids": ["c"], "stages": flat}).json()
    assert made["retriever_name"] == "r" and made["collection_identifiers"] == made["collection_ids"]
    assert made["retriever"]["retriever_id"] == made["retriever_id"]  # flat and nested
    assert made["stages"][0]["config"]["stage_id"] == "attribute_filter" and made["stages"][0]["stage_name"]
    assert http.post("/v1/retrievers/r/explain", json={}).status_code == 200  # …/execute/explain's alias


def test_feature_search_legacy_forms_find_what_the_canonical_form_finds(env):
    http, _, _, coll = env
    uri = next(v["feature_uri"] for v in coll["vector_indexes"] if v["index"]["type"] == "dense")
    canonical = {"searches": [{"feature_uri": uri, "query": {"input_mode": "text", "text": "doc two"}, "top_k": 2}],
                 "final_top_k": 2}
    single = {"feature_uri": uri, "input": {"text": "doc two"}, "limit": 2}
    listed = {"feature_uris": [{"uri": uri, "input": {"text": "doc two"}}], "limit": 2}
    found = [[d["document_id"] for d in _run(http, [{"stage_type": "filter", "stage_id": "feature_search",
                                                    "parameters": p}])["documents"]] for p in (canonical, single, listed)]
    assert len(found[0]) == 2 and found[0] == found[1] == found[2]


def test_stage_parameter_aliases_mean_the_canonical_parameters(env):
    http, _, _, _ = env
    everything = {"stage_type": "filter", "stage_id": "attribute_filter", "parameters": {
        "field": "rank", "operator": "gte", "value": 0}}
    by_rank = _run(http, [everything, {"stage_type": "sort", "stage_id": "sort_attribute",
                                       "parameters": {"sort_field": "rank", "order": "asc"}}])
    assert [d["rank"] for d in by_rank["documents"]] == [0, 1, 2, 3]
    grouped = _run(http, [everything, {"stage_type": "group", "stage_id": "group_by",
                                       "parameters": {"field": "genre", "docs_per_group": 1}}])
    canonical = _run(http, [everything, {"stage_type": "group", "stage_id": "group_by",
                                         "parameters": {"group_by_field": "genre", "max_per_group": 1}}])
    assert grouped["documents"] == canonical["documents"]
    every = {"stage_id": "attribute_filter", "parameters": {"field": "text", "operator": "exists", "value": True}}
    for handling, unranked_at in (("first", 0), ("last", -1)):
        ordered = _run(http, [every, {"stage_id": "sort_attribute", "parameters": {
            "sort_field": "rank", "order": "asc", "null_handling": handling}}])["documents"]
        assert len(ordered) == 5 and ordered[unranked_at]["text"] == "unranked"
    two_groups = _run(http, [everything, {"stage_id": "group_by", "parameters": {
        "field": "genre", "docs_per_group": 1, "max_groups": 2}}])
    assert len({d["genre"] for d in two_groups["documents"]}) == 2
    for stage_id, alias, canonical in [
            ("rerank", {"model": "BAAI__bge_reranker_v2_m3", "top_n": 2},
             {"inference_name": "BAAI__bge_reranker_v2_m3", "top_k": 2}),
            ("mmr", {"lambda": 0.5, "top_n": 2}, {"lambda": 0.5, "top_k": 2})]:
        answers = [http.post("/v1/retrievers", json={
            "retriever_name": f"{stage_id}-{i}", "collection_ids": ["c"],
            "stages": [{"stage_id": stage_id, "parameters": p}]}) for i, p in enumerate((alias, canonical))]
        assert [a.status_code for a in answers] == [200, 200], [a.text for a in answers]


def test_presigned_url_spellings_and_task_cancel_and_error_fields(env):
    http, _, _, _ = env
    for key in ("return_presigned_urls", "return_urls", "return_url"):
        resp = http.post("/v1/retrievers/r/execute", json={"inputs": {}, key: True})
        assert resp.status_code == 422 and key in resp.text
    batch = http.post("/v1/buckets/notes/batches", json={}).json()
    assert batch["error"] is None and "error_message" in batch
    task = http.post("/v1/buckets/notes/batches/{}/submit".format(batch["batch_id"]), json={})
    assert task.status_code == 200, task.text
    killed = http.post(f"/v1/tasks/{task.json()['task_id']}/kill")
    deleted = http.delete(f"/v1/tasks/{task.json()['task_id']}")
    assert killed.status_code == 200 and deleted.status_code in (200, 409)
    assert killed.json()["status"] in ("CANCELED", "QUEUED", "PROCESSING", "COMPLETED", "COMPLETED_WITH_ERRORS")
    assert "error_message" in killed.json()
