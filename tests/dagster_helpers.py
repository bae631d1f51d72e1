"""Helpers shared by the Dagster tests: build a corpus through the API, tick sensors, run partitions."""

from __future__ import annotations

import uuid

from dagster import build_sensor_context, materialize
from dagster._core.storage.defs_state.base import set_defs_state_storage

from warehouse.assets import collection_documents


def corpus(client, texts: list[str], extractor: str = "text_embed") -> dict:
    """A bucket with one object per text and a collection over it; nothing processed yet."""
    name = "b-" + uuid.uuid4().hex[:8]
    bucket = client.post("/v1/buckets", json={"bucket_name": name, "bucket_schema": {
        "properties": {"text": {"type": "text"}}}}).json()
    coll = client.post("/v1/collections", json={
        "collection_name": "c-" + name, "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": extractor, "version": "1.0.0",
                              "input_mappings": {"text": "text"}}}).json()
    ids = [client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "blobs": [{"property": "text", "type": "text", "data": t}]}).json()["object_id"] for t in texts]
    return {"bucket": bucket, "collection": coll, "object_ids": ids}


def submit(client, c: dict) -> str:
    bid = c["bucket"]["bucket_id"]
    batch = client.post(f"/v1/buckets/{bid}/batches", json={
        "object_ids": c["object_ids"], "collection_ids": [c["collection"]["collection_id"]]}).json()
    resp = client.post(f"/v1/buckets/{bid}/batches/{batch['batch_id']}/submit", json={})
    assert resp.status_code == 200, resp.text
    return batch["batch_id"]


def apply(instance, result) -> None:
    """Persist what a sensor evaluated outside the daemon asked for (partitions, asset events)."""
    for request in getattr(result, "dynamic_partitions_requests", None) or []:
        if type(request).__name__.startswith("Add"):
            instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
        else:
            for key in request.partition_keys:
                instance.delete_dynamic_partition(request.partitions_def_name, key)
    for event in getattr(result, "asset_events", None) or []:
        instance.report_runless_asset_event(event)


def tick(dl, sensor_fn, cursor: str | None = None):
    ctx = build_sensor_context(instance=dl.instance, resources={"warehouse": dl.resource}, cursor=cursor)
    result = sensor_fn(ctx)
    apply(dl.instance, result)
    return result, ctx


def run_partition(dl, request, resource=None, asset=None):
    # materialize() loads definitions against the thread's *current* Dagster state storage (a context variable
    # an instance sets when it is entered); a context some earlier test left open can leave a storage whose
    # instance is gone ("undefined DagsterInstance weakref"). Pin it to this instance's for the call.
    with set_defs_state_storage(dl.instance.defs_state_storage):
        return materialize([asset or collection_documents], partition_key=request.partition_key, instance=dl.instance,
                           resources={"warehouse": resource or dl.resource}, tags=request.tags, raise_on_error=False)
