"""From catalog objects to the rows an extractor sees (the batch DataFrame contract)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import SimpleNamespace
from typing import Any

import pandas as pd

from warehouse.extractors.chunking import split_text
from warehouse.extractors.manifest import ExtractorSpec
from warehouse.ids import document_id_from_uuid, document_uuid

TEXT_TYPES = {"text", "string"}
#: blob types whose ``data`` is the content itself, never a location to open
INLINE_TYPES = TEXT_TYPES | {"json"}


@dataclass
class RowPlan:
    """The rows of one collection's run, plus the objects that produced none (with reasons)."""

    frame: pd.DataFrame
    object_rows: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    passthrough: dict[str, dict[str, Any]] = field(default_factory=dict)
    objects: dict[str, Any] = field(default_factory=dict)


def get_path(data: dict[str, Any], path: str) -> Any:
    """``a.b.c`` lookup in nested dicts; also tries ``metadata.``-prefixed and bare forms."""
    for candidate in (path, path.removeprefix("metadata."), f"metadata.{path}"):
        cur: Any = data
        for part in candidate.split("."):
            if isinstance(cur, dict) and part in cur:
                cur = cur[part]
            else:
                cur = _MISSING
                break
        if cur is not _MISSING:
            return cur
    return _MISSING


_MISSING = object()


def normalize_input_mappings(raw: Any, spec: ExtractorSpec, bucket_schema: dict[str, Any]) -> dict[str, str]:
    """``{input: path}`` from either documented shape; defaults to the single blob property."""
    if isinstance(raw, list):
        mapping = {}
        for item in raw:
            if isinstance(item, dict) and item.get("input_key"):
                mapping[item["input_key"]] = item.get("path") or item["input_key"]
        raw = mapping
    if isinstance(raw, dict) and raw:
        return {str(k): str(v) for k, v in raw.items()}
    props = (bucket_schema or {}).get("properties", {})
    blob_props = [name for name, p in props.items() if p.get("type") in {"text", "image", "audio", "video", "pdf", "excel"}]
    first_input = spec.input_names[0] if spec.input_names else "text"
    if len(blob_props) == 1:
        return {first_input: blob_props[0]}
    if first_input in props:
        return {first_input: first_input}
    return {first_input: blob_props[0] if blob_props else first_input}


def normalize_passthrough(raw: Any) -> list[dict[str, Any]]:
    out = []
    for item in raw or []:
        if isinstance(item, str):
            out.append({"source_path": item, "target_path": item, "required": False, "default": None})
        elif isinstance(item, dict) and item.get("source_path"):
            out.append({
                "source_path": item["source_path"],
                "target_path": item.get("target_path") or item["source_path"].split(".")[-1],
                "required": bool(item.get("required", False)),
                "default": item.get("default"),
            })
    return out


def build_rows(
    objects: list[Any],
    collection: Any,
    spec: ExtractorSpec,
    bucket_schemas: dict[str, dict[str, Any]],
    parameters: dict[str, Any],
) -> RowPlan:
    """One row per mapped blob (or per chunk of a text blob), with deterministic document ids.

    Args:
        objects: catalog objects (``object_id``, ``bucket_id``, ``blobs``, ``fields``, ``etag``).
        collection: the catalog collection (its ``feature_extractor`` config).
        spec: the extractor's spec.
        bucket_schemas: bucket_id → bucket_schema, for default input mappings.
        parameters: extractor parameters (chunking options among them).
    """
    fe = collection.feature_extractor or {}
    passthrough = normalize_passthrough(fe.get("field_passthrough"))
    split_by = parameters.get("split_by", "none") if spec.chunking else "none"
    chunk_size = int(parameters.get("chunk_size", 1000))
    chunk_overlap = int(parameters.get("chunk_overlap", 0))
    rows: list[dict[str, Any]] = []
    plan = RowPlan(frame=pd.DataFrame())
    for obj in objects:
        plan.objects[obj.object_id] = obj
        mapping = normalize_input_mappings(fe.get("input_mappings"), spec, bucket_schemas.get(obj.bucket_id, {}))
        fields = dict(obj.fields or {})
        carried, missing = {}, []
        for p in passthrough:
            value = get_path(fields, p["source_path"])
            if value is _MISSING:
                if p["required"] and p["default"] is None:
                    missing.append(p["source_path"])
                    continue
                value = p["default"]
            carried[p["target_path"]] = value
        if missing:
            plan.failures.append(_failure(obj.object_id, f"required passthrough field(s) {missing} missing on the object", "MISSING_FIELD"))
            continue
        plan.passthrough[obj.object_id] = carried
        produced = 0
        problems = []
        for input_name, path in mapping.items():
            # Every blob of the property: an upstream collection's documents arrive as one blob each.
            matched = [b for b in obj.blobs or [] if b.get("property") == path]
            if not matched:
                value = get_path(fields, path)
                if value is _MISSING or isinstance(value, dict | list):
                    props = sorted({b.get("property") for b in obj.blobs or []})
                    problems.append(
                        f"input_mappings maps {input_name!r} to {path!r}, but the object has no blob or field "
                        f"{path!r} (blob properties: {props})"
                    )
                    continue
                matched = [{"blob_id": f"field_{path}", "property": path, "type": "text",
                            "data": "" if value is None else str(value), "mime_type": "text/plain"}]
            for blob in matched:
                produced += _blob_rows(rows, obj, blob, collection, spec, split_by, chunk_size, chunk_overlap)
        if problems:
            plan.failures.append(_failure(obj.object_id, "; ".join(problems), "INPUT_MAPPING"))
            rows = [r for r in rows if r["object_id"] != obj.object_id]
            continue
        plan.object_rows[obj.object_id] = produced
    frame = pd.DataFrame(rows)
    if not frame.empty:
        # Similar lengths in one batch mean less padding for transformer models.
        frame["_len"] = frame["data"].map(lambda v: len(v) if isinstance(v, str) else 0)
        frame = frame.sort_values("_len", kind="stable").drop(columns="_len").reset_index(drop=True)
    plan.frame = frame
    return plan


def _blob_rows(rows: list[dict[str, Any]], obj: Any, blob: dict[str, Any], collection: Any, spec: ExtractorSpec,
               split_by: str, chunk_size: int, chunk_overlap: int) -> int:
    """Append the rows of one blob (one per chunk of a text); returns how many."""
    blob_type = blob.get("type", "text")
    is_text = blob_type in TEXT_TYPES
    inline = blob_type in INLINE_TYPES
    data = blob.get("data") if inline else blob.get("url")
    pieces = split_text(str(data or ""), split_by, chunk_size, chunk_overlap) if is_text else [None]
    for index, chunk in enumerate(pieces):
        point = document_uuid(collection.collection_id, obj.object_id, blob["blob_id"], obj.etag, spec.ref, index)
        rows.append({
            "data": chunk.text if chunk is not None else data,
            "document_id": document_id_from_uuid(point),
            "object_id": obj.object_id,
            "blob_id": blob["blob_id"],
            "blob_property": blob.get("property"),
            "blob_type": blob_type,
            "collection_id": collection.collection_id,
            "feature_extractor_id": spec.extractor_id,
            "mime_type": blob.get("mime_type") or ("text/plain" if is_text else "application/octet-stream"),
            "size_bytes": int(blob.get("size_bytes") or len(str(data or ""))),
            "chunk_index": index,
            "_chunk_start": chunk.start if chunk is not None else None,
            "_chunk_end": chunk.end if chunk is not None else None,
            "_source_url": None if inline else data,
            "_source_document_id": blob.get("source_document_id"),
            "_source_collection_id": blob.get("source_collection_id"),
        })
    return len(pieces)


def documents_as_objects(objects: list[Any], documents: list[dict[str, Any]], paths: list[str]) -> list[Any]:
    """A multi-tier collection's view of ``objects``: each object (its id, bucket, version and fields) with the
    upstream ``documents`` of it as its blobs — per document, one text blob under each mapped ``path`` holding
    the document's value there. Objects without upstream documents are left out: nothing reached this tier."""
    by_object: dict[str, list[dict[str, Any]]] = {}
    for doc in documents:
        by_object.setdefault(doc.get("source_object_id"), []).append(doc)
    out = []
    for obj in objects:
        blobs = []
        for doc in sorted(by_object.get(obj.object_id, []), key=lambda d: d.get("document_id") or ""):
            for path in paths:
                value = get_path(doc, path)
                if value is _MISSING or value is None or isinstance(value, dict | list):
                    continue
                blobs.append({"blob_id": doc["document_id"] if len(paths) == 1 else f"{doc['document_id']}/{path}",
                              "property": path, "type": "text", "data": str(value), "mime_type": "text/plain",
                              "source_document_id": doc["document_id"],
                              "source_collection_id": doc.get("collection_id")})
        if blobs:
            out.append(SimpleNamespace(object_id=obj.object_id, bucket_id=obj.bucket_id, etag=obj.etag,
                                       fields=dict(obj.fields or {}), blobs=blobs))
    return out


def _failure(object_id: str, error: str, error_type: str) -> dict[str, Any]:
    return {"object_id": object_id, "error": error, "error_type": error_type, "timestamp": datetime.now(UTC).isoformat()}
