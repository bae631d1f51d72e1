"""ObjectStore on a local directory (the embedded default)."""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from warehouse.storage.base import ObjectStore, ObjectStoreError, StoredObject


class LocalObjectStore(ObjectStore):
    """Blobs as files under ``root``; URLs are ``file://`` paths."""

    scheme = "file"

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).resolve()
        self.root.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root not in path.parents:
            raise ObjectStoreError(f"key {key!r} escapes the object store root")
        return path

    def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        # Write-then-rename: a reader never sees a half-written blob.
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
        return self.url_for(key)

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        target = self._path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(path), target)  # a rename on the same file system: no copy, no memory
        return self.url_for(key)

    def head(self, key: str, size: int = 4096) -> bytes:
        try:
            with self._path(key).open("rb") as fh:
                return fh.read(size)
        except FileNotFoundError as exc:
            raise ObjectStoreError(f"no blob at key {key!r}") from exc

    def stat(self, key: str) -> StoredObject | None:
        path = self._path(key)
        if not path.is_file():
            return None
        st = path.stat()
        return StoredObject(key=key, size=st.st_size, last_modified=datetime.fromtimestamp(st.st_mtime, UTC),
                            etag=hashlib.md5(f"{st.st_size}:{st.st_mtime_ns}".encode()).hexdigest())

    def get_file(self, key: str, path: Path) -> None:
        shutil.copyfile(self._path(key), path)

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            return path.read_bytes()
        except FileNotFoundError as exc:
            raise ObjectStoreError(f"no blob at key {key!r} (looked in {path})") from exc

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        # Walk only the folder the prefix names, not the whole store.
        base = self._path(prefix.rsplit("/", 1)[0]) if "/" in prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*")):
            if not path.is_file() or path.name.startswith(".tmp-"):
                continue
            key = path.relative_to(self.root).as_posix()
            if not key.startswith(prefix):
                continue
            stat = path.stat()
            yield StoredObject(
                key=key,
                size=stat.st_size,
                last_modified=datetime.fromtimestamp(stat.st_mtime, UTC),
                etag=hashlib.md5(f"{stat.st_size}:{stat.st_mtime_ns}".encode()).hexdigest(),
            )

    def url_for(self, key: str) -> str:
        return self._path(key).as_uri()

    def key_from_url(self, url: str) -> str | None:
        prefix = self.root.as_uri() + "/"
        return url[len(prefix) :] if url.startswith(prefix) else None
