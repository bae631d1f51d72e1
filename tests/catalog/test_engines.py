"""The catalog on each engine it supports — SQLite (embedded) and PostgreSQL (a real server on loopback) — answers
the API alike, and two processes finishing parts of one batch at the same moment lose neither part."""

from __future__ import annotations

import multiprocessing

from tests.api.seeding import in_process_api, text_collection
from tests.api.test_documents import unit
from warehouse.catalog import Batch, Catalog

DENSE = "all_minilm_l6_v2_v1"
ROUNDS = 8


def test_the_api_reads_back_what_it_stored_on_sqlite_and_postgres(tmp_path, catalog_url):
    with in_process_api(tmp_path, ("default", "other"), database_url=catalog_url) as (http, made):
        assert http.app.state.services.catalog.url == catalog_url
        bucket = http.post("/v1/buckets", json={"bucket_name": "products", "bucket_schema": {"properties": {
            "content": {"type": "text"}, "sku": {"type": "string"}}},
            "unique_key": {"fields": ["sku"], "default_policy": "upsert"}}).json()
        first = http.post("/v1/buckets/products/objects", json={
            "blobs": [{"property": "content", "type": "text", "data": "red shoe"}], "sku": "A1"}).json()
        again = http.post("/v1/buckets/products/objects", json={
            "blobs": [{"property": "content", "type": "text", "data": "blue shoe"}], "sku": "A1"}).json()
        assert (first["operation"], again["operation"]) == ("created", "updated")
        assert again["object_id"] == first["object_id"]
        assert http.get("/v1/buckets/products/objects").json()["total_count"] == 1
        _, coll = text_collection(http, "notes", "c")
        for i in range(3):
            http.post("/v1/collections/c/documents", json={"vectors": {DENSE: unit(i)}, "text": f"doc {i}"})
        assert http.get("/v1/collections/c/documents/count").json()["count"] == 3
        made_r = http.post("/v1/retrievers", json={"retriever_name": "r", "collection_ids": ["c"], "stages": [
            {"stage_id": "attribute_filter", "parameters": {"field": "text", "operator": "eq", "value": "doc 1"}}]})
        assert made_r.status_code == 200, made_r.text
        assert http.patch("/v1/retrievers/r", json={"description": "two"}).json()["version"] == 2
        assert http.post("/v1/retrievers/r/rollback", json={"version": 1}).json()["version"] == 3
        assert [v["version"] for v in http.get("/v1/retrievers/r/versions").json()["results"]] == [1, 2, 3]
        assert [d["text"] for d in http.post("/v1/retrievers/r/execute", json={}).json()["documents"]] == ["doc 1"]
        draft = http.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={}).json()
        assert http.patch(f"/v1/buckets/products/batches/{draft['batch_id']}",
                          json={"metadata": {"owner": "ml"}}).json()["metadata"] == {"owner": "ml"}
        assert http.post("/v1/batches/list", json={"status": "DRAFT"}).json()["total_count"] == 1
        assert http.post("/v1/batches/list", json={"collection_id": coll["collection_id"]}).json()["total_count"] == 0
        stats = http.get("/v1/namespaces/default/stats").json()
        assert (stats["bucket_count"], stats["collection_count"], stats["object_count"]) == (2, 1, 1)
        taken = http.post("/v1/buckets", json={"bucket_name": "products"})
        assert taken.status_code == 409  # the unique constraint, on either engine, is a conflict naming it
        other = made["other"].namespace_id
        assert http.get("/v1/buckets", headers={"X-Namespace": other}).json()["total_count"] == 0


def _finish_parts(url: str, batch_ids: list[str], collection_id: str, barrier) -> None:
    """One process: at each batch, wait for the other, then record this collection's part as finished."""
    from warehouse.batch.runner import record_part

    catalog = Catalog(url)
    for batch_id in batch_ids:
        barrier.wait(timeout=60)
        record_part(catalog, batch_id, collection_id, {"status": "COMPLETED", "documents_written": 2,
                                                       "documents_replaced": 0})
    catalog.dispose()


def test_two_processes_finishing_parts_of_one_batch_lose_neither_on_sqlite_and_postgres(catalog_url):
    catalog = Catalog(catalog_url)
    ids = [f"btch_{i}" for i in range(ROUNDS)]
    with catalog.session() as s:
        for batch_id in ids:
            s.add(Batch(batch_id=batch_id, namespace_id="ns_1", bucket_id="bkt_1", status="PROCESSING",
                        object_ids=["obj_1"], collection_ids=["col_a", "col_b"]))
    ctx = multiprocessing.get_context("spawn")
    barrier = ctx.Barrier(2)
    workers = [ctx.Process(target=_finish_parts, args=(catalog_url, ids, c, barrier)) for c in ("col_a", "col_b")]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=240)
    assert [w.exitcode for w in workers] == [0, 0]
    with catalog.session() as s:
        for batch_id in ids:
            b = s.get(Batch, batch_id)
            assert set(b.stats["collections"]) == {"col_a", "col_b"}, (batch_id, b.stats)
            assert b.status == "COMPLETED" and b.documents_written == 4
    catalog.dispose()
