"""A multi-tier collection under Dagster: the upstream's process_batch run writes, the API queues the tier, and the
queued_batches sensor starts a process_tier_batch run of tier_documents — an asset downstream of
collection_documents in the graph, whose materialization names the upstream partition."""

from __future__ import annotations

import time

import pytest
from dagster import AssetKey, DagsterEventType

from tests.dagster_helpers import corpus, run_partition, submit, tick
from warehouse.assets import tier_documents
from warehouse.definitions import defs
from warehouse.resources import InProcessWarehouse
from warehouse.sensors import queued_batches

pytestmark = [pytest.mark.dagster, pytest.mark.ray, pytest.mark.slow]


def test_the_asset_graph_draws_tier_documents_after_collection_documents():
    graph = defs.resolve_asset_graph()
    assert AssetKey("collection_documents") in graph.get(AssetKey("tier_documents")).parent_keys
    assert {"process_batch", "process_tier_batch"} <= {j.name for j in defs.resolve_all_job_defs()}


@pytest.mark.parametrize("executor", ["owner", "in_process"])
def test_an_upstream_run_queues_the_tier_and_the_sensor_runs_it_as_tier_documents(dagster_live, executor):
    """Whichever process drives the upstream's run (the index owner, or the run itself under `warehouse up`), the
    part it writes queues the tier."""
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, ["Volcanoes erupt molten rock from deep below.", "Owls hunt at night in silence."])
    upstream = c["collection"]["collection_id"]
    tier = client.post("/v1/collections", json={
        "collection_name": "tier-" + upstream, "source": {"type": "collection", "collection_id": upstream},
        "feature_extractor": {"feature_extractor_name": "text_embed", "version": "1.0.0",
                              "input_mappings": {"text": "text"}}})
    assert tier.status_code == 200, tier.text
    tier_id = tier.json()["collection_id"]
    first = submit(client, c)
    result, _ = tick(dagster_live, queued_batches)
    request = next(r for r in result.run_requests if r.tags["warehouse/batch_id"] == first)
    assert request.job_name == "process_batch"
    resource = dagster_live.resource if executor == "owner" else InProcessWarehouse(**dagster_live.resource.model_dump())
    assert run_partition(dagster_live, request, resource=resource).success

    queued = None
    for _ in range(100):  # the API queues the tier when the upstream part is recorded
        queued = [b for b in client.post("/v1/batches/list", json={"collection_id": tier_id}).json()["results"]]
        if queued:
            break
        time.sleep(0.1)
    assert queued and queued[0]["status"] == "QUEUED" and queued[0]["metadata"]["upstream_batch_id"] == first
    result, _ = tick(dagster_live, queued_batches)
    request = next(r for r in result.run_requests if r.tags["warehouse/batch_id"] == queued[0]["batch_id"])
    assert request.job_name == "process_tier_batch"
    assert request.partition_key.keys_by_dimension == {"collection": tier_id, "batch": queued[0]["batch_id"]}
    outcome = run_partition(dagster_live, request, asset=tier_documents)
    assert outcome.success
    assert client.get(f"/v1/batches/{queued[0]['batch_id']}").json()["status"] == "COMPLETED"
    assert client.get(f"/v1/collections/{tier_id}/documents/count").json()["count"] == 2
    records = dagster_live.instance.get_records_for_run(
        outcome.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    materialization = records[0].event_log_entry.dagster_event.event_specific_data.materialization
    assert materialization.asset_key == AssetKey("tier_documents")
    meta = {k: v.value for k, v in materialization.metadata.items()}
    assert meta["upstream_batch_id"] == first and meta["upstream_collection_id"] == upstream
    assert meta["upstream_partition"] == f"{first}|{upstream}"  # the collection_documents partition it read
