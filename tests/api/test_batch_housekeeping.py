"""A batch's history and housekeeping through the API: its logs and failed documents name every failure and skip
with its reason; the namespace's batches and tasks list with filters; a finished batch is renamed, resubmitted
(nothing duplicated), its documents deleted and the batch deleted — each counted before and after."""

from __future__ import annotations

import pytest

from tests.api.test_unique_keys import _wait

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture()
def flaky(live):
    _, client = live.new_namespace()
    client.post("/v1/buckets", json={"bucket_name": "f", "bucket_schema": {"properties": {
        "content": {"type": "text"}}}}).raise_for_status()
    coll = client.post("/v1/collections", json={
        "collection_name": "flaky", "source": {"type": "bucket", "bucket_ids": ["f"]},
        "feature_extractor": {"feature_extractor_name": "flaky_embed", "version": "1.0.0"}})
    coll.raise_for_status()
    made = client.post("/v1/buckets/f/objects/batch", json={"objects": [
        {"blobs": [{"property": "content", "type": "text", "data": t}]}
        for t in ("fine text one", "please EXPLODE now", "fine text three", "   ")]}).json()
    batch = _wait(client, client.post("/v1/buckets/f/batches", params={"auto_submit": True}, json={}).json()["batch_id"])
    assert batch["status"] == "COMPLETED_WITH_ERRORS" and batch["documents_written"] == 2
    yield client, coll.json(), [o["object_id"] for o in made["objects"]], batch
    client.close()


def _count(client) -> int:
    return client.get("/v1/collections/flaky/documents/count").json()["count"]


def test_logs_and_failed_documents_name_each_failure_with_its_reason(flaky):
    client, coll, ids, batch = flaky
    logs = client.get(f"/v1/buckets/f/batches/{batch['batch_id']}/logs").json()
    messages = [e["message"] for e in logs["logs"]]
    assert messages[0].startswith("batch created with 4 object(s)") and "batch submitted" in messages
    assert any(m.startswith(f"object {ids[1]} failed (EXTRACTION_ERROR)") for m in messages)
    assert f"object {ids[3]} failed (EMPTY_INPUT): every row of the object was empty: nothing to embed" in messages
    assert messages[-1] == "batch COMPLETED_WITH_ERRORS: 2 object(s) produced no documents; see failed_objects"
    assert any(f"collection {coll['collection_id']}: COMPLETED_WITH_ERRORS, 2 document(s) written" in m
               for m in messages)
    failed = client.get(f"/v1/buckets/f/batches/{batch['batch_id']}/failed-documents").json()
    kinds = {(r["kind"], r.get("object_id")) for r in failed["results"]}
    assert ("failed_object", ids[1]) in kinds and failed["failed_object_count"] >= 1
    assert all(r.get("error") or r.get("reason") for r in failed["results"])
    assert failed["total_count"] == len(failed["results"])
    other = client.get(f"/v1/buckets/f/batches/{batch['batch_id']}/failed-documents",
                       params={"collection_id": "col_other"}).json()
    assert other["total_count"] == 0


def test_batches_and_tasks_list_with_filters(flaky):
    client, coll, _, batch = flaky
    listed = client.post("/v1/batches/list", json={"status": "COMPLETED_WITH_ERRORS",
                                                   "collection_id": coll["collection_id"]}).json()
    assert [b["batch_id"] for b in listed["results"]] == [batch["batch_id"]]
    assert client.post("/v1/batches/list", json={"status": "FAILED"}).json()["total_count"] == 0
    assert client.post("/v1/batches/list", json={"bucket_id": "f"}).json()["total_count"] == 1
    assert client.post("/v1/batches/list", json={"bucket_id": "nope"}).status_code == 404
    tasks = client.post("/v1/tasks/list", json={"search": batch["batch_id"]}).json()
    assert [t["task_id"] for t in tasks["results"]] == [batch["task_id"]]
    assert client.post("/v1/tasks/list", json={"status": "PENDING"}).json()["total_count"] == 0
    assert client.post("/v1/tasks/list", json={"colour": "red"}).status_code == 422


def test_rename_resubmit_delete_documents_and_delete_count_before_and_after(flaky):
    client, _, ids, batch = flaky
    renamed = client.patch(f"/v1/buckets/f/batches/{batch['batch_id']}",
                           json={"batch_name": "nightly", "metadata": {"owner": "ml"}}).json()
    assert renamed["batch_name"] == "nightly" and renamed["metadata"] == {"owner": "ml"}
    assert client.patch(f"/v1/buckets/f/batches/{batch['batch_id']}", json={}).status_code == 400
    assert _count(client) == 2
    again = client.post(f"/v1/buckets/f/batches/{batch['batch_id']}/resubmit")
    assert again.status_code == 200, again.text
    again = again.json()
    assert sorted(again["object_ids"]) == sorted(ids) and again["resubmit_of"] == batch["batch_id"]
    assert _wait(client, again["batch_id"])["status"] == "COMPLETED_WITH_ERRORS"
    assert _count(client) == 2  # the same objects again: their documents replaced, none duplicated
    # The first batch's documents were all rewritten by the resubmit: deleting "its" documents deletes none.
    gone = client.delete(f"/v1/buckets/f/batches/{batch['batch_id']}/documents").json()
    assert gone["deleted_count"] == 0 and _count(client) == 2
    gone = client.delete(f"/v1/buckets/f/batches/{again['batch_id']}/documents").json()
    assert gone["deleted_count"] == 2 and _count(client) == 0
    assert client.delete(f"/v1/buckets/f/batches/{batch['batch_id']}").json()["success"] is True
    assert client.get(f"/v1/buckets/f/batches/{batch['batch_id']}").status_code == 404
    assert client.post("/v1/batches/list", json={}).json()["total_count"] == 1


def test_submit_all_runs_the_drafts_and_refusals_name_their_field(flaky):
    client, _, ids, _ = flaky
    draft = client.post("/v1/buckets/f/batches", json={"object_ids": [ids[0]]}).json()
    assert draft["status"] == "DRAFT"
    done = client.post("/v1/buckets/f/batches/submit-all").json()
    assert [s["batch_id"] for s in done["submitted"]] == [draft["batch_id"]]
    assert _wait(client, draft["batch_id"])["status"] == "COMPLETED"
    for body, where in [({"filters": {"field": "x"}}, "filters"), ({"dedup_strategy": "skip"}, "dedup_strategy")]:
        resp = client.post("/v1/buckets/f/batches", json=body)
        assert resp.status_code == 422 and resp.json()["error"]["details"]["location"] == where
    resp = client.post(f"/v1/buckets/f/batches/{draft['batch_id']}/submit", json={"webhook_url": "https://x.example"})
    assert resp.status_code == 422 and resp.json()["error"]["details"]["location"] == "webhook_url"


def test_diagnose_groups_failures_and_bulk_submit_chunks_the_bucket(flaky):
    client, _, ids, batch = flaky
    diag = client.get(f"/v1/buckets/f/batches/{batch['batch_id']}/diagnose").json()
    kinds = {g["error_type"]: g for g in diag["failures"]}
    assert set(kinds) == {"EXTRACTION_ERROR", "EMPTY_INPUT"} and diag["healthy"] is False
    assert kinds["EXTRACTION_ERROR"]["object_ids"] == [ids[1]] and "retry" in kinds["EXTRACTION_ERROR"]["advice"]
    assert diag["retryable"] == 1 and diag["documents_written"] == 2
    bulk = client.post("/v1/buckets/f/batches/bulk-submit", json={"chunk_size": 3}).json()
    assert bulk["batch_count"] == 2 and bulk["total_objects"] == 4
    assert [len(b["object_ids"]) for b in bulk["batches"]] == [3, 1]
    assert sorted(o for b in bulk["batches"] for o in b["object_ids"]) == sorted(ids)
    for batch_id in bulk["batch_ids"]:
        _wait(client, batch_id)
    assert _count(client) == 2  # the same objects again: replaced, not duplicated
    capped = client.post("/v1/buckets/f/batches/bulk-submit", json={"chunk_size": 3, "max_objects": 1}).json()
    assert capped["total_objects"] == 1 and capped["batch_count"] == 1
    _wait(client, capped["batch_ids"][0])
    refused = client.post("/v1/buckets/f/batches/bulk-submit", json={"chunk_size": 0})
    assert refused.status_code == 422 and "chunk_size" in refused.text
