"""Multi-tier collections: a collection whose source is another collection runs on the documents its upstream
writes — after each upstream batch, on the same objects, filtered by ``source_filters`` — and its documents'
lineage walks back through both tiers to the object. Counted before and after: nothing duplicated."""

from __future__ import annotations

import time

import pytest

from tests.api.test_unique_keys import _wait

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TEXTS = {
    "keep-1": "Glaciers carve deep valleys into the mountains over many thousands of years.",
    "keep-2": "Coral reefs shelter a quarter of all marine species in warm shallow seas.",
    "drop-1": "The stock market closed higher on strong earnings from technology companies.",
}


def _downstream_batch(client, collection_id: str, after: set[str]) -> dict:
    for _ in range(300):
        found = [b for b in client.post("/v1/batches/list", json={"collection_id": collection_id}).json()["results"]
                 if b["batch_id"] not in after]
        if found:
            return _wait(client, found[0]["batch_id"])
        time.sleep(0.2)
    raise AssertionError("no downstream batch was queued")


def _count(client, collection: str) -> int:
    return client.get(f"/v1/collections/{collection}/documents/count").json()["count"]


@pytest.fixture()
def tiers(live):
    _, client = live.new_namespace()
    client.post("/v1/buckets", json={"bucket_name": "notes", "bucket_schema": {"properties": {
        "content": {"type": "text"}, "genre": {"type": "string"}}}}).raise_for_status()
    whole = client.post("/v1/collections", json={
        "collection_name": "whole", "source": {"type": "bucket", "bucket_ids": ["notes"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}, "field_passthrough": ["genre"]}}).json()
    pieces = client.post("/v1/collections", json={
        "collection_name": "pieces", "source": {"type": "collection", "collection_id": "whole",
                                                "source_filters": {"field": "genre", "operator": "eq", "value": "keep"}},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"},
                              "parameters": {"split_by": "words", "chunk_size": 5}}})
    assert pieces.status_code == 200, pieces.text
    yield client, whole, pieces.json()
    client.close()


def test_a_downstream_collection_runs_on_what_its_upstream_wrote_with_lineage_through_both(tiers):
    client, whole, pieces = tiers
    assert pieces["source"]["type"] == "collection" and pieces["source"]["collection_ids"] == [whole["collection_id"]]
    assert pieces["source"]["bucket_ids"] == whole["source"]["bucket_ids"]  # the root objects' bucket
    made = client.post("/v1/buckets/notes/objects/batch", json={"objects": [
        {"blobs": [{"property": "content", "type": "text", "data": text}], "genre": key.split("-")[0]}
        for key, text in TEXTS.items()]}).json()
    first = client.post("/v1/buckets/notes/batches", params={"auto_submit": True}, json={}).json()
    assert first["collection_ids"] == [whole["collection_id"]]  # the bucket's batch feeds the first tier only
    assert _wait(client, first["batch_id"])["status"] == "COMPLETED"
    tier2 = _downstream_batch(client, pieces["collection_id"], set())
    assert tier2["status"] == "COMPLETED", tier2
    assert tier2["metadata"]["upstream_batch_id"] == first["batch_id"] and tier2["metadata"]["tier"] == 1
    assert _count(client, "whole") == 3
    expected = sum(-(-len(TEXTS[k].split()) // 5) for k in ("keep-1", "keep-2"))  # 5-word chunks of the kept
    assert _count(client, "pieces") == expected

    docs = client.post("/v1/collections/pieces/documents/list", json={"limit": 100}).json()["results"]
    upstream = {d["document_id"]: d for d in
                client.post("/v1/collections/whole/documents/list", json={"limit": 100}).json()["results"]}
    assert {upstream[d["source_document_id"]]["genre"] for d in docs} == {"keep"}
    doc = docs[0]
    parent = upstream[doc["source_document_id"]]
    assert doc["text"] in parent["text"] and doc["source_object_id"] == parent["source_object_id"]
    lineage = client.get(f"/v1/documents/{doc['document_id']}/lineage").json()
    assert lineage["tier"] == 1 and lineage["upstream"]["document_id"] == parent["document_id"]
    assert [step["type"] for step in lineage["chain"]] == [
        "bucket", "object", "batch", "collection", "document", "batch", "collection", "document"]
    ancestors = client.get(f"/v1/collections/pieces/documents/{doc['document_id']}/ancestors").json()
    assert [a["document_id"] for a in ancestors] == [parent["document_id"]]
    children = client.get(f"/v1/collections/whole/documents/{parent['document_id']}/descendants").json()
    assert sorted(d["document_id"] for d in children) == sorted(
        d["document_id"] for d in docs if d["source_document_id"] == parent["document_id"])
    assert client.get(f"/v1/collections/whole/documents/{doc['document_id']}/descendants").status_code == 404
    ids = [step["id"] for step in lineage["chain"]]
    assert ids[1:] == [doc["source_object_id"], first["batch_id"], whole["collection_id"], parent["document_id"],
                       tier2["batch_id"], pieces["collection_id"], doc["document_id"]]

    # The object changes: both tiers are rewritten, nothing duplicated.
    keep = next(o for o in made["objects"] if o["genre"] == "keep")
    before = {b["batch_id"] for b in client.post("/v1/batches/list", json={
        "collection_id": pieces["collection_id"]}).json()["results"]}
    resp = client.patch(f"/v1/buckets/notes/objects/{keep['object_id']}", params={"auto_process": True}, json={
        "blobs": [{"property": "content", "type": "text", "data": "Short new text now."}]})
    assert resp.status_code == 200, resp.text
    _downstream_batch(client, pieces["collection_id"], before)
    assert _count(client, "whole") == 3
    kept = [o["object_id"] for o in made["objects"] if o["genre"] == "keep"]
    other = "keep-2" if kept.index(keep["object_id"]) == 0 else "keep-1"
    assert _count(client, "pieces") == -(-len(TEXTS[other].split()) // 5) + 1  # "Short new text now." is one chunk

    # The upstream cannot go while a collection reads it.
    gone = client.delete("/v1/collections/whole")
    assert gone.status_code == 409 and "pieces" in gone.json()["error"]["message"]


@pytest.mark.parametrize("source, where", [
    ({"type": "collection"}, "source.collection_ids"),
    ({"type": "collection", "collection_id": "whole", "bucket_ids": ["notes"]}, "source.bucket_ids"),
    ({"type": "collection", "collection_id": "whole",
      "source_filters": {"field": "text", "operator": "regex", "value": "a+"}}, "source.source_filters"),
    ({"type": "bucket", "bucket_ids": ["notes"], "source_filters": {"field": "genre", "operator": "eq",
                                                                      "value": "keep"}}, "source.source_filters"),
    ({"type": "taxonomy"}, "source.type"),
])
def test_a_bad_collection_source_is_named_and_nothing_is_made(tiers, source, where):
    client, _, _ = tiers
    resp = client.post("/v1/collections", json={
        "collection_name": "bad", "source": source,
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"}})
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["location"] == where
    assert client.get("/v1/collections").json()["total_count"] == 2
    missing = client.post("/v1/collections", json={
        "collection_name": "bad", "source": {"type": "collection", "collection_id": "nope"},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"}})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]
    sched = client.post("/v1/collections", json={
        "collection_name": "bad", "source": {"type": "bucket", "bucket_ids": ["notes"]}, "schedule": {"cron": "* * * * *"},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1"}})
    assert sched.status_code == 422 and sched.json()["error"]["details"]["location"] == "schedule.cron"
