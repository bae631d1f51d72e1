"""Executing a submitted batch: rows → pipeline → validated documents upserted with lineage.

Documents of an object are written only once all of its rows succeeded, and its stale documents
(older versions, chunks that no longer exist) are removed in the same step; an object that fails
keeps the documents it had. Every object that produced no document is in the batch's failure
list with a reason, so a batch never reports COMPLETED with rows silently dropped.
"""

from __future__ import annotations

import logging
import math
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from fractions import Fraction
from typing import Any

import numpy as np

from warehouse.batch.engine import (
    ERROR_COLUMN,
    PART_PATH_COLUMN,
    SHARE_COLUMN,
    SKIP_COLUMN,
    describe_exception,
    ensure_ray,
    run_pipeline,
    share_of,
    warm_workers,
)
from warehouse.batch.rows import build_rows, documents_as_objects, normalize_input_mappings
from warehouse.catalog import Batch, Bucket, Catalog, Collection, Object, Task, lock_row
from warehouse.catalog.batches import ACTIVE, SUCCEEDED, TERMINAL, BatchStatus
from warehouse.catalog.collections import index_specs
from warehouse.catalog.events import record_batch_event, record_event
from warehouse.extractors.registry import ExtractorRegistry
from warehouse.extractors.sandbox import outbound_of
from warehouse.ids import uuid_from_document_id
from warehouse.index import IndexPoint, IndexStore
from warehouse.index.bm25 import BM25_VECTOR, encode_documents, has_bm25

log = logging.getLogger(__name__)


class _ObjectBuffer:
    """Rows of objects still in flight; an object is released when all its rows are back — every planned row
    whole, or all the parts an expanding step made of it (their shares add up to the row)."""

    def __init__(self, expected: dict[str, int]) -> None:
        self.expected = dict(expected)
        self.rows: dict[str, list[dict[str, Any]]] = {}
        self.got: dict[str, Fraction] = {}

    def add(self, row: dict[str, Any]) -> list[dict[str, Any]] | None:
        oid = row["object_id"]
        self.rows.setdefault(oid, []).append(row)
        self.got[oid] = self.got.get(oid, Fraction(0)) + share_of(row.get(SHARE_COLUMN))
        if self.got[oid] == self.expected.get(oid, 0):
            del self.got[oid]
            return self.rows.pop(oid)
        return None


class BatchRunner:
    """Runs batches in background threads of the owning process (off the request path).

    Example:
        >>> runner = BatchRunner(catalog, registry, index, settings)  # doctest: +SKIP
        >>> runner.submit("btch_abc")                                  # doctest: +SKIP
    """

    def __init__(self, catalog: Catalog, registry: ExtractorRegistry, index: IndexStore, settings) -> None:
        self.catalog = catalog
        self.registry = registry
        self.index = index
        self.settings = settings
        #: called with (namespace_id, collection_id, batch_id, documents_written) when a part succeeds
        self.on_part_done: Callable[[str, str, str, int], None] | None = None
        self._pool = ThreadPoolExecutor(max_workers=max(1, settings.batch_workers), thread_name_prefix="batch")
        self._cancel: dict[str, threading.Event] = {}
        self.warm_state = "off"

    def warm(self) -> None:
        """Start Ray and load the built-in extractors that collections use (and text_extractor, the default) into
        idle workers (``warm_state`` tells); the others load on their first batch."""
        self.warm_state = "loading"
        try:
            ensure_ray(self.settings.ray_address, self.settings.ray_num_cpus)
            with self.catalog.session() as s:
                used = {(fe or {}).get("feature_extractor_name") for (fe,) in s.query(Collection.feature_extractor)}
            for ext in self.registry.all():
                if ext.builtin and (ext.spec.name == "text_extractor" or ext.spec.name in used):
                    warm_workers(ext)
            self.warm_state = "ready"
        except Exception as exc:  # noqa: BLE001 - batches still run, cold; the health check says why
            log.warning("warming batch workers failed: %s", describe_exception(exc))
            self.warm_state = f"failed: {describe_exception(exc)}"

    # -- scheduling ------------------------------------------------------------------------------
    def submit(self, batch_id: str):
        """Run every collection of the batch in a background thread (the API's inline mode)."""
        # A fresh flag: a cancel of an earlier submission must not stop this one.
        event = self._cancel[batch_id] = threading.Event()
        return self._pool.submit(self._run_safely, batch_id, event)

    def submit_partition(self, batch_id: str, collection_id: str, run_id: str | None = None,
                         progress: Callable[[dict[str, Any]], None] | None = None):
        """Run one (collection, batch) partition in the background — what a Dagster run asks the owner for."""
        # Parts of a batch that is already PROCESSING share its flag, so a cancel reaches them all (clearing
        # it here would undo a cancel); a new submission or a re-run of a finished batch starts a fresh one.
        with self.catalog.session() as s:
            batch = s.get(Batch, batch_id)
            status = batch.status if batch is not None else None
        event = self._cancel.get(batch_id)
        if event is None or status != BatchStatus.PROCESSING:
            event = self._cancel[batch_id] = threading.Event()
        return self._pool.submit(self.run_partition, batch_id, collection_id, run_id, event, progress)

    def cancel(self, batch_id: str) -> None:
        """Stop the batch's current run between result batches (no-op when none runs)."""
        event = self._cancel.get(batch_id)
        if event is not None:
            event.set()

    def resume_pending(self) -> list[str]:
        """Re-queue batches a previous process left QUEUED or PROCESSING (re-runs are idempotent)."""
        with self.catalog.session() as s:
            ids = [b.batch_id for b in s.query(Batch).filter(Batch.status.in_(ACTIVE))]
        for batch_id in ids:
            self.submit(batch_id)
        return ids

    def shutdown(self) -> None:
        for event in self._cancel.values():
            event.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    # -- execution --------------------------------------------------------------------------------
    def _run_safely(self, batch_id: str, cancelled: threading.Event) -> None:
        try:
            self.run(batch_id, cancelled)
        except Exception as exc:  # noqa: BLE001 - the batch records why it failed
            log.exception("batch %s failed", batch_id)
            self._finish(batch_id, BatchStatus.FAILED, error=describe_exception(exc))

    def _set_status(self, batch_id: str, status: str, **fields: Any) -> None:
        with self.catalog.session() as s:
            batch = lock_row(s, Batch, batch_id)
            batch.status = status
            for key, value in fields.items():
                setattr(batch, key, value)
            _mirror_task(s, batch, fields.get("error"))

    def _finish(self, batch_id: str, status: str, error: str | None = None, **fields: Any) -> None:
        self._set_status(batch_id, status, error=error, completed_at=datetime.now(UTC), **fields)
        with self.catalog.session() as s:
            record_batch_event(s, s.get(Batch, batch_id))
        self._cancel.pop(batch_id, None)

    def run(self, batch_id: str, cancelled: threading.Event | None = None) -> dict[str, Any]:
        """Process every collection of one batch synchronously; returns the batch's final summary."""
        cancelled = cancelled or threading.Event()
        with self.catalog.session() as s:
            batch = s.get(Batch, batch_id)
            if batch is None:
                raise LookupError(f"batch {batch_id} not found")
            if batch.status == BatchStatus.CANCELED:
                self._cancel.pop(batch_id, None)
                return {}
            collection_ids = list(batch.collection_ids or [])
        for collection_id in collection_ids:
            if cancelled.is_set():
                break
            self.run_partition(batch_id, collection_id, cancelled=cancelled)
        if cancelled.is_set():
            self._finish(batch_id, BatchStatus.CANCELED, error="canceled")
        self._cancel.pop(batch_id, None)
        return self.summary(batch_id)

    def summary(self, batch_id: str) -> dict[str, Any]:
        with self.catalog.session() as s:
            b = s.get(Batch, batch_id)
            return {"status": b.status, "documents_written": b.documents_written,
                    "documents_replaced": b.documents_replaced, "failed_objects": b.failed_objects or [],
                    "stats": b.stats or {}}

    def run_partition(self, batch_id: str, collection_id: str, run_id: str | None = None,
                      cancelled: threading.Event | None = None,
                      progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        """Process one batch into one collection: the unit a Dagster ``collection_documents`` partition runs.

        Records the collection's part of the batch (status, counts, failures, the Dagster run id) and
        recomputes the batch's status from all of its parts, so parts run by different processes add up.
        Raises when the part cannot run at all (the part is recorded FAILED first).
        """
        cancelled = cancelled or threading.Event()
        self.registry.refresh()  # an edited plugin is picked up by the next run (backfills after a code change)
        with self.catalog.session() as s:
            batch = s.get(Batch, batch_id)
            if batch is None:
                raise LookupError(f"batch {batch_id} not found")
            if batch.status == BatchStatus.CANCELED:
                return {"status": BatchStatus.CANCELED.value, "documents_written": 0, "documents_replaced": 0,
                        "failures": [], "batch_status": BatchStatus.CANCELED.value}
            collection = s.get(Collection, collection_id)
            objects = s.query(Object).filter(Object.object_id.in_(batch.object_ids or [])).all()
            schemas = {b.bucket_id: b.bucket_schema for b in s.query(Bucket).filter(Bucket.bucket_id == batch.bucket_id)}
            namespace_id, object_ids, bucket_id = batch.namespace_id, list(batch.object_ids or []), batch.bucket_id
        started_at = datetime.now(UTC).isoformat()
        self._record(batch_id, collection_id, {"status": BatchStatus.PROCESSING.value, "dagster_run_id": run_id,
                                               "started_at": started_at})
        try:
            if collection is None:
                raise LookupError(f"collection {collection_id} no longer exists")
            if bucket_id not in (collection.source or {}).get("bucket_ids", []):
                raise ValueError(f"collection {collection.collection_name!r} ({collection_id}) does not source "
                                 f"bucket {bucket_id} of batch {batch_id}; add the bucket to the collection's "
                                 "source.bucket_ids or pick a batch of one of its buckets")
            if (collection.source or {}).get("type") == "collection":
                objects = self._upstream_as_objects(namespace_id, collection, objects)
            ensure_ray(self.settings.ray_address, self.settings.ray_num_cpus)
            result = self._run_collection(namespace_id, batch_id, collection, objects, schemas, cancelled,
                                          run_id=run_id, progress=progress)
        except Exception as exc:
            self._record(batch_id, collection_id, {
                "status": BatchStatus.FAILED.value, "error": describe_exception(exc), "dagster_run_id": run_id,
                "started_at": started_at, "finished_at": datetime.now(UTC).isoformat()})
            raise
        now = datetime.now(UTC).isoformat()
        found = {o.object_id for o in objects}
        if (collection.source or {}).get("type") == "collection":  # no upstream documents: nothing to do, no failure
            object_ids = sorted(found)
        failures = [{"object_id": oid, "error": "object no longer exists", "error_type": "NOT_FOUND", "timestamp": now}
                    for oid in object_ids if oid not in found] + result["failures"]
        failed = {f["object_id"] for f in failures}
        if cancelled.is_set():
            status = BatchStatus.CANCELED
        elif not failed:
            status = BatchStatus.COMPLETED
        elif result["ok_objects"] - failed:
            status = BatchStatus.COMPLETED_WITH_ERRORS
        else:
            status = BatchStatus.FAILED
        for item in [*failures, *result["skipped"]]:
            item["collection_id"] = collection_id
        part = {"status": status.value, "dagster_run_id": run_id, "started_at": started_at, "finished_at": now,
                "documents_written": result["written"], "documents_replaced": result["replaced"],
                "objects": len(object_ids), "objects_failed": len(failed),
                "rows_skipped": len(result["skipped"]), **result["stats"]}
        batch_status = self._record(batch_id, collection_id, part, failures, result["skipped"])
        if status in SUCCEEDED and self.on_part_done is not None:
            self.on_part_done(namespace_id, collection_id, batch_id, result["written"])
        if status in SUCCEEDED:
            with self.catalog.session() as s:
                c = s.get(Collection, collection_id)
                if c is not None:
                    c.metadata_ = {**(c.metadata_ or {}), "_indexed": {
                        "feature_extractor": result["stats"]["extractor"],
                        "code_version": result["stats"]["extractor_code_version"],
                        "batch_id": batch_id, "dagster_run_id": run_id, "at": now}}
        return {**part, "failures": failures, "batch_status": batch_status}

    def _upstream_as_objects(self, namespace_id: str, collection: Collection, objects: list[Object]) -> list:
        """The batch's objects as a multi-tier collection sees them: their documents in the upstream collections
        (matching ``source_filters``), as blobs under the paths its ``input_mappings`` read (default ``text``)."""
        source, fe = collection.source or {}, collection.feature_extractor or {}
        spec = self.registry.get(fe["feature_extractor_name"], fe.get("version"), namespace_id).spec
        paths = sorted(set(normalize_input_mappings(fe.get("input_mappings"), spec, {}).values()))
        must = [{"key": "collection_id", "match": {"any": list(source.get("collection_ids") or [])}},
                {"key": "source_object_id", "match": {"any": [o.object_id for o in objects]}}]
        if source.get("engine_filter"):
            must.append(source["engine_filter"])
        documents, cursor = [], None
        while True:
            hits, cursor = self.index.scroll(namespace_id, {"must": must}, limit=1000, offset=cursor)
            documents += [h.payload or {} for h in hits]
            if cursor is None:
                break
        return documents_as_objects(objects, documents, paths)

    def _record(self, batch_id: str, collection_id: str, part: dict[str, Any],
                failures: list[dict[str, Any]] | None = None, skipped: list[dict[str, Any]] | None = None) -> str:
        return record_part(self.catalog, batch_id, collection_id, part, failures, skipped)

    def _run_collection(self, namespace_id: str, batch_id: str, collection: Collection, objects: list[Object],
                        schemas: dict[str, dict], cancelled: threading.Event, run_id: str | None = None,
                        progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
        fe = collection.feature_extractor
        ext = self.registry.get(fe["feature_extractor_name"], fe.get("version"), namespace_id)
        parameters = {**ext.spec.parameter_defaults, **(fe.get("parameters") or {})}
        plan = build_rows(objects, collection, ext.spec, schemas, parameters)
        failures = list(plan.failures)
        skipped: list[dict[str, Any]] = []
        ok_objects: set[str] = set()
        vectors = {f.feature_name: f for f in ext.spec.vector_features}
        self.index.ensure_vectors(namespace_id, index_specs(collection))
        lexical = has_bm25(collection)
        buffer = _ObjectBuffer(plan.object_rows)
        pending: list[tuple[str, list[IndexPoint]]] = []
        counts = {"written": 0, "replaced": 0}
        started = time.perf_counter()
        row_count = len(plan.frame)
        texts = dict(zip(plan.frame["document_id"], plan.frame["data"], strict=True)) if row_count else {}

        def flush() -> None:
            if not pending:
                return
            object_ids = [oid for oid, _ in pending]
            points = [p for _, pts in pending for p in pts]
            if lexical:  # one batched BM25 encode per flush
                for point, sparse in zip(points, encode_documents([p.payload.get("text") for p in points]),
                                         strict=True):
                    if sparse is not None:
                        point.vectors[BM25_VECTOR] = sparse
            scope = {"must": [{"key": "collection_id", "match": {"value": collection.collection_id}},
                              {"key": "source_object_id", "match": {"any": object_ids}}]}
            counts["replaced"] += self.index.count(namespace_id, scope)
            self.index.upsert(namespace_id, points)
            # Old versions and chunks that no longer exist go; the points just written stay.
            self.index.delete(namespace_id, {**scope, "must_not": [{"has_id": [p.id for p in points]}]})
            counts["written"] += len(points)
            pending.clear()

        rows_done = Fraction(0)
        for out in run_pipeline(ext, plan.frame, parameters, cancelled, models_dir=self.settings.home_dir / "models",
                                outbound=outbound_of(self.settings)):
            records = out.to_dict("records")
            rows_done += sum((share_of(r.get(SHARE_COLUMN)) for r in records), Fraction(0))
            for row in records:
                rows = buffer.add(row)
                if rows is None:
                    continue
                oid = rows[0]["object_id"]
                points, problem, skips = self._object_points(rows, plan, collection, ext, vectors, batch_id, texts,
                                                             run_id)
                skipped.extend(skips)
                if problem:
                    failures.append({"object_id": oid, "error": problem[0], "error_type": problem[1],
                                     "timestamp": datetime.now(UTC).isoformat()})
                    continue
                ok_objects.add(oid)
                pending.append((oid, points))
                if sum(len(p) for _, p in pending) >= self.settings.upsert_batch_size:
                    flush()
            if progress is not None:
                flush()  # what progress reports as written is in the index
                elapsed = time.perf_counter() - started
                progress({"rows_done": int(rows_done), "rows_total": row_count, "documents_written": counts["written"],
                          "objects_failed": len(failures), "elapsed_s": round(elapsed, 3),
                          "rows_per_second": round(rows_done / elapsed, 2) if elapsed > 0 else None})
        flush()
        if counts["written"] >= 10_000:  # merge segments and build HNSW after a bulk load
            self.index.optimize(namespace_id)
        elapsed = time.perf_counter() - started
        return {
            "written": counts["written"], "replaced": counts["replaced"], "failures": failures,
            "skipped": skipped, "ok_objects": ok_objects,
            "stats": {"rows": row_count, "documents_written": counts["written"], "seconds": round(elapsed, 3),
                      "rows_per_second": round(row_count / elapsed, 2) if elapsed > 0 else None,
                      "extractor": ext.spec.ref, "extractor_code_version": ext.code_version},
        }

    def _object_points(self, rows, plan, collection, ext, vectors, batch_id, texts, run_id=None):
        """Validated points of one object, or (None, (reason, type)) when it must fail whole."""
        errors = [r[ERROR_COLUMN] for r in rows if r.get(ERROR_COLUMN)]
        if errors:
            return None, (errors[0], "EXTRACTION_ERROR"), []
        obj = plan.objects[rows[0]["object_id"]]
        points, skips = [], []
        for row in sorted(rows, key=lambda r: (r["chunk_index"], r.get(PART_PATH_COLUMN) or "")):
            named: dict[str, list[float]] = {}
            text = texts.get(row["document_id"])
            empty = not (isinstance(text, str) and text.strip()) if row["blob_type"] in ("text", "string") else not row.get("_source_url")
            reason = row.get(SKIP_COLUMN)
            if isinstance(reason, str) and reason:  # a part the extractor could not use (a page, a segment)
                skips.append({"object_id": row["object_id"], "document_id": row["document_id"], "reason": reason})
                continue
            for name, feature in vectors.items():
                if name not in row:
                    return None, (f"extractor {ext.spec.ref} returned no column {name!r} (declared in its manifest "
                                  "features); add it in the pipeline step", "MISSING_FEATURE"), []
                vec = row[name]
                if vec is None:
                    continue
                arr = np.asarray(vec, dtype=np.float32)
                if arr.shape != (feature.embedding_dim,):
                    return None, (f"feature {name!r} has shape {arr.shape}, expected ({feature.embedding_dim},)",
                                  "BAD_VECTOR"), []
                if not np.isfinite(arr).all():
                    return None, (f"feature {name!r} contains NaN or infinite values", "BAD_VECTOR"), []
                named[ext.spec.vector_name(feature)] = arr.tolist()
            if vectors and not named:
                if empty:
                    skips.append({"object_id": row["object_id"], "document_id": row["document_id"],
                                  "reason": EMPTY_REASON})
                    continue
                return None, (f"extractor {ext.spec.ref} returned no vector for a non-empty input "
                              f"(blob {row['blob_property']!r})", "MISSING_VECTOR"), []
            payload = self._payload(row, obj, plan, collection, ext, batch_id, text, run_id)
            extra = {k: _whole(v) if k in WHOLE_COLUMNS else _plain(v) for k, v in row.items()
                     if k not in vectors and not k.startswith("_") and k not in payload and k not in _ROW_COLUMNS}
            payload.update(extra)
            points.append(IndexPoint(id=str(uuid_from_document_id(row["document_id"])), vectors=named, payload=payload))
        if not points:
            reasons = "; ".join(dict.fromkeys(s["reason"] for s in skips if s["reason"] != EMPTY_REASON))
            return None, ("every row of the object was empty: nothing to embed" + (f" ({reasons})" if reasons else ""),
                          "EMPTY_INPUT"), skips
        return points, None, skips

    def _payload(self, row, obj, plan, collection, ext, batch_id, text, run_id=None) -> dict[str, Any]:
        lineage = {
            "source_object_id": obj.object_id,
            "root_object_id": obj.object_id,
            "bucket_id": obj.bucket_id,
            "blob_property": row["blob_property"],
            "blob_id": row["blob_id"],
            "blob_type": row["blob_type"],
            "source_url": row.get("_source_url"),
            "object_version": obj.etag,
            "batch_id": batch_id,
            "dagster_run_id": run_id,
            "feature_extractor": ext.spec.ref,
            "extractor_code_version": ext.code_version,
            "chunk_index": int(row["chunk_index"]),
            "chunk_start": _whole(row.get("_chunk_start")),
            "chunk_end": _whole(row.get("_chunk_end")),
        }
        # where in the object a part lies: the page of a PDF, the seconds of a recording or a video
        lineage.update({key: _whole(row[key]) if key in WHOLE_COLUMNS else _plain(row[key])
                        for key in PART_LINEAGE if _plain(row.get(key)) is not None})
        upstream = {"source_document_id": _plain(row.get("_source_document_id")),
                    "source_collection_id": _plain(row.get("_source_collection_id"))}
        if upstream["source_document_id"]:  # a multi-tier document: what it was made from, a tier up
            lineage.update(upstream)
        payload = {
            "document_id": row["document_id"],
            "collection_id": collection.collection_id,
            "source_object_id": obj.object_id,
            "root_object_id": obj.object_id,
            "bucket_id": obj.bucket_id,
            "blob_id": row["blob_id"],
            "batch_id": batch_id,
            "feature_refs": [ext.spec.feature_uri(f) for f in ext.spec.vector_features],
            "created_at": datetime.now(UTC).isoformat(),
            "_internal": {"lineage": lineage},
        }
        if upstream["source_document_id"]:
            payload.update(upstream)
        if row["blob_type"] in ("text", "string") and isinstance(text, str):
            payload["text"] = text
        # Passed-through fields go under the system fields: a collection made before targets were checked
        # still cannot move a document into another collection or rewrite its lineage.
        return {**plan.passthrough.get(obj.object_id, {}), **payload}


def record_part(catalog: Catalog, batch_id: str, collection_id: str, part: dict[str, Any],
                failures: list[dict[str, Any]] | None = None, skipped: list[dict[str, Any]] | None = None) -> str:
    """Store one collection's part of a batch and derive the batch's status from all parts."""
    with catalog.session() as s:
        batch = lock_row(s, Batch, batch_id)
        stats = dict(batch.stats or {})
        parts = {**(stats.get("collections") or {}), collection_id: part}
        stats["collections"] = parts
        batch.stats = stats
        if failures is not None:
            batch.failed_objects = [f for f in batch.failed_objects or []
                                    if f.get("collection_id") != collection_id] + failures
        if skipped is not None:
            batch.skipped_rows = ([r for r in batch.skipped_rows or [] if r.get("collection_id") != collection_id]
                                  + skipped)[:1000]
        batch.documents_written = sum(int(p.get("documents_written") or 0) for p in parts.values())
        batch.documents_replaced = sum(int(p.get("documents_replaced") or 0) for p in parts.values())
        if batch.status == BatchStatus.CANCELED:
            return batch.status
        wanted = list(dict.fromkeys([*(batch.collection_ids or []), *parts]))
        statuses = [(parts.get(c) or {}).get("status") for c in wanted]
        if any(st not in TERMINAL for st in statuses):
            batch.status, batch.completed_at = BatchStatus.PROCESSING, None
        else:
            failed = {f["object_id"] for f in batch.failed_objects or []}
            errors = [f"{c}: {(parts.get(c) or {}).get('error')}" for c in wanted if (parts.get(c) or {}).get("error")]
            if BatchStatus.CANCELED in statuses:
                batch.status = BatchStatus.CANCELED
            elif errors and all(st == BatchStatus.FAILED for st in statuses):
                batch.status = BatchStatus.FAILED
            elif not failed and not errors:
                batch.status = BatchStatus.COMPLETED
            elif len(failed) < len(batch.object_ids or []) or any(st != BatchStatus.FAILED for st in statuses):
                batch.status = BatchStatus.COMPLETED_WITH_ERRORS
            else:
                batch.status = BatchStatus.FAILED
            problems = errors + ([f"{len(failed)} object(s) produced no documents; see failed_objects"]
                                 if failed else [])
            batch.error = "; ".join(problems) or None
            batch.completed_at = datetime.now(UTC)
        _mirror_task(s, batch, batch.error)
        if part.get("status") in SUCCEEDED and part.get("documents_written"):
            record_event(s, "collection.documents.written", batch.namespace_id, collection_id,
                         {"collection_id": collection_id, "batch_id": batch_id,
                          "documents_written": part.get("documents_written"), "dagster_run_id": part.get("dagster_run_id")},
                         f"collection.documents.written:{collection_id}:{batch_id}:{part.get('finished_at')}")
        if batch.status in TERMINAL:
            record_batch_event(s, batch, part.get("dagster_run_id"))
        return str(batch.status)  # a plain string: it travels into Dagster metadata and JSON


def _mirror_task(session, batch: Batch, error: str | None) -> None:
    """The batch's task says what the batch says."""
    if batch.task_id and (task := session.get(Task, batch.task_id)) is not None:
        task.status = batch.status
        task.error = error


EMPTY_REASON = "empty input: nothing to embed"
#: columns of an expanding step's parts that are also kept in the lineage
PART_LINEAGE = ("part_index", "page_number", "start_time", "end_time")
#: counts and positions that come back as floats when a batch mixes them with missing values (pandas' NaN)
WHOLE_COLUMNS = {"part_index", "page_number", "page_count", "_chunk_start", "_chunk_end"}

_ROW_COLUMNS = {"document_id", "object_id", "blob_id", "blob_property", "blob_type", "collection_id",
                "feature_extractor_id", "mime_type", "size_bytes", "chunk_index", "data"}


def _whole(value: Any) -> int | None:
    value = _plain(value)
    return int(value) if isinstance(value, int | float) else value


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
