"""collection_documents partitions: batches submitted through the API run as Dagster runs.

Real parts throughout: an API server in ``orchestrator=dagster`` mode owns the index, the Dagster
instance lives under its home, the sensor is evaluated with Dagster's own testing API and the
partition materialized with ``materialize`` — the run asks the owner to run the Ray Data job.
"""

from __future__ import annotations

import time

import pytest
from dagster import (
    AssetKey,
    DagsterEventType,
    DagsterRunStatus,
    SkipReason,
    build_run_status_sensor_context,
)
from dagster._utils.test.data_versions import get_stale_status_resolver

from tests.dagster_helpers import corpus, run_partition, submit, tick
from warehouse.assets import bucket_objects, collection_documents, extractor_code
from warehouse.catalog import Event
from warehouse.resources import InProcessWarehouse
from warehouse.sensors import batch_run_canceled, batch_run_succeeded, catalog_sync, queued_batches

pytestmark = [pytest.mark.dagster, pytest.mark.ray]
TEXTS = ["Quantum computers use qubits.", "Bees pollinate flowers in spring.", "Rivers carve canyons over ages."]


def _materialization(instance, run_id):
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    return records[0].event_log_entry.dagster_event.event_specific_data.materialization


def _check_passed(instance, run_id) -> bool:
    records = instance.get_records_for_run(run_id, of_type=DagsterEventType.ASSET_CHECK_EVALUATION).records
    return records[0].event_log_entry.dagster_event.event_specific_data.passed


def test_bucket_and_collection_partitions_follow_the_api(dagster_live):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, TEXTS[:1])
    bid, cid = c["bucket"]["bucket_id"], c["collection"]["collection_id"]
    assert bid in dagster_live.instance.get_dynamic_partitions("buckets")
    assert cid in dagster_live.instance.get_dynamic_partitions("collections")
    assert client.delete(f"/v1/collections/{cid}").status_code == 200
    assert client.delete(f"/v1/buckets/{bid}").status_code == 200
    assert cid not in dagster_live.instance.get_dynamic_partitions("collections")
    assert bid not in dagster_live.instance.get_dynamic_partitions("buckets")


def test_submitted_batch_runs_as_a_dagster_run_with_lineage_and_events(dagster_live):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, TEXTS)
    cid = c["collection"]["collection_id"]
    batch_id = submit(client, c)
    time.sleep(0.5)
    assert client.get(f"/v1/batches/{batch_id}").json()["status"] == "QUEUED"  # the API leaves it to Dagster

    result, _ = tick(dagster_live, queued_batches)
    requests = [r for r in result.run_requests if r.tags["warehouse/batch_id"] == batch_id]
    assert len(requests) == 1
    request = requests[0]
    assert request.partition_key.keys_by_dimension == {"collection": cid, "batch": batch_id}
    assert request.run_key.startswith(f"{batch_id}:{cid}:")
    again, _ = tick(dagster_live, queued_batches)  # a second tick asks for the same run, not a new one
    assert request.run_key in {r.run_key for r in again.run_requests}
    assert batch_id in dagster_live.instance.get_dynamic_partitions("batches")

    outcome = run_partition(dagster_live, request)
    assert outcome.success
    run_id = outcome.run_id
    batch = client.get(f"/v1/batches/{batch_id}").json()
    assert batch["status"] == "COMPLETED"
    assert batch["documents_written"] == 3
    assert batch["stats"]["collections"][cid]["dagster_run_id"] == run_id
    assert client.get(f"/v1/tasks/{batch['task_id']}").json()["status"] == "COMPLETED"

    meta = _materialization(dagster_live.instance, run_id).metadata
    assert meta["documents_written"].value == 3
    assert meta["objects"].value == 3
    assert meta["objects_failed"].value == 0
    assert meta["batch_id"].value == batch_id
    assert meta["extractor"].value == "text_embed@1.0.0"
    assert len(meta["extractor_code_version"].value) >= 8
    assert _check_passed(dagster_live.instance, run_id)
    logs = [e.user_message for e in dagster_live.instance.all_logs(run_id)]
    assert any("3/3 rows, 3 documents written" in m for m in logs), logs  # progress streamed from the owner

    # lineage: document → object, batch and run; the object's page lists its documents
    obj = client.get(f"/v1/buckets/{c['bucket']['bucket_id']}/objects/{c['object_ids'][0]}").json()
    assert obj["document_count"] == 1
    doc = obj["documents"][0]
    assert (doc["batch_id"], doc["dagster_run_id"], doc["collection_id"]) == (batch_id, run_id, cid)
    lineage = client.get(f"/v1/documents/{doc['document_id']}/lineage").json()
    assert lineage["source_object"]["object_id"] == c["object_ids"][0]
    assert lineage["batch"]["batch_id"] == batch_id
    assert lineage["dagster_run_id"] == run_id
    assert lineage["dagster_run_url"].endswith(f"/runs/{run_id}")
    assert [step["type"] for step in lineage["chain"]] == ["bucket", "object", "batch", "dagster_run", "collection",
                                                            "document"]

    # the run-status sensor records the batch event once
    run = dagster_live.instance.get_run_by_id(run_id)
    success = dagster_live.instance.get_records_for_run(run_id, of_type=DagsterEventType.RUN_SUCCESS).records[0]
    for _ in range(2):
        ctx = build_run_status_sensor_context(sensor_name="batch_run_succeeded", dagster_instance=dagster_live.instance,
                                              dagster_run=run, dagster_event=success.event_log_entry.dagster_event)
        batch_run_succeeded(ctx, warehouse=dagster_live.resource)
    with dagster_live.api.services.catalog.session() as s:
        events = s.query(Event).filter(Event.resource_id == batch_id).all()
        assert [(e.event_type, e.payload["documents_written"], e.payload["dagster_run_id"]) for e in events] == [
            ("batch.completed", 3, run_id)]
    after, _ = tick(dagster_live, queued_batches)  # the finished batch asks for no run any more
    assert isinstance(after, SkipReason) or all(r.tags["warehouse/batch_id"] != batch_id for r in after.run_requests)


def test_failed_objects_fail_the_asset_check_with_reasons(dagster_live):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, ["fine text", "this one will EXPLODE", "also fine"], extractor="flaky_embed")
    batch_id = submit(client, c)
    request = next(r for r in tick(dagster_live, queued_batches)[0].run_requests
                   if r.tags["warehouse/batch_id"] == batch_id)
    outcome = run_partition(dagster_live, request)
    assert outcome.success  # the asset materializes what worked; the check is what fails
    assert not _check_passed(dagster_live.instance, outcome.run_id)
    meta = _materialization(dagster_live.instance, outcome.run_id).metadata
    assert meta["objects_failed"].value == 1
    assert meta["documents_written"].value == 2
    assert "EXPLODE" in meta["failures"].value[0]["error"]
    batch = client.get(f"/v1/batches/{batch_id}").json()
    assert batch["status"] == "COMPLETED_WITH_ERRORS"
    assert batch["failed_objects"][0]["object_id"] == c["object_ids"][1]


def test_cancel_before_the_run_and_a_run_cancelled_in_dagster(dagster_live):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, TEXTS[:2])
    first = submit(client, c)
    assert client.post(f"/v1/batches/{first}/cancel").json()["status"] == "CANCELED"
    result, _ = tick(dagster_live, queued_batches)
    assert isinstance(result, SkipReason) or all(r.tags["warehouse/batch_id"] != first for r in result.run_requests)

    second = submit(client, c)
    request = next(r for r in tick(dagster_live, queued_batches)[0].run_requests
                   if r.tags["warehouse/batch_id"] == second)
    from warehouse.definitions import defs

    job = defs.resolve_job_def("process_batch")
    run = dagster_live.instance.create_run_for_job(job, tags={**request.tags, "dagster/partition": request.partition_key})
    dagster_live.instance.report_run_canceled(run)
    record = dagster_live.instance.get_records_for_run(run.run_id, of_type=DagsterEventType.RUN_CANCELED).records[0]
    ctx = build_run_status_sensor_context(sensor_name="batch_run_canceled", dagster_instance=dagster_live.instance,
                                          dagster_run=dagster_live.instance.get_run_by_id(run.run_id),
                                          dagster_event=record.event_log_entry.dagster_event)
    batch_run_canceled(ctx, warehouse=dagster_live.resource)
    batch = client.get(f"/v1/batches/{second}").json()
    assert batch["status"] == "CANCELED"
    assert client.get(f"/v1/tasks/{batch['task_id']}").json()["status"] == "CANCELED"
    assert dagster_live.instance.get_run_by_id(run.run_id).status == DagsterRunStatus.CANCELED
    with dagster_live.api.services.catalog.session() as s:
        assert [e.event_type for e in s.query(Event).filter(Event.resource_id == second)] == ["batch.canceled"]


def test_code_change_marks_the_collection_stale_and_a_rerun_rewrites_it_in_place(dagster_live, tmp_path):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, TEXTS)
    cid = c["collection"]["collection_id"]
    batch_id = submit(client, c)
    request = next(r for r in tick(dagster_live, queued_batches)[0].run_requests
                   if r.tags["warehouse/batch_id"] == batch_id)
    assert run_partition(dagster_live, request).success
    docs_before = {d["document_id"] for d in client.get(f"/v1/collections/{cid}/documents?limit=100").json()["results"]}
    _, ctx = tick(dagster_live, catalog_sync)
    assets = [bucket_objects, collection_documents, extractor_code]
    key, pk = AssetKey("collection_documents"), request.partition_key
    assert get_stale_status_resolver(dagster_live.instance, assets).get_status(key, pk).value == "FRESH"
    assert client.get(f"/v1/collections/{cid}").json()["index_status"]["stale"] is False

    pipeline = dagster_live.settings.home_dir / "extractors" / "text_embed" / "pipeline.py"
    original = pipeline.read_text()
    pipeline.write_text(original + "\n# a new release of the extractor\n")
    try:
        tick(dagster_live, catalog_sync, cursor=ctx.cursor)
        resolver = get_stale_status_resolver(dagster_live.instance, assets)
        assert resolver.get_status(key, pk).value == "STALE"
        cause = resolver.get_stale_causes(key, pk)[0]
        assert cause.dependency.asset_key == AssetKey("extractor_code")
        status = client.get(f"/v1/collections/{cid}").json()["index_status"]
        assert status["stale"] is True and status["current_code_version"] != status["indexed_code_version"]

        outcome = run_partition(dagster_live, request)  # what a backfill of the collection runs per partition
        assert outcome.success
        meta = _materialization(dagster_live.instance, outcome.run_id).metadata
        assert meta["documents_replaced"].value == 3
        assert meta["extractor_code_version"].value == status["current_code_version"]
        docs = client.get(f"/v1/collections/{cid}/documents?limit=100").json()["results"]
        assert {d["document_id"] for d in docs} == docs_before  # same ids: replaced, not duplicated
        assert get_stale_status_resolver(dagster_live.instance, assets).get_status(key, pk).value == "FRESH"
        assert client.get(f"/v1/collections/{cid}").json()["index_status"]["stale"] is False
    finally:
        pipeline.write_text(original)
        dagster_live.api.services.registry.refresh()


def test_partition_of_a_batch_from_another_bucket_has_nothing_to_do(dagster_live):
    _, client = dagster_live.api.new_namespace()
    a, b = corpus(client, TEXTS[:1]), corpus(client, TEXTS[1:2])
    batch_id = submit(client, a)
    request = next(r for r in tick(dagster_live, queued_batches)[0].run_requests
                   if r.tags["warehouse/batch_id"] == batch_id)
    from dagster import RunRequest

    from warehouse.assets.partitions import collection_batch_key

    other = RunRequest(partition_key=collection_batch_key(b["collection"]["collection_id"], batch_id), tags={})
    outcome = run_partition(dagster_live, other)
    assert outcome.success
    assert not dagster_live.instance.get_records_for_run(
        outcome.run_id, of_type=DagsterEventType.ASSET_MATERIALIZATION).records
    assert run_partition(dagster_live, request).success


def test_in_process_executor_drives_ray_here_and_writes_through_the_owner(dagster_live):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, TEXTS)
    batch_id = submit(client, c)
    request = next(r for r in tick(dagster_live, queued_batches)[0].run_requests
                   if r.tags["warehouse/batch_id"] == batch_id)
    resource = InProcessWarehouse(**dagster_live.resource.model_dump())
    outcome = run_partition(dagster_live, request, resource=resource)
    assert outcome.success
    assert client.get(f"/v1/batches/{batch_id}").json()["status"] == "COMPLETED"
    results = client.post(f"/v1/collections/{c['collection']['collection_id']}/documents/list", json={}).json()
    assert len(results["results"]) == 3
    logs = [e.user_message for e in dagster_live.instance.all_logs(outcome.run_id)]
    assert not any("accepted batch" in m for m in logs)  # this process was the driver, not the owner


def test_a_pdf_collection_runs_under_dagster_as_text_does(dagster_live):
    import base64

    from tests.extractors.media_files import PDFS

    _, client = dagster_live.api.new_namespace()
    bucket = client.post("/v1/buckets", json={"bucket_name": "pdfs", "bucket_schema": {
        "properties": {"file": {"type": "pdf"}}}}).json()
    coll = client.post("/v1/collections", json={
        "collection_name": "pdfs", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "document_extractor", "version": "v1",
                              "input_mappings": {"document": "file"}}}).json()
    ids = [client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={"blobs": [{
        "property": "file", "type": "pdf", "data": base64.b64encode((PDFS / name).read_bytes()).decode()}]}).json()[
        "object_id"] for name in ("pdflatex-4-pages.pdf", "grayscale-image.pdf")]
    batch_id = submit(client, {"bucket": bucket, "collection": coll, "object_ids": ids})
    result, _ = tick(dagster_live, queued_batches)
    [request] = [r for r in result.run_requests if r.tags["warehouse/batch_id"] == batch_id]
    outcome = run_partition(dagster_live, request)
    assert outcome.success
    batch = client.get(f"/v1/batches/{batch_id}").json()
    assert batch["status"] == "COMPLETED_WITH_ERRORS" and batch["documents_written"] > 4, batch
    [failed] = batch["failed_objects"]
    assert failed["object_id"] == ids[1] and "OCR found no text" in failed["error"]
    metadata = _materialization(dagster_live.instance, outcome.run_id).metadata
    assert metadata["documents_written"].value == batch["documents_written"]
    docs = client.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={"page_size": 100}).json()[
        "results"]
    lineage = docs[0]["_internal"]["lineage"]
    assert lineage["dagster_run_id"] == outcome.run_id and lineage["page_number"] in (1, 2, 3, 4)
    assert {d["page_number"] for d in docs} == {1, 2, 3, 4}
