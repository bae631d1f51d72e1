"""Identifiers: random resource ids with Mixpeek's prefixes, deterministic document ids."""

from __future__ import annotations

import hashlib
import re
import secrets
import uuid

_ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789"
_DOC_NAMESPACE = uuid.UUID("6f1c1d5e-5b1a-4c55-9f0e-3c0d8a1e7b42")


def new_id(prefix: str, length: int = 12) -> str:
    """A random id such as ``bkt_k3j9x0a1b2c3`` (prefix + 12 secure characters)."""
    return f"{prefix}_" + "".join(secrets.choice(_ALPHABET) for _ in range(length))


def document_uuid(
    collection_id: str,
    object_id: str,
    blob_id: str,
    object_version: str,
    extractor: str,
    chunk_index: int,
) -> uuid.UUID:
    """The deterministic point id of one document.

    The same (collection, object, blob, object version, extractor version, chunk) always maps
    to the same id, so re-running a batch upserts instead of duplicating.
    """
    key = "\x1f".join(
        [collection_id, object_id, blob_id, object_version, extractor, str(chunk_index)]
    )
    return uuid.uuid5(_DOC_NAMESPACE, key)


def document_id_from_uuid(point_id: uuid.UUID | str) -> str:
    """``doc_`` + the 32 hex digits of the point id (a bijection, so no lookup table)."""
    return "doc_" + uuid.UUID(str(point_id)).hex


def uuid_from_document_id(document_id: str) -> uuid.UUID:
    """Inverse of :func:`document_id_from_uuid`; raises ``ValueError`` on a malformed id."""
    if not document_id.startswith("doc_"):
        raise ValueError(f"document id {document_id!r} must start with 'doc_'")
    return uuid.UUID(hex=document_id[4:])


def content_etag(data: bytes | str) -> str:
    """A short content hash used as an object's version."""
    if isinstance(data, str):
        data = data.encode("utf-8")
    return hashlib.sha256(data).hexdigest()[:16]


def hash_api_key(key: str) -> str:
    """API keys are stored only as this hash."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


def is_valid_id(value: object) -> bool:
    """Ids become path components (index shards, object keys, inboxes): letters, digits, ``_`` and ``-``, at most
    64 characters, starting with a letter or digit. Names never become paths."""
    return isinstance(value, str) and _ID.fullmatch(value) is not None
