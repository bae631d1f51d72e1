"""Objects: turning a create request's blobs into stored blob records (inline text, object-store blobs, URLs)."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from warehouse.catalog.models import Bucket, Object
from warehouse.errors import WarehouseError
from warehouse.ids import content_etag, new_id
from warehouse.outbound import OutboundPolicy, OutboundRefused, Unresolvable, check_url
from warehouse.storage import ObjectStore

#: property types that are blobs (the others are plain fields)
BLOB_TYPES = {"text", "image", "audio", "video", "pdf", "excel"}
_MIME = {"text": "text/plain", "image": "image/*", "audio": "audio/*", "video": "video/*", "pdf": "application/pdf",
         "excel": "application/vnd.ms-excel", "string": "text/plain", "json": "application/json"}


def _blob_record(objects: ObjectStore, ns_id: str, bucket: Bucket, object_id: str, blob: Any, index: int,
                 policy: OutboundPolicy) -> dict:
    props = (bucket.bucket_schema or {}).get("properties", {})
    where = f"blobs[{index}]"
    if props and blob.property not in props:
        raise WarehouseError(422, f"{where}: property {blob.property!r} is not in the bucket schema; properties: {sorted(props)}",
                       {"location": where})
    declared = props.get(blob.property, {}).get("type")
    if declared and declared in BLOB_TYPES and blob.type in BLOB_TYPES and declared != blob.type:
        raise WarehouseError(422, f"{where}: property {blob.property!r} is declared as {declared!r}, the blob says {blob.type!r}",
                       {"location": where})
    if blob.upload_id:
        raise WarehouseError(400, f"{where}: upload_id references are not supported by this server yet; send the content "
                       "inline in 'data' (text, base64, or an s3:// / https:// URL)", {"location": where})
    record = {"blob_id": new_id("blob"), "property": blob.property, "type": blob.type,
              "mime_type": blob.mime_type or blob.content_type or _MIME.get(blob.type), "metadata": blob.metadata or {}}
    if blob.type in ("text", "string", "json"):
        if blob.data is None:
            raise WarehouseError(422, f"{where}: a {blob.type} blob needs 'data'", {"location": where})
        data = blob.data if isinstance(blob.data, str) else json.dumps(blob.data)
        record.update(data=data, size_bytes=len(data.encode("utf-8")))
        return record
    if not isinstance(blob.data, str) or not blob.data:
        raise WarehouseError(422, f"{where}: a {blob.type} blob needs 'data' as base64 or a URL", {"location": where})
    if blob.data.startswith("s3://"):
        key = objects.key_from_url(blob.data)
        if key is None or not key.startswith((f"{ns_id}/", f"inbox/{ns_id}/")):
            raise WarehouseError(422, f"{where}: an s3:// blob must be an object of this warehouse's store inside your "
                                 f"namespace ({objects.url_for(ns_id + '/')}…); send other files as base64 'data', "
                                 "by https:// URL, or through the bucket's inbox", {"location": f"{where}.data"})
        record.update(url=blob.data, size_bytes=0)
        return record
    if blob.data.startswith(("http://", "https://")):
        try:
            check_url(blob.data, policy)
        except Unresolvable:
            pass  # fetched (and checked again) by the batch worker, which reports a host that never resolves
        except OutboundRefused as exc:
            raise WarehouseError(422, f"{where}.data: {exc}", {"location": f"{where}.data"}) from None
        record.update(url=blob.data, size_bytes=0)
        return record
    if blob.data.startswith("file://") or "://" in blob.data[:16]:
        raise WarehouseError(422, f"{where}: URL scheme not accepted; use s3://, https:// or base64 content", {"location": where})
    try:
        raw = base64.b64decode(blob.data.split(",", 1)[-1] if blob.data.startswith("data:") else blob.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WarehouseError(422, f"{where}: 'data' is neither a URL nor valid base64 ({exc})", {"location": where}) from exc
    key = f"{ns_id}/{bucket.bucket_id}/{object_id}/{record['blob_id']}"
    record.update(url=objects.put(key, raw, record["mime_type"]), size_bytes=len(raw), checksum=content_etag(raw))
    return record


def new_object(objects: ObjectStore, bucket: Bucket, body: Any, policy: OutboundPolicy) -> Object:
    """An object of ``bucket`` (not yet added to a session) from a create request: ``body`` has ``blobs`` (each
    with ``property, type, data, mime_type, content_type, metadata, upload_id``), ``metadata``, ``key_prefix``
    and its own fields in ``model_extra``. Binary blobs are stored in ``objects`` now; a bad blob is a 422
    naming ``blobs[i]``; ``policy`` decides which http(s) blob URLs are accepted (the process's settings)."""
    fields = dict(body.model_extra or {})
    if body.metadata:
        fields.setdefault("metadata", body.metadata)
        for k, v in body.metadata.items():
            fields.setdefault(k, v)
    object_id = new_id("obj")
    blobs = [_blob_record(objects, bucket.namespace_id, bucket, object_id, b, i, policy)
             for i, b in enumerate(body.blobs)]
    for b in blobs:
        for k, v in (b.get("metadata") or {}).items():
            fields.setdefault(k, v)
    props = (bucket.bucket_schema or {}).get("properties", {})
    present = {b["property"] for b in blobs} | set(fields)
    missing = [name for name, p in props.items() if p.get("required") and name not in present]
    if missing:
        raise WarehouseError(422, f"object is missing required schema propert(ies) {missing}", {"missing": missing})
    if not blobs and not fields:
        raise WarehouseError(422, "an object needs at least one blob or field", {"location": "blobs"})
    fingerprint = json.dumps([[b["property"], b.get("data") or b.get("checksum") or b.get("url")] for b in blobs]
                             + [fields], sort_keys=True, default=str)
    return Object(object_id=object_id, namespace_id=bucket.namespace_id, bucket_id=bucket.bucket_id,
                  key_prefix=body.key_prefix, blobs=blobs, fields=fields, etag=content_etag(fingerprint),
                  size_bytes=sum(int(b.get("size_bytes") or 0) for b in blobs))
