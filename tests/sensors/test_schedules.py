"""Under Dagster the collection_schedules sensor ticks collection schedules: a due collection gets one queued batch,
which queued_batches turns into a process_batch run like any other."""

from __future__ import annotations

import pytest
from dagster import SkipReason

from tests.dagster_helpers import corpus, tick
from warehouse.sensors import collection_schedules, queued_batches

pytestmark = [pytest.mark.dagster, pytest.mark.ray]


def test_a_due_schedule_becomes_a_queued_batch_and_a_run_request(dagster_live):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, ["Tides follow the moon.", "Glass is a slow liquid, or not."])
    timed = client.post("/v1/collections", json={
        "collection_name": "timed-" + c["bucket"]["bucket_id"],
        "source": {"type": "bucket", "bucket_ids": [c["bucket"]["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_embed", "version": "1.0.0",
                              "input_mappings": {"text": "text"}},
        "schedule": {"trigger_type": "interval", "schedule_config": {"interval_seconds": 3600,
                                                                      "start_immediately": True}}})
    assert timed.status_code == 200, timed.text
    cid = timed.json()["collection_id"]
    result, _ = tick(dagster_live, collection_schedules)
    assert isinstance(result, SkipReason) and "queued" in result.skip_message
    queued = client.post("/v1/batches/list", json={"collection_id": cid}).json()["results"]
    assert [b["status"] for b in queued] == ["QUEUED"] and len(queued[0]["object_ids"]) == 2
    again, _ = tick(dagster_live, collection_schedules)  # the run is recorded: the next tick queues nothing
    assert "no collection schedule is due" in again.skip_message
    assert client.post("/v1/batches/list", json={"collection_id": cid}).json()["total_count"] == 1
    runs, _ = tick(dagster_live, queued_batches)
    request = next(r for r in runs.run_requests if r.tags["warehouse/batch_id"] == queued[0]["batch_id"])
    assert request.job_name == "process_batch" and request.partition_key.keys_by_dimension["collection"] == cid
