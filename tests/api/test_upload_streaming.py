"""A large upload streams: the server holds a chunk at a time, never the file (a 2 GB video must not need 2 GB).

Measured with ``tracemalloc`` in this process, which runs the live server: the peak of Python allocations while
64 MiB go through ``PUT /uploads/blobs/{id}`` stays a small fraction of the file."""

from __future__ import annotations

import tracemalloc

import httpx
import pytest

pytestmark = pytest.mark.slow
SIZE = 64 * 2**20


def test_a_large_upload_never_sits_whole_in_memory(live):
    _, c = live.new_namespace()
    with c:
        bucket = c.post("/v1/buckets", json={"bucket_name": "videos", "bucket_schema": {
            "properties": {"clip": {"type": "video"}}}}).json()["bucket_id"]
        up = c.post(f"/v1/buckets/{bucket}/uploads", json={"filename": "clip.mp4", "content_type": "video/mp4",
                                                           "file_size_bytes": SIZE}).json()
        header = b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 12  # an MP4's first box, then padding

        def body():
            yield header
            sent, block = len(header), b"\x00" * (1 << 20)
            while sent < SIZE:
                piece = block[: min(len(block), SIZE - sent)]
                sent += len(piece)
                yield piece

        tracemalloc.start()
        try:
            put = httpx.put(up["presigned_url"], content=body(), headers={"Content-Length": str(SIZE)}, timeout=300)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert put.status_code == 200, put.text
        assert put.json()["size_bytes"] == SIZE
        assert peak < SIZE / 4, f"peak {peak / 2**20:.1f} MiB of Python allocations for a {SIZE / 2**20:.0f} MiB upload"
        done = c.post(f"/v1/buckets/{bucket}/uploads/{up['upload_id']}/confirm", json={"file_size_bytes": SIZE})
        assert done.status_code == 200 and done.json()["detected_content_type"] == "video/mp4", done.text
