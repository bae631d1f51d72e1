"""Bucket inboxes: files dropped into the object store become objects of a bucket.

Each bucket watches ``inbox/{namespace_id}/{bucket_id}/`` in the configured object store
(``.warehouse/objects/inbox/…`` on the embedded default, ``s3://{WAREHOUSE_S3_BUCKET}/inbox/…`` on
S3). The new-object sensors walk these prefixes with a cursor on ``(last_modified, key)`` and
register what they find. The prefix is made of ids, never of names: names are data that two organisations
may share, ids are unique and checked (``warehouse.ids.is_valid_id``). Registering is idempotent (an object is keyed by its file, a file seen
again with the same etag is skipped, a changed one becomes a new version of the same object).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

from sqlalchemy.orm import Session

from warehouse.catalog.models import Bucket, Object
from warehouse.ids import is_valid_id, new_id
from warehouse.storage.base import ObjectStore, StoredObject

INBOX_ROOT = "inbox"
MAX_TEXT_BYTES = 10 * 1024 * 1024
BLOB_TYPE_BY_SUFFIX = {
    **dict.fromkeys([".txt", ".md", ".markdown", ".rst", ".csv", ".tsv", ".html", ".htm", ".xml", ".log"], "text"),
    ".json": "json",
    **dict.fromkeys([".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp", ".tif", ".tiff"], "image"),
    ".pdf": "pdf",
    **dict.fromkeys([".mp3", ".wav", ".m4a", ".flac", ".ogg", ".aac"], "audio"),
    **dict.fromkeys([".mp4", ".mov", ".webm", ".mkv", ".avi"], "video"),
    **dict.fromkeys([".xls", ".xlsx"], "excel"),
}
MIME_BY_SUFFIX = {".txt": "text/plain", ".md": "text/markdown", ".csv": "text/csv", ".html": "text/html",
                  ".json": "application/json", ".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg",
                  ".gif": "image/gif", ".webp": "image/webp", ".pdf": "application/pdf", ".mp3": "audio/mpeg",
                  ".wav": "audio/wav", ".mp4": "video/mp4"}


def inbox_prefix(bucket: Bucket) -> str:
    """Where files for ``bucket`` are dropped: ``inbox/{namespace_id}/{bucket_id}/``."""
    if not (is_valid_id(bucket.namespace_id) and is_valid_id(bucket.bucket_id)):
        raise ValueError(f"bucket {bucket.bucket_id!r} of namespace {bucket.namespace_id!r} has an id that cannot "
                         "name an inbox")
    return f"{INBOX_ROOT}/{bucket.namespace_id}/{bucket.bucket_id}/"


def cursor_key(item: StoredObject) -> list[str]:
    """The sensor cursor position of a stored file: ``[last_modified ISO, key]``."""
    return [item.last_modified.isoformat(), item.key]


def new_files(store: ObjectStore, prefix: str, after: list[str] | None, limit: int) -> list[StoredObject]:
    """Files under ``prefix`` strictly after the cursor position, oldest first, at most ``limit``."""
    found = [f for f in store.list(prefix) if not PurePosixPath(f.key).name.startswith(".")]
    if after:
        found = [f for f in found if cursor_key(f) > list(after)]
    return sorted(found, key=cursor_key)[:limit]


@dataclass
class Registered:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
    skipped: list[dict[str, str]] = field(default_factory=list)

    @property
    def object_ids(self) -> list[str]:
        return [*self.created, *self.updated]


def register_files(session: Session, store: ObjectStore, bucket: Bucket, files: Iterable[StoredObject]) -> Registered:
    """Create (or re-version) one object per file; files the bucket cannot hold are skipped with a reason."""
    prefix = inbox_prefix(bucket)
    out = Registered()
    props = (bucket.bucket_schema or {}).get("properties", {})
    for item in files:
        name = PurePosixPath(item.key).name
        suffix = PurePosixPath(name).suffix.lower()
        blob_type = BLOB_TYPE_BY_SUFFIX.get(suffix)
        if blob_type is None:
            out.skipped.append({"key": item.key, "reason": f"unknown file type {suffix or '(no suffix)'!r}; "
                                f"known: {sorted(set(BLOB_TYPE_BY_SUFFIX))}"})
            continue
        prop = _property_for(props, blob_type)
        if prop is None:
            out.skipped.append({"key": item.key, "reason": f"bucket {bucket.bucket_name!r} has no schema property "
                                f"of type {blob_type!r} for this file; add one to its bucket_schema"})
            continue
        blob = {"blob_id": new_id("blob"), "property": prop, "type": blob_type,
                "mime_type": MIME_BY_SUFFIX.get(suffix), "size_bytes": item.size, "checksum": item.etag,
                "metadata": {"source_key": item.key}}
        if blob_type in ("text", "json"):
            if item.size > MAX_TEXT_BYTES:
                out.skipped.append({"key": item.key, "reason": f"text file of {item.size} bytes is over the "
                                    f"{MAX_TEXT_BYTES}-byte inline limit; split it"})
                continue
            try:
                blob["data"] = store.get(item.key).decode("utf-8")
            except UnicodeDecodeError as exc:
                out.skipped.append({"key": item.key, "reason": f"not UTF-8 text ({exc.reason} at byte {exc.start})"})
                continue
        else:
            blob["url"] = store.url_for(item.key)
        existing = (session.query(Object)
                    .filter(Object.bucket_id == bucket.bucket_id, Object.key_prefix == item.key).one_or_none())
        fields = {"file_name": name, "source_key": item.key, "relative_path": item.key[len(prefix):]}
        if existing is not None:
            if existing.etag == item.etag:
                out.unchanged += 1
                continue
            existing.blobs, existing.fields, existing.etag, existing.size_bytes = [blob], fields, item.etag, item.size
            out.updated.append(existing.object_id)
            continue
        obj = Object(object_id=new_id("obj"), namespace_id=bucket.namespace_id, bucket_id=bucket.bucket_id,
                     key_prefix=item.key, blobs=[blob], fields=fields, etag=item.etag, size_bytes=item.size)
        session.add(obj)
        out.created.append(obj.object_id)
    session.flush()
    return out


def _property_for(props: dict, blob_type: str) -> str | None:
    if not props:
        return blob_type
    for name, spec in props.items():
        declared = (spec or {}).get("type")
        if declared == blob_type or (blob_type == "text" and declared == "string"):
            return name
    return None
