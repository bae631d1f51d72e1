"""Submitting a batch is idempotent under concurrency: of many simultaneous submits exactly one queues it."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest

from warehouse.catalog import Task

pytestmark = [pytest.mark.ray]
ROUNDS, SUBMITTERS = 12, 8


def test_concurrent_submits_queue_the_batch_once(live):
    ns, client = live.new_namespace()
    bucket = client.post("/v1/buckets", json={"bucket_name": "b", "bucket_schema": {
        "properties": {"content": {"type": "text"}}}}).json()
    client.post("/v1/collections", json={
        "collection_name": "c", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}}}).raise_for_status()
    client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "blobs": [{"property": "content", "type": "text", "data": "Geysers erupt when groundwater boils."}]})
    drafts = [client.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={}).json() for _ in range(ROUNDS)]
    assert {b["status"] for b in drafts} == {"DRAFT"}
    clients = [live.client(ns) for _ in range(SUBMITTERS)]  # connections made before the race starts

    def submit(job):
        c, batch_id = job
        return c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch_id}/submit", json={})

    try:
        with ThreadPoolExecutor(max_workers=SUBMITTERS) as pool:
            for batch in drafts:
                answers = list(pool.map(submit, [(c, batch["batch_id"]) for c in clients]))
                codes = sorted(r.status_code for r in answers)
                assert codes == [200] + [409] * (SUBMITTERS - 1), [r.text for r in answers]
                refused = next(r for r in answers if r.status_code == 409).json()["error"]
                assert "already" in refused["message"]
    finally:
        for c in clients:
            c.close()
    with live.services.catalog.session() as s:
        for batch in drafts:
            assert s.query(Task).filter(Task.resource_id == batch["batch_id"]).count() == 1
