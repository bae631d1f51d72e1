"""Payload indexes: declared on the namespace, and derived from a collection's passed-through fields."""

from __future__ import annotations

import uuid

import pytest


def _schema(live, namespace_id: str) -> dict[str, str]:
    shard = live.services.index._shard(namespace_id)
    return {k: str(v.data_type).rsplit(".", 1)[-1].lower() for k, v in shard.info().payload_schema.items()}


def test_namespace_and_passthrough_fields_are_indexed(live):
    name = "ns-" + uuid.uuid4().hex[:8]
    with live.client() as c:
        ns = c.post("/v1/namespaces", json={"namespace_name": name, "payload_indexes": [
            {"field_name": "category", "type": "keyword"}, {"field": "year", "field_schema": "integer"}]}).json()
    assert ns["payload_indexes"] == [{"field_name": "category", "type": "keyword"},
                                     {"field_name": "year", "type": "integer"}]
    client = live.client(name)
    bucket = client.post("/v1/buckets", json={"bucket_name": "b", "bucket_schema": {"properties": {
        "text": {"type": "text"}, "author": {"type": "string"}, "score": {"type": "number"},
        "published": {"type": "datetime"}, "notes": {"type": "text"}}}}).json()
    resp = client.post("/v1/collections", json={
        "collection_name": "c", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_embed", "version": "1.0.0", "input_mappings": {"text": "text"},
                              "field_passthrough": [{"source_path": "author"}, {"source_path": "score", "target_path": "rating"},
                                                    "published", "notes"]}})
    assert resp.status_code == 200, resp.text
    schema = _schema(live, ns["namespace_id"])
    assert {k: schema[k] for k in ("category", "year", "author", "rating", "published")} == {
        "category": "keyword", "year": "integer", "author": "keyword", "rating": "float", "published": "datetime"}
    assert "notes" not in schema  # free text is not a filter index
    assert schema["collection_id"] == "keyword"  # the built-in ones stay


@pytest.mark.parametrize("indexes,message", [
    ([{"field_name": "x", "type": "geo"}], "type 'geo' is not one of"),
    ([{"field_name": "x"}], "type None is not one of"),
    ([{"type": "keyword"}], "field_name is required"),
    ([{"field_name": "x", "type": "keyword", "unique": True}], "unknown key(s) ['unique']"),
    (["x"], "payload_indexes.0: Input should be a valid dictionary"),
])
def test_bad_payload_index_declarations_are_refused(live, indexes, message):
    name = "ns-" + uuid.uuid4().hex[:8]
    with live.client() as c:
        resp = c.post("/v1/namespaces", json={"namespace_name": name, "payload_indexes": indexes})
        assert resp.status_code == 422
        assert message in resp.json()["error"]["message"]
        assert c.get(f"/v1/namespaces/{name}").status_code == 404  # nothing stored
