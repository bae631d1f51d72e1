"""Submit → COMPLETED latency of a small batch on a running warehouse (Dagster or inline mode).

    .venv/bin/python bench/batch_latency.py --home .warehouse --api http://127.0.0.1:8000 --n 20 --repeat 3

Creates a bucket and a text_extractor collection, then submits ``--repeat`` batches of ``--n`` short
texts one after another and prints one JSON line with the latencies: under Dagster each batch waits
for a sensor tick, the run queue and a run process; inline it starts at once. Run it against
``warehouse up`` and ``warehouse up --no-dagster`` to see the orchestration overhead.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
import uuid
from pathlib import Path

import httpx


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--home", type=Path, default=Path(".warehouse"))
    parser.add_argument("--api", default="http://127.0.0.1:8000")
    parser.add_argument("--namespace", default="default")
    parser.add_argument("--n", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    key = (args.home / "api_key").read_text().strip()
    c = httpx.Client(base_url=f"{args.api}/v1", timeout=120,
                     headers={"Authorization": f"Bearer {key}", "X-Namespace": args.namespace})
    name = "latency-" + uuid.uuid4().hex[:6]
    bucket = c.post("/buckets", json={"bucket_name": name, "bucket_schema": {"properties": {"text": {"type": "text"}}}}).json()
    coll = c.post("/collections", json={"collection_name": name, "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
                                        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                                              "input_mappings": {"text": "text"}}}).json()
    latencies = []
    for r in range(args.repeat):
        objs = c.post(f"/buckets/{bucket['bucket_id']}/objects/batch", json={"objects": [
            {"blobs": [{"property": "text", "type": "text", "data": f"sample {r}-{i}: tides, rivers and glaciers"}]}
            for i in range(args.n)]}).json()["objects"]
        batch = c.post(f"/buckets/{bucket['bucket_id']}/batches", json={
            "object_ids": [o["object_id"] for o in objs], "collection_ids": [coll["collection_id"]]}).json()
        start = time.perf_counter()
        c.post(f"/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={})
        while (status := c.get(f"/batches/{batch['batch_id']}").json()["status"]) not in (
                "COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
            time.sleep(0.1)
        latencies.append(round(time.perf_counter() - start, 2))
        assert status == "COMPLETED", status
    print(json.dumps({"objects_per_batch": args.n, "latencies_s": latencies,
                      "median_s": statistics.median(latencies)}))


if __name__ == "__main__":
    main()
