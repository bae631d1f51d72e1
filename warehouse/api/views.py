"""Response shapes: catalog rows and index hits → the Mixpeek v1 JSON the SDK validates."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from warehouse.catalog import (
    Batch,
    Bucket,
    Collection,
    EnrichmentRun,
    Namespace,
    Object,
    Retriever,
    RetrieverVersion,
    Task,
)
from warehouse.catalog.batches import TERMINAL, BatchStatus


def _ts(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def pagination(total: int, limit: int, offset: int) -> dict[str, Any]:
    page = offset // limit + 1 if limit else 1
    pages = (total + limit - 1) // limit if limit else 1
    return {
        "total": total, "page": page, "page_size": limit, "total_pages": pages,
        "next_page": page + 1 if page < pages else None, "previous_page": page - 1 if page > 1 else None,
        "next_cursor": None,
    }


def listing(results: list[Any], total: int, limit: int, offset: int) -> dict[str, Any]:
    return {"results": results, "total_count": total, "total": total, "pagination": pagination(total, limit, offset)}


def namespace_view(ns: Namespace, registry, counts: dict[str, int] | None = None) -> dict[str, Any]:
    fes = []
    for fe in ns.feature_extractors or []:
        version = fe.get("version", "v1")
        try:
            ext = registry.get(fe["feature_extractor_name"], version, ns.namespace_id)
            fid = ext.spec.extractor_id
        except LookupError:
            fid = f"{fe['feature_extractor_name']}_{str(version).replace('.', '_')}"
        fes.append({"feature_extractor_name": fe["feature_extractor_name"], "version": version,
                    "feature_extractor_id": fid, "params": fe.get("params") or fe.get("parameters")})
    counts = counts or {}
    return {
        "namespace_id": ns.namespace_id, "namespace_name": ns.namespace_name, "description": ns.description,
        "feature_extractors": fes, "payload_indexes": ns.payload_indexes or [], "mode": "managed",
        "namespace_ready": True, "bucket_count": counts.get("buckets", 0),
        "collection_count": counts.get("collections", 0), "object_count": counts.get("objects", 0),
        "document_count": counts.get("documents", 0), "created_at": _ts(ns.created_at),
        "updated_at": _ts(ns.updated_at), "expires_at": None,
    }


def bucket_view(b: Bucket, object_count: int = 0, total_size: int = 0) -> dict[str, Any]:
    return {
        "bucket_id": b.bucket_id, "bucket_name": b.bucket_name, "namespace_id": b.namespace_id,
        "description": b.description, "bucket_schema": b.bucket_schema or {"properties": {}},
        "unique_key": b.unique_key, "metadata": b.metadata_ or {}, "object_count": object_count,
        "total_size_bytes": total_size, "status": "ACTIVE", "is_locked": False,
        "created_at": _ts(b.created_at), "updated_at": _ts(b.updated_at),
    }


def object_view(o: Object, document_count: int | None = None) -> dict[str, Any]:
    blobs = []
    for blob in o.blobs or []:
        item = {k: v for k, v in blob.items() if k != "data" or blob.get("type") in ("text", "string", "json")}
        blobs.append(item)
    out = {
        **(o.fields or {}),
        "object_id": o.object_id, "bucket_id": o.bucket_id, "namespace_id": o.namespace_id,
        "key_prefix": o.key_prefix, "blobs": blobs, "status": o.status, "etag": o.etag,
        "size_bytes": o.size_bytes, "error": None, "created_at": _ts(o.created_at), "updated_at": _ts(o.updated_at),
    }
    if document_count is not None:
        out["document_count"] = document_count
    return out


def collection_view(c: Collection, document_count: int = 0) -> dict[str, Any]:
    return {
        "collection_id": c.collection_id, "collection_name": c.collection_name, "namespace_id": c.namespace_id,
        "description": c.description, "source": c.source, "feature_extractor": c.feature_extractor,
        "vector_indexes": c.vector_indexes, "metadata": c.metadata_ or {}, "enabled": bool(c.enabled),
        "document_count": document_count, "output_schema": (c.metadata_ or {}).get("_output_schema"),
        "lifecycle_state": "ACTIVE", "created_at": _ts(c.created_at), "updated_at": _ts(c.updated_at),
    }


def batch_view(b: Batch) -> dict[str, Any]:
    terminal = b.status in TERMINAL
    total = len(b.object_ids or [])
    failed = len({f["object_id"] for f in b.failed_objects or []})
    lifecycle = {BatchStatus.DRAFT: "accepted", BatchStatus.QUEUED: "queued", BatchStatus.PROCESSING: "running"}.get(b.status, "finished")
    return {
        "batch_id": b.batch_id, "bucket_id": b.bucket_id, "namespace_id": b.namespace_id,
        "batch_name": b.batch_name, "status": b.status, "object_ids": b.object_ids or [],
        "collection_ids": b.collection_ids or [], "type": "BUCKET", "task_id": b.task_id,
        "current_tier": 0, "total_tiers": 1,
        "progress": {"processed": total if terminal else 0, "total": total, "percent": 100.0 if terminal else 0.0,
                     "errors": failed, "objects_failed": failed, "documents_written": b.documents_written,
                     "documents_skipped": len(b.skipped_rows or [])},
        "lifecycle": lifecycle, "lifecycle_reason": b.error or f"batch is {b.status}",
        "documents_written": b.documents_written, "documents_replaced": b.documents_replaced,
        "failed_objects": b.failed_objects or [], "failed_object_count": len(b.failed_objects or []),
        "skipped_rows": b.skipped_rows or [], "error": b.error, "error_message": b.error,
        "stats": b.stats or {}, "metadata": b.metadata_ or {},
        "max_node_death_resubmits": 0, "max_deploy_resubmits": 0,
        "created_at": _ts(b.created_at), "updated_at": _ts(b.updated_at),
        "submitted_at": _ts(b.submitted_at), "completed_at": _ts(b.completed_at),
    }


def task_view(t: Task) -> dict[str, Any]:
    return {
        "task_id": t.task_id, "task_type": t.task_type, "status": t.status, "inputs": t.inputs or {},
        "outputs": t.outputs or {}, "additional_data": {"resource_id": t.resource_id}, "error": t.error,
        "error_message": t.error, "queue_position": None, "estimated_wait_minutes": None,
        "created_at": _ts(t.created_at), "updated_at": _ts(t.updated_at),
    }


def retriever_version_view(v: RetrieverVersion) -> dict[str, Any]:
    d = v.definition
    return {"retriever_id": v.retriever_id, "version": v.version, "change": v.change, "created_at": _ts(v.created_at),
            "retriever_name": d.get("retriever_name"), "description": d.get("description"),
            "collection_ids": d.get("collection_ids") or [], "stages": d.get("stages") or [],
            "input_schema": d.get("input_schema") or {}, "metadata": d.get("metadata_") or {},
            "tags": d.get("tags") or [], "budget_limits": d.get("budget_limits")}


def retriever_view(r: Retriever) -> dict[str, Any]:
    flat = {
        "retriever_id": r.retriever_id, "retriever_name": r.retriever_name, "description": r.description,
        "namespace_id": r.namespace_id, "collection_identifiers": r.collection_ids,
        "collection_ids": r.collection_ids, "stages": r.stages, "input_schema": r.input_schema or {},
        "metadata": r.metadata_ or {}, "tags": r.tags or [], "version": r.version or 1,
        "budget_limits": r.budget_limits,
        "created_at": _ts(r.created_at), "updated_at": _ts(r.updated_at),
    }
    return {**flat, "retriever": dict(flat)}


def enrichment_run_view(r: EnrichmentRun, with_result: bool = False) -> dict[str, Any]:
    out = {"run_id": r.run_id, "kind": r.kind, "resource_id": r.resource_id, "status": r.status, "trigger": r.trigger,
           "stats": r.stats or {}, "error": r.error, "dagster_run_id": r.dagster_run_id,
           "started_at": _ts(r.started_at), "finished_at": _ts(r.finished_at)}
    if with_result:
        out["result"] = r.result or {}
    return out
