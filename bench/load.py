"""Load: many concurrent clients mixing retriever executes and object creates against ``warehouse up`` (issue 16).

Starts ``warehouse up --no-dagster --no-demo`` as its own process on loopback (a temporary home), indexes N AG News
items through the API (one bucket, a MiniLM ``text_extractor`` collection, one batch) and saves a feature_search
retriever over them. Then:

- ``reference``: one client, executes only, back to back (``--reference-s`` seconds): the unloaded latency;
- ``load``: ``--clients`` clients for ``--duration`` seconds, each looping: a retriever execute with an AG News title
  as the query, or (``--create-share`` of the time) an object create in the bucket; a health probe every 0.5 s
  beside them.

Prints JSON lines: the setup, the reference, one line per operation under load (count, errors, p50/p95/p99 ms,
per second), health (probes, non-200s, p99), and the summary: total errors, the execute p50/p99 ratio load /
reference. Every non-2xx or transport error counts as an error and the first few are printed.

Usage: python bench/load.py [--clients 20] [--duration 60] [--n 500]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import random
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AG_NEWS = ROOT.parent / "shared" / "data" / "ag_news" / "test.csv"
FINISHED = ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED")


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ms(values: list[float], q: float) -> float | None:
    return round(float(np.percentile(np.asarray(values) * 1000, q)), 1) if values else None


def _summary(name: str, latencies: list[float], errors: int, seconds: float) -> dict:
    return {"op": name, "count": len(latencies), "errors": errors, "p50_ms": _ms(latencies, 50),
            "p95_ms": _ms(latencies, 95), "p99_ms": _ms(latencies, 99),
            "per_s": round(len(latencies) / seconds, 1) if seconds else None}


def start_warehouse(home: Path, port: int) -> subprocess.Popen:
    log = open(home / "up.log", "ab")  # noqa: SIM115 - the child keeps it open
    return subprocess.Popen([sys.executable, "-m", "warehouse.cli", "up", "--home", str(home), "--api-port", str(port),
                             "--no-dagster", "--no-demo"], stdout=log, stderr=subprocess.STDOUT,
                            env={**os.environ, "WAREHOUSE_WARM_BATCH_WORKERS": "false"})


def wait_ready(base: str, proc: subprocess.Popen, timeout: float = 300) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"warehouse up exited with {proc.returncode}; see its up.log")
        try:
            if httpx.get(f"{base}/v1/health", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise SystemExit("warehouse up did not answer /v1/health")


def setup(c: httpx.Client, rows: list[dict]) -> tuple[str, str]:
    """Bucket, collection, one processed batch, a retriever; returns (bucket_id, retriever_id)."""
    c.post("/v1/namespaces", json={"namespace_name": "load"}).raise_for_status()
    c.headers["X-Namespace"] = "load"
    bucket = c.post("/v1/buckets", json={"bucket_name": "news", "bucket_schema": {"properties": {
        "content": {"type": "text"}, "topic": {"type": "string"}}}}).json()
    coll = c.post("/v1/collections", json={
        "collection_name": "news", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}}}).json()
    objects = [{"blobs": [{"property": "content", "type": "text", "data": r["text"]}], "topic": r["topic"]}
               for r in rows]
    ids = [o["object_id"] for o in c.post(f"/v1/buckets/{bucket['bucket_id']}/objects/batch",
                                          json={"objects": objects}).json()["objects"]]
    batch = c.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"object_ids": ids}).json()
    c.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={}).raise_for_status()
    while (b := c.get(f"/v1/batches/{batch['batch_id']}").json())["status"] not in FINISHED:
        time.sleep(1)
    if b["status"] != "COMPLETED":
        raise SystemExit(f"the load corpus did not index: {b}")
    uri = coll["vector_indexes"][0]["feature_uri"]
    retriever = c.post("/v1/retrievers", json={
        "retriever_name": "news-search", "collection_identifiers": [coll["collection_id"]],
        "input_schema": {"query": {"type": "string", "required": True}},
        "stages": [{"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search",
                    "parameters": {"searches": [{"feature_uri": uri, "query": {"input_mode": "text",
                                                 "text": "{{INPUT.query}}"}, "top_k": 20}], "final_top_k": 10}}}]})
    retriever.raise_for_status()
    return bucket["bucket_id"], retriever.json()["retriever_id"]


class Recorder:
    def __init__(self) -> None:
        self.latencies: dict[str, list[float]] = {}
        self.errors: dict[str, int] = {}
        self.samples: list[str] = []

    async def call(self, name: str, request) -> None:
        t = time.perf_counter()
        try:
            resp = await request
            ok, what = resp.status_code < 300, f"{resp.status_code} {resp.text[:200]}"
        except httpx.HTTPError as exc:
            ok, what = False, f"{type(exc).__name__}: {exc}"
        if ok:
            self.latencies.setdefault(name, []).append(time.perf_counter() - t)
        else:
            self.errors[name] = self.errors.get(name, 0) + 1
            if len(self.samples) < 5:
                self.samples.append(f"{name}: {what}")


async def run_clients(base: str, headers: dict, bucket_id: str, retriever_id: str, queries: list[str],
                      clients: int, seconds: float, create_share: float, seed: int) -> tuple[Recorder, float]:
    rec = Recorder()
    stop = time.monotonic() + seconds
    limits = httpx.Limits(max_connections=clients + 2, max_keepalive_connections=clients + 2)

    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as http:
        async def client(i: int) -> None:
            rng = random.Random(seed + i)
            while time.monotonic() < stop:
                if rng.random() < create_share:
                    body = {"blobs": [{"property": "content", "type": "text", "data": rng.choice(queries)}],
                            "topic": "load"}
                    await rec.call("object_create", http.post(f"/v1/buckets/{bucket_id}/objects", json=body))
                else:
                    await rec.call("retriever_execute", http.post(
                        f"/v1/retrievers/{retriever_id}/execute", json={"inputs": {"query": rng.choice(queries)}}))

        async def health() -> None:
            while time.monotonic() < stop:
                await rec.call("health", http.get("/v1/health"))
                await asyncio.sleep(0.5)

        t0 = time.perf_counter()
        await asyncio.gather(health(), *(client(i) for i in range(clients)))
        return rec, time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--reference-s", type=float, default=15)
    parser.add_argument("--n", type=int, default=500, help="AG News items indexed before the load")
    parser.add_argument("--create-share", type=float, default=0.2, help="share of calls that create an object")
    parser.add_argument("--seed", type=int, default=16)
    args = parser.parse_args()

    with AG_NEWS.open(newline="") as f:
        rows = [{"topic": c, "text": f"{t}. {d}".replace("\\", " "), "title": t} for c, t, d in csv.reader(f)]
    random.Random(args.seed).shuffle(rows)
    corpus, queries = rows[: args.n], [r["title"] for r in rows[args.n: args.n + 2000]]

    home = Path(tempfile.mkdtemp(prefix="wh-load-"))
    port = _port()
    base = f"http://127.0.0.1:{port}"
    proc = start_warehouse(home, port)
    try:
        t = time.perf_counter()
        wait_ready(base, proc)
        key = (home / "api_key").read_text().strip()
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600) as c:
            bucket_id, retriever_id = setup(c, corpus)
        print(json.dumps({"stage": "setup", "documents": args.n, "seconds": round(time.perf_counter() - t, 1),
                          "home": str(home)}), flush=True)
        headers = {"Authorization": f"Bearer {key}", "X-Namespace": "load"}

        ref, ref_s = asyncio.run(run_clients(base, headers, bucket_id, retriever_id, queries, 1, args.reference_s,
                                             0.0, args.seed))
        reference = _summary("retriever_execute", ref.latencies.get("retriever_execute", []),
                             ref.errors.get("retriever_execute", 0), ref_s)
        print(json.dumps({"stage": "reference", "clients": 1, **reference}), flush=True)

        rec, load_s = asyncio.run(run_clients(base, headers, bucket_id, retriever_id, queries, args.clients,
                                              args.duration, args.create_share, args.seed + 1000))
        lines = {name: _summary(name, rec.latencies.get(name, []), rec.errors.get(name, 0), load_s)
                 for name in ("retriever_execute", "object_create", "health")}
        for line in lines.values():
            print(json.dumps({"stage": "load", "clients": args.clients, "seconds": round(load_s, 1), **line}),
                  flush=True)
        execute = lines["retriever_execute"]
        print(json.dumps({
            "stage": "summary", "clients": args.clients, "seconds": round(load_s, 1),
            "errors": sum(rec.errors.values()) + sum(ref.errors.values()),
            "health_non_200": lines["health"]["errors"],
            "execute_p50_ratio": round(execute["p50_ms"] / reference["p50_ms"], 2)
            if execute["p50_ms"] and reference["p50_ms"] else None,
            "execute_p99_ratio": round(execute["p99_ms"] / reference["p99_ms"], 2)
            if execute["p99_ms"] and reference["p99_ms"] else None,
            "error_samples": rec.samples + ref.samples}), flush=True)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
