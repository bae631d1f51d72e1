"""A collection's documents as files (``POST /v1/collections/{c}/export``): JSON lines, CSV, Parquet or WebDataset
tar shards (with the source objects' bytes when asked), and the vectors in a file of their own.

Two passes over the matching documents, neither holding them all: the first streams the rows to a scratch JSON-lines
file and learns each column's type; the second writes the format (CSV and Parquet get one column per top-level
field: a column whose values are all booleans, integers, numbers or text keeps that type, any other is JSON text).
The files go into the object store under ``exports/<namespace>/<export id>/`` and are kept for ``KEEP_DAYS`` days
(older exports of the namespace are removed when it exports again).
"""

from __future__ import annotations

import csv
import io
import json
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import islice
from pathlib import Path
from typing import Any, Literal

import pyarrow as pa
import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field

from warehouse.catalog import Catalog, Collection, Object
from warehouse.errors import WarehouseError
from warehouse.index.base import IndexStore
from warehouse.retrieval.documents import document_view, matching, vector_names
from warehouse.retrieval.filters import compile_filter, project
from warehouse.storage.base import ObjectStore, ObjectStoreError

KEEP_DAYS = 7
#: a media member larger than this is left out of its sample (counted in the summary)
MAX_MEDIA_BYTES = 512 * 1024 * 1024
PAGE = 500
_BLOB_SUFFIX = {"image": "jpg", "audio": "audio", "video": "video", "pdf": "pdf", "text": "txt", "string": "txt",
                "excel": "xlsx", "json": "json"}


class ExportRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    format: Literal["json", "csv", "parquet", "webdataset"] = "parquet"
    include_vectors: bool = Field(default=False, description="Also write the vectors, in a file of their own.")
    include_lineage: bool = Field(default=False, description="Add lineage_chain, source_content_hash and "
                                  "document_created_at to every row.")
    select_fields: list[str] | None = Field(default=None, min_length=1, description="Dotted fields to keep "
                                            "(document_id always).")
    filters: dict[str, Any] | None = None
    sample_size: int | None = Field(default=None, ge=1, le=1_000_000, description="At most this many documents.")
    include_media: bool = Field(default=False, description="webdataset: each sample carries its object's blob.")
    samples_per_shard: int = Field(default=1000, ge=1, le=100_000, description="webdataset: documents per shard.")
    destination: dict[str, Any] | None = Field(default=None, description="Refused: no storage connections here; "
                                               "fetch the files from download_url.")


@dataclass
class ExportedFile:
    filename: str
    key: str
    size: int
    count: int


@dataclass
class Export:
    """What ``write`` produced: the files (shards for webdataset), the vectors file, the media summary."""

    export_id: str
    prefix: str
    files: list[ExportedFile] = field(default_factory=list)
    vectors: ExportedFile | None = None
    documents: int = 0
    media: dict[str, int] | None = None


def check(request: ExportRequest) -> None:
    """What the model cannot say, as a 422 naming the field."""
    if request.destination is not None:
        raise WarehouseError(422, "destination: this warehouse has no storage connections; the export is written to "
                             "its own object store and fetched from download_url", {"location": "destination"})
    if request.format != "webdataset":
        for name in ("include_media", "samples_per_shard"):
            if name in request.model_fields_set and getattr(request, name) not in (False, None):
                raise WarehouseError(422, f"{name}: only for format webdataset (this export is {request.format})",
                                     {"location": name})
    for i, path in enumerate(request.select_fields or []):
        if not all(part.strip() for part in path.split(".")):
            raise WarehouseError(422, f"select_fields[{i}]: {path!r} is not a field path (dots between names)",
                                 {"location": f"select_fields[{i}]"})


def write(index: IndexStore, objects: ObjectStore, catalog: Catalog, namespace_id: str, collection: Collection,
          request: ExportRequest, export_id: str, workdir: Path) -> Export:
    """Export the matching documents of ``collection`` into the object store (scratch files under ``workdir``)."""
    check(request)
    compiled = compile_filter(request.filters, "filters")
    prefix = f"exports/{namespace_id}/{export_id}"
    out = Export(export_id, prefix)
    scratch = workdir / "rows.jsonl"
    types: dict[str, str] = {}
    names = vector_names(collection)
    vectors_path = workdir / ("vectors.parquet" if request.format in ("parquet", "webdataset") else "vectors.jsonl")
    vector_writer = _VectorWriter(vectors_path) if request.include_vectors else None
    with scratch.open("w") as rows:
        for hit in _matching(index, namespace_id, collection, compiled, request):
            doc = document_view(hit, request.include_vectors, names)
            vectors = doc.pop("vectors", None) or {}
            row = _row(doc, request)
            for key, value in row.items():
                types[key] = _merge_type(types.get(key), value)
            rows.write(json.dumps(row, default=str) + "\n")
            out.documents += 1
            if vector_writer is not None:
                vector_writer.add(row["document_id"], vectors)
    if vector_writer is not None:
        vector_writer.close()
        out.vectors = _store(objects, prefix, vectors_path, out.documents)

    if request.format == "json":
        out.files.append(_store(objects, prefix, scratch, out.documents, "documents.jsonl"))
    elif request.format == "csv":
        out.files.append(_store(objects, prefix, _csv(scratch, workdir / "documents.csv", list(types)),
                                out.documents))
    elif request.format == "parquet":
        out.files.append(_store(objects, prefix, _parquet(scratch, workdir / "documents.parquet", types),
                                out.documents))
    else:
        out.media = {"samples_with_media": 0, "samples_without_media": 0, "members_written": 0,
                     "members_skipped_too_large": 0, "objects_not_found": 0, "download_failures": 0,
                     "media_bytes": 0} if request.include_media else None
        for shard, count in _shards(scratch, workdir, request, objects, catalog, out.media):
            out.files.append(_store(objects, prefix, shard, count))
    _purge(objects, namespace_id)
    return out


def _matching(index: IndexStore, namespace_id: str, collection: Collection, compiled, request: ExportRequest) -> Iterator:
    hits = matching(index, namespace_id, collection.collection_id, compiled, with_vectors=request.include_vectors,
                    page=PAGE)
    return hits if request.sample_size is None else islice(hits, request.sample_size)


def _row(doc: dict[str, Any], request: ExportRequest) -> dict[str, Any]:
    internal = doc.pop("_internal", None) or {}
    row = project(doc, request.select_fields, ("document_id",)) if request.select_fields else doc
    if request.include_lineage:
        lineage = internal.get("lineage") or {}
        row["lineage_chain"] = _chain(doc, lineage)
        row["source_content_hash"] = lineage.get("content_hash") or lineage.get("object_version")
        row["document_created_at"] = doc.get("created_at")
    return row


def _chain(doc: dict[str, Any], lineage: dict[str, Any]) -> list[dict[str, str]]:
    """The steps from the source object to the document, as its payload records them."""
    steps = [("bucket", doc.get("bucket_id") or doc.get("root_bucket_id")),
             ("object", doc.get("root_object_id") or doc.get("source_object_id")),
             ("collection", lineage.get("source_collection_id")), ("document", lineage.get("source_document_id")),
             ("batch", lineage.get("batch_id") or doc.get("batch_id")), ("dagster_run", lineage.get("dagster_run_id")),
             ("collection", doc.get("collection_id")), ("document", doc.get("document_id"))]
    return [{"type": kind, "id": ident} for kind, ident in steps if ident]


def _merge_type(known: str | None, value: Any) -> str:
    """The narrowest column type holding every value seen: bool, int, float, str — else json."""
    if value is None:
        return known or "null"
    kind = ("bool" if isinstance(value, bool) else "int" if isinstance(value, int) else
            "float" if isinstance(value, float) else "str" if isinstance(value, str) else "json")
    if known in (None, "null", kind):
        return kind
    if {known, kind} == {"int", "float"}:
        return "float"
    return "json"


def _cell(value: Any, kind: str) -> Any:
    if value is None:
        return None
    if kind == "json":
        return json.dumps(value, default=str)
    return float(value) if kind == "float" else value


def _read(scratch: Path, size: int = 5000) -> Iterator[list[dict[str, Any]]]:
    chunk = []
    with scratch.open() as rows:
        for line in rows:
            chunk.append(json.loads(line))
            if len(chunk) >= size:
                yield chunk
                chunk = []
    if chunk:
        yield chunk


def _csv(scratch: Path, path: Path, columns: list[str]) -> Path:
    with path.open("w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(columns)
        for chunk in _read(scratch):
            for row in chunk:
                writer.writerow(["" if row.get(c) is None else row[c] if isinstance(row[c], str | int | float)
                                 else json.dumps(row[c], default=str) for c in columns])
    return path


_ARROW = {"bool": pa.bool_(), "int": pa.int64(), "float": pa.float64(), "str": pa.string(), "json": pa.string(),
          "null": pa.string()}


def _parquet(scratch: Path, path: Path, types: dict[str, str]) -> Path:
    schema = pa.schema([(name, _ARROW[kind]) for name, kind in types.items()])
    with pq.ParquetWriter(path, schema) as writer:
        for chunk in _read(scratch):
            writer.write_table(pa.table({name: [_cell(r.get(name), kind) for r in chunk]
                                         for name, kind in types.items()}, schema=schema))
        if not types:
            writer.write_table(schema.empty_table())
    return path


class _VectorWriter:
    """JSON lines (``{document_id, vectors: {name: vector}}``) or Parquet, a row per document and vector:
    ``document_id``, ``vector_name``, ``values`` and, for a sparse vector, its ``indices`` — in row groups of
    ``PAGE`` documents."""

    _SCHEMA = pa.schema([("document_id", pa.string()), ("vector_name", pa.string()),
                         ("values", pa.list_(pa.float32())), ("indices", pa.list_(pa.int32()))])

    def __init__(self, path: Path) -> None:
        self.jsonl = path.suffix == ".jsonl"
        self.file = path.open("w") if self.jsonl else pq.ParquetWriter(path, self._SCHEMA)
        self.pending: list[tuple[str, str, Any]] = []
        self.documents = 0

    def add(self, document_id: str, vectors: dict[str, Any]) -> None:
        if self.jsonl:
            self.file.write(json.dumps({"document_id": document_id, "vectors": vectors}, default=str) + "\n")
            return
        self.pending += [(document_id, name, v) for name, v in vectors.items() if v is not None]
        self.documents += 1
        if self.documents % PAGE == 0:
            self._flush()

    def _flush(self) -> None:
        if self.pending:
            long, self.pending = self.pending, []
            self.file.write_table(pa.table({
                "document_id": [d for d, _, _ in long], "vector_name": [n for _, n, _ in long],
                "values": [v["values"] if isinstance(v, dict) else v for _, _, v in long],
                "indices": [v["indices"] if isinstance(v, dict) else None for _, _, v in long]}, schema=self._SCHEMA))

    def close(self) -> None:
        if not self.jsonl:
            self._flush()
        self.file.close()


def _shards(scratch: Path, workdir: Path, request: ExportRequest, objects: ObjectStore, catalog: Catalog,
            media: dict[str, int] | None) -> Iterator[tuple[Path, int]]:
    """WebDataset tar shards: per document ``<key>.json`` (its row) and, with media, ``<key>.<type>`` (its blob)."""
    number, count, tar, path = 0, 0, None, None
    reader = _MediaReader(objects) if media is not None else None
    for chunk in _read(scratch, request.samples_per_shard):
        blobs = {}
        if reader is not None:
            blobs = _blobs(catalog, chunk)
            chunk.sort(key=_source)  # the documents of one blob side by side: it is read once
        for row in chunk:
            if tar is None:
                path = workdir / f"documents-{number:06d}.tar"
                tar = tarfile.open(path, "w")
            key = row["document_id"]
            _add(tar, f"{key}.json", json.dumps(row, default=str).encode())
            if media is not None:
                _add_media(tar, key, row, blobs, reader, media)
            count += 1
            if count == request.samples_per_shard:
                tar.close()
                yield path, count
                number, count, tar = number + 1, 0, None
    if tar is not None:
        tar.close()
        yield path, count
    elif number == 0:  # nothing matched: one empty shard, so the export still names a file
        path = workdir / "documents-000000.tar"
        tarfile.open(path, "w").close()
        yield path, 0


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _source(row: dict[str, Any]) -> tuple[str, str]:
    return (row.get("root_object_id") or row.get("source_object_id") or "", row.get("blob_id") or "")


def _blobs(catalog: Catalog, rows: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """The blobs of the rows' source objects, by object id (one query per shard chunk)."""
    ids = {_source(r)[0] for r in rows} - {""}
    with catalog.session() as s:
        return {o.object_id: list(o.blobs or []) for o in s.query(Object).filter(Object.object_id.in_(ids))}


class _MediaReader:
    """A blob's bytes, or why there are none (``too_large``, ``failed``, ``none``): the last blob read is kept, so
    the documents of one blob (a PDF's pages, a recording's segments), side by side, read it once."""

    def __init__(self, objects: ObjectStore) -> None:
        self.objects = objects
        self.last: tuple[str, bytes | None, str | None] | None = None

    def read(self, blob: dict[str, Any]) -> tuple[bytes | None, str | None]:
        ident = blob.get("blob_id") or blob.get("url") or ""
        if self.last is None or self.last[0] != ident:
            self.last = (ident, *self._fetch(blob))
        return self.last[1], self.last[2]

    def _fetch(self, blob: dict[str, Any]) -> tuple[bytes | None, str | None]:
        key = self.objects.key_from_url(blob["url"]) if blob.get("url") else None
        if key is None:  # held inline (text), or not in this store
            data = blob["data"].encode() if isinstance(blob.get("data"), str) else None
            return data, None if data is not None else "none"
        try:
            stored = self.objects.stat(key)
            if stored is not None and stored.size > MAX_MEDIA_BYTES:
                return None, "too_large"
            return self.objects.get(key), None
        except ObjectStoreError:
            return None, "failed"


def _add_media(tar: tarfile.TarFile, key: str, row: dict[str, Any], blobs: dict[str, list[dict[str, Any]]],
               reader: _MediaReader, media: dict[str, int]) -> None:
    object_id = _source(row)[0]
    found = blobs.get(object_id) if object_id else None
    if not found:
        media["objects_not_found"] += bool(object_id and found is None)
        media["samples_without_media"] += 1
        return
    blob = next((b for b in found if b.get("blob_id") == row.get("blob_id")), found[0])
    data, missing = reader.read(blob)
    if data is None:
        media["members_skipped_too_large"] += missing == "too_large"
        media["download_failures"] += missing == "failed"
        media["samples_without_media"] += 1
        return
    _add(tar, f"{key}.{_BLOB_SUFFIX.get(blob.get('type'), 'bin')}", data)
    media["samples_with_media"] += 1
    media["members_written"] += 1
    media["media_bytes"] += len(data)


def _store(objects: ObjectStore, prefix: str, path: Path, count: int, filename: str | None = None) -> ExportedFile:
    name = filename or path.name
    size = path.stat().st_size
    objects.put_file(f"{prefix}/{name}", path)
    return ExportedFile(name, f"{prefix}/{name}", size, count)


def _purge(objects: ObjectStore, namespace_id: str) -> None:
    """Remove the namespace's exports older than ``KEEP_DAYS``."""
    cutoff = datetime.now(UTC) - timedelta(days=KEEP_DAYS)
    for stored in list(objects.list(f"exports/{namespace_id}/")):
        modified = stored.last_modified if stored.last_modified.tzinfo else stored.last_modified.replace(tzinfo=UTC)
        if modified < cutoff:
            objects.delete(stored.key)
