"""Custom extractors over HTTP, as the docs drive them: zip → upload URL → PUT → confirm → deploy → collection →
batch → retriever, with no restart in between (0.81 ``plugins`` and 0.82 ``extractors`` routes); and every bad
upload refused with a precise error, storing nothing a collection could use."""

from __future__ import annotations

import io
import shutil
import stat
import time
import zipfile
from pathlib import Path

import httpx
import pytest

from tests.conftest import wait_batch

ROOT = Path(__file__).resolve().parents[2]
TEXT_EMBED = ROOT / "examples" / "extractors" / "text_embed"


def plugin_folder(tmp_path: Path, name: str, version: str = "1.0.0", extra: dict[str, str] | None = None) -> Path:
    """The docs' text_embed example under another name (the live server installs text_embed itself)."""
    folder = tmp_path / name
    shutil.copytree(TEXT_EMBED, folder, ignore=shutil.ignore_patterns("__pycache__"))
    for path in folder.glob("*.py"):
        path.write_text(path.read_text().replace("text_embed", name).replace('"1.0.0"', f'"{version}"')
                        .replace("@1.0.0", f"@{version}"))
    for rel, text in (extra or {}).items():
        (folder / rel).write_text(text)
    return folder


def zip_folder(folder: Path) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                zf.write(path, f"{folder.name}/{path.relative_to(folder).as_posix()}")
    return buf.getvalue()


def _wait_status(http: httpx.Client, url: str, want: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        body = http.get(url).json()
        if body["status"] in (want, "FAILED"):
            return body
        time.sleep(0.3)
    raise AssertionError(f"{url} still {body['status']} after {timeout} s")


def _search(live, ns: str, name: str, version: str) -> None:
    """Bucket → objects → collection on the plugin → batch → retriever → the exact text's object first."""
    texts = ["Revenue increased 22% year-over-year", "Operating margin fell to 18%", "The board approved a buyback"]
    with live.client(ns) as c:
        bucket = c.post("/v1/buckets", json={"bucket_name": f"filings-{name}", "bucket_schema": {
            "properties": {"filing_text": {"type": "text"}}}}).json()["bucket_id"]
        objects = [c.post(f"/v1/buckets/{bucket}/objects", json={
            "blobs": [{"property": "filing_text", "type": "text", "data": t}]}).json()["object_id"] for t in texts]
        resp = c.post("/v1/collections", json={
            "collection_name": f"chunks-{name}", "source": {"type": "bucket", "bucket_id": bucket},
            "feature_extractor": {"feature_extractor_name": name, "version": version,
                                  "input_mappings": {"text": "filing_text"}}})
        assert resp.status_code == 200, resp.text
        collection = resp.json()
        uri = f"mixpeek://{name}@{version}/{name}_v1_embedding"
        assert uri in [v["feature_uri"] for v in collection["vector_indexes"]]
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()["batch_id"]
        done = wait_batch(c, batch)
        assert done["status"] == "COMPLETED", done
        retriever = c.post("/v1/retrievers", json={
            "retriever_name": f"search-{name}", "collection_identifiers": [collection["collection_id"]],
            "input_schema": {"query": {"type": "text"}},
            "stages": [{"stage_name": "semantic", "stage_type": "filter", "config": {"stage_id": "feature_search",
                        "parameters": {"searches": [{"feature_uri": uri, "query": "{{INPUT.query}}", "top_k": 3}],
                                       "final_top_k": 3}}}]}).json()["retriever_id"]
        hits = c.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"query": texts[1]}})
        assert hits.status_code == 200, hits.text
        docs = hits.json()["documents"]
        assert len(docs) == 3 and docs[0]["source_object_id"] == objects[1]


def test_the_docs_081_curl_sequence_goes_from_zip_to_search_without_a_restart(live, tmp_path):
    ns, _ = live.new_namespace()
    archive = zip_folder(plugin_folder(tmp_path, "sec_embed"))
    auth = {"Authorization": f"Bearer {live.key}"}
    with httpx.Client(base_url=live.base_url, headers=auth, timeout=120) as http:
        base = f"/v1/namespaces/{ns}/plugins"
        upload = http.post(f"{base}/uploads", json={"name": "sec_embed", "version": "1.0.0"})
        assert upload.status_code == 200, upload.text
        up = upload.json()
        assert {"upload_id", "presigned_url", "s3_key", "expires_at", "namespace_id", "name", "version"} <= set(up)
        put = httpx.put(up["presigned_url"], content=archive)  # no credentials: the URL is the grant
        assert put.status_code == 200, put.text
        confirm = http.post(f"{base}/uploads/{up['upload_id']}/confirm", json={"etag": put.json()["etag"]})
        assert confirm.status_code == 200, confirm.text
        body = confirm.json()
        assert body["success"] and body["validation_status"] == "passed" and body["plugin_id"] == "sec_embed_1_0_0"
        assert body["feature_uri"] == "mixpeek://sec_embed@1.0.0/sec_embed_v1_embedding"
        deploy = http.post(f"{base}/sec_embed_1_0_0/deploy", params={"deployment_type": "realtime"})
        assert deploy.status_code == 200 and deploy.json()["status"] == "queued", deploy.text
        status = _wait_status(http, f"{base}/sec_embed_1_0_0/status", "DEPLOYED")
        assert status["status"] == "DEPLOYED" and status["deployed"] and status["error"] is None, status
        listed = http.get(base).json()["results"]
        assert [(p["plugin_id"], p["deployment_status"]) for p in listed] == [("sec_embed_1_0_0", "DEPLOYED")]
        assert len(listed[0]["code_hash"]) == 16
    _search(live, ns, "sec_embed", "1.0.0")
    with live.client(ns) as c:
        assert c.get("/v1/plugins/sec_embed_1_0_0").json()["collections"] == ["chunks-sec_embed"]
        refused = c.delete("/v1/plugins/sec_embed_1_0_0")
        assert refused.status_code == 409 and "chunks-sec_embed" in refused.json()["error"]["message"]
        # another namespace neither sees nor uses it
        other, oc = live.new_namespace()
        with oc:
            assert oc.get("/v1/plugins/sec_embed_1_0_0").status_code == 404
            assert "sec_embed" not in [e["feature_extractor_name"] for e in oc.get("/v1/extractors").json()["extractors"]]


def test_the_docs_082_sequence_and_the_sdk_submission_routes(live, tmp_path):
    ns, c = live.new_namespace()
    archive = zip_folder(plugin_folder(tmp_path, "memo_embed", "2.0.0"))
    with c:
        base = f"/v1/namespaces/{ns}/extractors"
        up = c.post(f"{base}/uploads", json={"name": "memo_embed", "version": "2.0.0"}).json()
        assert up["submission_id"] == up["upload_id"] and up["required_content_type"] == "application/zip"
        assert [s["status"] for s in c.get("/v1/extractors/submissions").json()["submissions"]] == ["PENDING"]
        assert httpx.put(up["presigned_url"], content=archive).status_code == 200
        body = c.post(f"/v1/extractors/submissions/uploads/{up['submission_id']}/confirm", json={}).json()
        assert body["success"] and body["security_scan_passed"] and body["manifest_valid"], body
        extractor_id = body["extractor_id"]
        deploy = c.post(f"{base}/{extractor_id}/deploy")  # the docs send no deployment_type: batch only
        assert deploy.json()["status"] == "batch_only" and deploy.json()["deployment_status"] == "NOT_DEPLOYED"
        one = c.get(f"/v1/extractors/submissions/{up['submission_id']}").json()["submission"]
        assert one["status"] == "CONFIRMED" and one["plugin_id"] == "memo_embed_2_0_0"
        unified = c.get(f"/v1/namespaces/{ns}/extractors").json()
        custom = [e for e in unified["extractors"] if e.get("plugin_id")]
        assert [e["plugin_id"] for e in custom] == ["memo_embed_2_0_0"] and unified["custom_count"] >= 1
        assert c.get(f"{base}/memo_embed_2_0_0").json()["feature_extractor_name"] == "memo_embed"
    # batch-only: batches run; a text query is refused by name until it is deployed for realtime
    with pytest.raises(AssertionError, match="not deployed"):
        _search(live, ns, "memo_embed", "2.0.0")
    with live.client(ns) as c:
        c.post("/v1/extractors/memo_embed_2_0_0/deploy", params={"deployment_type": "realtime"})
        assert _wait_status(c, "/v1/extractors/memo_embed_2_0_0/status", "DEPLOYED")["status"] == "DEPLOYED"
        retriever = c.get("/v1/retrievers").json()["results"][0]["retriever_id"]
        hits = c.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"query": "Operating margin fell to 18%"}})
        assert hits.status_code == 200 and hits.json()["documents"], hits.text
        infer = c.post("/v1/plugins/memo_embed_2_0_0/infer", json={"inputs": {"text": "x"}}).json()
        assert len(infer["result"]["embedding"]) == 128
        assert c.post("/v1/plugins/memo_embed_2_0_0/undeploy").json()["status"] == "NOT_DEPLOYED"
        again = c.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"query": "anything"}})
        assert again.status_code == 409 and "not deployed" in again.json()["error"]["message"]


def _confirm_error(c: httpx.Client, archive: bytes, name: str = "bad_embed", version: str = "1.0.0") -> dict:
    up = c.post("/v1/plugins/uploads", json={"name": name, "version": version}).json()
    assert httpx.put(up["presigned_url"], content=archive).status_code == 200
    resp = c.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm")
    assert resp.status_code == 422, resp.text
    error = resp.json()["error"]
    assert error["details"]["validation_status"] == "failed"
    assert c.get("/v1/plugins").json()["results"] == []  # nothing installed
    return error


def _zip(members: dict[str, bytes], compress: int = zipfile.ZIP_DEFLATED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return buf.getvalue()


def test_bad_archives_are_refused_with_the_reason_and_install_nothing(live, tmp_path):
    _, c = live.new_namespace()
    good = {f"bad_embed/{p.name}": p.read_bytes() for p in plugin_folder(tmp_path, "bad_embed").glob("*.py")}
    with c:
        assert "not a zip" in _confirm_error(c, b"this is not a zip")["message"]
        assert "climbs out" in _confirm_error(c, _zip({**good, "bad_embed/../../evil.py": b"x"}))["message"]
        assert "absolute path" in _confirm_error(c, _zip({**good, "/etc/evil.py": b"x"}))["message"]
        link = io.BytesIO()
        with zipfile.ZipFile(link, "w") as zf:
            for name, data in good.items():
                zf.writestr(name, data)
            info = zipfile.ZipInfo("bad_embed/shadow")
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, "/etc/shadow")
        assert "symbolic link" in _confirm_error(c, link.getvalue())["message"]
        many = {**good, **{f"bad_embed/data/{i}.txt": b"x" for i in range(1001)}}
        assert "the limit is 1000" in _confirm_error(c, _zip(many))["message"]
        bomb = _zip({**good, "bad_embed/zeros.bin": b"\0" * (20 * 2**20)})
        assert "zip bomb" in _confirm_error(c, bomb)["message"]
        no_pipeline = {k: v for k, v in good.items() if not k.endswith("pipeline.py")}
        assert "missing pipeline.py" in _confirm_error(c, _zip(no_pipeline))["message"]
        manifest = good["bad_embed/manifest.py"].decode()
        wrong_keys = manifest.replace('"feature_name"', '"name"').replace('"embedding_dim"', '"dimensions"')
        error = _confirm_error(c, _zip({**good, "bad_embed/manifest.py": wrong_keys.encode()}))
        assert any(v["file"] == "manifest.py" and "feature_name" in v["message"]
                   for v in error["details"]["validation_errors"]), error
        evil = good["bad_embed/pipeline.py"].decode() + "\n\nimport subprocess\nsubprocess.run(['id'])\n"
        error = _confirm_error(c, _zip({**good, "bad_embed/pipeline.py": evil.encode()}))
        line = evil.splitlines().index("import subprocess") + 1
        assert any(v["file"] == "pipeline.py" and v["line"] == line for v in error["details"]["validation_errors"]), error
        mismatch = _confirm_error(c, _zip(good), name="other_embed")
        assert "declares bad_embed@1.0.0" in mismatch["message"]


def test_upload_mistakes_each_get_a_precise_error(live, tmp_path):
    _, c = live.new_namespace()
    archive = zip_folder(plugin_folder(tmp_path, "ver_embed"))
    with c:
        assert c.post("/v1/plugins/uploads/upl_nope/confirm").status_code == 404
        bad_name = c.post("/v1/plugins/uploads", json={"name": "Bad-Name", "version": "1.0.0"})
        assert bad_name.status_code == 422 and bad_name.json()["error"]["details"]["location"] == "name"
        shared = c.post("/v1/plugins/uploads", json={"name": "text_embed", "version": "1.0.0"})
        assert shared.status_code == 409 and "shares" in shared.json()["error"]["message"]
        assert c.post("/v1/plugins/uploads", json={"name": "ver_embed"}).status_code == 422  # version missing
        up = c.post("/v1/plugins/uploads", json={"name": "ver_embed", "version": "1.0.0"}).json()
        early = c.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm")
        assert early.status_code == 409 and "PUT the zip" in early.json()["error"]["message"]
        deploy = c.post(f"/v1/plugins/{up['upload_id']}/deploy")
        assert deploy.status_code == 409 and "confirm it first" in deploy.json()["error"]["message"]
        assert c.post("/v1/plugins/ver_embed_1_0_0/deploy").status_code == 404
        wrong_token = httpx.put(up["presigned_url"].split("?")[0] + "?token=guess", content=archive)
        assert wrong_token.status_code == 403
        assert httpx.put(up["presigned_url"], content=archive).status_code == 200
        assert c.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm").status_code == 200
        assert httpx.put(up["presigned_url"], content=archive).status_code == 409  # one archive per URL
        # the same version with other code: refused unless overwrite
        changed = plugin_folder(tmp_path / "v2", "ver_embed", extra={"notes.py": "NOTE = 1\n"})
        up2 = c.post("/v1/plugins/uploads", json={"name": "ver_embed", "version": "1.0.0"}).json()
        httpx.put(up2["presigned_url"], content=zip_folder(changed))
        clash = c.post(f"/v1/plugins/uploads/{up2['upload_id']}/confirm")
        assert clash.status_code == 409 and "bump the version" in clash.json()["error"]["message"]
        up3 = c.post("/v1/plugins/uploads", json={"name": "ver_embed", "version": "1.0.0"}).json()
        httpx.put(up3["presigned_url"], content=zip_folder(changed))
        replaced = c.post(f"/v1/plugins/uploads/{up3['upload_id']}/confirm", params={"overwrite": "true"}).json()
        assert replaced["replaced"] is True
        # a second version beside the first
        up4 = c.post("/v1/plugins/uploads", json={"name": "ver_embed", "version": "1.1.0"}).json()
        httpx.put(up4["presigned_url"], content=zip_folder(plugin_folder(tmp_path / "v11", "ver_embed", "1.1.0")))
        assert c.post(f"/v1/plugins/uploads/{up4['upload_id']}/confirm").status_code == 200
        versions = [(p["version"], p["code_hash"]) for p in c.get("/v1/plugins").json()["results"]]
        assert [v for v, _ in versions] == ["1.0.0", "1.1.0"] and versions[0][1] != versions[1][1]
        assert c.delete("/v1/plugins/ver_embed_1_1_0").status_code == 200
        assert c.get("/v1/plugins/ver_embed_1_1_0").status_code == 404
        assert c.post("/v1/plugins/ver_embed_1_0_0/deploy", params={"deployment_type": "sideways"}).status_code == 422


def test_an_expired_upload_url_is_refused(live, tmp_path):
    _, c = live.new_namespace()
    with c:
        up = c.post("/v1/plugins/uploads", json={"name": "late_embed", "version": "1.0.0",
                                                 "presigned_url_expiration": 60}).json()
        from warehouse.catalog import PluginUpload

        with live.services.catalog.session() as s:
            row = s.get(PluginUpload, up["upload_id"])
            row.expires_at = row.expires_at.replace(year=2000)
        late = httpx.put(up["presigned_url"], content=zip_folder(plugin_folder(tmp_path, "late_embed")))
        assert late.status_code == 410 and "expired" in late.json()["error"]["message"]
        assert c.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm").status_code == 410


def test_the_multipart_direct_upload(live, tmp_path):
    _, c = live.new_namespace()
    with c:
        resp = c.post("/v1/plugins", files={"file": ("p.zip", zip_folder(plugin_folder(tmp_path, "form_embed")),
                                                     "application/zip")},
                      data={"name": "form_embed", "version": "1.0.0"})
        assert resp.status_code == 200, resp.text
        assert resp.json()["plugin_id"] == "form_embed_1_0_0"
        missing = c.post("/v1/plugins", data={"name": "form_embed", "version": "1.0.0"})
        assert missing.status_code == 422 and "file" in missing.text


def test_without_landlock_uploads_are_refused_unless_the_operator_opts_out(tmp_path, monkeypatch):
    from tests.api.seeding import in_process_api
    from warehouse.extractors import sandbox

    monkeypatch.setattr(sandbox, "abi_version", lambda: 0)
    monkeypatch.delenv("WAREHOUSE_ALLOW_UNSANDBOXED_PLUGINS", raising=False)
    with in_process_api(tmp_path / "home") as (client, _):
        assert client.get("/v1/health").json()["checks"]["plugin_sandbox"].startswith("unavailable")
        up = client.post("/v1/plugins/uploads", json={"name": "bare_embed", "version": "1.0.0"}).json()
        put = client.put(up["presigned_url"].replace("http://testserver", ""),
                         content=zip_folder(plugin_folder(tmp_path, "bare_embed")))
        assert put.status_code == 200, put.text
        refused = client.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm")
        assert refused.status_code == 503, refused.text
        assert "WAREHOUSE_ALLOW_UNSANDBOXED_PLUGINS" in refused.json()["error"]["message"]
        assert client.get("/v1/plugins").json()["results"] == []


def test_on_s3_the_upload_url_is_a_presigned_s3_put(tmp_path, s3_endpoint):
    from tests.api.seeding import in_process_api

    settings = {"object_store": "s3", "s3_endpoint_url": s3_endpoint, "s3_bucket": "wh-plugins",
                "s3_access_key_id": "test", "s3_secret_access_key": "test"}
    with in_process_api(tmp_path / "home", **settings) as (client, _):
        up = client.post("/v1/plugins/uploads", json={"name": "s3_embed", "version": "1.0.0"}).json()
        assert up["presigned_url"].startswith(s3_endpoint) and "Signature" in up["presigned_url"]
        assert up["s3_key"].endswith(f"/_plugins/{up['upload_id']}.zip")
        put = httpx.put(up["presigned_url"], content=zip_folder(plugin_folder(tmp_path, "s3_embed")))  # curl's PUT
        assert put.status_code == 200, put.text
        confirmed = client.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm", json={"etag": put.headers["etag"]})
        assert confirmed.status_code == 200, confirmed.text
        assert confirmed.json()["s3_archive_url"] == f"s3://wh-plugins/{up['s3_key']}"


def test_an_archive_past_the_size_limit_is_refused_before_it_is_stored(tmp_path, monkeypatch):
    from tests.api.seeding import in_process_api
    from warehouse.api.routes import plugins as plugin_routes
    from warehouse.extractors import uploads

    limit = 64 * 1024  # the 500 MB limit, scaled down so the test sends kilobytes
    monkeypatch.setattr(uploads, "MAX_ARCHIVE_BYTES", limit)
    monkeypatch.setattr(plugin_routes, "MAX_ARCHIVE_BYTES", limit)
    with in_process_api(tmp_path / "home") as (client, _):
        declared = client.post("/v1/plugins/uploads", json={"name": "big_embed", "version": "1.0.0",
                                                             "file_size_bytes": limit + 1})
        assert declared.status_code == 422 and declared.json()["error"]["details"]["location"] == "file_size_bytes"
        up = client.post("/v1/plugins/uploads", json={"name": "big_embed", "version": "1.0.0"}).json()
        url = up["presigned_url"].replace("http://testserver", "")
        assert client.put(url, content=b"x" * (limit + 1)).status_code == 413
        streamed = client.put(url, content=iter([b"x" * 40_000, b"x" * 40_000]))  # no Content-Length up front
        assert streamed.status_code == 413 and "leave model weights" in streamed.json()["error"]["message"]
        nothing = client.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm")
        assert nothing.status_code == 409 and "PUT the zip" in nothing.json()["error"]["message"]
