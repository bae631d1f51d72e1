"""Presigned file uploads into a bucket: create → PUT (streamed to the store) → confirm → object (and batch);
files checked against their blob type by content; blobs that name a completed upload; limits and mistakes."""

from __future__ import annotations

import hashlib
from pathlib import Path

import httpx

from tests.api.seeding import in_process_api

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
JPEG = DATA / "images" / "imagenet_sample" / "n01440764_tench.JPEG"
PNG = DATA / "images" / "skimage_clip_captions" / "chelsea.png"
PDF = DATA / "pdfs" / "002-trivial-libre-office-writer.pdf"
SCHEMA = {"properties": {"photo": {"type": "image"}, "report": {"type": "pdf"}, "caption": {"type": "text"}}}


def _bucket(client) -> str:
    resp = client.post("/v1/buckets", json={"bucket_name": "media", "bucket_schema": SCHEMA})
    assert resp.status_code == 200, resp.text
    return resp.json()["bucket_id"]


def _path(url: str) -> str:
    return url.replace("http://testserver", "")


def test_a_photo_goes_from_presigned_url_to_an_object_and_a_batch(tmp_path):
    with in_process_api(tmp_path / "home") as (client, _):
        bucket = _bucket(client)
        client.post("/v1/collections", json={
            "collection_name": "captions", "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "caption"}}})
        data = JPEG.read_bytes()
        up = client.post(f"/v1/buckets/{bucket}/uploads", json={
            "filename": JPEG.name, "content_type": "image/jpeg", "file_size_bytes": len(data),
            "object_metadata": {"caption": "a tench"}}).json()
        assert up["status"] == "PENDING" and up["blob_property"] == "photo" and up["blob_type"] == "image"
        assert JPEG.name not in up["s3_key"]  # keys are made of ids, never of the caller's file name
        put = client.put(_path(up["presigned_url"]), content=data)
        assert put.status_code == 200 and put.json()["etag"] == hashlib.md5(data).hexdigest()  # noqa: S324
        done = client.post(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}/confirm",
                           json={"etag": put.json()["etag"], "auto_submit_batch": True}).json()
        assert done["status"] == "COMPLETED" and done["detected_content_type"] == "image/jpeg"
        assert done["batch_id"] and done["task_id"]
        obj = client.get(f"/v1/buckets/{bucket}/objects/{done['object_id']}").json()
        [blob] = obj["blobs"]
        assert (blob["property"], blob["type"], blob["size_bytes"]) == ("photo", "image", len(data))
        assert obj["caption"] == "a tench"
        got = client.get(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}").json()
        assert got["status"] == "COMPLETED" and got["object_id"] == done["object_id"]
        assert got["file_hash"] == hashlib.sha256(data).hexdigest()
        again = client.post(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}/confirm").json()
        assert again["object_id"] == done["object_id"]  # confirming twice makes no second object
        listed = client.post(f"/v1/buckets/{bucket}/uploads/list", json={"filters": {"status": "COMPLETED"}}).json()
        assert [u["upload_id"] for u in listed["results"]] == [up["upload_id"]]

        # a later object names the completed upload instead of carrying the bytes
        ref = client.post(f"/v1/buckets/{bucket}/objects", json={
            "blobs": [{"property": "photo", "type": "image", "upload_id": up["upload_id"]}], "caption": "again"})
        assert ref.status_code == 200, ref.text
        assert ref.json()["blobs"][0]["url"] == blob["url"]
        deleted = client.delete(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}").json()
        assert deleted["file_deleted"] is False  # objects use the file: it stays


def test_content_that_is_not_its_blob_type_fails_with_what_it_is(tmp_path):
    with in_process_api(tmp_path / "home") as (client, _):
        bucket = _bucket(client)

        def attempt(filename: str, content_type: str, content: bytes) -> httpx.Response:
            up = client.post(f"/v1/buckets/{bucket}/uploads", json={"filename": filename,
                                                                     "content_type": content_type}).json()
            assert client.put(_path(up["presigned_url"]), content=content).status_code == 200
            resp = client.post(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}/confirm")
            if resp.status_code != 200:
                status = client.get(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}").json()
                assert status["status"] == "FAILED" and status["object_id"] is None
            return resp

        mp3 = b"ID3\x04\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x00" * 64
        wrong = attempt("song.png", "image/png", mp3)
        assert wrong.status_code == 422 and "audio/mpeg (audio) but the blob type is 'image'" in wrong.text
        empty = attempt("empty.jpg", "image/jpeg", b"")
        assert empty.status_code == 422 and "empty" in empty.json()["error"]["message"]
        fake_pdf = attempt("report.pdf", "application/pdf", b"<html>not a pdf</html>")
        assert fake_pdf.status_code == 422 and "not a recognised pdf" in fake_pdf.json()["error"]["message"]
        assert attempt("chelsea.png", "image/png", PNG.read_bytes()).status_code == 200
        assert attempt("trivial.pdf", "application/pdf", PDF.read_bytes()).status_code == 200
        assert client.post(f"/v1/buckets/{bucket}/objects", json={}).status_code == 422


def test_upload_mistakes_each_get_a_precise_error(tmp_path):
    with in_process_api(tmp_path / "home", namespaces=("default", "other"), max_upload_bytes=4096) as (client, made):
        bucket = _bucket(client)
        base = f"/v1/buckets/{bucket}/uploads"

        def err(resp: httpx.Response, status: int, location: str | None = None) -> str:
            assert resp.status_code == status, resp.text
            if location:
                assert resp.json()["error"]["details"]["location"] == location
            return resp.json()["error"]["message"]

        err(client.post(base, json={"filename": "../x.jpg", "content_type": "image/jpeg"}), 422, "filename")
        err(client.post(base, json={"filename": "x.bin", "content_type": "application/octet-stream"}), 422, "blob_type")
        err(client.post(base, json={"filename": "x.mp4", "content_type": "video/mp4"}), 422, "blob_property")
        err(client.post(base, json={"filename": "x.jpg", "content_type": "image/jpeg", "file_size_bytes": 5000}),
            413, "file_size_bytes")
        assert client.post(base, json={"filename": "x.jpg"}).status_code == 422  # content_type missing
        up = client.post(base, json={"filename": "x.jpg", "content_type": "image/jpeg"}).json()
        assert "PUT the file" in err(client.post(f"{base}/{up['upload_id']}/confirm"), 409)
        assert err(client.put(_path(up["presigned_url"]).split("?")[0] + "?token=guess", content=b"x"), 403)
        assert "4096" in err(client.put(_path(up["presigned_url"]), content=b"\xff\xd8\xff" + b"x" * 5000), 413)
        streamed = client.put(_path(up["presigned_url"]), content=iter([b"\xff\xd8\xff" + b"x" * 3000, b"x" * 3000]))
        assert streamed.status_code == 413  # no Content-Length: the stream is cut where it passes the limit
        small = b"\xff\xd8\xff\xe0" + b"x" * 100
        assert client.put(_path(up["presigned_url"]), content=small).status_code == 200
        assert client.put(_path(up["presigned_url"]), content=small).status_code == 409  # one file per URL
        err(client.post(f"{base}/{up['upload_id']}/confirm", json={"file_size_bytes": 7}), 422, "file_size_bytes")
        err(client.post(f"{base}/{up['upload_id']}/confirm", json={"etag": "nope"}), 422, "etag")
        # a blob may not name an unconfirmed upload, nor another namespace's
        pending = client.post(base, json={"filename": "y.jpg", "content_type": "image/jpeg"}).json()
        blob = {"property": "photo", "type": "image", "upload_id": pending["upload_id"]}
        assert "confirm it first" in err(client.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [blob]}), 422)
        assert client.post(f"{base}/{up['upload_id']}/confirm").status_code == 200
        other = {"Authorization": client.headers["Authorization"], "X-Namespace": "other"}
        theirs = client.post("/v1/buckets", headers=other, json={"bucket_name": "b", "bucket_schema": SCHEMA}).json()
        stolen = client.post(f"/v1/buckets/{theirs['bucket_id']}/objects", headers=other, json={
            "blobs": [{"property": "photo", "type": "image", "upload_id": up["upload_id"]}]})
        assert "not found in this namespace" in err(stolen, 422)
        assert client.get(f"/v1/buckets/{theirs['bucket_id']}/uploads/{up['upload_id']}", headers=other).status_code == 404


def test_batch_forms_and_duplicates_by_hash(tmp_path):
    with in_process_api(tmp_path / "home") as (client, _):
        bucket = _bucket(client)
        jpeg, png = JPEG.read_bytes(), PNG.read_bytes()
        made = client.post(f"/v1/buckets/{bucket}/uploads/batch", json={"uploads": [
            {"filename": "a.jpg", "content_type": "image/jpeg", "file_hash": hashlib.sha256(jpeg).hexdigest()},
            {"filename": "b.png", "content_type": "image/png"}]}).json()["uploads"]
        client.put(_path(made[0]["presigned_url"]), content=jpeg)
        client.put(_path(made[1]["presigned_url"]), content=b"not a png at all")
        confirmed = client.post(f"/v1/buckets/{bucket}/uploads/confirm/batch", json={"uploads": [
            {"upload_id": made[0]["upload_id"]}, {"upload_id": made[1]["upload_id"]}]}).json()
        assert (confirmed["confirmed"], confirmed["failed"]) == (1, 1)
        assert confirmed["results"][1]["status_code"] == 422
        dup = client.post(f"/v1/buckets/{bucket}/uploads", json={
            "filename": "a-again.jpg", "content_type": "image/jpeg", "file_hash": hashlib.sha256(jpeg).hexdigest()}).json()
        assert dup["is_duplicate"] and dup["presigned_url"] is None
        assert dup["existing_object_id"] == confirmed["results"][0]["object_id"]
        assert png  # the real PNG is used by the content test


def test_on_s3_the_upload_url_is_a_presigned_s3_put(tmp_path, s3_endpoint):
    settings = {"object_store": "s3", "s3_endpoint_url": s3_endpoint, "s3_bucket": "wh-media",
                "s3_access_key_id": "test", "s3_secret_access_key": "test"}
    with in_process_api(tmp_path / "home", **settings) as (client, _):
        bucket = _bucket(client)
        data = PDF.read_bytes()
        up = client.post(f"/v1/buckets/{bucket}/uploads", json={"filename": "r.pdf", "content_type": "application/pdf"}).json()
        assert up["presigned_url"].startswith(s3_endpoint)
        put = httpx.put(up["presigned_url"], content=data)
        assert put.status_code == 200, put.text
        done = client.post(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}/confirm",
                           json={"etag": put.headers["etag"], "file_size_bytes": len(data)})
        assert done.status_code == 200, done.text
        obj = client.get(f"/v1/buckets/{bucket}/objects/{done.json()['object_id']}").json()
        assert obj["blobs"][0]["url"] == f"s3://wh-media/{up['s3_key']}"
