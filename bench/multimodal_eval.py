"""Image search quality and ingest speed through the API, against the raw models in this process (one run).

- ImageNet sample (200 photos, 200 classes): the text query "a photo of a {class name}" → image over
  ``label_embedding`` — top-1 and recall@5 (the one photo of that class is the relevant one); image → image over
  ``image_embedding`` with each photo as its own query (self-retrieval, top-1), since the sample holds one photo
  per class; and the raw classifier's top-1 on the same photos (the quality the labels start from).
- skimage/CLIP captions (8 photos): each caption → image, top-1 (the raw pipeline — classify, caption the labels,
  MiniLM — is computed in this process too).
- Ingest: photos/s of one batch through the API, submit to COMPLETED (objects stored beforehand as base64), and
  through the raw model in this process (decode + preprocess + one EfficientNet pass + one MiniLM pass per 32),
  and their ratio.

Usage: python bench/multimodal_eval.py [--dataset ../shared/data]
Prints JSON lines; docs/benchmarks.md quotes them.
"""

from __future__ import annotations

import argparse
import base64
import csv
import json
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench._server import serve  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "data")
    args = parser.parse_args()
    sample = args.dataset / "images" / "imagenet_sample"
    with open(sample / "labels.csv") as fh:
        rows = list(csv.DictReader(fh))
    captions_dir = args.dataset / "images" / "skimage_clip_captions"
    captions = [json.loads(line) for line in (captions_dir / "captions.jsonl").read_text().splitlines() if line]

    base, key, svc = serve(Path(tempfile.mkdtemp(prefix="wh-bench-")), warm_batch_workers=True)
    c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600)
    # ready means warm, as a long-running server is: the batch workers hold the extractors' models
    while (checks := c.get("/v1/health").json()["checks"])["batch_workers"] not in ("ready", "off"):
        if checks["batch_workers"].startswith("failed"):
            raise SystemExit(f"warming the batch workers failed: {checks['batch_workers']}")
        time.sleep(0.2)
    c.post("/v1/namespaces", json={"namespace_name": "multimodal"}).raise_for_status()
    c.headers["X-Namespace"] = "multimodal"

    def collection(name: str, files: list[Path], labels: list[str]) -> tuple[str, dict, dict, float]:
        bucket = c.post("/v1/buckets", json={"bucket_name": name, "bucket_schema": {"properties": {
            "photo": {"type": "image"}, "label": {"type": "string"}}}}).json()["bucket_id"]
        coll = c.post("/v1/collections", json={
            "collection_name": name, "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": "image_extractor", "version": "v1",
                                  "input_mappings": {"image": "photo"}, "field_passthrough": [{"source_path": "label"}]}}).json()
        objects = [{"blobs": [{"property": "photo", "type": "image",
                               "data": base64.b64encode(f.read_bytes()).decode()}], "label": label}
                   for f, label in zip(files, labels, strict=True)]
        ids = []
        for i in range(0, len(objects), 50):
            resp = c.post(f"/v1/buckets/{bucket}/objects/batch", json={"objects": objects[i:i + 50]})
            resp.raise_for_status()
            ids += [o["object_id"] for o in resp.json()["objects"]]
        started = time.perf_counter()  # from submit to COMPLETED: the batch itself, as bench/ingest.py times it
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={"object_ids": ids}, params={"auto_submit": True}).json()
        while (batch := c.get(f"/v1/batches/{batch['batch_id']}").json())["status"] in ("QUEUED", "PROCESSING"):
            time.sleep(0.2)
        seconds = time.perf_counter() - started
        if batch["status"] != "COMPLETED":
            raise SystemExit(f"{name}: batch {batch['status']}: {batch.get('failed_objects', [])[:3]}")
        uris = {v["feature_uri"].rsplit("/", 1)[1]: v["feature_uri"] for v in coll["vector_indexes"]}
        return coll["collection_id"], uris, {}, seconds

    def search(cid: str, uri: str, query, k: int = 5) -> list[str]:
        body = {"searches": [{"feature_uri": uri, "query": query, "top_k": k}], "final_top_k": k}
        resp = c.post("/v1/retrievers/execute", json={"collection_identifiers": [cid], "stages": [{
            "stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": body}}]})
        resp.raise_for_status()
        return [d.get("label") for d in resp.json()["documents"]]

    files, labels = [sample / r["file"] for r in rows], [r["label"] for r in rows]
    cid, uris, _, ingest_s = collection("imagenet", files, labels)
    top1 = r5 = self1 = 0
    for f, label in zip(files, labels, strict=True):
        found = search(cid, uris["label_embedding"], f"a photo of a {label}")
        top1 += found[:1] == [label]
        r5 += label in found[:5]
        by_image = search(cid, uris["image_embedding"], {"input_mode": "content",
                                                          "value": base64.b64encode(f.read_bytes()).decode()}, 1)
        self1 += by_image[:1] == [label]
    n = len(files)
    print(json.dumps({"task": "imagenet_text_to_image", "images": n, "top1": round(top1 / n, 4),
                      "recall@5": round(r5 / n, 4)}), flush=True)
    print(json.dumps({"task": "imagenet_image_to_image_self", "images": n, "top1": round(self1 / n, 4)}), flush=True)

    cap_files = [captions_dir / item["file"] for item in captions]
    cap_cid, cap_uris, _, _ = collection("captions", cap_files, [item["file"] for item in captions])
    hits = sum(search(cap_cid, cap_uris["label_embedding"], item["caption"], 1)[:1] == [item["file"]]
               for item in captions)
    print(json.dumps({"task": "caption_to_image", "images": len(captions), "top1": f"{hits}/{len(captions)}"}),
          flush=True)

    # the raw models in this process: the same steps without the warehouse around them
    from warehouse.extractors.media import imaging
    imaging.forward([imaging.preprocess(imaging.load_image(str(files[0])))])  # load and warm
    imaging.embed_texts(["warm"])
    started, raw_top1 = time.perf_counter(), 0
    for i in range(0, n, 32):
        chunk = files[i:i + 32]
        _, probs = imaging.forward([imaging.preprocess(imaging.load_image(str(f))) for f in chunk])
        tops = [imaging.top_labels(p, 5) for p in probs]
        imaging.embed_texts([imaging.label_text(t) for t in tops])
        raw_top1 += sum(t[0]["label"] == label for t, label in zip(tops, labels[i:i + 32], strict=True))
    raw_s = time.perf_counter() - started
    print(json.dumps({"task": "raw_classifier_top1", "images": n, "top1": round(raw_top1 / n, 4)}), flush=True)
    raw_caption = 0
    for item in captions:
        best = None
        for f in cap_files:
            _, probs = imaging.forward([imaging.preprocess(imaging.load_image(str(f)))])
            vec = imaging.embed_texts([imaging.label_text(imaging.top_labels(probs[0], 5))])[0]
            score = float(vec @ imaging.embed_texts([item["caption"]])[0])
            if best is None or score > best[0]:
                best = (score, f.name)
        raw_caption += best[1] == item["file"]
    print(json.dumps({"task": "raw_caption_to_image", "top1": f"{raw_caption}/{len(captions)}"}), flush=True)
    print(json.dumps({"stage": "ingest", "images": n, "pipeline_s": round(ingest_s, 2),
                      "pipeline_images_per_s": round(n / ingest_s, 2), "raw_s": round(raw_s, 2),
                      "raw_images_per_s": round(n / raw_s, 2), "ratio": round(raw_s / ingest_s, 3)}), flush=True)
    svc.close()


if __name__ == "__main__":
    main()
