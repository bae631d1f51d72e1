"""The ObjectStore interface shared by the local-directory and S3 implementations."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

#: how long a download URL the warehouse hands out (presigned by S3, or signed by the API) stays valid
DOWNLOAD_URL_SECONDS = 3600


class ObjectStoreError(RuntimeError):
    """A blob could not be read or written; the message names the key and the cause."""


@dataclass(frozen=True)
class StoredObject:
    key: str
    size: int
    last_modified: datetime
    etag: str


class ObjectStore(ABC):
    """Keyed blob storage. Keys are ``/``-separated relative paths.

    Example:
        >>> store = LocalObjectStore("/tmp/objects")          # doctest: +SKIP
        >>> url = store.put("ns/bkt/obj/blob.png", b"...")  # doctest: +SKIP
        >>> store.get_url(url)                                # doctest: +SKIP
    """

    scheme: str

    @abstractmethod
    def put(self, key: str, data: bytes, content_type: str | None = None) -> str:
        """Store ``data`` under ``key``; returns the blob's URL."""

    @abstractmethod
    def get(self, key: str) -> bytes:
        """The bytes under ``key``; raises ObjectStoreError when missing."""

    @abstractmethod
    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""

    @abstractmethod
    def exists(self, key: str) -> bool: ...

    @abstractmethod
    def list(self, prefix: str = "") -> Iterator[StoredObject]:
        """Objects under ``prefix``, in key order."""

    @abstractmethod
    def url_for(self, key: str) -> str:
        """The URL extractors receive in the ``data`` column for this key."""

    @abstractmethod
    def key_from_url(self, url: str) -> str | None:
        """The key of a URL this store issued, or None if it belongs elsewhere."""

    def put_file(self, key: str, path: Path, content_type: str | None = None) -> str:
        """Store the file at ``path`` under ``key`` (it is moved or streamed, never read whole); returns the URL."""
        return self.put(key, Path(path).read_bytes(), content_type)

    def get_file(self, key: str, path: Path) -> None:
        """Copy the object under ``key`` into the local file ``path`` (streamed where the store allows it)."""
        Path(path).write_bytes(self.get(key))

    def head(self, key: str, size: int = 4096) -> bytes:
        """The first ``size`` bytes under ``key`` (what content sniffing reads)."""
        return self.get(key)[:size]

    def stat(self, key: str) -> StoredObject | None:
        """Size and ETag of ``key``, or None when it is not there."""
        return next((o for o in self.list(key) if o.key == key), None)

    def get_url(self, url: str) -> bytes:
        key = self.key_from_url(url)
        if key is None:
            raise ObjectStoreError(f"{url!r} is not a URL of this {self.scheme} object store")
        return self.get(key)

    def delete_prefix(self, prefix: str) -> int:
        keys = [o.key for o in self.list(prefix)]
        for key in keys:
            self.delete(key)
        return len(keys)
