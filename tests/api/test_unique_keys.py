"""A bucket's unique key and a request's idempotency key: the same key twice is one object, and its documents are
replaced when it is processed again — counted before and after, nothing duplicated, nothing lost."""

from __future__ import annotations

import time

import pytest

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _wait(client, batch_id: str) -> dict:
    for _ in range(600):
        batch = client.get(f"/v1/batches/{batch_id}").json()
        if batch["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
            return batch
        time.sleep(0.2)
    raise AssertionError(f"batch {batch_id} did not finish")


@pytest.fixture()
def shop(live):
    _, client = live.new_namespace()
    bucket = client.post("/v1/buckets", json={"bucket_name": "products", "bucket_schema": {"properties": {
        "content": {"type": "text"}, "sku": {"type": "string"}}},
        "unique_key": {"fields": ["sku"], "default_policy": "upsert"}})
    assert bucket.status_code == 200, bucket.text
    client.post("/v1/collections", json={
        "collection_name": "catalog", "source": {"type": "bucket", "bucket_ids": ["products"]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}}}).raise_for_status()
    yield client
    client.close()


def _put(client, sku: str, text: str, **params) -> dict:
    resp = client.post("/v1/buckets/products/objects", params={"auto_process": True, **params}, json={
        "blobs": [{"property": "content", "type": "text", "data": text}], "sku": sku})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    if "batch_id" in out:
        assert _wait(client, out["batch_id"])["status"] == "COMPLETED"
    return out


def _docs(client) -> dict[str, str]:
    listed = client.post("/v1/collections/catalog/documents/list", json={"limit": 100}).json()["results"]
    return {d["source_object_id"]: d["text"] for d in listed}


def test_upsert_under_a_unique_key_replaces_the_object_and_its_documents(shop):
    a = _put(shop, "A-1", "Red running shoes")
    b = _put(shop, "B-2", "Blue rain jacket")
    assert a["operation"] == b["operation"] == "created"
    assert _docs(shop) == {a["object_id"]: "Red running shoes", b["object_id"]: "Blue rain jacket"}
    again = _put(shop, "A-1", "Red trail running shoes, waterproof")
    assert again["operation"] == "updated" and again["object_id"] == a["object_id"]
    assert _docs(shop) == {a["object_id"]: "Red trail running shoes, waterproof", b["object_id"]: "Blue rain jacket"}
    assert shop.get("/v1/buckets/products").json()["object_count"] == 2


def test_insert_and_update_policies_refuse_what_they_must_and_change_nothing(shop):
    a = _put(shop, "A-1", "Red running shoes")
    refused = shop.post("/v1/buckets/products/objects", params={"policy": "insert"}, json={
        "blobs": [{"property": "content", "type": "text", "data": "other"}], "sku": "A-1"})
    assert refused.status_code == 409 and refused.json()["error"]["details"]["object_id"] == a["object_id"]
    missing = shop.post("/v1/buckets/products/objects", params={"policy": "update"}, json={
        "blobs": [{"property": "content", "type": "text", "data": "new"}], "sku": "Z-9"})
    assert missing.status_code == 404
    no_key = shop.post("/v1/buckets/products/objects", json={
        "blobs": [{"property": "content", "type": "text", "data": "no sku"}]})
    assert no_key.status_code == 422 and no_key.json()["error"]["details"]["location"] == "sku"
    assert shop.get("/v1/buckets/products").json()["object_count"] == 1
    assert _docs(shop) == {a["object_id"]: "Red running shoes"}


def test_an_idempotency_key_returns_the_first_object(live):
    _, client = live.new_namespace()
    client.post("/v1/buckets", json={"bucket_name": "notes", "bucket_schema": {"properties": {
        "content": {"type": "text"}}}}).raise_for_status()
    body = {"blobs": [{"property": "content", "type": "text", "data": "hello"}], "idempotency_key": "req-42"}
    first = client.post("/v1/buckets/notes/objects", json=body).json()
    second = client.post("/v1/buckets/notes/objects", json={**body, "blobs": [
        {"property": "content", "type": "text", "data": "a retry that changed"}]}).json()
    assert first["operation"] == "created" and second["operation"] == "existing"
    assert second["object_id"] == first["object_id"] and second["blobs"][0]["data"] == "hello"
    assert client.get("/v1/buckets/notes").json()["object_count"] == 1
    # policy on a bucket without a unique key, and skip_duplicates, are refused by name
    assert client.post("/v1/buckets/notes/objects", params={"policy": "upsert"}, json=body).json()["error"][
        "details"]["location"] == "policy"
    assert client.post("/v1/buckets/notes/objects", json={**body, "idempotency_key": None, "skip_duplicates": True}
                       ).json()["error"]["details"]["location"] == "skip_duplicates"


@pytest.mark.parametrize("unique_key, where", [
    ({"fields": ["nope"]}, "unique_key.fields"),
    ({"fields": ["content"]}, "unique_key.fields"),  # a blob property
    ({"fields": ["sku"], "default_policy": "replace"}, "unique_key.default_policy"),
    ({"fields": []}, "unique_key.fields"),
])
def test_a_bad_unique_key_is_refused_and_no_bucket_made(live, unique_key, where):
    _, client = live.new_namespace()
    resp = client.post("/v1/buckets", json={"bucket_name": "p", "bucket_schema": {"properties": {
        "content": {"type": "text"}, "sku": {"type": "string"}}}, "unique_key": unique_key})
    assert resp.status_code == 422 and resp.json()["error"]["details"]["location"] == where
    assert client.get("/v1/buckets").json()["total_count"] == 0


def test_retry_takes_the_failed_objects_only_and_counts_documents(live):
    """A batch with an object whose extraction raises; the object is fixed (an upsert under the unique key, not
    processed); retry runs that object alone and the collection ends with every document once."""
    _, client = live.new_namespace()
    client.post("/v1/buckets", json={"bucket_name": "f", "bucket_schema": {"properties": {
        "content": {"type": "text"}, "sku": {"type": "string"}}},
        "unique_key": {"fields": ["sku"], "default_policy": "upsert"}}).raise_for_status()
    client.post("/v1/collections", json={"collection_name": "flaky", "source": {"type": "bucket", "bucket_ids": ["f"]},
                                         "feature_extractor": {"feature_extractor_name": "flaky_embed",
                                                               "version": "1.0.0"}}).raise_for_status()
    texts = {"s1": "fine text one", "s2": "please EXPLODE now", "s3": "fine text three", "s4": "   "}
    made = client.post("/v1/buckets/f/objects/batch", json={"objects": [
        {"blobs": [{"property": "content", "type": "text", "data": t}], "sku": k} for k, t in texts.items()]}).json()
    ids = {o["sku"]: o["object_id"] for o in made["objects"]}
    first = _wait(client, client.post("/v1/buckets/f/batches", params={"auto_submit": True}, json={}).json()["batch_id"])
    assert first["status"] == "COMPLETED_WITH_ERRORS" and first["documents_written"] == 2
    count = lambda: client.get("/v1/collections/flaky/documents/count").json()["count"]  # noqa: E731
    assert count() == 2
    # The data is fixed; transient_only takes the extractor's failure, not the empty input.
    fixed = client.post("/v1/buckets/f/objects", json={"blobs": [{"property": "content", "type": "text",
                                                                  "data": "now fine"}], "sku": "s2"}).json()
    assert fixed["operation"] == "updated" and fixed["object_id"] == ids["s2"]
    retry = client.post(f"/v1/buckets/f/batches/{first['batch_id']}/retry", json={})
    assert retry.status_code == 200, retry.text
    retry = retry.json()
    assert retry["object_ids"] == [ids["s2"]] and retry["metadata"]["retry_of"] == first["batch_id"]
    assert _wait(client, retry["batch_id"])["status"] == "COMPLETED"
    assert count() == 3
    # 'all' takes the empty input too; it fails again (nothing to embed), and nothing is duplicated.
    again = client.post(f"/v1/buckets/f/batches/{first['batch_id']}/retry", json={"retry_mode": "all"}).json()
    assert sorted(again["object_ids"]) == sorted([ids["s2"], ids["s4"]])
    _wait(client, again["batch_id"])
    assert count() == 3
    # Refusals name what is wrong.
    done = client.post(f"/v1/buckets/f/batches/{retry['batch_id']}/retry", json={})
    assert done.status_code == 409 and "no failed objects" in done.json()["error"]["message"]
    assert client.post(f"/v1/buckets/f/batches/{first['batch_id']}/retry", json={"tier_nums": [2]}).status_code == 422
    assert client.post(f"/v1/buckets/f/batches/{again['batch_id']}/retry",
                       json={"retry_mode": "all", "max_retry_count": 1}).status_code == 409


def test_an_updated_object_is_reprocessed_and_its_documents_replaced(shop):
    a = _put(shop, "A-1", "Red running shoes")
    b = _put(shop, "B-2", "Blue rain jacket")
    resp = shop.patch(f"/v1/buckets/products/objects/{a['object_id']}", params={"auto_process": True}, json={
        "blobs": [{"property": "content", "type": "text", "data": "Green hiking boots"}], "colour": "green"})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["operation"] == "updated" and out["colour"] == "green" and out["sku"] == "A-1"
    assert _wait(shop, out["batch_id"])["status"] == "COMPLETED"
    assert _docs(shop) == {a["object_id"]: "Green hiking boots", b["object_id"]: "Blue rain jacket"}
    # the same content again is no change (and no batch); a unique-key clash and skip_duplicates are refused
    same = shop.put(f"/v1/buckets/products/objects/{a['object_id']}", params={"auto_process": True},
                    json={"colour": "green"}).json()
    assert same["operation"] == "unchanged" and "batch_id" not in same
    clash = shop.patch(f"/v1/buckets/products/objects/{a['object_id']}", json={"sku": "B-2"})
    assert clash.status_code == 409 and clash.json()["error"]["details"]["object_id"] == b["object_id"]
    assert shop.patch(f"/v1/buckets/products/objects/{a['object_id']}", json={"skip_duplicates": True}).status_code == 422
    assert shop.get(f"/v1/buckets/products/objects/{a['object_id']}").json()["sku"] == "A-1"
