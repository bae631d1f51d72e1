"""Real AG News items in the live warehouse: a bucket, and helpers to put chosen items into collections."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from tests.conftest import wait_batch

AG_NEWS = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "ag_news" / "test.csv"
CLASSES = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}
DENSE = "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1"


def ag_news() -> list[dict]:
    with AG_NEWS.open(newline="") as f:
        return [{"topic": CLASSES[c], "text": f"{t}. {d}".replace("\\", " ")} for c, t, d in csv.reader(f)]


def pick(rows: list[dict], topic: str, n: int, skip: int = 0, words: tuple[str, ...] = ()) -> list[dict]:
    chosen = [r for r in rows if r["topic"] == topic and (not words or any(w in r["text"].lower() for w in words))]
    return chosen[skip: skip + n]


class Space:
    """One namespace with one bucket of news items; ``collection()`` indexes chosen items into a new collection."""

    def __init__(self, live) -> None:
        _, self.client = live.new_namespace()
        self.bucket = self.client.post("/v1/buckets", json={"bucket_name": "news", "bucket_schema": {"properties": {
            "text": {"type": "text"}, "topic": {"type": "string"}, "node": {"type": "string"}}}}).json()["bucket_id"]

    def add(self, rows: list[dict]) -> list[str]:
        ids = []
        for r in rows:
            body = {"topic": r["topic"], "blobs": [{"property": "text", "type": "text", "data": r["text"]}]}
            if r.get("node"):
                body["node"] = r["node"]
            resp = self.client.post(f"/v1/buckets/{self.bucket}/objects", json=body)
            assert resp.status_code == 200, resp.text
            ids.append(resp.json()["object_id"])
        return ids

    def collection(self, name: str) -> dict:
        resp = self.client.post("/v1/collections", json={
            "collection_name": name, "source": {"type": "bucket", "bucket_ids": [self.bucket]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "text"},
                                  "field_passthrough": [{"source_path": "topic"}, {"source_path": "node"}]}})
        assert resp.status_code == 200, resp.text
        return resp.json()

    def index(self, collection_id: str, rows: list[dict]) -> dict:
        """Write ``rows`` (new objects) into the collection with one batch; returns the finished batch."""
        ids = self.add(rows)
        batch = self.client.post(f"/v1/buckets/{self.bucket}/batches",
                                 json={"object_ids": ids, "collection_ids": [collection_id]}).json()
        self.client.post(f"/v1/buckets/{self.bucket}/batches/{batch['batch_id']}/submit", json={})
        done = wait_batch(self.client, batch["batch_id"])
        assert done["status"] == "COMPLETED", done
        return done

    def documents(self, collection_id: str) -> list[dict]:
        resp = self.client.post(f"/v1/collections/{collection_id}/documents/list", json={"limit": 1000})
        assert resp.status_code == 200, resp.text
        return resp.json()["documents"] if "documents" in resp.json() else resp.json()["results"]


@pytest.fixture(scope="module")
def news(live):
    """References (5 per topic) and targets (8 per topic, other items) from AG News, indexed."""
    rows = ag_news()
    space = Space(live)
    refs = space.collection("references")
    targets = space.collection("articles")
    space.index(refs["collection_id"], [r for t in CLASSES.values() for r in pick(rows, t, 5)])
    target_rows = [r for t in CLASSES.values() for r in pick(rows, t, 8, skip=5)]
    space.index(targets["collection_id"], target_rows)
    space.refs, space.targets, space.target_rows = refs, targets, target_rows
    return space
