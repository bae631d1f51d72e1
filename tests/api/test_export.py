"""``POST /v1/collections/{c}/export`` against the live server: every format read back from its download URL (this
server's signed URL on a local home, S3's presigned one on S3), vectors, lineage, selection, filters, samples,
WebDataset shards with media — and the URL's walls."""

from __future__ import annotations

import csv
import io
import json
import tarfile
from urllib.parse import parse_qs, urlsplit

import httpx
import pyarrow.parquet as pq
import pytest

from tests.api.seeding import in_process_api, text_collection
from tests.conftest import wait_batch
from warehouse.api.routes import exports

pytestmark = [pytest.mark.ray]

TEXTS = [("Glaciers carve valleys over millennia.", "ice", 3), ("Coral reefs shelter a quarter of sea life.", "sea", 1),
         ("Sea ice melts earlier each spring.", "ice", 2), ("Tides follow the moon.", "sea", 5)]


@pytest.fixture(scope="module")
def env(live):
    _, client = live.new_namespace()
    bucket, coll = text_collection(client, "notes", "notes-text", {"topic": {"type": "string"},
                                                                   "rank": {"type": "number"}})
    for text, topic, rank in TEXTS:
        made = client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
            "topic": topic, "rank": rank, "blobs": [{"property": "content", "type": "text", "data": text}]})
        assert made.status_code == 200, made.text
    batch = client.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={}, params={"auto_submit": True}).json()
    assert wait_batch(client, batch["batch_id"])["status"] == "COMPLETED"
    yield client, coll["collection_id"]
    client.close()


def _export(client, coll, **body) -> dict:
    resp = client.post(f"/v1/collections/{coll}/export", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _get(url: str) -> bytes:
    got = httpx.get(url)  # no key: the URL is the grant
    assert got.status_code == 200, got.text
    return got.content


def test_parquet_with_vectors_and_lineage(env):
    client, coll = env
    out = _export(client, coll, include_vectors=True, include_lineage=True)
    assert out["format"] == "parquet" and out["document_count"] == len(TEXTS)
    table = pq.read_table(io.BytesIO(_get(out["download_url"])))
    assert table.num_rows == len(TEXTS) and out["file_size_bytes"] > 0
    rows = table.to_pylist()
    assert sorted(r["text"] for r in rows) == sorted(t for t, *_ in TEXTS)
    assert "_internal" not in table.column_names
    chain = json.loads(rows[0]["lineage_chain"])  # nested values are JSON text in Parquet
    assert [step["type"] for step in chain] == ["bucket", "object", "batch", "collection", "document"]
    assert chain[-1]["id"] == rows[0]["document_id"] and rows[0]["document_created_at"] == rows[0]["created_at"]
    assert rows[0]["source_content_hash"]

    vectors = pq.read_table(io.BytesIO(_get(out["vectors_download_url"]))).to_pylist()
    dense = [v for v in vectors if v["indices"] is None]
    assert len(dense) == len(TEXTS) and all(len(v["values"]) == 384 for v in dense)
    assert {v["document_id"] for v in vectors} == {r["document_id"] for r in rows}
    assert any(v["indices"] for v in vectors)  # the BM25 index's sparse vectors, with their indices


def test_json_lines_selected_filtered_and_sampled(env):
    client, coll = env
    out = _export(client, coll, format="json", select_fields=["text"],
                  filters={"field": "text", "operator": "contains", "value": "sea"})
    rows = [json.loads(line) for line in _get(out["download_url"]).decode().splitlines()]
    assert sorted(r["text"] for r in rows) == ["Coral reefs shelter a quarter of sea life.",
                                               "Sea ice melts earlier each spring."]
    assert all(set(r) == {"document_id", "text"} for r in rows) and out["document_count"] == 2
    assert out["vectors_download_url"] is None

    sampled = _export(client, coll, format="json", sample_size=3, include_vectors=True)
    assert sampled["document_count"] == 3
    lines = _get(sampled["vectors_download_url"]).decode().splitlines()
    assert len(lines) == 3 and all(json.loads(line)["vectors"] for line in lines)


def test_csv_has_one_column_per_field(env):
    client, coll = env
    out = _export(client, coll, format="csv", include_lineage=True)
    rows = list(csv.DictReader(io.StringIO(_get(out["download_url"]).decode())))
    assert len(rows) == len(TEXTS) and {"document_id", "text", "lineage_chain", "feature_refs"} <= set(rows[0])
    assert json.loads(rows[0]["feature_refs"]) and json.loads(rows[0]["lineage_chain"])[0]["type"] == "bucket"


def test_webdataset_shards_carry_each_documents_row_and_blob(env):
    client, coll = env
    out = _export(client, coll, format="webdataset", include_media=True, samples_per_shard=3)
    assert out["shard_count"] == 2 and out["shard_pattern"] == "documents-{000000..000001}.tar"
    assert [s["sample_count"] for s in out["shards"]] == [3, 1]
    members = {}
    for shard in out["shards"]:
        with tarfile.open(fileobj=io.BytesIO(_get(shard["download_url"]))) as tar:
            for member in tar.getmembers():
                members[member.name] = tar.extractfile(member).read()
    rows = {name[:-5]: json.loads(data) for name, data in members.items() if name.endswith(".json")}
    assert len(rows) == len(TEXTS)
    for key, row in rows.items():
        assert members[f"{key}.txt"].decode() == row["text"]  # the source blob beside its row
    assert out["media"]["samples_with_media"] == len(TEXTS) and out["media"]["objects_not_found"] == 0
    assert out["media"]["media_bytes"] == sum(len(t.encode()) for t, *_ in TEXTS)


def test_a_download_url_is_good_for_its_file_only_and_only_until_it_expires(env, live):
    client, coll = env
    url = _export(client, coll, format="json")["download_url"]
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    base = f"{parts.scheme}://{parts.netloc}"
    namespace_id, export_id, filename = parts.path.split("/")[-3:]

    other = httpx.get(f"{base}/v1/exports/{namespace_id}/{export_id}/vectors.jsonl", params=query)
    assert other.status_code == 403 and "signature" in other.text  # signed for documents.jsonl, not this
    forged = httpx.get(f"{base}{parts.path}", params={**query, "expires": int(query["expires"]) + 3600})
    assert forged.status_code == 403  # a later expiry breaks the signature
    assert httpx.get(f"{base}{parts.path}", params={**query, "signature": "0" * 64}).status_code == 403
    assert httpx.get(f"{base}/v1/exports/{namespace_id}/{export_id}/..%2F..%2Fcatalog.db",
                     params=query).status_code == 404
    assert httpx.get(f"{base}{parts.path}").status_code == 422  # no grant at all

    # signed by the server's own signer, for a time two hours ago
    stale = exports._sign(live.services, namespace_id, export_id, filename, int(query["expires"]) - 7200)
    expired = httpx.get(f"{base}{parts.path}", params={"expires": int(query["expires"]) - 7200, "signature": stale})
    assert expired.status_code == 403 and "expired" in expired.text


@pytest.mark.parametrize("body, location", [
    ({"destination": {"connection_id": "conn_1", "prefix": "out/"}}, "destination"),
    ({"format": "json", "include_media": True}, "include_media"),
    ({"format": "csv", "samples_per_shard": 10}, "samples_per_shard"),
    ({"format": "xml"}, "format"),
    ({"sample_size": 0}, "sample_size"),
    ({"select_fields": ["text", "a..b"]}, "select_fields[1]"),
    ({"select_fields": []}, "select_fields"),
    ({"filters": {"field": "text", "operator": "sounds_like", "value": "x"}}, "filters"),
    ({"include_vectors": "yes"}, "include_vectors"),
    ({"colour": "red"}, "colour"),
])
def test_bad_exports_are_refused_by_name(env, body, location):
    client, coll = env
    resp = client.post(f"/v1/collections/{coll}/export", json=body)
    assert resp.status_code == 422 and location in resp.text, resp.text


def test_on_s3_the_download_url_is_presigned_by_s3(tmp_path, s3_endpoint):
    settings = {"object_store": "s3", "s3_endpoint_url": s3_endpoint, "s3_bucket": "wh-exports",
                "s3_access_key_id": "test", "s3_secret_access_key": "test"}
    with in_process_api(tmp_path / "home", **settings) as (http, _):
        _, coll = text_collection(http, "b", "c")
        made = http.post(f"/v1/collections/{coll['collection_id']}/documents", json={"text": "written directly"})
        assert made.status_code == 200, made.text
        out = http.post(f"/v1/collections/{coll['collection_id']}/export", json={"format": "json"}).json()
        assert out["download_url"].startswith(s3_endpoint) and out["s3_path"].startswith("s3://wh-exports/exports/")
        (row,) = [json.loads(line) for line in _get(out["download_url"]).decode().splitlines()]
        assert row["text"] == "written directly"
