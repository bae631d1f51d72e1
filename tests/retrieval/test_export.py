"""The export's media reader (``warehouse.retrieval.export``): the documents of one blob read it once, and a blob
over the size limit is not read at all. The export end to end is in tests/api/test_export.py."""

from __future__ import annotations

from warehouse.retrieval import export
from warehouse.storage.local import LocalObjectStore


class CountingStore(LocalObjectStore):
    def __init__(self, root) -> None:
        super().__init__(root)
        self.reads: list[str] = []

    def get(self, key: str) -> bytes:
        self.reads.append(key)
        return super().get(key)


def test_a_blob_is_read_once_for_its_documents_side_by_side(tmp_path, monkeypatch):
    store = CountingStore(tmp_path)
    pdf = {"blob_id": "blob_a", "type": "pdf", "url": store.put("ns/a.pdf", b"%PDF pages")}
    photo = {"blob_id": "blob_b", "type": "image", "url": store.put("ns/b.jpg", b"\xff\xd8 photo")}
    reader = export._MediaReader(store)
    assert [reader.read(pdf) for _ in range(3)] == [(b"%PDF pages", None)] * 3  # three pages, one read
    assert reader.read(photo) == (b"\xff\xd8 photo", None)
    assert store.reads == ["ns/a.pdf", "ns/b.jpg"]

    assert reader.read({"blob_id": "blob_t", "type": "text", "data": "inline"}) == (b"inline", None)
    assert reader.read({"blob_id": "blob_u", "type": "image", "url": "https://example.com/x.jpg"}) == (None, "none")
    assert reader.read({"blob_id": "blob_m", "type": "pdf", "url": store.url_for("ns/gone.pdf")}) == (None, "failed")

    monkeypatch.setattr(export, "MAX_MEDIA_BYTES", 4)
    assert export._MediaReader(store).read(pdf) == (None, "too_large")
    assert store.reads == ["ns/a.pdf", "ns/b.jpg", "ns/gone.pdf"]  # the size was known before any read
