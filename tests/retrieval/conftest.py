"""``corpus``: a small real collection (MiniLM documents written by a batch), one per test module."""

from __future__ import annotations

import pytest

from tests.conftest import wait_batch
from tests.retrieval.corpus import DOCS


@pytest.fixture(scope="module")
def corpus(live):
    _, client = live.new_namespace()
    bucket = client.post("/v1/buckets", json={"bucket_name": "s", "bucket_schema": {"properties": {
        "text": {"type": "text"}, "author": {"type": "string"}, "year": {"type": "integer"},
        "tags": {"type": "array"}}}}).json()
    coll = client.post("/v1/collections", json={
        "collection_name": "s", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"},
                              "field_passthrough": [{"source_path": "author"}, {"source_path": "year"},
                                                    {"source_path": "tags"}]}}).json()
    ids = []
    for text, author, year, tags in DOCS:
        body = {"author": author, "year": year, "blobs": [{"property": "text", "type": "text", "data": text}]}
        if tags is not None:
            body["tags"] = tags
        resp = client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json=body)
        assert resp.status_code == 200, resp.text
        ids.append(resp.json()["object_id"])
    batch = client.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"object_ids": ids}).json()
    client.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={})
    assert wait_batch(client, batch["batch_id"])["status"] == "COMPLETED"
    return client, coll
