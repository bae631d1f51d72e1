"""``warehouse serve``: API replicas as the scale-out shape runs them (deploy/kubernetes/warehouse-api.yaml) — two
processes with their own homes on one PostgreSQL catalog and one S3 store (moto), the second reaching the index
through the first (the owner): what one replica writes, the other serves."""

from __future__ import annotations

import base64
import time

import httpx
import pytest

from tests.api.test_documents import unit
from tests.conftest import free_port, new_postgres_database, start_serve, stop_process, wait_alive
from tests.extractors.media_files import PDFS

pytestmark = [pytest.mark.postgres, pytest.mark.s3, pytest.mark.slow]


def test_two_replicas_on_one_postgres_catalog_and_s3_serve_the_same_namespaces(tmp_path, postgres_server,
                                                                              s3_endpoint):
    shared = {"WAREHOUSE_DATABASE_URL": new_postgres_database(postgres_server), "WAREHOUSE_OBJECT_STORE": "s3",
              "WAREHOUSE_S3_ENDPOINT_URL": s3_endpoint, "WAREHOUSE_S3_BUCKET": "wh-replicas",
              "AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test", "WAREHOUSE_API_KEY": "sk_replicas_test",
              "WAREHOUSE_INTERNAL_TOKEN": "internal-replicas-test", "WAREHOUSE_WARM_BATCH_WORKERS": "false"}
    owner_port, replica_port = free_port(), free_port()
    owner_url, replica_url = f"http://127.0.0.1:{owner_port}", f"http://127.0.0.1:{replica_port}"
    owner = start_serve(tmp_path / "a", owner_port, shared)
    replica = start_serve(tmp_path / "b", replica_port, {**shared, "WAREHOUSE_INDEX_STORE": "remote",
                                                    "WAREHOUSE_INDEX_OWNER_URL": owner_url})
    try:
        wait_alive(owner_url, owner)
        wait_alive(replica_url, replica)
        headers = {"Authorization": "Bearer sk_replicas_test", "X-Namespace": "default"}
        a, b = httpx.Client(base_url=owner_url, headers=headers), httpx.Client(base_url=replica_url, headers=headers)
        bucket = b.post("/v1/buckets", json={"bucket_name": "shared", "bucket_schema": {"properties": {
            "content": {"type": "text"}, "file": {"type": "pdf"}}}}).json()
        pdf = (PDFS / "minimal-document.pdf").read_bytes()
        obj = b.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={"blobs": [
            {"property": "content", "type": "text", "data": "Written through the replica."},
            {"property": "file", "type": "pdf", "data": base64.b64encode(pdf).decode()}]})
        assert obj.status_code == 200, obj.text
        seen = a.get(f"/v1/buckets/{bucket['bucket_id']}/objects/{obj.json()['object_id']}").json()
        assert [x["url"].split("/")[2] for x in seen["blobs"] if x["type"] == "pdf"] == ["wh-replicas"]  # in S3
        coll = a.post("/v1/collections", json={
            "collection_name": "c", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "content"}}}).json()
        dense = next(vi for vi in coll["vector_indexes"] if vi["index"]["type"] == "dense")
        made = b.post("/v1/collections/c/documents", json={"vectors": {dense["name"]: unit(7)}, "text": "via b"})
        assert made.status_code == 200, made.text  # the replica writes through the owner's index
        assert a.get("/v1/collections/c/documents/count").json()["count"] == 1
        found = a.post("/v1/retrievers/execute", json={"collection_identifiers": ["c"], "stages": [{
            "stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
                "searches": [{"feature_uri": dense["feature_uri"], "query": {"input_mode": "vector", "value": unit(7)},
                              "top_k": 1}]}}}]}).json()["documents"]
        assert found[0]["document_id"] == made.json()["document_id"]
        assert b.get("/v1/collections/c/documents/count").json()["count"] == 1
        # Lookups a replica caches (collections by name, for 2 s) do not outlive their TTL when another replica
        # changes the catalog: B cached "c" by executing over it; A deletes it; B then says it is gone.
        body = {"collection_identifiers": ["c"], "stages": [{"stage_name": "s", "stage_type": "filter", "config": {
            "stage_id": "feature_search", "parameters": {"searches": [{"feature_uri": dense["feature_uri"], "query": {
                "input_mode": "vector", "value": unit(7)}, "top_k": 1}]}}}]}
        assert b.post("/v1/retrievers/execute", json=body).status_code == 200
        assert a.delete("/v1/collections/c").status_code == 200
        time.sleep(2.5)
        gone = b.post("/v1/retrievers/execute", json=body)
        assert gone.status_code == 404 and "'c'" in gone.text, gone.text
    finally:
        for proc in (replica, owner):
            stop_process(proc)


def test_two_replicas_deliver_each_webhook_event_once(tmp_path, postgres_server):
    """Both replicas run a webhook dispatcher over the shared catalog; 300 events arrive at once (written by a third
    process, as a Dagster run writes them): each reaches the receiver once — no event fanned out twice, no delivery
    sent twice, none lost."""
    from tests.enrichment.test_webhooks import Receiver
    from warehouse.catalog import Catalog, Namespace, WebhookDelivery
    from warehouse.catalog.events import record_event

    catalog_url = new_postgres_database(postgres_server)
    shared = {"WAREHOUSE_DATABASE_URL": catalog_url, "WAREHOUSE_API_KEY": "sk_replicas_test",
              "WAREHOUSE_OUTBOUND_ALLOWED_HOSTS": "127.0.0.1", "WAREHOUSE_WARM_BATCH_WORKERS": "false"}
    ports = [free_port(), free_port()]
    procs = [start_serve(tmp_path / f"r{i}", port, shared) for i, port in enumerate(ports)]
    receiver = Receiver()
    try:
        for port, proc in zip(ports, procs, strict=True):
            wait_alive(f"http://127.0.0.1:{port}", proc)
        client = httpx.Client(base_url=f"http://127.0.0.1:{ports[0]}",
                              headers={"Authorization": "Bearer sk_replicas_test", "X-Namespace": "default"})
        hook = client.post("/v1/organizations/webhooks", json={"webhook_name": "all", "url": receiver.url,
                                                               "events": ["document.created"]})
        assert hook.status_code == 200, hook.text
        catalog = Catalog(catalog_url)
        with catalog.session() as s:
            ns = s.query(Namespace).filter(Namespace.namespace_name == "default").one().namespace_id
            ids = [record_event(s, "document.created", ns, f"r{i}", {"i": i}, f"replica-test:{i}").event_id
                   for i in range(300)]
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and len(receiver.bodies("document.created")) < 300:
            time.sleep(0.5)
        time.sleep(3)  # a duplicate would arrive now
        received = [b["event_id"] for b in receiver.bodies("document.created")]
        assert sorted(received) == sorted(ids), (len(received), len(set(received)))
        with catalog.session() as s:
            rows = s.query(WebhookDelivery.event_id, WebhookDelivery.status).filter(
                WebhookDelivery.event_type == "document.created").all()
        assert len(rows) == 300 and {status for _, status in rows} == {"SUCCEEDED"}
        catalog.dispose()
    finally:
        receiver.close()
        for proc in procs:
            stop_process(proc)
