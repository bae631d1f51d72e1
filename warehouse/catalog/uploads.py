"""Files uploaded into a bucket through a presigned URL: ``POST /v1/buckets/{b}/uploads`` → ``PUT`` → confirm.

The bytes never pass through the catalog or sit whole in memory: on S3 the client PUTs straight to a presigned S3
URL; on the local store the warehouse's own upload route streams the body to a file beside the store and moves it
into place (:meth:`ObjectStore.put_file`), hashing as it goes. Confirm checks the upload is there, its size and
ETag if given, and its content against the blob type (a file's first bytes, :mod:`warehouse.catalog.media`); then
it makes the object (``create_object_on_confirm``) and, with ``auto_submit_batch``, a batch for it. A blob of a
later object may name a completed upload (``{"property", "type", "upload_id"}``) instead of carrying its data.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Text, cast
from sqlalchemy.orm import Session

from warehouse.catalog.batches import queue_objects
from warehouse.catalog.media import check_content
from warehouse.catalog.models import BlobUpload, Bucket, Object
from warehouse.errors import WarehouseError, not_found
from warehouse.ids import content_etag, new_id

DEFAULT_EXPIRY_SECONDS = 3600
_MIME_RE = re.compile(r"^[\w.+-]+/[\w.+-]+$")
_KIND_BY_MIME = (("image/", "image"), ("video/", "video"), ("audio/", "audio"), ("application/pdf", "pdf"),
                 ("text/", "text"), ("application/json", "json"), ("application/vnd.ms-excel", "excel"),
                 ("application/vnd.openxmlformats-officedocument.spreadsheetml", "excel"))


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def presigned_put_url(objects, key: str, seconds: int, own_route: str) -> str:
    """Where a client PUTs a file: a presigned URL of the store when it signs its own (S3), else ``own_route`` —
    this server's upload route with the token. Bucket uploads and plugin uploads alike."""
    presign = getattr(objects, "presign_put", None)
    return presign(key, max(60, seconds)) if presign is not None else own_route


def lifetime_seconds(upload: BlobUpload) -> int:
    """How long the upload URL was issued for."""
    return max(0, int((_aware(upload.expires_at) - _aware(upload.created_at)).total_seconds()))


def referenced(s: Session, upload: BlobUpload) -> bool:
    """Whether an object's blob names this upload (its file must then stay)."""
    return s.query(Object).filter(Object.namespace_id == upload.namespace_id,
                                  cast(Object.blobs, Text).contains(upload.upload_id)).first() is not None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def kind_of(content_type: str) -> str | None:
    return next((kind for prefix, kind in _KIND_BY_MIME if content_type.startswith(prefix)), None)


def create_upload(s: Session, bucket: Bucket, fields: dict[str, Any], max_bytes: int) -> tuple[BlobUpload, str, dict]:
    """Record an upload into ``bucket``; returns it, its one-time token, and — when ``file_hash`` matches a
    completed upload and ``skip_duplicates`` — ``{"duplicate_of": upload}`` instead of asking for the bytes again."""
    filename, content_type = fields["filename"], fields["content_type"].strip().lower()
    if "/" in filename or "\\" in filename or filename in (".", "..") or "\0" in filename:
        raise WarehouseError(422, f"filename {filename!r}: a file name, not a path", {"location": "filename"})
    if not _MIME_RE.match(content_type):
        raise WarehouseError(422, f"content_type {content_type!r}: a MIME type such as image/jpeg",
                             {"location": "content_type"})
    blob_type = fields.get("blob_type")
    blob_type = blob_type.lower() if blob_type else kind_of(content_type)
    if blob_type is None:
        raise WarehouseError(422, f"content_type {content_type!r} says nothing about the blob's type; set blob_type "
                             "(image, video, audio, pdf, text, excel)", {"location": "blob_type"})
    props = (bucket.bucket_schema or {}).get("properties", {})
    prop = fields.get("blob_property") or next((n for n, p in props.items() if p.get("type") == blob_type), None)
    if prop is None:
        raise WarehouseError(422, f"bucket {bucket.bucket_name!r} has no {blob_type} property to put this file in; "
                             f"set blob_property to one of {sorted(props)} or add one to the schema",
                             {"location": "blob_property"})
    if props and prop not in props:
        raise WarehouseError(422, f"blob_property {prop!r} is not in the bucket schema; properties: {sorted(props)}",
                             {"location": "blob_property"})
    declared = props.get(prop, {}).get("type")
    if declared and declared != blob_type:
        raise WarehouseError(422, f"blob_property {prop!r} is declared as {declared!r}, this upload is {blob_type!r}",
                             {"location": "blob_property"})
    size = fields.get("file_size_bytes")
    if size is not None and size > max_bytes:
        raise WarehouseError(413, f"file_size_bytes {size}: the largest upload is {max_bytes} bytes "
                             "(WAREHOUSE_MAX_UPLOAD_BYTES)", {"location": "file_size_bytes"})
    extra: dict[str, Any] = {}
    file_hash = fields.get("file_hash")
    if file_hash and fields.get("skip_duplicates", True):
        earlier = (s.query(BlobUpload).filter(BlobUpload.bucket_id == bucket.bucket_id, BlobUpload.file_hash == file_hash,
                                              BlobUpload.status == "COMPLETED").first())
        if earlier is not None:
            extra["duplicate_of"] = earlier
    expires_in = fields.get("presigned_url_expiration") or DEFAULT_EXPIRY_SECONDS
    token, upload_id = secrets.token_urlsafe(32), new_id("upl")
    upload = BlobUpload(upload_id=upload_id, namespace_id=bucket.namespace_id, bucket_id=bucket.bucket_id,
                        filename=filename, content_type=content_type, file_size_bytes=size, blob_property=prop,
                        blob_type=blob_type, metadata_=fields.get("metadata") or {},
                        object_metadata=fields.get("object_metadata") or {},
                        create_object_on_confirm=int(fields.get("create_object_on_confirm", True)),
                        token_hash=token_hash(token), file_hash=file_hash,
                        storage_key=f"{bucket.namespace_id}/{bucket.bucket_id}/uploads/{upload_id}",
                        expires_at=_now() + timedelta(seconds=expires_in))
    if "duplicate_of" in extra:
        upload.status, upload.object_id = "COMPLETED", extra["duplicate_of"].object_id
        upload.message = f"duplicate of upload {extra['duplicate_of'].upload_id} (same file_hash): nothing to upload"
        upload.storage_key, upload.completed_at = extra["duplicate_of"].storage_key, _now()
    s.add(upload)
    s.flush()
    return upload, token, extra


def check_url_grant(upload: Any, upload_id: str, token: str, where_to_ask: str) -> None:
    """A presigned URL of this server is a grant: the upload exists, the token matches its hash (compared in
    constant time) and the URL has not expired — for bucket uploads and plugin uploads alike."""
    if upload is None or not hmac.compare_digest(upload.token_hash, token_hash(token or "")):
        raise WarehouseError(403, "this upload URL is not valid (unknown upload or wrong token); request a new one "
                             f"with {where_to_ask}")
    if _aware(upload.expires_at) < _now():
        raise WarehouseError(410, f"upload {upload_id} expired at {upload.expires_at.isoformat()}; request a new "
                             "upload URL")


def check_put(s: Session, upload_id: str, token: str, max_bytes: int, declared: int | None) -> BlobUpload:
    """The upload a PUT may write (the token matches, it is pending and not expired, the size fits)."""
    upload = s.get(BlobUpload, upload_id)
    check_url_grant(upload, upload_id, token, "POST /v1/buckets/{bucket}/uploads")
    if upload.status != "PENDING" or upload.received_bytes is not None:
        raise WarehouseError(409, f"upload {upload_id} already has its file ({upload.status.lower()}); request a new "
                             "upload URL for another file")
    limit = min(max_bytes, upload.file_size_bytes or max_bytes)
    if declared is not None and declared > limit:
        raise WarehouseError(413, f"the body is {declared} bytes; this upload takes at most {limit} "
                             f"({'its file_size_bytes' if upload.file_size_bytes else 'WAREHOUSE_MAX_UPLOAD_BYTES'})")
    return upload


def get_upload(s: Session, bucket: Bucket, upload_id: str) -> BlobUpload:
    upload = s.get(BlobUpload, upload_id)
    if upload is None or upload.bucket_id != bucket.bucket_id:
        raise not_found("upload", upload_id)
    return upload


def confirm(s: Session, objects, bucket: Bucket, upload_id: str, etag: str | None = None,
            file_size_bytes: int | None = None, auto_submit_batch: bool = False) -> tuple[BlobUpload, Any]:
    """Check an upload's file and make its object (and batch); returns the upload and the batch (or None).
    A file that is missing, of another size or ETag, empty, or not what its blob type says is a 4xx; a content
    mismatch also marks the upload FAILED and deletes the file."""
    upload = get_upload(s, bucket, upload_id)
    if upload.status == "COMPLETED":
        return upload, None
    if upload.status != "PENDING":
        raise WarehouseError(409, f"upload {upload_id} is {upload.status}: {upload.message or 'nothing to confirm'}")
    if _aware(upload.expires_at) < _now() and upload.received_bytes is None:
        upload.status, upload.message = "FAILED", "not uploaded before the URL expired"
        raise WarehouseError(410, f"upload {upload_id} expired at {upload.expires_at.isoformat()} before a file was "
                             "uploaded; request a new upload URL")
    stored = objects.stat(upload.storage_key)
    if stored is None:
        raise WarehouseError(409, f"nothing was uploaded for {upload_id} yet: PUT the file to the presigned_url first",
                             {"location": "upload_id"})
    expected = file_size_bytes if file_size_bytes is not None else upload.file_size_bytes
    if expected is not None and expected != stored.size:
        raise WarehouseError(422, f"file_size_bytes {expected} but {stored.size} bytes were uploaded",
                             {"location": "file_size_bytes"})
    actual_etag = upload.etag or stored.etag
    if etag is not None and etag.strip('"') != actual_etag:
        raise WarehouseError(422, f"etag {etag!r} does not match the uploaded file ({actual_etag!r})",
                             {"location": "etag"})
    try:
        sniffed = check_content(upload.blob_type, objects.head(upload.storage_key), f"upload {upload_id}")
    except ValueError as exc:
        upload.status, upload.message = "FAILED", str(exc)
        objects.delete(upload.storage_key)
        s.commit()  # the failure is recorded although the request answers 422
        raise WarehouseError(422, str(exc), {"location": "content_type", "upload_id": upload_id}) from None
    upload.sniffed_type, upload.etag = sniffed, actual_etag
    upload.received_bytes = stored.size
    upload.status, upload.completed_at = "COMPLETED", _now()
    upload.message = "confirmed"
    batch = None
    if upload.create_object_on_confirm:
        obj = Object(object_id=new_id("obj"), namespace_id=bucket.namespace_id, bucket_id=bucket.bucket_id,
                     blobs=[blob_from_upload(objects, upload)], fields=dict(upload.object_metadata or {}),
                     etag=content_etag(f"{upload.upload_id}:{actual_etag}"), size_bytes=stored.size)
        s.add(obj)
        s.flush()
        upload.object_id = obj.object_id
        if auto_submit_batch:
            batch = queue_objects(s, bucket, [obj.object_id], f"upload {upload.filename}")
            if batch is not None:
                upload.batch_id = batch.batch_id
    return upload, batch


def blob_from_upload(objects, upload: BlobUpload, prop: str | None = None, blob_type: str | None = None,
                     metadata: dict[str, Any] | None = None) -> dict[str, Any]:
    """The blob record of a completed upload (what an object stores: the file stays where it was uploaded)."""
    return {"blob_id": new_id("blob"), "property": prop or upload.blob_property, "type": blob_type or upload.blob_type,
            "mime_type": upload.sniffed_type or upload.content_type, "url": objects.url_for(upload.storage_key),
            "size_bytes": upload.received_bytes or 0, "checksum": upload.etag, "upload_id": upload.upload_id,
            "filename": upload.filename, "metadata": metadata or {}}


def resolve_blob_upload(s: Session, objects, namespace_id: str, upload_id: str, prop: str, blob_type: str,
                        where: str) -> dict[str, Any]:
    """A blob that names an upload: it must be this namespace's and COMPLETED, of the blob's type."""
    upload = s.get(BlobUpload, upload_id)
    if upload is None or upload.namespace_id != namespace_id:
        raise WarehouseError(422, f"{where}.upload_id: upload {upload_id!r} not found in this namespace",
                             {"location": f"{where}.upload_id"})
    if upload.status != "COMPLETED":
        raise WarehouseError(422, f"{where}.upload_id: upload {upload_id} is {upload.status}; confirm it first "
                             "(POST /v1/buckets/{b}/uploads/{id}/confirm)", {"location": f"{where}.upload_id"})
    if upload.blob_type != blob_type:
        raise WarehouseError(422, f"{where}: upload {upload_id} is a {upload.blob_type} file, the blob says "
                             f"{blob_type!r}", {"location": f"{where}.type"})
    return blob_from_upload(objects, upload, prop, blob_type)
