"""``warehouse export`` / ``warehouse import``: an embedded home (SQLite, local blobs, Edge) moved into a home on a real
PostgreSQL catalog and a real S3 endpoint (moto) — every row, blob and document, blob URLs rewritten to the new
store, searches answering the same; a non-empty target and a foreign archive refused with the reason."""

from __future__ import annotations

import base64
import tarfile

import pytest
from typer.testing import CliRunner

from tests.api.seeding import in_process_api, text_collection
from tests.api.test_documents import unit
from tests.conftest import new_postgres_database
from tests.extractors.media_files import PDFS
from warehouse.cli.app import app
from warehouse.migrate import MigrationError, export_home, import_home
from warehouse.settings import Settings

pytestmark = [pytest.mark.postgres, pytest.mark.s3]


def _search(http, dense, seed: int) -> list[str]:
    found = http.post("/v1/retrievers/execute", json={
        "collection_identifiers": ["c"], "inputs": {}, "stages": [{"stage_name": "s", "stage_type": "filter", "config": {
            "stage_id": "feature_search", "parameters": {"searches": [{"feature_uri": dense["feature_uri"],
                                                                      "query": {"input_mode": "vector", "value": unit(seed)},
                                                                      "top_k": 3}], "final_top_k": 3}}}]})
    assert found.status_code == 200, found.text
    return [d["document_id"] for d in found.json()["documents"]]


def test_an_embedded_home_moves_to_postgres_and_s3_with_everything_in_it(tmp_path, postgres_server, s3_endpoint,
                                                                         monkeypatch):
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    source = tmp_path / "embedded"
    with in_process_api(source) as (http, _):
        bucket, coll = text_collection(http, "b", "c", {"file": {"type": "pdf"}})
        dense = next(vi for vi in coll["vector_indexes"] if vi["index"]["type"] == "dense")
        pdf = (PDFS / "minimal-document.pdf").read_bytes()
        obj = http.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={"blobs": [
            {"property": "content", "type": "text", "data": "Glaciers carve valleys."},
            {"property": "file", "type": "pdf", "data": base64.b64encode(pdf).decode()}]}).json()
        docs = [http.post("/v1/collections/c/documents", json={
            "vectors": {dense["name"]: unit(i)}, "text": f"note {i}", "source_object_id": obj["object_id"]}).json()
            for i in range(5)]
        before = {"search": _search(http, dense, 3), "count": http.get("/v1/collections/c/documents/count").json()}
        (source / "models").mkdir(exist_ok=True)
        (source / "models" / "tiny.pt").write_bytes(b"weights")
    archive = tmp_path / "home.tar.gz"
    result = CliRunner().invoke(app, ["export", str(archive), "--home", str(source)])
    assert result.exit_code == 0, result.output
    with tarfile.open(archive) as tar:
        names = tar.getnames()
    assert "manifest.json" in names and "catalog/objects.jsonl" in names and "home/models/tiny.pt" in names

    target = tmp_path / "scaled"
    settings = {"database_url": new_postgres_database(postgres_server), "object_store": "s3",
                "s3_endpoint_url": s3_endpoint, "s3_bucket": "wh-migrated"}
    for key, value in settings.items():
        monkeypatch.setenv(f"WAREHOUSE_{key.upper()}", value)
    result = CliRunner().invoke(app, ["import", str(archive), "--home", str(target)])
    assert result.exit_code == 0, result.output
    again = CliRunner().invoke(app, ["import", str(archive), "--home", str(target)])
    assert again.exit_code == 2 and "already holds 1 namespace(s)" in again.output  # never merged into

    with in_process_api(target, namespaces=("default",), **settings) as (http, _):
        moved = http.get(f"/v1/buckets/{bucket['bucket_id']}/objects/{obj['object_id']}").json()
        [pdf_blob] = [b for b in moved["blobs"] if b["type"] == "pdf"]
        assert pdf_blob["url"].startswith("s3://wh-migrated/")
        store = http.app.state.services.objects
        assert store.get(store.key_from_url(pdf_blob["url"])) == pdf
        assert http.get("/v1/collections/c/documents/count").json() == before["count"]
        assert _search(http, dense, 3) == before["search"]
        got = http.get(f"/v1/collections/c/documents/{docs[0]['document_id']}").json()
        assert got["text"] == "note 0" and got["source_object_id"] == obj["object_id"]
    assert (target / "models" / "tiny.pt").read_bytes() == b"weights"


def test_a_foreign_or_truncated_archive_is_refused(tmp_path):
    bad = tmp_path / "not.tar"
    bad.write_bytes(b"hello")
    with pytest.raises(MigrationError, match="not a readable tar archive"):
        import_home(Settings(home=tmp_path / "t"), bad)
    empty = tmp_path / "empty.tar"
    with tarfile.open(empty, "w"):
        pass
    with pytest.raises(MigrationError, match="no manifest.json"):
        import_home(Settings(home=tmp_path / "t"), empty)
    with in_process_api(tmp_path / "src"):
        pass
    out = tmp_path / "ok.tar"
    export_home(Settings(home=tmp_path / "src"), out, log=lambda _: None)
    assert import_home(Settings(home=tmp_path / "fresh"), out, log=lambda _: None)["tables"]["namespaces"] == 1
