"""Inputs that used to reach a 500 get a 4xx naming the field, and store nothing."""

from __future__ import annotations

import pytest

from tests.api.seeding import in_process_api, text_collection

HUGE = 2**70


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with in_process_api(tmp_path_factory.mktemp("bad-inputs")) as (http, made):
        _, coll = text_collection(http, "b", "c")
        yield http, made["default"], coll


def _where(resp, status: int = 422) -> str:
    assert resp.status_code == status, resp.text
    err = resp.json()["error"]
    return str(err["details"].get("location") or err["details"].get("errors", [{}])[0].get("location"))


@pytest.mark.parametrize("call, where", [
    (lambda c: c.get("/v1/buckets", params={"offset": HUGE}), "query.offset"),
    (lambda c: c.post("/v1/buckets/list", json={"offset": HUGE}), "offset"),
    (lambda c: c.post("/v1/buckets/list", json={"page": HUGE}), "page"),
    (lambda c: c.post("/v1/taxonomies/list", json={"page": 0}), "page"),
    (lambda c: c.post("/v1/collections/c/documents/list", json={"cursor": "not-a-uuid"}), "cursor"),
    (lambda c: c.post("/v1/collections/c/documents/list",
                      json={"filters": {"field": "text", "operator": "regex", "value": "("}}), "filters.value"),
    (lambda c: c.post("/v1/collections/c/documents/list",
                      json={"filters": {"field": "text", "operator": "regex", "value": r"(a)\1"}}), "filters.value"),
    # no coercion: true is not 1, "5" is not 5, 0 is not false
    (lambda c: c.post("/v1/retrievers/list", json={"offset": True}), "offset"),
    (lambda c: c.post("/v1/buckets/list", json={"limit": "5"}), "limit"),
    (lambda c: c.post("/v1/buckets", json={"bucket_name": "z", "bucket_schema": {
        "properties": {"p": {"type": "pdf", "required": 0}}}}), "bucket_schema.properties.p.required"),
])
def test_out_of_range_and_malformed_inputs_are_4xx(env, call, where):
    http, _, _ = env
    assert _where(call(http)).startswith(where)


def test_a_method_a_path_lacks_is_405_listing_every_method_of_the_path(env):
    http, _, _ = env
    resp = http.request("OPTIONS", "/v1/buckets/b")
    assert resp.status_code == 405 and resp.headers["allow"] == "DELETE, GET, PATCH, PUT"  # four routes of one path
    assert "use DELETE or GET or PATCH or PUT" in resp.json()["error"]["message"]


def test_a_taken_namespace_id_is_a_conflict(env):
    http, ns, _ = env
    resp = http.post("/v1/namespaces", json={"namespace_name": "second", "namespace_id": ns.namespace_id})
    assert _where(resp, 409) == "namespace_id"
    assert [n["namespace_name"] for n in http.get("/v1/namespaces").json()["results"]] == ["default"]


def test_a_chunk_size_of_the_wrong_type_is_named(env):
    http, _, coll = env
    body = {"collection_name": "chunks", "source": coll["source"],
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "content"},
                                  "parameters": {"split_by": "words", "chunk_size": {"n": 5}}}}
    assert _where(http.post("/v1/collections", json=body)) == "feature_extractor.parameters"
    assert http.get("/v1/collections").json()["total_count"] == 1


def test_a_non_ascii_internal_token_is_refused_not_crashed(env):
    http, ns, _ = env
    resp = http.post("/internal/index/count", json={"namespace_id": ns.namespace_id},
                     headers={"X-Internal-Token": "t\u00f6ken".encode("latin-1")})
    assert resp.status_code == 401 and "X-Internal-Token" in resp.json()["error"]["message"]


@pytest.mark.parametrize("data, says", [
    ("file:///etc/passwd", "URL scheme not accepted"),
    ("s3://someone-elses-bucket/photo.png", "inside your namespace"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
    ("http://127.0.0.1:8000/internal/index/count", "127.0.0.1"),
])
def test_a_binary_blob_reaches_only_the_callers_own_data(env, data, says):
    http, ns, _ = env
    bucket = http.post("/v1/buckets", json={"bucket_name": "photos-" + str(abs(hash(data))), "bucket_schema": {
        "properties": {"photo": {"type": "image"}}}}).json()
    resp = http.post(f"/v1/buckets/{bucket['bucket_id']}/objects",
                     json={"blobs": [{"property": "photo", "type": "image", "data": data}]})
    assert resp.status_code == 422, resp.text
    assert says in resp.json()["error"]["message"]
    assert http.get(f"/v1/buckets/{bucket['bucket_id']}/objects").json()["total_count"] == 0
    own = f"s3://x/{ns.namespace_id}/photo.png"  # the local store issues file:// URLs: no s3:// key is ours here
    assert http.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "blobs": [{"property": "photo", "type": "image", "data": own}]}).status_code == 422


def test_a_json_blob_that_looks_like_a_location_is_data():
    from types import SimpleNamespace

    from warehouse.batch.rows import build_rows
    from warehouse.extractors.registry import ExtractorRegistry

    spec = ExtractorRegistry([]).get("text_extractor", "v1").spec
    obj = SimpleNamespace(object_id="obj_1", bucket_id="bkt_1", etag="e1", fields={},
                          blobs=[{"blob_id": "blob_1", "property": "doc", "type": "json", "data": "file:///etc/passwd"}])
    collection = SimpleNamespace(collection_id="col_1", feature_extractor={"input_mappings": {"text": "doc"}})
    plan = build_rows([obj], collection, spec, {"bkt_1": {}}, {})
    [row] = plan.frame.to_dict("records")
    assert row["data"] == "file:///etc/passwd" and row["_source_url"] is None
