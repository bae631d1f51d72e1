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
- The 117-page PDF (GeoTopo, German lecture notes) through ``document_extractor``: each heading of its outline
  (numbering stripped) as a query, recall@5 of its page (the top 20 chunks, deduplicated to pages) over the dense
  feature, the collection's BM25 index and both fused, against the same chunks embedded raw in this process;
  pages/s through the API vs pypdf + chunking + MiniLM raw.
- Audio and video: the shipped speech (tests/data) as 8 recordings through ``audio_extractor``, and 4 short videos
  encoded from the caption photos with the speech as sound through ``video_extractor``; seconds of media per second
  through the API vs the raw decode + whisper (+ frames + EfficientNet) + MiniLM in this process.

Usage: python bench/multimodal_eval.py [--dataset ../shared/data]
Prints JSON lines; docs/benchmarks.md quotes them.
"""

from __future__ import annotations

import argparse
import base64
import csv
import io
import json
import re
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
    parser.add_argument("--only", choices=["images", "pdf", "media"], action="append",
                        help="run only these parts (repeatable); all by default")
    args = parser.parse_args()
    parts = set(args.only or ["images", "pdf", "media"])
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

    def collection(name: str, files: list[Path], labels: list[str], blob_type: str = "image",
                   extractor: str = "image_extractor", input_name: str = "image",
                   parameters: dict | None = None) -> tuple[str, dict, dict, float]:
        bucket = c.post("/v1/buckets", json={"bucket_name": name, "bucket_schema": {"properties": {
            "file": {"type": blob_type}, "label": {"type": "string"}}}}).json()["bucket_id"]
        coll = c.post("/v1/collections", json={
            "collection_name": name, "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": extractor, "version": "v1", "parameters": parameters or {},
                                  "input_mappings": {input_name: "file"}, "field_passthrough": [{"source_path": "label"}]}}).json()
        objects = [{"blobs": [{"property": "file", "type": blob_type,
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

    def search(cid: str, uri: str | list[str], query, k: int = 5, field: str = "label") -> list:
        """``field`` of the top ``k`` documents for ``query`` over one feature, or several fused (RRF, k=10 as
        bench/retrieval_eval.py chose on SciFact's train split)."""
        uris = [uri] if isinstance(uri, str) else uri
        body = {"searches": [{"feature_uri": u, "query": query, "top_k": k} for u in uris], "final_top_k": k,
                **({"fusion": "rrf", "rrf_k": 10} if len(uris) > 1 else {})}
        resp = c.post("/v1/retrievers/execute", json={"collection_identifiers": [cid], "stages": [{
            "stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": body}}]})
        resp.raise_for_status()
        return [d.get(field) for d in resp.json()["documents"]]

    if "images" in parts:
        image_eval(sample, rows, captions_dir, captions, collection, search)
    if "pdf" in parts:
        pdf_eval(args.dataset / "pdfs" / "GeoTopo-komprimiert.pdf", collection, search)
    if "media" in parts:
        media_eval(collection, Path(tempfile.mkdtemp(prefix="wh-bench-media-")))
    svc.close()


def image_eval(sample: Path, rows: list[dict], captions_dir: Path, captions: list[dict], collection, search) -> None:
    """ImageNet sample and caption queries through image_extractor, and the raw models in this process."""
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


def outline(pdf: Path) -> list[tuple[str, int]]:
    """(heading without its numbering, 1-based page) of every entry of the PDF's outline."""
    import pypdf

    reader, out = pypdf.PdfReader(str(pdf)), []

    def walk(items) -> None:
        for item in items:
            if isinstance(item, list):
                walk(item)
            else:
                out.append((re.sub(r"^[\d.]+\s+", "", item.title), reader.get_destination_page_number(item) + 1))

    walk(reader.outline)
    return out


def first_pages(pages: list, k: int = 5) -> list:
    return list(dict.fromkeys(pages))[:k]


def pdf_eval(pdf: Path, collection, search) -> None:
    """Headings → page recall@5 through document_extractor, and the same chunks raw in this process."""
    import numpy as np

    from warehouse.extractors.chunking import split_text
    from warehouse.extractors.media.pdf import read_pdf
    from warehouse.extractors.media.text import embed_texts

    headings = outline(pdf)
    cid, uris, _, ingest_s = collection("lecture", [pdf], [pdf.name], "pdf", "document_extractor", "document")
    modes = {"dense": uris["text_embedding"], "bm25": uris["bm25"], "hybrid": [uris["text_embedding"], uris["bm25"]]}
    hits = {mode: sum(page in first_pages(search(cid, uri, title, 20, "page_number")) for title, page in headings)
            for mode, uri in modes.items()}
    started = time.perf_counter()
    content = read_pdf(pdf)
    chunks = [(p.number, ch.text) for p in content.pages for ch in split_text(p.text, "words", 150, 25)]
    vectors = embed_texts([t for _, t in chunks])
    raw_s = time.perf_counter() - started
    raw_hits = 0
    for title, page in headings:
        order = np.argsort(-(vectors @ embed_texts([title])[0]))[:20]
        raw_hits += page in first_pages([chunks[i][0] for i in order])
    n, pages = len(headings), len(content.pages)
    print(json.dumps({"task": "pdf_heading_to_page", "pdf": pdf.name, "pages": pages, "headings": n, "chunks":
                      len(chunks), **{f"{mode}_recall@5": round(h / n, 4) for mode, h in hits.items()},
                      "raw_dense_recall@5": round(raw_hits / n, 4)}), flush=True)
    print(json.dumps({"stage": "ingest_pdf", "pages": pages, "pipeline_s": round(ingest_s, 2),
                      "pipeline_pages_per_s": round(pages / ingest_s, 2), "raw_s": round(raw_s, 2),
                      "raw_pages_per_s": round(pages / raw_s, 2), "ratio": round(raw_s / ingest_s, 3)}), flush=True)


def media_eval(collection, tmp: Path) -> None:
    """Seconds of audio / video ingested per second through the API and raw, in this process."""
    from PIL import Image

    from tests.extractors.media_files import CAPTIONED, write_audio, write_video
    from warehouse.extractors.media.audio import decode_audio, transcribe
    from warehouse.extractors.media.imaging import forward, preprocess
    from warehouse.extractors.media.text import embed_texts
    from warehouse.extractors.media.video import read_video

    recordings = [write_audio(tmp / f"speech{i}.{fmt}", fmt) for i, fmt in enumerate(["mp3", "m4a", "ogg", "flac"] * 2)]
    photos = sorted(CAPTIONED.glob("*.png"))
    videos = [write_video(tmp / f"clip{i}.mp4", photos[i:i + 3], seconds_each=4.0) for i in range(4)]
    for kind, files, extractor, params in [("audio", recordings, "audio_extractor", {}),
                                           ("video", videos, "video_extractor", {"interval_s": 4})]:
        _, _, _, ingest_s = collection(f"{kind}-bench", files, [f.name for f in files], kind, extractor, kind, params)
        started = time.perf_counter()
        seconds = 0.0
        for f in files:
            if kind == "audio":
                samples = decode_audio(f)
                seconds += len(samples) / 16_000
                embed_texts([s.text for s in transcribe(samples)])
            else:
                video = read_video(f, 4.0, transcribe)
                seconds += video.duration
                forward([preprocess(Image.open(io.BytesIO(s.frame))) for s in video.scenes])
                embed_texts([s.transcript or "" for s in video.scenes])
        raw_s = time.perf_counter() - started
        print(json.dumps({"stage": f"ingest_{kind}", "files": len(files), "media_seconds": round(seconds, 1),
                          "pipeline_s": round(ingest_s, 2), "pipeline_media_s_per_s": round(seconds / ingest_s, 2),
                          "raw_s": round(raw_s, 2), "raw_media_s_per_s": round(seconds / raw_s, 2),
                          "ratio": round(raw_s / ingest_s, 3)}), flush=True)


if __name__ == "__main__":
    main()
