"""Objects: turning a create request's blobs into stored blob records (inline text, object-store blobs, URLs), and
where a new object goes — a new row, or, under the bucket's unique key or the request's idempotency key, an existing
one."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy.orm import Session

from warehouse.catalog.media import SNIFF_BYTES, check_content
from warehouse.catalog.models import Bucket, Object
from warehouse.catalog.uploads import resolve_blob_upload
from warehouse.errors import WarehouseError
from warehouse.ids import content_etag, new_id
from warehouse.outbound import OutboundPolicy, OutboundRefused, Unresolvable, check_url
from warehouse.storage import ObjectStore

#: property types that are blobs (the others are plain fields)
BLOB_TYPES = {"text", "image", "audio", "video", "pdf", "excel"}
_MIME = {"text": "text/plain", "image": "image/*", "audio": "audio/*", "video": "video/*", "pdf": "application/pdf",
         "excel": "application/vnd.ms-excel", "string": "text/plain", "json": "application/json"}


def _blob_record(objects: ObjectStore, ns_id: str, bucket: Bucket, object_id: str, blob: Any, index: int,
                 policy: OutboundPolicy, s: Session | None = None, mirror: bool = False) -> dict:
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
        if blob.data is not None:
            raise WarehouseError(422, f"{where}: give either upload_id or data, not both", {"location": where})
        if s is None:
            raise WarehouseError(422, f"{where}: upload_id is not accepted here; send the content in 'data'",
                                 {"location": f"{where}.upload_id"})
        record = resolve_blob_upload(s, objects, ns_id, blob.upload_id, blob.property, blob.type, where)
        record["metadata"] = blob.metadata or {}
        return record
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
        if mirror:  # canonicalize_source: the file is copied into the store now; the URL is kept as its source
            key = f"{ns_id}/{bucket.bucket_id}/{object_id}/{record['blob_id']}"
            record.update(_mirror(objects, key, blob.data, blob.type, policy, f"{where}.data"), source_url=blob.data)
            return record
        record.update(url=blob.data, size_bytes=0)
        return record
    if blob.data.startswith("file://") or "://" in blob.data[:16]:
        raise WarehouseError(422, f"{where}: URL scheme not accepted; use s3://, https:// or base64 content", {"location": where})
    try:
        raw = base64.b64decode(blob.data.split(",", 1)[-1] if blob.data.startswith("data:") else blob.data, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise WarehouseError(422, f"{where}: 'data' is neither a URL nor valid base64 ({exc})", {"location": where}) from exc
    try:  # the bytes must be what the blob says it is, as for uploads: an HTML page is no PDF
        sniffed = check_content(blob.type, raw[:SNIFF_BYTES], f"{where}.data")
    except ValueError as exc:
        raise WarehouseError(422, str(exc), {"location": f"{where}.data"}) from None
    if sniffed and not (blob.mime_type or blob.content_type):
        record["mime_type"] = sniffed
    key = f"{ns_id}/{bucket.bucket_id}/{object_id}/{record['blob_id']}"
    record.update(url=objects.put(key, raw, record["mime_type"]), size_bytes=len(raw), checksum=content_etag(raw))
    return record


def _mirror(objects: ObjectStore, key: str, url: str, blob_type: str, policy: OutboundPolicy,
            where: str) -> dict[str, Any]:
    """Fetch ``url`` (already checked against ``policy``) into the store under ``key``, streamed to a temporary file
    (never whole in memory), at most ``policy.max_bytes``; its content must be what the blob type says. Whatever
    goes wrong is a 422 (413 for size) naming the blob: nothing is stored."""
    fd, tmp = tempfile.mkstemp(prefix="wh-mirror-")
    os.close(fd)
    path, digest, size = Path(tmp), hashlib.sha256(), 0
    try:
        try:
            with httpx.stream("GET", url, follow_redirects=False, timeout=30) as resp, path.open("wb") as fh:
                if resp.is_redirect:
                    raise WarehouseError(422, f"{where}: {url!r} redirects to {resp.headers.get('location')!r}; "
                                         "redirects are not followed, give the final URL", {"location": where})
                if resp.status_code >= 400:
                    raise WarehouseError(422, f"{where}: fetching {url!r} to mirror it answered HTTP "
                                         f"{resp.status_code}", {"location": where})
                for chunk in resp.iter_bytes(1 << 20):
                    size += len(chunk)
                    if size > policy.max_bytes:
                        raise WarehouseError(413, f"{where}: {url!r} is larger than the {policy.max_bytes} bytes a "
                                             "mirrored blob may be", {"location": where})
                    digest.update(chunk)
                    fh.write(chunk)
        except httpx.HTTPError as exc:
            raise WarehouseError(422, f"{where}: {url!r} could not be fetched to mirror it ({exc}); pass "
                                 "canonicalize_source: false to keep the URL and fetch it when a batch runs",
                                 {"location": where}) from None
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
        try:
            mime = check_content(blob_type, head, where)
        except ValueError as exc:
            raise WarehouseError(422, str(exc), {"location": where}) from None
        return {"url": objects.put_file(key, path, mime), "size_bytes": size, "checksum": digest.hexdigest()[:16],
                **({"mime_type": mime} if mime else {})}
    finally:
        path.unlink(missing_ok=True)


def new_object(objects: ObjectStore, bucket: Bucket, body: Any, policy: OutboundPolicy,
               object_id: str | None = None, s: Session | None = None) -> Object:
    """An object of ``bucket`` (not yet added to a session) from a create request: ``body`` has ``blobs`` (each
    with ``property, type, data, mime_type, content_type, metadata, upload_id``), ``metadata``, ``key_prefix``
    and its own fields in ``model_extra``. Binary blobs are stored in ``objects`` now; a bad blob is a 422
    naming ``blobs[i]``; ``policy`` decides which http(s) blob URLs are accepted (the process's settings)."""
    fields = dict(body.model_extra or {})
    if body.metadata:
        fields.setdefault("metadata", body.metadata)
        for k, v in body.metadata.items():
            fields.setdefault(k, v)
    object_id = object_id or new_id("obj")
    mirror = getattr(body, "canonicalize_source", None)
    mirrors = [bool(b.canonicalize_source if b.canonicalize_source is not None else mirror) for b in body.blobs]
    for where, holder, copies in [("force_remirror", body, mirror)] + [
            (f"blobs[{i}].force_remirror", b, mirrors[i]) for i, b in enumerate(body.blobs)]:
        # every canonicalize_source create copies the source anew (nothing is reused), so force_remirror holds
        # there; without a copy to make it would do nothing: refused
        if getattr(holder, "force_remirror", None) and not copies:
            raise WarehouseError(422, f"{where}: only means something with canonicalize_source: true (the blob is "
                                 "copied into the store at create, anew each time)", {"location": where})
    blobs = [_blob_record(objects, bucket.namespace_id, bucket, object_id, b, i, policy, s, mirror=mirrors[i])
             for i, b in enumerate(body.blobs)]
    for b in blobs:
        for k, v in (b.get("metadata") or {}).items():
            fields.setdefault(k, v)
    _check_complete(bucket, blobs, fields)
    return Object(object_id=object_id, namespace_id=bucket.namespace_id, bucket_id=bucket.bucket_id,
                  key_prefix=body.key_prefix, blobs=blobs, fields=fields, etag=_etag(blobs, fields),
                  size_bytes=sum(int(b.get("size_bytes") or 0) for b in blobs))


def _check_complete(bucket: Bucket, blobs: list[dict[str, Any]], fields: dict[str, Any]) -> None:
    props = (bucket.bucket_schema or {}).get("properties", {})
    present = {b["property"] for b in blobs} | set(fields)
    missing = [name for name, p in props.items() if p.get("required") and name not in present]
    if missing:
        raise WarehouseError(422, f"object is missing required schema propert(ies) {missing}", {"missing": missing})
    if not blobs and not fields:
        raise WarehouseError(422, "an object needs at least one blob or field", {"location": "blobs"})


def _etag(blobs: list[dict[str, Any]], fields: dict[str, Any]) -> str:
    fingerprint = json.dumps([[b["property"], b.get("data") or b.get("checksum") or b.get("url")] for b in blobs]
                             + [fields], sort_keys=True, default=str)
    return content_etag(fingerprint)


def update_object(s: Session, objects: ObjectStore, bucket: Bucket, obj: Object, changes: dict[str, Any],
                  blobs: list[Any] | None, outbound: OutboundPolicy) -> bool:
    """Change an object's fields (the keys given) and, when ``blobs`` is given, its blobs; ``metadata`` keys the
    object holds in its own ``metadata`` change there, others at its root. Returns whether its content changed (then
    its documents are replaced when it is next processed)."""
    if changes.pop("skip_duplicates", None):
        raise WarehouseError(422, "skip_duplicates is not supported here; leave it out", {"location": "skip_duplicates"})
    key_prefix = changes.pop("key_prefix", obj.key_prefix)
    meta_changes = changes.pop("metadata", None) or {}
    fields = {**(obj.fields or {}), **changes}
    meta = dict((obj.fields or {}).get("metadata") or {})
    for k, v in meta_changes.items():
        if k in meta:
            meta[k] = v
        fields[k] = v
    if meta:
        fields["metadata"] = meta
    stored = obj.blobs or []
    if blobs is not None:
        stored = [_blob_record(objects, bucket.namespace_id, bucket, obj.object_id, b, i, outbound, s,
                               mirror=bool(getattr(b, "canonicalize_source", None)))
                  for i, b in enumerate(blobs)]
    _check_complete(bucket, stored, fields)
    if bucket.unique_key is not None:
        value = _unique_value(bucket, fields)
        clash = s.query(Object).filter(Object.bucket_id == bucket.bucket_id, Object.unique_value == value,
                                       Object.object_id != obj.object_id).first()
        if clash is not None:
            raise WarehouseError(409, f"object {clash.object_id} already has this unique key "
                                 f"({bucket.unique_key['fields']})", {"object_id": clash.object_id})
        obj.unique_value = value
    etag = _etag(stored, fields)
    changed = etag != obj.etag
    obj.key_prefix, obj.blobs, obj.fields, obj.etag = key_prefix, stored, fields, etag
    obj.size_bytes = sum(int(b.get("size_bytes") or 0) for b in stored)
    s.flush()
    return changed


#: insertion policies under a bucket's unique key
POLICIES = ("insert", "update", "upsert")


def check_unique_key(bucket_schema: dict[str, Any] | None, unique_key: Any) -> dict[str, Any] | None:
    """A bucket's ``unique_key`` ``{fields, default_policy}``: fields of its schema that are not blobs; 422 else."""
    if unique_key is None:
        return None
    if not isinstance(unique_key, dict) or set(unique_key) - {"fields", "default_policy"}:
        raise WarehouseError(422, "unique_key is {fields: [schema field, …], default_policy: insert|update|upsert}",
                             {"location": "unique_key"})
    fields, default = unique_key.get("fields"), unique_key.get("default_policy")
    props = (bucket_schema or {}).get("properties") or {}
    if not isinstance(fields, list) or not fields or not all(isinstance(f, str) for f in fields):
        raise WarehouseError(422, "unique_key.fields: one or more field names of the bucket schema",
                             {"location": "unique_key.fields"})
    for f in fields:
        if f not in props or props[f].get("type") in BLOB_TYPES:
            raise WarehouseError(422, f"unique_key.fields: {f!r} is not a non-blob property of the bucket schema "
                                 f"({sorted(k for k, p in props.items() if p.get('type') not in BLOB_TYPES)})",
                                 {"location": "unique_key.fields"})
    if default is not None and default not in POLICIES:
        raise WarehouseError(422, f"unique_key.default_policy: one of {list(POLICIES)}",
                             {"location": "unique_key.default_policy"})
    return {"fields": fields, "default_policy": default}


def _unique_value(bucket: Bucket, fields: dict[str, Any]) -> str:
    """The hash of the bucket's unique-key field values among an object's ``fields``; 422 when one is missing."""
    missing = [f for f in bucket.unique_key["fields"] if fields.get(f) is None]
    if missing:
        raise WarehouseError(422, f"bucket {bucket.bucket_name!r} has unique key {bucket.unique_key['fields']}: the "
                             f"object lacks {missing}", {"location": missing[0]})
    values = [fields[f] for f in bucket.unique_key["fields"]]
    return hashlib.sha256(json.dumps(values, sort_keys=True, default=str).encode()).hexdigest()


def place_object(s: Session, objects: ObjectStore, bucket: Bucket, body: Any, outbound: OutboundPolicy,
                 policy: str | None = None) -> tuple[Object, str]:
    """Store a create request's object; returns it and what happened: ``created``, ``updated`` (the bucket's
    unique key matched an object: it takes the new blobs and fields, keeps its id, and its documents are replaced
    when it is next processed) or ``existing`` (an object with this ``idempotency_key`` exists: returned as is)."""
    if getattr(body, "skip_duplicates", None):
        raise WarehouseError(422, "skip_duplicates is not supported here: give the bucket a unique_key (policy "
                             "insert refuses a duplicate) or send an idempotency_key", {"location": "skip_duplicates"})
    if getattr(body, "edges", None):
        raise WarehouseError(422, "edges: object graphs are not stored here; keep related ids in the object's own "
                             "fields (they pass through to its documents with field_passthrough)", {"location": "edges"})
    if bucket.unique_key is None and policy is not None:
        raise WarehouseError(422, f"policy applies to buckets with a unique_key; bucket {bucket.bucket_name!r} has "
                             "none", {"location": "policy"})
    key = getattr(body, "idempotency_key", None)
    if key is not None:
        found = s.query(Object).filter(Object.bucket_id == bucket.bucket_id, Object.idempotency_key == key).first()
        if found is not None:
            return found, "existing"
    if bucket.unique_key is None:
        obj = new_object(objects, bucket, body, outbound, s=s)
        obj.idempotency_key = key
        s.add(obj)
        s.flush()
        return obj, "created"
    policy = policy or bucket.unique_key.get("default_policy")
    if policy is None:
        raise WarehouseError(422, f"bucket {bucket.bucket_name!r} has a unique key and no default_policy: pass "
                             f"?policy= one of {list(POLICIES)}", {"location": "policy"})
    value = _unique_value(bucket, {**(body.metadata or {}), **(body.model_extra or {})})
    found = s.query(Object).filter(Object.bucket_id == bucket.bucket_id, Object.unique_value == value).first()
    if found is not None and policy == "insert":
        raise WarehouseError(409, f"an object with this unique key ({bucket.unique_key['fields']}) exists: "
                             f"{found.object_id}; use policy upsert or update to replace it",
                             {"object_id": found.object_id})
    if found is None and policy == "update":
        raise WarehouseError(404, f"no object with this unique key ({bucket.unique_key['fields']}) to update; use "
                             "policy upsert or insert to create it", {"location": "policy"})
    obj = new_object(objects, bucket, body, outbound, object_id=found.object_id if found is not None else None, s=s)
    obj.unique_value, obj.idempotency_key = value, key
    if found is None:
        s.add(obj)
        s.flush()
        return obj, "created"
    for attr in ("key_prefix", "blobs", "fields", "etag", "size_bytes", "idempotency_key"):
        setattr(found, attr, getattr(obj, attr))
    found.status = "ACTIVE"
    s.flush()
    return found, "updated"
