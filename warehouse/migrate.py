"""Moving a warehouse home between configurations: ``warehouse export`` writes everything a home holds into one tar
archive, ``warehouse import`` loads it into whatever the settings name — an embedded home into Postgres + S3 + a
Qdrant server, or back.

The archive holds ``manifest.json`` (format, counts, the source store's URL prefix), ``catalog/<table>.jsonl`` (every
row of every catalog table), ``objects/<key>`` (every blob, streamed), ``index/<namespace_id>.jsonl`` (every point
with its dense and sparse vectors and payload) and ``home/`` (uploaded and operator plugins, namespace models). On
import, blob URLs the source store issued are rewritten to the target store's, in catalog rows and in document
payloads, so lineage and ``source_url`` keep pointing at the blobs. The target must be empty: an import never merges
into a catalog that already holds namespaces. Run both with the warehouse stopped (the embedded index is owned by
one process).
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import tempfile
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, func, select

from warehouse.catalog import Catalog, Collection, Namespace
from warehouse.catalog.collections import index_specs
from warehouse.catalog.models import Base
from warehouse.index import IndexPoint, make_index_store
from warehouse.storage import make_object_store

FORMAT = 1
#: folders of the home that travel with the archive (the rest — Dagster's instance, logs, the Edge shards — is
#: rebuilt or replaced by the target's)
HOME_FOLDERS = ("plugins", "extractors", "models")
PAGE = 1000


class MigrationError(RuntimeError):
    """An archive or a target that cannot be used; the message says why and what to do."""


def _add_bytes(tar: tarfile.TarFile, name: str, data: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size, info.mtime = len(data), int(datetime.now(UTC).timestamp())
    tar.addfile(info, io.BytesIO(data))


def _add_jsonl(tar: tarfile.TarFile, name: str, rows: Iterator[dict[str, Any]], scratch: Path) -> int:
    """Rows as JSON lines, spooled to a file first (a tar member needs its size up front)."""
    path, n = scratch / "member.jsonl", 0
    with path.open("w", encoding="utf-8") as fh:
        for row in rows:
            fh.write(json.dumps(row, default=str, ensure_ascii=False) + "\n")
            n += 1
    tar.add(path, arcname=name)
    return n


def export_home(settings, out: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Write the home ``settings`` name (catalog, blobs, index, plugins) into the tar ``out`` (``.tar.gz`` compresses);
    returns the manifest."""
    catalog, objects, index = Catalog(settings.catalog_url), make_object_store(settings), make_index_store(settings)
    counts: dict[str, Any] = {"tables": {}, "objects": 0, "points": {}}
    mode = "w:gz" if str(out).endswith(("gz", "tgz")) else "w"
    try:
        with tempfile.TemporaryDirectory(prefix="wh-export-") as tmp, tarfile.open(out, mode) as tar:
            scratch = Path(tmp)
            with catalog.engine.connect() as conn:
                for table in Base.metadata.sorted_tables:
                    rows = (dict(r._mapping) for r in conn.execute(select(table)))  # datetimes as ISO strings
                    counts["tables"][table.name] = _add_jsonl(tar, f"catalog/{table.name}.jsonl", rows, scratch)
            for stored in objects.list(""):
                local = scratch / "blob"
                objects.get_file(stored.key, local)
                tar.add(local, arcname=f"objects/{stored.key}")
                counts["objects"] += 1
            with catalog.session() as s:
                namespaces = [n for (n,) in s.query(Namespace.namespace_id)]
            for ns in namespaces:
                counts["points"][ns] = _add_jsonl(tar, f"index/{ns}.jsonl", _points(index, ns), scratch)
            for folder in HOME_FOLDERS:
                if (settings.home_dir / folder).is_dir():
                    tar.add(settings.home_dir / folder, arcname=f"home/{folder}")
            manifest = {"format": FORMAT, "exported_at": datetime.now(UTC).isoformat(),
                        "object_url_prefix": url_prefix(objects), "counts": counts}
            _add_bytes(tar, "manifest.json", json.dumps(manifest, indent=2).encode())
    finally:
        index.close()
        catalog.dispose()
    log(f"exported {sum(counts['tables'].values())} catalog rows, {counts['objects']} blobs, "
        f"{sum(counts['points'].values())} documents to {out}")
    return manifest


def _points(index, namespace_id: str) -> Iterator[dict[str, Any]]:
    offset = None
    while True:
        hits, offset = index.scroll(namespace_id, None, limit=PAGE, offset=offset, with_vectors=True)
        for h in hits:
            yield {"id": h.id, "vectors": h.vectors or {}, "payload": h.payload or {}}
        if offset is None:
            return


def url_prefix(objects) -> str:
    """The part of every URL the store issues before the key."""
    return objects.url_for("probe").removesuffix("probe")


def _rewrite(value: Any, old: str, new: str) -> Any:
    """``value`` with every string that starts with the source store's URL prefix pointed at the target store."""
    if isinstance(value, str):
        return new + value[len(old):] if value.startswith(old) else value
    if isinstance(value, list):
        return [_rewrite(v, old, new) for v in value]
    if isinstance(value, dict):
        return {k: _rewrite(v, old, new) for k, v in value.items()}
    return value


def _member(tar: tarfile.TarFile, name: str) -> tarfile.TarInfo:
    try:
        return tar.getmember(name)
    except KeyError:
        raise MigrationError(f"the archive has no {name}: it is not a warehouse export (or it is truncated)") from None


def _lines(tar: tarfile.TarFile, name: str) -> Iterator[dict[str, Any]]:
    with tar.extractfile(_member(tar, name)) as fh:
        for line in io.TextIOWrapper(fh, encoding="utf-8"):
            if line.strip():
                yield json.loads(line)


def import_home(settings, archive: Path, log: Callable[[str], None] = print) -> dict[str, Any]:
    """Load the export ``archive`` into the catalog, object store, index and home ``settings`` name (all empty);
    returns what was loaded. Raises :class:`MigrationError` for a bad archive or a target that is not empty."""
    try:
        tar = tarfile.open(archive, "r:*")
    except (tarfile.TarError, OSError) as exc:
        raise MigrationError(f"{archive} is not a readable tar archive ({exc})") from None
    with tar:
        manifest = json.loads(tar.extractfile(_member(tar, "manifest.json")).read())
        if manifest.get("format") != FORMAT:
            raise MigrationError(f"archive format {manifest.get('format')!r}; this release reads format {FORMAT}")
        catalog = Catalog(settings.catalog_url)
        objects, index = make_object_store(settings), make_index_store(settings)
        try:
            with catalog.session() as s:
                present = s.query(func.count(Namespace.namespace_id)).scalar()
            if present:
                raise MigrationError(f"the target catalog ({settings.catalog_url.split('@')[-1]}) already holds "
                                     f"{present} namespace(s): import into a fresh catalog, index and store")
            old, new = manifest["object_url_prefix"], url_prefix(objects)
            loaded = _load(tar, manifest, catalog, objects, index, settings, old, new)
        finally:
            index.close()
            catalog.dispose()
    log(f"imported {sum(loaded['tables'].values())} catalog rows, {loaded['objects']} blobs, "
        f"{sum(loaded['points'].values())} documents")
    return loaded


def _load(tar, manifest, catalog, objects, index, settings, old: str, new: str) -> dict[str, Any]:
    loaded: dict[str, Any] = {"tables": {}, "objects": 0, "points": {}}
    with catalog.engine.begin() as conn:  # every row or none
        names = set(tar.getnames())
        for table in Base.metadata.sorted_tables:
            if f"catalog/{table.name}.jsonl" not in names:
                continue
            dates = {c.name for c in table.columns if isinstance(c.type, DateTime)}
            known = {c.name for c in table.columns}
            batch, n = [], 0
            for row in _lines(tar, f"catalog/{table.name}.jsonl"):
                row = {k: _rewrite(v, old, new) for k, v in row.items() if k in known}
                for k in dates & set(row):  # written as ISO strings (json.dumps default=str)
                    if row[k] is not None:
                        row[k] = datetime.fromisoformat(row[k])
                batch.append(row)
                if len(batch) >= PAGE:
                    conn.execute(table.insert(), batch)
                    n, batch = n + len(batch), []
            if batch:
                conn.execute(table.insert(), batch)
                n += len(batch)
            loaded["tables"][table.name] = n
    with tempfile.TemporaryDirectory(prefix="wh-import-") as tmp:
        for member in tar:
            if member.isfile() and member.name.startswith("objects/"):
                path = Path(tmp) / "blob"
                with tar.extractfile(member) as src, path.open("wb") as dst:
                    shutil.copyfileobj(src, dst, 1 << 20)
                objects.put_file(member.name.removeprefix("objects/"), path)
                loaded["objects"] += 1
    with catalog.session() as s:
        collections = s.query(Collection).all()
        by_namespace: dict[str, list[Collection]] = {}
        for c in collections:
            by_namespace.setdefault(c.namespace_id, []).append(c)
    for ns in manifest["counts"]["points"]:
        specs = {spec.name: spec for c in by_namespace.get(ns, []) for spec in index_specs(c)}
        if specs:
            index.ensure_vectors(ns, list(specs.values()))
        points, n = [], 0
        for p in _lines(tar, f"index/{ns}.jsonl"):
            points.append(IndexPoint(id=p["id"], vectors=p["vectors"], payload=_rewrite(p["payload"], old, new)))
            if len(points) >= PAGE:
                index.upsert(ns, points)
                n, points = n + len(points), []
        if points:
            index.upsert(ns, points)
            n += len(points)
        loaded["points"][ns] = n
    home_members = [m for m in tar.getmembers() if m.name.startswith("home/") and (m.isfile() or m.isdir())]
    for member in home_members:
        target = (settings.home_dir / member.name.removeprefix("home/")).resolve()
        if not target.is_relative_to(settings.home_dir.resolve()):
            raise MigrationError(f"archive member {member.name!r} points outside the home")
        if member.isdir():
            target.mkdir(parents=True, exist_ok=True)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            with tar.extractfile(member) as src, target.open("wb") as dst:
                shutil.copyfileobj(src, dst)
    return loaded
