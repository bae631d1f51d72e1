"""taxonomy_assignments and cluster_groups partitions: created with their definitions, requested after
batches by ``enrichment_after_batches``, scheduled, and materialized on the index owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from dagster import DagsterEventType, build_schedule_context, materialize

from tests.dagster_helpers import run_partition, submit, tick
from warehouse.assets import (
    cluster_groups,
    clusters_daily,
    taxonomies_hourly,
    taxonomy_assignments,
)
from warehouse.sensors import enrichment_after_batches, queued_batches

pytestmark = [pytest.mark.dagster, pytest.mark.ray, pytest.mark.slow]
DENSE = "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1"
REFS = [("Qubits store quantum information.", "physics"), ("The striker scored twice in the final.", "sport"),
        ("Bees pollinate almond orchards.", "biology")]
TEXTS = ["Superconducting qubits need cold fridges.", "The goalkeeper saved a penalty.",
         "Honeybee colonies collapse in winter.", "Entangled photons carry quantum keys.",
         "The team won the league on goal difference.", "Wildflowers feed bumblebees."]


def _materialization(instance, run_id):
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return records[0].event_log_entry.dagster_event.event_specific_data.materialization


def _corpus(client, rows: list[tuple[str, str | None]]) -> dict:
    """A bucket of texts (with an optional ``label``) and a MiniLM collection over it; nothing processed yet."""
    name = "b-" + uuid.uuid4().hex[:8]
    bucket = client.post("/v1/buckets", json={"bucket_name": name, "bucket_schema": {
        "properties": {"text": {"type": "text"}, "label": {"type": "string"}}}}).json()
    coll = client.post("/v1/collections", json={
        "collection_name": "c-" + name, "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"}, "field_passthrough": [{"source_path": "label"}]}}).json()
    ids = [client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "label": label, "blobs": [{"property": "text", "type": "text", "data": t}]}).json()["object_id"] for t, label in rows]
    return {"bucket": bucket, "collection": coll, "object_ids": ids}


def _process(dl, client, c: dict) -> str:
    batch_id = submit(client, c)
    request = next(r for r in tick(dl, queued_batches)[0].run_requests if r.tags["warehouse/batch_id"] == batch_id)
    assert run_partition(dl, request).success
    return batch_id


def test_taxonomy_and_cluster_partitions_run_after_batches(dagster_live):
    dl = dagster_live
    _, client = dl.api.new_namespace()
    refs = _corpus(client, REFS)
    _process(dl, client, refs)
    target = _corpus(client, [(t, None) for t in TEXTS])
    tid = target["collection"]["collection_id"]
    tax = client.post("/v1/taxonomies", json={"taxonomy_name": "topic", "config": {
        "feature_uri": DENSE, "target_collection_ids": [tid],
        "source_collection": {"collection_id": refs["collection"]["collection_id"],
                              "enrichment_fields": [{"field_path": "label", "target_field": "topic"}]}}}).json()
    clu = client.post("/v1/clusters", json={"cluster_name": "groups", "collection_ids": [tid], "auto_execute_on_batch": True,
                                            "vector_config": {"feature_uri": DENSE, "clustering_method": "kmeans",
                                                              "kmeans_parameters": {"n_clusters": 3}}}).json()
    assert tax["taxonomy_id"] in dl.instance.get_dynamic_partitions("taxonomies")
    assert clu["cluster_id"] in dl.instance.get_dynamic_partitions("clusters")

    _, ctx = tick(dl, enrichment_after_batches)  # sets the cursor: only batches finishing from now on count
    _process(dl, client, target)
    result, _ = tick(dl, enrichment_after_batches, ctx.cursor)
    wanted = {(r.job_name, r.partition_key) for r in result}
    assert wanted == {("refresh_taxonomy", tax["taxonomy_id"]), ("refresh_cluster", clu["cluster_id"])}

    out = materialize([taxonomy_assignments], partition_key=tax["taxonomy_id"], instance=dl.instance,
                      resources={"warehouse": dl.resource})
    assert out.success
    meta = _materialization(dl.instance, out.run_id).metadata
    assert meta["documents"].value == 6 and meta["assigned"].value == 6
    assert meta["labels"].value == {"physics": 2, "sport": 2, "biology": 2}
    topics = {d["text"]: d["topic"] for d in client.post(f"/v1/collections/{tid}/documents/list",
                                                         json={"limit": 10}).json()["results"]}
    assert topics["The goalkeeper saved a penalty."] == "sport" and topics["Wildflowers feed bumblebees."] == "biology"
    runs = client.get(f"/v1/taxonomies/{tax['taxonomy_id']}/executions").json()["results"]
    assert runs[0]["dagster_run_id"] == out.run_id and runs[0]["trigger"] == "dagster"

    out = materialize([cluster_groups], partition_key=clu["cluster_id"], instance=dl.instance,
                      resources={"warehouse": dl.resource})
    assert out.success
    meta = _materialization(dl.instance, out.run_id).metadata
    assert meta["groups"].value == 3 and meta["documents"].value == 6
    assert meta["plot"].value.startswith("![cluster plot](data:image/png;base64,iVBOR")
    assert "| label | size | keywords |" in meta["group_labels"].value

    # The schedules ask for every definition's partition.
    at = datetime(2026, 11, 21, 3, tzinfo=UTC)
    ctx = build_schedule_context(instance=dl.instance, resources={"warehouse": dl.resource}, scheduled_execution_time=at)
    assert tax["taxonomy_id"] in {r.partition_key for r in taxonomies_hourly(ctx)}
    requests = clusters_daily(build_schedule_context(instance=dl.instance, scheduled_execution_time=at))
    assert clu["cluster_id"] in {r.partition_key for r in requests}
    assert client.delete(f"/v1/taxonomies/{tax['taxonomy_id']}").status_code == 200
    assert tax["taxonomy_id"] not in dl.instance.get_dynamic_partitions("taxonomies")
