"""Request fields whose effect shows after the call that sets them — a later execution, notification, request or
run — each shown here where no other test shows it (``test_request_fields.py`` names these tests)."""

from __future__ import annotations

import hashlib
import time
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from tests.conftest import wait_batch
from tests.enrichment.test_webhooks import Receiver, wait_for

pytestmark = [pytest.mark.ray, pytest.mark.slow]

TEXTS = ["The striker scored twice in the final match.", "Rain delayed the final match by an hour.",
         "Fans filled the stadium for the final match.", "Central banks raised interest rates again."]


def _collection(client: httpx.Client, *buckets: str) -> dict:
    made = client.post("/v1/collections", json={
        "collection_name": "c-" + str(time.time_ns()), "source": {"type": "bucket", "bucket_ids": list(buckets)},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}, "field_passthrough": [{"source_path": "title"}]}})
    assert made.status_code == 200, made.text
    return made.json()


def _bucket(client: httpx.Client, name: str) -> str:
    made = client.post("/v1/buckets", json={"bucket_name": name, "bucket_schema": {"properties": {
        "content": {"type": "text"}, "title": {"type": "string"}}}})
    assert made.status_code == 200, made.text
    return made.json()["bucket_id"]


def _finished(client: httpx.Client, cluster_id: str, run_id: str) -> dict:
    return wait_for(lambda: (r := client.get(f"/v1/clusters/{cluster_id}/executions/{run_id}").json())
                    and r["status"] in ("COMPLETED", "FAILED") and r)


def _documents(client: httpx.Client, collection_id: str, texts: list[str]) -> None:
    for text in texts:
        resp = client.post(f"/v1/collections/{collection_id}/documents", json={"text": text, "title": text.split()[1]})
        assert resp.status_code == 200, resp.text


def test_an_alert_reports_at_most_max_matches_and_leaves_documents_out_without_include_matches(live):
    _, client = live.new_namespace()
    coll = _collection(client, _bucket(client, "b"))
    _documents(client, coll["collection_id"], TEXTS)
    condition = {"field": "text", "operator": "contains", "value": "final match"}
    capped = client.post("/v1/alerts", json={"alert_name": "capped", "collection_ids": [coll["collection_id"]],
                                             "condition": condition, "max_matches": 1,
                                             "notification_config": {"include_matches": False}}).json()
    assert capped["max_matches"] == 1
    whole = client.post("/v1/alerts", json={"alert_name": "whole", "collection_id": coll["collection_id"],
                                            "condition": condition}).json()
    for alert, shown, documents in ((capped, 1, False), (whole, 3, True)):
        assert client.post(f"/v1/alerts/{alert['alert_id']}/execute", json={}).json()["match_count"] == 3
        run = client.get(f"/v1/alerts/{alert['alert_id']}/executions").json()["results"][0]
        matches = run["result"]["matches"]
        assert len(matches) == shown and all(("document" in m) == documents for m in matches), run


def test_a_key_with_allowed_origins_is_refused_from_another_origin(live):
    admin = live.client()
    made = admin.post("/v1/organizations/api-keys", json={"name": "k-origins-" + str(time.time_ns()),
                                                          "allowed_origins": ["https://app.example.com"]}).json()
    key = made.get("key") or made.get("api_key") or made.get("secret")
    with httpx.Client(base_url=live.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30) as c:
        assert c.get("/v1/namespaces", headers={"Origin": "https://app.example.com"}).status_code == 200
        refused = c.get("/v1/namespaces", headers={"Origin": "https://elsewhere.example.com"})
        assert refused.status_code == 403 and "elsewhere.example.com" in refused.text
        assert c.get("/v1/namespaces").status_code == 200  # no Origin: a server-side caller


def test_an_inactive_webhook_gets_no_deliveries_and_namespace_ids_keep_other_namespaces_out(live):
    ns, client = live.new_namespace()
    ns_id = client.get(f"/v1/namespaces/{ns}").json()["namespace_id"]
    receiver, hooks = Receiver(), []
    try:
        for active in (True, False):
            made = client.post("/v1/organizations/webhooks", json={
                "webhook_name": f"hook-{active}-{time.time_ns()}", "event_types": ["collection.created"],
                "namespace_ids": [ns_id], "url": f"{receiver.url}?active={active}", "is_active": active})
            assert made.status_code == 200, made.text
            hooks.append(made.json())
        assert [h["is_active"] for h in hooks] == [True, False]
        _collection(client, _bucket(client, "announced"))
        _, other = live.new_namespace()
        _collection(other, _bucket(other, "elsewhere"))  # namespace_ids: another namespace's events stay out
        wait_for(lambda: receiver.bodies("collection.created"))
        time.sleep(1.5)  # a delivery to the inactive hook (or of the other namespace) would have had time to arrive
        assert sorted(x["path"].split("?")[1] for x in receiver.seen) == ["active=True"]
    finally:
        for h in hooks:
            client.delete(f"/v1/organizations/webhooks/{h['webhook_id']}")
        receiver.close()


def test_create_object_on_confirm_false_stores_the_file_without_an_object(live):
    _, client = live.new_namespace()
    bucket = _bucket(client, "uploads")
    counts = []
    for make in (True, False):
        up = client.post(f"/v1/buckets/{bucket}/uploads", json={
            "filename": f"note-{make}.txt", "content_type": "text/plain", "create_object_on_confirm": make}).json()
        put = client.put(up["presigned_url"].replace(live.base_url, ""), content=b"a note to keep")
        assert put.status_code == 200, put.text
        done = client.post(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}/confirm", json={})
        assert done.status_code == 200, done.text
        counts.append(client.post(f"/v1/buckets/{bucket}/objects/list", json={}).json()["total"])
    assert counts == [1, 1]  # the second upload is confirmed and kept, but makes no object


def test_a_trigger_with_include_buckets_takes_only_those_buckets_objects(live):
    _, client = live.new_namespace()
    first, second = _bucket(client, "first"), _bucket(client, "second")
    coll = _collection(client, first, second)
    for bucket, text in ((first, "from the first bucket"), (second, "from the second bucket")):
        client.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
            {"property": "content", "type": "text", "data": text}]}).raise_for_status()
    resp = client.post(f"/v1/collections/{coll['collection_id']}/trigger", json={"include_buckets": [second]})
    assert resp.status_code == 202 and resp.json()["object_count"] == 1, resp.text
    batches = client.post("/v1/batches/list", json={}).json()["results"]
    assert {b["bucket_id"] for b in batches} == {second}, batches


def test_a_cluster_labels_its_groups_from_text_field_with_num_keywords(live):
    _, client = live.new_namespace()
    bucket = _bucket(client, "b")
    coll = _collection(client, bucket)
    for text in TEXTS:
        client.post(f"/v1/buckets/{bucket}/objects", json={"title": text.split()[1], "blobs": [
            {"property": "content", "type": "text", "data": text}]}).raise_for_status()
    batch = client.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
    assert wait_batch(client, batch["batch_id"])["status"] == "COMPLETED"
    made = client.post("/v1/clusters", json={
        "cluster_name": "by-title", "collection_ids": [coll["collection_id"]], "text_field": "title",
        "num_keywords": 1, "vector_config": {"feature_uri": coll["vector_indexes"][0]["feature_uri"],
                                             "clustering_method": "kmeans", "kmeans_parameters": {"n_clusters": 1}}})
    assert made.status_code == 200, made.text
    cluster = made.json()
    assert cluster["text_field"] == "title" and cluster["num_keywords"] == 1
    run = _finished(client, cluster["cluster_id"],
                    client.post(f"/v1/clusters/{cluster['cluster_id']}/execute", json={}).json()["run_id"])
    assert run["status"] == "COMPLETED", (run.get("error"), run)
    groups = client.get(f"/v1/clusters/{cluster['cluster_id']}/groups").json()["results"]
    titles = {t.split()[1].lower() for t in TEXTS}
    assert len(groups) == 1 and len(groups[0]["keywords"]) == 1 and groups[0]["keywords"][0] in titles, groups
    # A run over a sample of 2 assigns the other 2 documents to the nearest centroid when it is similar enough:
    # with assignment_threshold 1.0 nothing outside the sample is, with -1.0 everything is.
    for threshold, noise in ((1.0, 2), (-1.0, 0)):
        run_id = client.post(f"/v1/clusters/{cluster['cluster_id']}/execute", json={
            "sample_size": 2, "assignment_threshold": threshold}).json()["run_id"]
        run = _finished(client, cluster["cluster_id"], run_id)
        assert run["status"] == "COMPLETED" and run["stats"]["noise_count"] == noise, (threshold, run)


def test_a_disabled_alert_is_not_evaluated_after_batches(live):
    from warehouse.enrichment import alerts

    ns, client = live.new_namespace()
    ns_id = client.get(f"/v1/namespaces/{ns}").json()["namespace_id"]
    coll = _collection(client, _bucket(client, "b"))
    made = {enabled: client.post("/v1/alerts", json={
        "alert_name": f"a-{enabled}", "collection_id": coll["collection_id"], "enabled": enabled,
        "condition": {"field": "text", "operator": "contains", "value": "x"}}).json() for enabled in (True, False)}
    assert alerts.watching(live.services.catalog, ns_id, coll["collection_id"]) == [made[True]["alert_id"]]


def test_a_clone_runs_with_the_collections_inputs_and_stages_it_was_given(live):
    from tests.api.seeding import seed_namespace

    _, client = live.new_namespace()
    seeded = seed_namespace(client, "clone")
    empty = _collection(client, _bucket(client, "empty"))
    uri = seeded["collection"]["vector_indexes"][0]["feature_uri"]
    source = seeded["retriever"]["retriever_id"]
    stages = [{"stage_name": "only-one", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
        "searches": [{"feature_uri": uri, "query": {"input_mode": "text", "text": "{{INPUT.q}}"}, "top_k": 1}],
        "final_top_k": 1}}}]
    clone = client.post(f"/v1/retrievers/{source}/clone", json={
        "retriever_name": "clone-empty", "collection_identifiers": [empty["collection_id"]],
        "input_schema": {"q": {"type": "string"}}, "stages": stages})
    assert clone.status_code == 200, clone.text
    rid = clone.json()["retriever_id"]
    assert client.post(f"/v1/retrievers/{source}/execute", json={"inputs": {"query": "glaciers"}}).json()["documents"]
    refused = client.post(f"/v1/retrievers/{rid}/execute", json={"inputs": {"query": "glaciers"}})
    assert refused.status_code == 422 and "q" in refused.json()["error"]["message"]  # the clone's own input_schema
    ran = client.post(f"/v1/retrievers/{rid}/execute", json={"inputs": {"q": "glaciers"}}).json()
    assert ran["documents"] == [] and "only-one" in ran["stage_statistics"]["stages"]  # its collection, its stages


def test_collection_ids_pick_which_collections_a_batch_runs_and_limit_how_many_objects(live):
    _, client = live.new_namespace()
    bucket = _bucket(client, "b")
    one, two = _collection(client, bucket), _collection(client, bucket)
    for text in TEXTS[:2]:
        client.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
            {"property": "content", "type": "text", "data": text}]}).raise_for_status()
    draft = client.post(f"/v1/buckets/{bucket}/batches", json={"limit": 1}).json()
    assert len(draft["object_ids"]) == 1  # limit: the first object only
    client.post(f"/v1/buckets/{bucket}/batches/{draft['batch_id']}/submit",
                json={"collection_ids": [two["collection_id"]]}).raise_for_status()
    assert set(wait_batch(client, draft["batch_id"])["stats"]["collections"]) == {two["collection_id"]}
    bulk = client.post(f"/v1/buckets/{bucket}/batches/bulk-submit", json={"collection_ids": [one["collection_id"]]})
    assert bulk.status_code == 200, bulk.text
    done = wait_batch(client, bulk.json()["batch_ids"][0])
    assert set(done["stats"]["collections"]) == {one["collection_id"]}
    count = {c["collection_id"]: client.get(f"/v1/collections/{c['collection_id']}/documents/count").json()["count"]
             for c in (one, two)}
    assert count == {one["collection_id"]: 2, two["collection_id"]: 1}


def test_an_upload_url_expires_when_asked_and_skip_duplicates_false_uploads_the_same_file_again(live):
    _, client = live.new_namespace()
    bucket = _bucket(client, "b")
    data = b"the same note, twice"
    body = {"filename": "n.txt", "content_type": "text/plain", "file_hash": hashlib.sha256(data).hexdigest()}
    first = client.post(f"/v1/buckets/{bucket}/uploads", json={**body, "presigned_url_expiration": 120}).json()
    left = datetime.fromisoformat(first["expires_at"]) - datetime.now(UTC)
    assert timedelta(seconds=100) < left <= timedelta(seconds=120), first["expires_at"]
    assert client.put(first["presigned_url"].replace(live.base_url, ""), content=data).status_code == 200
    client.post(f"/v1/buckets/{bucket}/uploads/{first['upload_id']}/confirm", json={}).raise_for_status()
    again = client.post(f"/v1/buckets/{bucket}/uploads", json=body).json()
    assert again["status"] == "COMPLETED" and first["upload_id"] in again["message"], again  # nothing to upload
    anew = client.post(f"/v1/buckets/{bucket}/uploads", json={**body, "skip_duplicates": False}).json()
    assert anew["status"] == "PENDING", anew  # asked for: a second upload of the same file


def test_a_cluster_runs_after_batches_only_past_its_document_minimum_and_cooldown(live):
    from warehouse.enrichment import runs

    ns, client = live.new_namespace()
    ns_id = client.get(f"/v1/namespaces/{ns}").json()["namespace_id"]
    bucket = _bucket(client, "b")
    coll = _collection(client, bucket)
    for text in TEXTS:
        client.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
            {"property": "content", "type": "text", "data": text}]}).raise_for_status()
    batch = client.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
    assert wait_batch(client, batch["batch_id"])["status"] == "COMPLETED"
    cluster = client.post("/v1/clusters", json={
        "cluster_name": "after-batches", "collection_ids": [coll["collection_id"]], "auto_execute_on_batch": True,
        "auto_execute_min_documents": 100, "auto_execute_cooldown_seconds": 3600,
        "vector_config": {"feature_uri": coll["vector_indexes"][0]["feature_uri"], "clustering_method": "kmeans",
                          "kmeans_parameters": {"n_clusters": 1}}}).json()
    executions = f"/v1/clusters/{cluster['cluster_id']}/executions"
    runs.after_part(live.services, ns_id, coll["collection_id"], batch["batch_id"], 4)
    assert client.get(executions).json()["results"] == []  # 4 documents, fewer than 100
    assert client.patch(f"/v1/clusters/{cluster['cluster_id']}", json={"auto_execute_min_documents": 2}).status_code == 200
    runs.after_part(live.services, ns_id, coll["collection_id"], batch["batch_id"], 4)
    assert len(client.get(executions).json()["results"]) == 1
    assert cluster["cluster_id"] not in runs.due_after_batch(live.services.catalog, coll["collection_id"])[1]  # cooling
    runs.after_part(live.services, ns_id, coll["collection_id"], batch["batch_id"], 4)
    assert len(client.get(executions).json()["results"]) == 1
