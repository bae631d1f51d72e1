"""New-object sensors: files in a bucket's inbox (local directory, S3 on moto) become searchable documents."""

from __future__ import annotations

import json
import os
import time

import boto3
import pytest
from dagster import SkipReason, build_sensor_context

from tests.dagster_helpers import apply, corpus, run_partition, tick
from warehouse.catalog import Bucket
from warehouse.resources import OwnerWarehouse
from warehouse.sensors import local_new_objects, queued_batches, s3_new_objects
from warehouse.sensors.objects import scan_inboxes

pytestmark = [pytest.mark.dagster, pytest.mark.ray]


def _inbox(dagster_live, bucket: dict):
    """A bucket's inbox folder: ``inbox/<namespace_id>/<bucket_id>`` (ids, never names)."""
    path = dagster_live.settings.objects_dir / "inbox" / bucket["namespace_id"] / bucket["bucket_id"]
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write(path, text: str, mtime: float) -> None:
    path.write_text(text)
    os.utime(path, (mtime, mtime))


def test_local_inbox_is_taken_in_bounded_ticks_with_a_cursor(dagster_live):
    ns, client = dagster_live.api.new_namespace()
    c = corpus(client, [])
    bucket = c["bucket"]
    inbox = _inbox(dagster_live, bucket)
    now = time.time() - 100
    for i, name in enumerate(["a.txt", "b.md", "c.txt"]):
        _write(inbox / name, f"note {name}: solar panels convert light", now + i)
    (inbox / "photo.xyz").write_bytes(b"\x00\x01")
    os.utime(inbox / "photo.xyz", (now + 3, now + 3))

    ctx = build_sensor_context(instance=dagster_live.instance, resources={"warehouse": dagster_live.resource})
    first = scan_inboxes(ctx, dagster_live.resource, "local", max_files=2)
    apply(dagster_live.instance, first)
    cursor = json.loads(ctx.cursor)
    assert cursor[bucket["bucket_id"]][1].endswith("/b.md")  # oldest two taken, cursor after the second
    [event] = first.asset_events
    assert event.partition == bucket["bucket_id"]
    assert event.metadata["new_objects"].value == 2
    objects = client.get(f"/v1/buckets/{bucket['bucket_id']}/objects").json()["results"]
    assert sorted(o["file_name"] for o in objects) == ["a.txt", "b.md"]
    assert objects[0]["blobs"][0]["property"] == "text"

    ctx2 = build_sensor_context(instance=dagster_live.instance, resources={"warehouse": dagster_live.resource},
                                cursor=ctx.cursor)
    second = scan_inboxes(ctx2, dagster_live.resource, "local", max_files=2)
    apply(dagster_live.instance, second)
    assert second.asset_events[0].metadata["new_objects"].value == 1
    skipped = second.asset_events[0].metadata["skipped"].value
    assert skipped[0]["key"].endswith("photo.xyz") and "unknown file type '.xyz'" in skipped[0]["reason"]

    ctx3 = build_sensor_context(instance=dagster_live.instance, resources={"warehouse": dagster_live.resource},
                                cursor=ctx2.cursor)
    assert isinstance(local_new_objects(ctx3), SkipReason)  # nothing new: no objects, no batch

    # a changed file becomes a new version of the same object, not a second object
    _write(inbox / "a.txt", "note a.txt, revised: wind turbines", time.time())
    ctx4 = build_sensor_context(instance=dagster_live.instance, resources={"warehouse": dagster_live.resource},
                                cursor=ctx3.cursor)
    fourth = local_new_objects(ctx4)
    assert fourth.asset_events[0].metadata["updated_objects"].value == 1
    objects = client.get(f"/v1/buckets/{bucket['bucket_id']}/objects").json()["results"]
    assert len(objects) == 3
    # every registration queued a batch for the bucket's collection
    batches = client.post(f"/v1/buckets/{bucket['bucket_id']}/batches/list", json={}).json()["results"]
    assert sorted(len(b["object_ids"]) for b in batches) == [1, 1, 2]
    assert {b["status"] for b in batches} == {"QUEUED"}
    for b in batches:
        client.post(f"/v1/batches/{b['batch_id']}/cancel")


def test_inboxes_are_keyed_by_ids_and_one_broken_bucket_does_not_stop_the_others(dagster_live):
    ns, client = dagster_live.api.new_namespace()
    good = corpus(client, [])["bucket"]
    # a file put under the bucket's *names* is in no inbox: another organisation may use the same names
    by_name = dagster_live.settings.objects_dir / "inbox" / ns / good["bucket_name"]
    by_name.mkdir(parents=True, exist_ok=True)
    (by_name / "not-mine.txt").write_text("another tenant's note")
    (_inbox(dagster_live, good) / "mine.txt").write_text("tidal energy comes from the moon")
    # a bucket whose id cannot name a folder (an older catalog, a hand edit) fails alone, and says so
    with dagster_live.api.services.catalog.session() as s:
        s.add(Bucket(bucket_id="../../escape", namespace_id=good["namespace_id"], bucket_name="broken"))
    try:
        # closed when done: logging the broken bucket opens an instance in the context, which would otherwise
        # stay the thread's current Dagster state storage after the test
        with build_sensor_context(instance=dagster_live.instance, resources={"warehouse": dagster_live.resource}) as ctx:
            result = scan_inboxes(ctx, dagster_live.resource, "local")
            cursor = json.loads(ctx.cursor)
        registered = {e.partition: e.metadata["new_objects"].value for e in result.asset_events}
        assert registered[good["bucket_id"]] == 1 and "../../escape" not in registered
        objects = client.get(f"/v1/buckets/{good['bucket_id']}/objects").json()["results"]
        assert [o["file_name"] for o in objects] == ["mine.txt"]
        assert "../../escape" not in cursor
    finally:
        with dagster_live.api.services.catalog.session() as s:
            s.query(Bucket).filter(Bucket.bucket_id == "../../escape").delete()
        for b in client.post(f"/v1/buckets/{good['bucket_id']}/batches/list", json={}).json()["results"]:
            client.post(f"/v1/batches/{b['batch_id']}/cancel")


def test_s3_sensor_is_off_on_a_local_deployment(dagster_live):
    ctx = build_sensor_context(instance=dagster_live.instance, resources={"warehouse": dagster_live.resource})
    result = s3_new_objects(ctx)
    assert isinstance(result, SkipReason) and "WAREHOUSE_OBJECT_STORE=s3" in result.skip_message


@pytest.mark.s3
def test_object_put_into_s3_is_found_by_the_sensor_and_processed_into_searchable_documents(dagster_live, s3_endpoint,
                                                                                           monkeypatch):
    ns, client = dagster_live.api.new_namespace()
    c = corpus(client, [])
    bucket, collection = c["bucket"], c["collection"]
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1", aws_access_key_id="test",
                      aws_secret_access_key="test")
    s3.create_bucket(Bucket="wh-inbox")
    key = f"inbox/{bucket['namespace_id']}/{bucket['bucket_id']}/reports/tides.txt"
    s3.put_object(Bucket="wh-inbox", Key=key, Body=b"The moon's gravity raises ocean tides twice a day.")
    s3.put_object(Bucket="wh-inbox", Key=f"inbox/{bucket['namespace_id']}/{bucket['bucket_id']}/reports/volcano.txt",
                  Body=b"Lava flows from volcanoes cool into basalt.")
    resource = OwnerWarehouse(**{**dagster_live.resource.model_dump(), "object_store": "s3",
                                 "s3_endpoint_url": s3_endpoint, "s3_bucket": "wh-inbox"})
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")

    from dagster_aws.s3 import S3Resource

    made = []  # the sensor's S3 client is dagster-aws's S3Resource's, configured from the same settings
    real_get_client = S3Resource.get_client
    monkeypatch.setattr(S3Resource, "get_client", lambda self: made.append(self) or real_get_client(self))
    ctx = build_sensor_context(instance=dagster_live.instance, resources={"warehouse": resource})
    found = s3_new_objects(ctx)
    assert not isinstance(found, SkipReason), found.skip_message
    assert made and made[0].endpoint_url == s3_endpoint and made[0].region_name == "us-east-1"
    apply(dagster_live.instance, found)
    assert found.asset_events[0].metadata["new_objects"].value == 2
    assert json.loads(ctx.cursor)[bucket["bucket_id"]][1] == key.replace("tides", "volcano")  # the later file

    result, _ = tick(dagster_live, queued_batches)
    [request] = [r for r in result.run_requests if r.tags["warehouse/bucket_id"] == bucket["bucket_id"]]
    assert run_partition(dagster_live, request).success

    ret = client.post("/v1/retrievers/execute", json={
        "collection_identifiers": [collection["collection_id"]],
        "stages": [{"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": collection["vector_indexes"][0]["feature_uri"],
                          "query": {"input_mode": "text", "value": "The moon's gravity raises ocean tides twice a day."},
                          "top_k": 5}]}}}]})
    assert ret.status_code == 200, ret.text
    top = ret.json()["documents"][0]
    assert top["text"].startswith("The moon's gravity")
    obj = client.get(f"/v1/buckets/{bucket['bucket_id']}/objects/{top['source_object_id']}").json()
    assert obj["source_key"] == key and obj["relative_path"] == "reports/tides.txt"
