"""``warehouse plugins test``: run a plugin the way the batch engine does, offline, and check it.

Builds a realistic DataFrame (every contract column; text and binary blobs; empty and None
values), runs the plugin's steps through real Ray Data ``map_batches`` (the engine's own
``run_pipeline``), converts every result batch to Arrow as the engine's block store does, and
checks: the same rows come back, every declared feature column is present, vectors have the
declared dimension and finite values, and — where ``realtime.py`` exists — query-time inference
returns a vector in the same space (the same text embeds to cosine ≈ 1). A missing vector for an
empty input is a skipped row, as the batch engine records it; for a real input it is a failure.
"""

from __future__ import annotations

import asyncio
import math
import struct
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from warehouse.batch.engine import ERROR_COLUMN, RETRY_COLUMN, ROOT_COLUMN, ensure_ray, run_pipeline
from warehouse.extractors.loader import LoadedExtractor, load_plugin
from warehouse.extractors.steps import call_inference
from warehouse.extractors.tools.scanner import scan_plugin

SAMPLE_TEXTS = [
    "Photosynthesis converts light energy into chemical energy stored in glucose.",
    "The quarterly report shows revenue grew by twelve percent year over year.",
    "Noise cancelling headphones block out the sound of airplanes and trains.",
    "Ein kurzer deutscher Satz über das Wetter in Berlin.",
    "x",
    " ".join(["A long paragraph about distributed data processing with many repeated words."] * 40),
]


@dataclass
class Check:
    name: str
    status: str  # pass | fail | skip
    message: str
    fix: str = ""


@dataclass
class TestReport:
    path: str
    extractor: str | None = None
    checks: list[Check] = field(default_factory=list)
    skipped_rows: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(c.status != "fail" for c in self.checks)

    def add(self, name: str, ok: bool | None, message: str, fix: str = "") -> None:
        status = "skip" if ok is None else ("pass" if ok else "fail")
        self.checks.append(Check(name, status, message, fix))

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "extractor": self.extractor, "ok": self.ok, "seconds": round(self.seconds, 2),
                "checks": [asdict(c) for c in self.checks], "skipped_rows": self.skipped_rows}


def tiny_png(width: int = 8, height: int = 8) -> bytes:
    """A valid RGB PNG made without any imaging library (a gradient, so it is not blank)."""
    rows = b"".join(
        b"\x00" + b"".join(bytes((x * 32 % 256, y * 32 % 256, 128)) for x in range(width)) for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def sample_frame(ext: LoadedExtractor) -> pd.DataFrame:
    """Rows covering what the engine sends: texts of many lengths, binary blobs, '' and None."""
    types = {t.lower() for t in ext.spec.supported_input_types}
    text_like = bool(types & {"text", "string"}) or not types
    binary_like = bool(types & {"image", "file", "binary", "pdf", "audio", "video"})
    rows: list[dict[str, Any]] = []

    def row(data: Any, blob_type: str, mime: str) -> None:
        i = len(rows)
        size = len(data) if isinstance(data, bytes | str) else 0
        rows.append({
            "data": data, "document_id": f"doc_{i:032x}", "object_id": f"obj_test{i:04d}",
            "blob_id": f"blob_test{i:04d}", "blob_property": "content", "blob_type": blob_type,
            "collection_id": "col_plugin_test", "feature_extractor_id": ext.spec.extractor_id,
            "mime_type": mime, "size_bytes": size,
        })

    if text_like:
        for text in SAMPLE_TEXTS:
            row(text, "text", "text/plain")
    if binary_like:
        row(tiny_png(), "image", "image/png")
        row(tiny_png(16, 12), "image", "image/png")
    kind = "text" if text_like else "image"
    row("" if text_like else b"", kind, "text/plain" if text_like else "image/png")
    row(None, kind, "text/plain" if text_like else "image/png")
    return pd.DataFrame(rows)


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value))


def _is_empty(value: Any) -> bool:
    if _missing(value):
        return True
    if isinstance(value, str):
        return not value.strip()
    return isinstance(value, bytes) and not value


def run_plugin_test(path: Path, parameters: dict[str, Any] | None = None) -> TestReport:
    """Run the checks on the plugin at ``path``; never raises for a plugin's fault."""

    started = time.perf_counter()
    report = TestReport(str(path))
    blocked = [f for f in scan_plugin(Path(path)) if f.severity == "error"]
    if blocked:
        report.add("security scan", False, f"{len(blocked)} blocked construct(s), first: {blocked[0]}",
                   "run 'warehouse plugins lint' and fix its errors; the harness does not run blocked code")
        report.seconds = time.perf_counter() - started
        return report
    try:
        ext = load_plugin(path)
    except Exception as exc:  # noqa: BLE001 - a plugin fault, reported
        report.add("load", False, str(exc), "run 'warehouse plugins lint' for the details")
        report.seconds = time.perf_counter() - started
        return report
    report.extractor = ext.spec.ref
    report.add("load", True, f"loaded {ext.spec.ref} (code version {ext.code_version})")
    frame = sample_frame(ext)
    params = {**ext.spec.parameter_defaults, **(parameters or {})}
    ensure_ray()
    try:
        batches = list(run_pipeline(ext, frame, params))
    except Exception as exc:  # noqa: BLE001
        report.add("pipeline", False, f"the Ray Data job failed: {type(exc).__name__}: {exc}",
                   "build_steps must return {'steps': [...]} whose steps take and return a pandas DataFrame")
        report.seconds = time.perf_counter() - started
        return report

    arrow_problems = []
    for out in batches:
        try:
            pa.Table.from_pandas(out, preserve_index=False)
        except Exception as exc:  # noqa: BLE001
            arrow_problems.append(str(exc))
    report.add("arrow", not arrow_problems,
               "every result batch converts to Arrow" if not arrow_problems else f"not Arrow-serialisable: {arrow_problems[0]}",
               "return plain lists of floats, strings, numbers or bytes in new columns, not custom objects")
    result = pd.concat(batches, ignore_index=True) if batches else frame.iloc[0:0]
    # an expanding step's parts name the row they came from; every other row is its own root
    expanded = ROOT_COLUMN in result.columns
    roots = result[ROOT_COLUMN].where(result[ROOT_COLUMN].notna(), result["document_id"]) if expanded \
        else result["document_id"]
    same_rows = set(roots) == set(frame["document_id"]) and (expanded or len(result) == len(frame))
    report.add("rows", same_rows, f"{len(result)} rows back for {len(frame)} sent",
               "a step must return the rows it was given, in order, adding columns (never dropping rows); "
               "an expanding step returns at least one row per input")
    root_of = dict(zip(result["document_id"], roots, strict=True))
    errors = result[result[ERROR_COLUMN].notna()] if ERROR_COLUMN in result.columns else result.iloc[0:0]
    inputs = {doc: value for doc, value in zip(frame["document_id"], frame["data"], strict=True)}
    inputs.update({doc: inputs.get(root) for doc, root in root_of.items()})
    real_errors = [(d, e) for d, e in zip(errors["document_id"], errors[ERROR_COLUMN], strict=True)
                   if not _is_empty(inputs.get(d))]
    report.add("exceptions", not real_errors,
               "no step raised on a real input" if not real_errors else f"{len(real_errors)} row(s) raised; first: {real_errors[0][1]}",
               "handle every input the manifest accepts; empty inputs may yield None")
    retried = sorted(set(result[RETRY_COLUMN].dropna())) if RETRY_COLUMN in result.columns else []
    report.add("whole batches", not retried,
               "every step handled whole batches" if not retried else f"{retried[0]}; the engine had to retry row by row",
               "a step must handle any batch it is given and return exactly its rows, in order")
    for feature in ext.spec.features:
        name = feature.feature_name
        present = name in result.columns
        report.add(f"column {name}", present, "present" if present else f"missing feature column {name!r}",
                   f"set batch[{name!r}] in the step (the column is named after the manifest feature)")
        if not present or not feature.is_vector:
            continue
        bad, missing = [], []
        for doc, value in zip(result["document_id"], result[name], strict=True):
            if _missing(value):
                if _is_empty(inputs.get(doc)):
                    report.skipped_rows.append({"document_id": doc, "reason": "empty input: nothing to embed"})
                else:
                    missing.append(doc)
                continue
            arr = np.asarray(value, dtype=np.float64)
            if arr.shape != (feature.embedding_dim,):
                bad.append(f"{doc}: shape {arr.shape}, expected ({feature.embedding_dim},)")
            elif not np.isfinite(arr).all():
                bad.append(f"{doc}: NaN or infinite values")
        report.add(f"vectors {name}", not bad and not missing,
                   f"{feature.embedding_dim}-d finite vectors" if not bad and not missing else
                   (f"no vector for {len(missing)} non-empty input(s), e.g. {missing[0]}" if missing else bad[0]),
                   f"return one {feature.embedding_dim}-d float vector per non-empty row (None only for empty inputs)")
    _check_realtime(ext, frame, result, report)
    report.seconds = time.perf_counter() - started
    return report


def _check_realtime(ext: LoadedExtractor, frame: pd.DataFrame, result: pd.DataFrame, report: TestReport) -> None:
    if not (ext.path / "realtime.py").is_file():
        report.add("realtime", None, "no realtime.py: queries must pass vectors")
        return
    vectors = ext.spec.vector_features
    text_rows = frame[frame["blob_type"] == "text"]
    text_rows = text_rows[[not _is_empty(v) for v in text_rows["data"]]]
    if not vectors or text_rows.empty:
        report.add("realtime", None, "realtime check covers text inputs only")
        return
    feature = vectors[0]
    text = text_rows["data"].iloc[0]
    try:
        service = ext.realtime_service()
        out = asyncio.run(call_inference(service, {"text": text}, {}))
    except Exception as exc:  # noqa: BLE001
        report.add("realtime", False, f"realtime inference failed: {type(exc).__name__}: {exc}",
                   "run_inference(inputs, parameters) must return {'embedding': [...]} for {'text': ...}")
        return
    vec = out.get(feature.feature_name, out.get("embedding"))
    if vec is None:
        report.add("realtime", False, f"realtime output has no 'embedding' or {feature.feature_name!r} key: {sorted(out)}",
                   "return {'embedding': vector}")
        return
    q = np.asarray(vec, dtype=np.float64).ravel()
    if q.shape != (feature.embedding_dim,):
        report.add("realtime", False, f"realtime vector has {q.shape[0]} dimensions, the feature {feature.embedding_dim}",
                   "embed queries with the same model as the batch pipeline")
        return
    doc = text_rows["document_id"].iloc[0]
    batch_vec = result.loc[result["document_id"] == doc, feature.feature_name].iloc[0]
    b = np.asarray(batch_vec, dtype=np.float64)
    cosine = float(q @ b / (np.linalg.norm(q) * np.linalg.norm(b) or 1.0))
    report.add("realtime", cosine >= 0.99, f"same text, batch vs query cosine {cosine:.4f}",
               "the query must be embedded exactly like documents (same model, normalisation and prefix)")
