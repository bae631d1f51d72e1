"""``POST /v1/collections/{c}/export``: a collection's documents as files (``warehouse.retrieval.export``), and the
signed download URLs of this server when the object store signs none (local files).

A download URL is a grant, like an S3 presigned URL: whoever holds it may read that one file until it expires (an
hour), with no key. It names the namespace, export and file — ids and fixed names, never a caller's string — and an
HMAC of those and the expiry under this home's internal secret; the route checks both before it reads.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import collection_in
from warehouse.catalog import Namespace
from warehouse.errors import WarehouseError
from warehouse.ids import new_id
from warehouse.retrieval import export
from warehouse.retrieval.export import ExportedFile, ExportRequest
from warehouse.services import Services
from warehouse.storage.base import DOWNLOAD_URL_SECONDS

router = APIRouter(tags=["collections"])

_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
_FILE = re.compile(r"(documents(-\d{6})?|vectors)\.(jsonl|csv|parquet|tar)")
_MEDIA_TYPES = {"jsonl": "application/x-ndjson", "csv": "text/csv", "parquet": "application/vnd.apache.parquet",
                "tar": "application/x-tar"}


@router.post("/v1/collections/{collection_identifier}/export", summary="The collection's documents as files")
def export_collection(collection_identifier: str, request: Request, body: ExportRequest | None = None,
                      ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    body = body or ExportRequest()
    c = collection_in(svc.catalog, ns, collection_identifier)
    with tempfile.TemporaryDirectory(prefix="wh-export-") as work:
        done = export.write(svc.index, svc.objects, svc.catalog, ns.namespace_id, c, body, new_id("exp"), Path(work))

    def url(f: ExportedFile) -> str:
        return _download_url(svc, ns.namespace_id, done.export_id, f, str(request.base_url))

    first = done.files[0]
    out = {"export_id": done.export_id, "collection_id": c.collection_id, "format": body.format,
           "download_url": url(first), "s3_path": svc.objects.url_for(first.key if body.format != "webdataset"
                                                                     else done.prefix),
           "document_count": done.documents, "file_size_bytes": sum(f.size for f in done.files),
           "exported_at": datetime.now(UTC).isoformat(), "expires_in_seconds": DOWNLOAD_URL_SECONDS,
           "vectors_download_url": url(done.vectors) if done.vectors else None,
           "vectors_s3_path": svc.objects.url_for(done.vectors.key) if done.vectors else None,
           "destination": None}
    if body.format == "webdataset":
        out.update(shard_count=len(done.files), media=done.media,
                   shard_pattern=f"documents-{{000000..{len(done.files) - 1:06d}}}.tar",
                   shards=[{"filename": f.filename, "s3_path": svc.objects.url_for(f.key), "download_url": url(f),
                            "sample_count": f.count, "file_size_bytes": f.size} for f in done.files[:200]])
    return out


def _download_url(svc: Services, namespace_id: str, export_id: str, f: ExportedFile, base_url: str) -> str:
    presign = getattr(svc.objects, "presign_get", None)
    if presign is not None:
        return presign(f.key, DOWNLOAD_URL_SECONDS)
    expires = int(time.time()) + DOWNLOAD_URL_SECONDS
    signature = _sign(svc, namespace_id, export_id, f.filename, expires)
    return (f"{base_url.rstrip('/')}/v1/exports/{namespace_id}/{export_id}/{f.filename}"
            f"?expires={expires}&signature={signature}")


def _sign(svc: Services, namespace_id: str, export_id: str, filename: str, expires: int) -> str:
    key = hashlib.sha256(b"export-download:" + svc.settings.resolved_internal_token().encode()).digest()
    return hmac.new(key, f"{namespace_id}/{export_id}/{filename}:{expires}".encode(), hashlib.sha256).hexdigest()


@router.get("/v1/exports/{namespace_id}/{export_id}/{filename}", summary="Download an export's file (signed URL)")
def download(namespace_id: str, export_id: str, filename: str, expires: int = Query(...),
             signature: str = Query(..., min_length=64, max_length=64), svc: Services = Depends(services)):
    """The file of a signed download URL (``download_url`` of an export on a home whose blobs are local files)."""
    if not (_ID.fullmatch(namespace_id) and _ID.fullmatch(export_id) and _FILE.fullmatch(filename)):
        raise WarehouseError(404, "no such export file", {"location": "path"})
    if not hmac.compare_digest(_sign(svc, namespace_id, export_id, filename, expires), signature):
        raise WarehouseError(403, "signature: this URL was not issued by this server, or was changed; export again "
                             "for a new one", {"location": "signature"})
    if expires < time.time():
        raise WarehouseError(403, "expires: this download URL has expired; export again for a new one",
                             {"location": "expires"})
    key = f"exports/{namespace_id}/{export_id}/{filename}"
    if not svc.objects.exists(key):
        raise WarehouseError(404, f"export {export_id} has no {filename} any more (exports are kept "
                             f"{export.KEEP_DAYS} days)", {"location": "path"})
    scratch = Path(tempfile.mkdtemp(prefix="wh-download-")) / filename
    svc.objects.get_file(key, scratch)
    return FileResponse(scratch, media_type=_MEDIA_TYPES[filename.rsplit(".", 1)[1]], filename=filename,
                        background=BackgroundTask(_remove, scratch))


def _remove(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.parent.rmdir()
