"""``/v1/buckets/{b}/uploads``: presigned file uploads into a bucket (create → PUT → confirm), single and batch,
and the warehouse's own upload target ``PUT /uploads/blobs/{upload_id}?token=…`` for the local store, which
streams the body to disk (a 2 GB video never needs 2 GB of memory). The domain is
:mod:`warehouse.catalog.uploads`."""

from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from starlette.concurrency import run_in_threadpool

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import fields
from warehouse.api.schemas import (
    BatchUploadRequest,
    ConfirmBatchRequest,
    ConfirmBlobUploadRequest,
    CreateUploadRequest,
    ListRequest,
)
from warehouse.api.views import _ts
from warehouse.catalog import BlobUpload, Namespace
from warehouse.catalog import uploads as blob_uploads
from warehouse.catalog.lookups import get_bucket
from warehouse.catalog.paging import page_args
from warehouse.errors import WarehouseError
from warehouse.services import Services

router = APIRouter(tags=["uploads"])


def upload_view(svc: Services, u: BlobUpload, url: str | None = None) -> dict[str, Any]:
    return {"upload_id": u.upload_id, "bucket_id": u.bucket_id, "filename": u.filename, "content_type": u.content_type,
            "file_size_bytes": u.file_size_bytes, "presigned_url": url, "method": "PUT" if url else None,
            "presigned_url_expiration": blob_uploads.lifetime_seconds(u),
            "s3_key": u.storage_key, "status": u.status, "metadata": u.metadata_ or {},
            "create_object_on_confirm": bool(u.create_object_on_confirm), "object_metadata": u.object_metadata or {},
            "blob_property": u.blob_property, "blob_type": u.blob_type, "file_hash": u.file_hash,
            "skip_duplicates": True, "is_duplicate": bool(u.message and u.message.startswith("duplicate of")),
            "message": u.message, "created_at": _ts(u.created_at), "expires_at": _ts(u.expires_at),
            "completed_at": _ts(u.completed_at), "verified_at": _ts(u.completed_at), "etag": u.etag,
            "object_id": u.object_id, "batch_id": u.batch_id, "task_id": None,
            "detected_content_type": u.sniffed_type}


def _url(svc: Services, request: Request, u: BlobUpload, token: str) -> str:
    return blob_uploads.presigned_put_url(svc.objects, u.storage_key, blob_uploads.lifetime_seconds(u),
                                          f"{str(request.base_url).rstrip('/')}/uploads/blobs/{u.upload_id}?token={token}")


def _create(svc: Services, request: Request, ns: Namespace, bucket_identifier: str, body: CreateUploadRequest):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        upload, token, extra = blob_uploads.create_upload(s, bucket, fields(body) | {"filename": body.filename,
                                                                                     "content_type": body.content_type},
                                                          svc.settings.max_upload_bytes)
        url = None if "duplicate_of" in extra else _url(svc, request, upload, token)
        out = upload_view(svc, upload, url)
        if "duplicate_of" in extra:
            out.update(is_duplicate=True, duplicate_of_upload_id=extra["duplicate_of"].upload_id,
                       existing_object_id=extra["duplicate_of"].object_id)
        return out


@router.post("/v1/buckets/{bucket_identifier}/uploads", summary="A presigned URL to PUT one file to")
def create_upload(bucket_identifier: str, body: CreateUploadRequest, request: Request,
                  ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _create(svc, request, ns, bucket_identifier, body)


@router.post("/v1/buckets/{bucket_identifier}/uploads/batch", summary="Presigned URLs for up to 100 files")
def create_uploads(bucket_identifier: str, body: BatchUploadRequest, request: Request,
                   ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    out = []
    for i, item in enumerate(body.uploads):
        try:
            out.append(_create(svc, request, ns, bucket_identifier, item))
        except WarehouseError as exc:
            raise WarehouseError(exc.status, f"uploads[{i}]: {exc.message}", {"index": i, **exc.details}) from exc
    return {"uploads": out, "count": len(out)}


@router.put("/uploads/blobs/{upload_id}", summary="This server's presigned URL: PUT the file here")
async def put_file(upload_id: str, request: Request, token: str = Query(""), svc: Services = Depends(services)):
    declared = request.headers.get("content-length", "")
    max_bytes = svc.settings.max_upload_bytes
    with svc.catalog.session() as s:
        upload = blob_uploads.check_put(s, upload_id, token, max_bytes, int(declared) if declared.isdigit() else None)
        key, limit = upload.storage_key, min(max_bytes, upload.file_size_bytes or max_bytes)
    staging = Path(svc.settings.home_dir) / "tmp"
    staging.mkdir(exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=staging, prefix="upload-")
    md5, sha, size = hashlib.md5(), hashlib.sha256(), 0  # noqa: S324 - md5 is S3's ETag, not security
    try:
        with os.fdopen(fd, "wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise WarehouseError(413, f"the file passed {limit} bytes, the most this upload takes "
                                         f"({'its file_size_bytes' if upload.file_size_bytes else 'WAREHOUSE_MAX_UPLOAD_BYTES'})")
                md5.update(chunk)
                sha.update(chunk)
                out.write(chunk)
        await run_in_threadpool(svc.objects.put_file, key, Path(tmp), upload.content_type)
    finally:
        Path(tmp).unlink(missing_ok=True)
    with svc.catalog.session() as s:
        row = s.get(BlobUpload, upload_id)
        row.received_bytes, row.etag, row.file_hash = size, md5.hexdigest(), row.file_hash or sha.hexdigest()
    return {"upload_id": upload_id, "etag": md5.hexdigest(), "size_bytes": size}


def _confirm(svc: Services, ns: Namespace, bucket_identifier: str, upload_id: str, given: dict[str, Any]):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        upload, batch = blob_uploads.confirm(s, svc.objects, bucket, upload_id, given.get("etag"),
                                             given.get("file_size_bytes"), bool(given.get("auto_submit_batch")))
        out = {"upload_id": upload.upload_id, "status": upload.status, "etag": upload.etag,
               "file_size_bytes": upload.received_bytes, "file_hash": upload.file_hash,
               "verified_at": _ts(upload.completed_at), "completed_at": _ts(upload.completed_at),
               "object_id": upload.object_id, "batch_id": upload.batch_id,
               "task_id": batch.task_id if batch is not None else None,
               "detected_content_type": upload.sniffed_type, "message": upload.message}
    if batch is not None:
        svc.dispatch(batch.batch_id)
    return out


@router.post("/v1/buckets/{bucket_identifier}/uploads/{upload_id}/confirm",
             summary="Check the uploaded file and make its object (and batch)")
def confirm_upload(bucket_identifier: str, upload_id: str, body: ConfirmBlobUploadRequest | None = None,
                   ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _confirm(svc, ns, bucket_identifier, upload_id, fields(body))


@router.post("/v1/buckets/{bucket_identifier}/uploads/confirm/batch", summary="Confirm up to 100 uploads")
def confirm_uploads(bucket_identifier: str, body: ConfirmBatchRequest, ns: Namespace = Depends(namespace),
                    svc: Services = Depends(services)):
    results = []
    for item in body.uploads:
        given = {**fields(item), "auto_submit_batch": item.auto_submit_batch or body.auto_submit_batch}
        try:
            results.append({"success": True, **_confirm(svc, ns, bucket_identifier, item.upload_id, given)})
        except WarehouseError as exc:  # one bad file does not stop the others; each answers for itself
            results.append({"success": False, "upload_id": item.upload_id, "status_code": exc.status,
                            "error": exc.message})
    return {"results": results, "confirmed": sum(r["success"] for r in results),
            "failed": sum(not r["success"] for r in results)}


@router.get("/v1/buckets/{bucket_identifier}/uploads/{upload_id}", summary="One upload")
def get_upload(bucket_identifier: str, upload_id: str, ns: Namespace = Depends(namespace),
               svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        return upload_view(svc, blob_uploads.get_upload(s, bucket, upload_id))


@router.delete("/v1/buckets/{bucket_identifier}/uploads/{upload_id}",
               summary="Cancel an upload (and delete its file unless an object uses it)")
def delete_upload(bucket_identifier: str, upload_id: str, delete_s3_object: bool = Query(True),
                  ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        upload = blob_uploads.get_upload(s, bucket, upload_id)
        used = upload.object_id is not None or blob_uploads.referenced(s, upload)
        if delete_s3_object and not used:
            svc.objects.delete(upload.storage_key)
        if upload.status == "PENDING":
            upload.status, upload.message = "CANCELED", "deleted before it was confirmed"
        view = upload_view(svc, upload)
        s.delete(upload)
    return {"success": True, "upload_id": upload_id, "file_deleted": bool(delete_s3_object and not used),
            "upload": view}


@router.post("/v1/buckets/{bucket_identifier}/uploads/list", summary="List a bucket's uploads")
def list_uploads(bucket_identifier: str, body: ListRequest | None = None, ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):
    body = body or ListRequest()
    body.refuse_unhonoured("search", "filters")
    filters = body.filters or {}
    if not isinstance(filters, dict) or set(filters) - {"status"}:
        raise WarehouseError(422, "filters: uploads are filtered by status only, e.g. {\"status\": \"COMPLETED\"}; "
                             "search matches the filename", {"location": "filters"})
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    status = filters.get("status")
    with svc.catalog.session() as s:
        bucket = get_bucket(s, ns.namespace_id, bucket_identifier)
        q = s.query(BlobUpload).filter(BlobUpload.bucket_id == bucket.bucket_id)
        if status:
            q = q.filter(BlobUpload.status == str(status).upper())
        if body.search:
            q = q.filter(BlobUpload.filename.contains(body.search))
        total = q.count()
        rows = q.order_by(BlobUpload.created_at.desc()).offset(offset).limit(limit).all()
        results = [upload_view(svc, u) for u in rows]
    return {"results": results, "uploads": results, "total": total, "total_count": total,
            "pagination": {"limit": limit, "offset": offset, "total": total}}
