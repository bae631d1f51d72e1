"""Enrichment quality end to end through the API: clusters (NMI, ARI) and flat taxonomies (accuracy).

Starts the API server on loopback with its own home (``--home``, reused: the data is indexed once),
indexes each dataset into a ``text_extractor`` (MiniLM) collection with its label passed through,
then:

* **clusters** — AG News (test split, 7,600 items, 4 topics) and BANKING77 (test split, 3,080
  utterances, 77 intents): a cluster definition per method — the default HDBSCAN (over a 5-d UMAP)
  and k-means with k = the number of classes — executed through ``POST /v1/clusters/{id}/execute``;
  the groups written into the documents are scored against the labels (noise counts as its own
  group: nothing is dropped to flatter the score).
* **taxonomy** — BANKING77: 10 labelled references per intent drawn from the train split (seeded),
  a flat taxonomy over them, applied to the test split with ``apply-taxonomy``; accuracy of the
  written field, for the retriever (nearest reference) and the linear-probe strategies.

Prints one JSON line per measurement. hwu64 is held out: never tune on it (``--dataset`` takes the
data folder; only ag_news and banking77 are read).

Usage: python bench/enrichment_eval.py --dataset ../shared/data [--home DIR] [--seeds 0,1,2]
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DENSE = "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1"
AG_CLASSES = {"1": "World", "2": "Sports", "3": "Business", "4": "Sci/Tech"}


def serve_on(home: Path) -> tuple[str, str]:
    from bench._server import serve

    key_file = home / "api_key"
    base, key, _ = serve(home, key_file.read_text() if key_file.exists() else None)
    key_file.write_text(key)
    return base, key


def load(dataset: Path) -> dict[str, list[dict]]:
    with (dataset / "ag_news" / "test.csv").open(newline="") as f:
        ag = [{"text": f"{t}. {d}".replace("\\", " "), "label": AG_CLASSES[c]} for c, t, d in csv.reader(f)]
    b77 = {}
    for split in ("train", "test"):
        with (dataset / "banking77" / f"{split}.csv").open(newline="") as f:
            b77[split] = [{"text": r["text"], "label": r["category"]} for r in csv.DictReader(f)]
    return {"ag_news": ag, "banking77_test": b77["test"], "banking77_train": b77["train"]}


def collection(c: httpx.Client, name: str, rows: list[dict]) -> dict:
    """A collection of ``rows`` (text + label), created and indexed on first use."""
    found = [x for x in c.post("/v1/collections/list", json={"limit": 1000}).json()["results"]
             if x["collection_name"] == name]
    if found:
        return found[0]
    bucket = c.post("/v1/buckets", json={"bucket_name": name, "bucket_schema": {"properties": {
        "text": {"type": "text"}, "label": {"type": "string"}}}}).json()
    coll = c.post("/v1/collections", json={
        "collection_name": name, "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"}, "field_passthrough": [{"source_path": "label"}]}}).json()
    from bench._server import upload_and_process

    started = time.perf_counter()
    b = upload_and_process(c, bucket["bucket_id"], [
        {"label": r["label"], "blobs": [{"property": "text", "type": "text", "data": r["text"]}]} for r in rows])
    print(json.dumps({"stage": "ingest", "collection": name, "documents": b["documents_written"],
                      "status": b["status"], "seconds": round(time.perf_counter() - started, 1)}), flush=True)
    return coll


def documents(c: httpx.Client, collection_id: str) -> list[dict]:
    out, offset = [], 0
    while True:
        page = c.post(f"/v1/collections/{collection_id}/documents/list",
                      json={"limit": 1000, "offset": offset}).json()["results"]
        out += page
        if len(page) < 1000:
            return out
        offset += 1000


def wait(c: httpx.Client, path: str, timeout: float = 3600) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        got = c.get(path).json()
        if got.get("status") in ("COMPLETED", "FAILED"):
            return got
        time.sleep(1)
    raise TimeoutError(path)


def clusters(c: httpx.Client, name: str, coll: dict, n_classes: int, method: str) -> dict:
    from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

    vector_config = {"feature_uri": DENSE, "clustering_method": method}
    if method == "kmeans":
        vector_config["kmeans_parameters"] = {"n_clusters": n_classes}
    cname = f"{name}-{method}"
    existing = [x for x in c.get("/v1/clusters", params={"limit": 1000}).json()["results"] if x["cluster_name"] == cname]
    cl = existing[0] if existing else c.post("/v1/clusters", json={
        "cluster_name": cname, "collection_ids": [coll["collection_id"]], "vector_config": vector_config}).json()
    run = c.post(f"/v1/clusters/{cl['cluster_id']}/execute", json={}).json()
    done = wait(c, f"/v1/clusters/{cl['cluster_id']}/executions/{run['run_id']}")
    if done["status"] != "COMPLETED":
        return {"bench": "clusters", "dataset": name, "method": method, "error": done["error"]}
    docs = documents(c, coll["collection_id"])
    truth = [d["label"] for d in docs]
    pred = [d["clusters"][cl["cluster_id"]]["group_id"] for d in docs]
    return {"bench": "clusters", "dataset": name, "method": method, "documents": len(docs),
            "groups": done["stats"]["num_groups"], "noise": done["stats"]["noise_count"],
            "nmi": round(normalized_mutual_info_score(truth, pred), 4), "ari": round(adjusted_rand_score(truth, pred), 4),
            "seconds": done["stats"]["timings"]}


def taxonomy(c: httpx.Client, data: dict, seed: int, strategies: list[str]) -> list[dict]:
    by_label = defaultdict(list)
    for r in data["banking77_train"]:
        by_label[r["label"]].append(r)
    rng = random.Random(seed)
    refs = [r for label in sorted(by_label) for r in rng.sample(by_label[label], 10)]
    ref_coll = collection(c, f"banking77-refs-seed{seed}", refs)
    test = collection(c, "banking77-test", data["banking77_test"])
    out = []
    for strategy in strategies:
        field = f"intent_{strategy}_s{seed}"
        name = f"b77-{strategy}-s{seed}"
        existing = [t for t in c.get("/v1/taxonomies", params={"limit": 1000}).json()["results"] if t["taxonomy_name"] == name]
        tax = existing[0] if existing else c.post("/v1/taxonomies", json={"taxonomy_name": name, "config": {
            "taxonomy_type": "flat", "feature_uri": DENSE, "inference_strategy": strategy,
            "source_collection": {"collection_id": ref_coll["collection_id"],
                                  "enrichment_fields": [{"field_path": "label", "target_field": field}]}}}).json()
        started = time.perf_counter()
        task = c.post(f"/v1/collections/{test['collection_id']}/apply-taxonomy", json={"taxonomy_id": tax["taxonomy_id"]}).json()
        done = wait(c, f"/v1/tasks/{task['task_id']}")
        seconds = round(time.perf_counter() - started, 1)
        if done["status"] != "COMPLETED":
            out.append({"bench": "taxonomy", "strategy": strategy, "seed": seed, "error": done["error"]})
            continue
        docs = documents(c, test["collection_id"])
        acc = sum(d.get(field) == d["label"] for d in docs) / len(docs)
        out.append({"bench": "taxonomy", "dataset": "banking77", "strategy": strategy, "seed": seed,
                    "references": len(refs), "documents": len(docs), "accuracy": round(acc, 4),
                    "matching": done["outputs"]["matching"], "seconds": seconds,
                    "docs_per_second": round(len(docs) / seconds, 1)})
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--dataset", type=Path, required=True, help="the shared data folder (with ag_news/, banking77/)")
    ap.add_argument("--home", type=Path, default=Path("/tmp/wh-enrichment-eval"))
    ap.add_argument("--seeds", default="0,1,2", help="reference samples for the taxonomy (10 per intent each)")
    ap.add_argument("--methods", default="hdbscan,kmeans")
    ap.add_argument("--skip", default="", help="comma list of: clusters, taxonomy")
    args = ap.parse_args()
    dataset = args.dataset / "data" if (args.dataset / "data" / "ag_news").exists() else args.dataset
    if not (dataset / "ag_news").exists():
        dataset = dataset.parent  # --dataset ../shared/data/ag_news also works
    data = load(dataset)
    args.home.mkdir(parents=True, exist_ok=True)
    base, key = serve_on(args.home)
    skip = set(args.skip.split(","))
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {key}"}, timeout=600) as c:
        if c.get("/v1/namespaces/enrichment").status_code != 200:
            c.post("/v1/namespaces", json={"namespace_name": "enrichment"}).raise_for_status()
        c.headers["X-Namespace"] = "enrichment"
        if "clusters" not in skip:
            for name, rows, k in (("ag_news", data["ag_news"], 4), ("banking77", data["banking77_test"], 77)):
                coll = collection(c, name if name == "ag_news" else "banking77-test", rows)
                for method in args.methods.split(","):
                    print(json.dumps(clusters(c, name, coll, k, method)), flush=True)
        if "taxonomy" not in skip:
            results = []
            for seed in [int(s) for s in args.seeds.split(",")]:
                for line in taxonomy(c, data, seed, ["retriever", "linear_probe"]):
                    results.append(line)
                    print(json.dumps(line), flush=True)
            for strategy in ("retriever", "linear_probe"):
                accs = [r["accuracy"] for r in results if r.get("strategy") == strategy and "accuracy" in r]
                if accs:
                    print(json.dumps({"bench": "taxonomy", "dataset": "banking77", "strategy": strategy,
                                      "seeds": len(accs), "mean_accuracy": round(sum(accs) / len(accs), 4),
                                      "min_accuracy": min(accs), "target": 0.85}), flush=True)


if __name__ == "__main__":
    main()
