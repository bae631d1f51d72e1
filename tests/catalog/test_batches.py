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


@pytest.mark.parametrize("status, refused", [("QUEUED", True), ("PROCESSING", True), ("DRAFT", False),
                                             ("COMPLETED", False), ("CANCELED", False)])
def test_a_batch_is_deleted_only_when_nothing_works_on_it(tmp_path, status, refused):
    from warehouse.catalog import Batch, Catalog, batches
    from warehouse.errors import WarehouseError

    catalog = Catalog(f"sqlite:///{tmp_path / 'c.db'}")
    with catalog.session() as s:
        s.add(Batch(batch_id="btch_1", namespace_id="ns_1", bucket_id="bkt_1", status=status))
    with catalog.session() as s:
        batch = s.get(Batch, "btch_1")
        if refused:
            with pytest.raises(WarehouseError, match=f"batch is {status}; cancel it first"):
                batches.delete_batch(s, batch)
        else:
            batches.delete_batch(s, batch)
    with catalog.session() as s:
        assert (s.get(Batch, "btch_1") is None) is not refused
    catalog.dispose()
