"""Ingest throughput: SciFact abstracts through the full path vs the raw model in the same process.

Starts the API server on loopback (its own temporary home), creates a bucket, a text_extractor
collection and N objects over HTTP, submits one batch and times it from submit to COMPLETED
(rows → Ray Data map_batches → validated documents upserted into Qdrant Edge). Then times
``SentenceTransformer.encode`` on the same texts in this process. Prints JSON lines:

    {"stage": "pipeline", "docs": N, "seconds": s, "docs_per_s": x}
    {"stage": "raw_model", "docs": N, "seconds": s, "docs_per_s": y}
    {"ratio": x / y}

Usage: python bench/ingest.py --n 1000 [--dataset ../shared/data/scifact] [--ray-address HOST:PORT]

With ``--ray-address`` the batch runs on that Ray cluster (this process joins it as the driver; a cluster with
token authentication needs ``RAY_AUTH_MODE=token`` and its ``RAY_AUTH_TOKEN`` in the environment) instead of a
local Ray started here; the raw model still runs in this process.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def load_texts(dataset: Path, n: int) -> list[str]:
    texts = []
    with open(dataset / "corpus.jsonl") as fh:
        for line in fh:
            row = json.loads(line)
            texts.append(row["text"])
            if len(texts) == n:
                break
    return texts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=1000)
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    parser.add_argument("--cold", action="store_true",
                        help="do not warm the batch workers at start-up: the batch pays for process start and "
                             "model loading (the first batch after a restart with WAREHOUSE_WARM_BATCH_WORKERS=false)")
    parser.add_argument("--ray-address", default=None,
                        help="run the batch on this Ray cluster (HOST:PORT); its token in RAY_AUTH_TOKEN")
    args = parser.parse_args()
    texts = load_texts(args.dataset, args.n)

    import uvicorn

    from tests.conftest import free_port
    from warehouse.api.app import create_app
    from warehouse.batch.engine import ensure_ray
    from warehouse.catalog.bootstrap import ensure_api_key
    from warehouse.services import Services
    from warehouse.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="wh-bench-"))
    port = free_port()
    settings = Settings(home=home, api_port=port, warm_batch_workers=not args.cold, ray_address=args.ray_address)
    svc = Services.from_settings(settings)
    key = ensure_api_key(svc.catalog, settings.organization_id)
    ensure_ray(args.ray_address)
    server = uvicorn.Server(uvicorn.Config(create_app(settings, svc), host="127.0.0.1", port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    base = f"http://127.0.0.1:{port}"
    # Ready means warm: the query models loaded and the batch workers holding the extractor, as a
    # long-running server has them; the raw model is timed warm too.
    while True:
        try:
            checks = httpx.get(f"{base}/v1/health").json()["checks"]
            if checks["query_models"] == "ready" and checks["batch_workers"] in ("ready", "off"):
                break
            if checks["batch_workers"].startswith("failed"):
                raise SystemExit(f"warming the batch workers failed: {checks['batch_workers']}")
        except (httpx.HTTPError, KeyError):
            pass
        time.sleep(0.2)
    c = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=300)
    c.post("/v1/namespaces", json={"namespace_name": "bench"}).raise_for_status()
    c.headers["X-Namespace"] = "bench"
    bucket = c.post("/v1/buckets", json={"bucket_name": "scifact", "bucket_schema": {"properties": {"text": {"type": "text"}}}}).json()
    coll = c.post("/v1/collections", json={"collection_name": "scifact", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
                                           "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                                                 "input_mappings": {"text": "text"}}}).json()
    for i in range(0, len(texts), 500):
        objs = [{"blobs": [{"property": "text", "type": "text", "data": t}]} for t in texts[i:i + 500]]
        c.post(f"/v1/buckets/{bucket['bucket_id']}/objects/batch", json={"objects": objs}).raise_for_status()
    batch = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"collection_ids": [coll["collection_id"]]}).json()
    start = time.perf_counter()
    c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={}).raise_for_status()
    while True:
        state = c.get(f"/v1/batches/{batch['batch_id']}").json()
        if state["status"] not in ("QUEUED", "PROCESSING"):
            break
        time.sleep(0.2)
    pipeline_s = time.perf_counter() - start
    if state["status"] != "COMPLETED" or state["documents_written"] != len(texts):
        raise SystemExit(f"batch ended {state['status']} with {state['documents_written']} documents: {state['failed_objects'][:3]}")
    print(json.dumps({"stage": "pipeline", "docs": len(texts), "seconds": round(pipeline_s, 2),
                      "docs_per_s": round(len(texts) / pipeline_s, 2)}), flush=True)

    from warehouse.extractors.models import load_sentence_transformer

    model = load_sentence_transformer("all-MiniLM-L6-v2")
    model.encode(texts[:8])  # load and warm, as the pipeline's actor does before its first batch
    start = time.perf_counter()
    model.encode(texts, batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
    raw_s = time.perf_counter() - start
    print(json.dumps({"stage": "raw_model", "docs": len(texts), "seconds": round(raw_s, 2),
                      "docs_per_s": round(len(texts) / raw_s, 2)}), flush=True)
    print(json.dumps({"ratio": round(raw_s / pipeline_s, 3)}), flush=True)
    server.should_exit = True


if __name__ == "__main__":
    main()
