"""The built-in image_extractor on real photos: EfficientNet-Lite0 with the preprocessing its weights expect, the
labels embedded with MiniLM, and search by text and by example through the API; bad images fail their own object."""

from __future__ import annotations

import base64
import csv
import importlib
from pathlib import Path

import pytest

from tests.conftest import wait_batch
from tests.extractors.media_files import feature_uris, make_retriever, search

DATA = Path(__file__).resolve().parents[3] / "shared" / "data" / "images"
SAMPLE = DATA / "imagenet_sample"
pytestmark = pytest.mark.ray


def _labels() -> list[dict]:
    with open(SAMPLE / "labels.csv") as fh:
        return list(csv.DictReader(fh))


def _imaging():
    return importlib.import_module("warehouse.extractors.media.imaging")


def test_the_classifier_names_what_it_sees_with_the_weights_preprocessing():
    imaging = _imaging()
    rows = _labels()[::10]  # 20 of the 200 photos
    arrays = [imaging.preprocess(imaging.load_image(str(SAMPLE / r["file"]))) for r in rows]
    pooled, probs = imaging.forward(arrays)
    assert pooled.shape == (len(rows), 1280) and probs.shape == (len(rows), 1000)
    top1 = [imaging.top_labels(p, 1)[0]["label"] for p in probs]
    correct = sum(label == r["label"] for label, r in zip(top1, rows, strict=True))
    assert correct >= 16, list(zip(top1, [r["label"] for r in rows], strict=True))  # the sample's 90 % top-1


def test_photos_are_searchable_by_text_and_by_example_and_bad_files_fail_alone(live):
    _, c = live.new_namespace()
    picks = [r for r in _labels() if r["label"] in ("tench", "flamingo", "bullfrog", "zebra", "fire engine",
                                                     "orange")]
    assert len(picks) == 6
    with c:
        bucket = c.post("/v1/buckets", json={"bucket_name": "photos", "bucket_schema": {
            "properties": {"photo": {"type": "image"}, "label": {"type": "string"}}}}).json()["bucket_id"]
        ids = {}
        for r in picks:
            data = base64.b64encode((SAMPLE / r["file"]).read_bytes()).decode()
            ids[r["label"]] = c.post(f"/v1/buckets/{bucket}/objects", json={
                "blobs": [{"property": "photo", "type": "image", "data": data}], "label": r["label"]}).json()["object_id"]
        truncated = (SAMPLE / picks[0]["file"]).read_bytes()[:2000]
        broken = c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [{
            "property": "photo", "type": "image", "data": base64.b64encode(truncated).decode()}]}).json()["object_id"]
        coll = c.post("/v1/collections", json={
            "collection_name": "photos", "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": "image_extractor", "version": "v1",
                                  "input_mappings": {"image": "photo"}, "field_passthrough": [{"source_path": "label"}]}})
        assert coll.status_code == 200, coll.text
        coll = coll.json()
        uris = feature_uris(coll)
        assert set(uris) >= {"image_embedding", "label_embedding"}
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        done = wait_batch(c, batch["batch_id"])
        assert done["status"] == "COMPLETED_WITH_ERRORS", done
        [failure] = done["failed_objects"] if "failed_objects" in done else done["failures"]
        assert failure["object_id"] == broken and "could not be decoded" in failure["error"], failure
        doc = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={}).json()["results"][0]
        assert doc["image"]["width"] > 0 and doc["thumbnail"].startswith("data:image/jpeg;base64,")
        assert len(doc["labels"]) == 5 and doc["labels"][0]["score"] >= doc["labels"][1]["score"]

        def retriever(feature: str, mode: str) -> str:
            return make_retriever(c, coll["collection_id"], uris[feature], mode, top_k=3)

        by_text = retriever("label_embedding", "text")
        for label in ("tench", "flamingo", "fire engine"):
            assert search(c, by_text, f"a photo of a {label}")[0]["source_object_id"] == ids[label], label
        by_image = retriever("image_embedding", "content")
        frog = base64.b64encode((SAMPLE / next(r["file"] for r in picks if r["label"] == "bullfrog")).read_bytes())
        assert search(c, by_image, frog.decode())[0]["source_object_id"] == ids["bullfrog"]
        wrong = c.post(f"/v1/retrievers/{retriever('image_embedding', 'text')}/execute", json={"inputs": {"q": "frog"}})
        assert wrong.status_code == 422 and "input_mode content / url / document / vector" in wrong.text, wrong.text
        elsewhere = c.post(f"/v1/retrievers/{retriever('image_embedding', 'url')}/execute",
                           json={"inputs": {"q": "https://example.com/cat.jpg"}})
        assert elsewhere.status_code == 422 and "object-store URLs" in elsewhere.text
        garbage = c.post(f"/v1/retrievers/{by_image}/execute", json={"inputs": {"q": "bm90IGFuIGltYWdl"}})
        assert garbage.status_code == 422 and "could not be decoded" in garbage.text, garbage.text
