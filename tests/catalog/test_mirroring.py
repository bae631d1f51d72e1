"""canonicalize_source: an https blob is copied into the store at create (the SDK asks for it by default), checked
like an upload; without it the URL is kept and fetched when a batch runs. Every failure is a 4xx naming the blob,
and nothing is stored."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.api.seeding import in_process_api
from tests.extractors.media_files import PDFS


@pytest.fixture()
def files(tmp_path):
    """A loopback file server over a folder with a real PDF, an HTML page and a redirect."""
    (tmp_path / "www").mkdir()
    (tmp_path / "www" / "doc.pdf").write_bytes((PDFS / "minimal-document.pdf").read_bytes())
    (tmp_path / "www" / "page.pdf").write_text("<html>not a pdf</html>")

    class Handler(SimpleHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's naming
            if self.path == "/moved.pdf":
                self.send_response(302)
                self.send_header("Location", "http://169.254.169.254/latest/meta-data")
                self.end_headers()
                return
            super().do_GET()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(tmp_path / "www")))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_mirrored_blobs_are_copied_checked_and_failures_named(tmp_path, files):
    with in_process_api(tmp_path / "home", outbound_allowed_hosts="127.0.0.1", max_upload_bytes=20_000) as (http, _):
        bucket = http.post("/v1/buckets", json={"bucket_name": "docs", "bucket_schema": {
            "properties": {"file": {"type": "pdf"}}}}).json()["bucket_id"]

        def create(url: str, **flags):
            return http.post(f"/v1/buckets/{bucket}/objects", json={
                "blobs": [{"property": "file", "type": "pdf", "data": url}], **flags})

        mirrored = create(f"{files}/doc.pdf", canonicalize_source=True)
        assert mirrored.status_code == 200, mirrored.text
        blob = mirrored.json()["blobs"][0]
        assert blob["url"].startswith("file://") and blob["size_bytes"] == (PDFS / "minimal-document.pdf").stat().st_size
        assert blob["mime_type"] == "application/pdf"
        stored = http.app.state.services.objects
        assert stored.head(stored.key_from_url(blob["url"]), 5) == b"%PDF-"
        kept = create(f"{files}/doc.pdf").json()["blobs"][0]  # not asked: the URL is kept, fetched by the batch
        assert kept["url"] == f"{files}/doc.pdf"
        per_blob = http.post(f"/v1/buckets/{bucket}/objects", json={"canonicalize_source": True, "blobs": [{
            "property": "file", "type": "pdf", "data": f"{files}/doc.pdf", "canonicalize_source": False}]})
        assert per_blob.json()["blobs"][0]["url"] == f"{files}/doc.pdf"  # the blob's own setting wins
        before = http.post(f"/v1/buckets/{bucket}/objects/list", json={}).json()["pagination"]["total"]
        for url, status, words in [(f"{files}/page.pdf", 422, "not a recognised pdf file"),
                                   (f"{files}/missing.pdf", 422, "HTTP 404"),
                                   (f"{files}/moved.pdf", 422, "redirects are not followed"),
                                   ("http://10.1.2.3/x.pdf", 422, "public addresses")]:
            resp = create(url, canonicalize_source=True)
            assert resp.status_code == status and words in resp.text and "blobs[0]" in resp.text, (url, resp.text)
        (tmp_path / "www" / "big.pdf").write_bytes(b"%PDF-1.4\n" + bytes(30_000))
        big = create(f"{files}/big.pdf", canonicalize_source=True)
        assert big.status_code == 413 and "20000 bytes" in big.text, big.text
        assert http.post(f"/v1/buckets/{bucket}/objects/list", json={}).json()["pagination"]["total"] == before
