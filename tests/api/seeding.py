"""One of every namespace resource, made through the API: a bucket with an object, a collection that processed it
(a batch, its task, a document), a retriever over it, an alert on it, a taxonomy and a cluster definition;
and the in-process app the tests that need no server use."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from fastapi.testclient import TestClient

from warehouse.api.app import create_app
from warehouse.catalog.bootstrap import ensure_api_key, ensure_namespace
from warehouse.services import Services
from warehouse.settings import Settings


def seed_namespace(client: httpx.Client, tag: str) -> dict:
    """Create the resources in ``client``'s namespace; returns their API bodies by kind."""
    bucket = client.post("/v1/buckets", json={"bucket_name": f"bkt-{tag}", "bucket_schema": {
        "properties": {"content": {"type": "text"}}}}).json()
    obj = client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "blobs": [{"property": "content", "type": "text", "data": "Glaciers carve valleys over millennia."}]}).json()
    coll = client.post("/v1/collections", json={
        "collection_name": f"col-{tag}", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}}}).json()
    batch = client.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={}, params={"auto_submit": True}).json()
    for _ in range(600):
        state = client.get(f"/v1/batches/{batch['batch_id']}").json()
        if state["status"] in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED"):
            break
        time.sleep(0.2)
    assert state["status"] == "COMPLETED", state
    doc = client.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={}).json()["results"][0]
    uri = coll["vector_indexes"][0]["feature_uri"]
    retriever = client.post("/v1/retrievers", json={
        "retriever_name": f"ret-{tag}", "collection_identifiers": [coll["collection_id"]],
        "input_schema": {"query": {"type": "string"}},
        "stages": [{"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": uri, "query": {"input_mode": "text", "text": "{{INPUT.query}}"},
                          "top_k": 5}], "final_top_k": 5}}}]}).json()
    alert = client.post("/v1/alerts", json={"alert_name": f"alt-{tag}", "collection_id": coll["collection_id"],
                                            "condition": {"field": "text", "operator": "contains", "value": "glacier"}}).json()
    taxonomy = client.post("/v1/taxonomies", json={
        "taxonomy_name": f"tax-{tag}", "taxonomy_type": "flat", "retriever_id": retriever["retriever_id"],
        "collection_id": coll["collection_id"], "input_mappings": [{"source": "payload.text", "target": "query"}],
        "enrichment_fields": [{"source": "payload.text", "target": "nearest_text"}], "execution_mode": "on_demand"})
    assert taxonomy.status_code == 200, taxonomy.text
    cluster = client.post("/v1/clusters", json={
        "cluster_name": f"clu-{tag}", "collection_ids": [coll["collection_id"]],
        "vector_config": {"feature_uri": uri, "clustering_method": "kmeans", "kmeans_parameters": {"n_clusters": 1}}})
    assert cluster.status_code == 200, cluster.text
    return {"bucket": bucket, "object": obj, "collection": coll, "batch": state, "document": doc,
            "retriever": retriever, "alert": alert, "taxonomy": taxonomy.json(), "cluster": cluster.json()}


@contextmanager
def in_process_api(home: Path, namespaces: tuple[str, ...] = ("default",),
                   **overrides) -> Iterator[tuple[TestClient, dict]]:
    """The API app on a fresh home, without a server or Ray: a client speaking as an admin key in the first of
    ``namespaces`` (all created), and the namespaces by name. ``overrides`` are settings (``database_url``…)."""
    settings = Settings(home=home, warm_batch_workers=False, **overrides)
    svc = Services.from_settings(settings)
    try:
        key = ensure_api_key(svc.catalog, settings.organization_id)
        made = {name: ensure_namespace(svc.catalog, settings.organization_id, name) for name in namespaces}
        http = TestClient(create_app(settings, svc, resume=False))
        http.headers.update({"Authorization": f"Bearer {key}", "X-Namespace": namespaces[0]})
        yield http, made
    finally:
        svc.close()


def text_collection(client, bucket: str, collection: str, properties: dict | None = None) -> tuple[dict, dict]:
    """A bucket (a ``content`` text property, plus ``properties``) and a MiniLM ``text_extractor`` collection over
    it; their API bodies."""
    made = client.post("/v1/buckets", json={"bucket_name": bucket, "bucket_schema": {
        "properties": {"content": {"type": "text"}, **(properties or {})}}}).json()
    coll = client.post("/v1/collections", json={
        "collection_name": collection, "source": {"type": "bucket", "bucket_ids": [made["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}}}).json()
    return made, coll
