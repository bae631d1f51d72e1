"""Running a cluster definition over a collection: read the vectors, cluster, label, write each member's
``clusters.<id>`` payload in batched writes, and return the run's groups, layout and timings."""

from __future__ import annotations

import base64
import time
from collections import Counter
from typing import Any

import numpy as np

from warehouse.enrichment import documents
from warehouse.enrichment.clusters.config import NOISE
from warehouse.enrichment.clusters.engine import (
    cluster,
    ctfidf_keywords,
    llm_labels,
    plot_png,
    umap_embed,
)
from warehouse.errors import WarehouseError
from warehouse.ids import uuid_from_document_id
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import get_path


def run(svc, namespace_id: str, cluster_id: str, run_id: str, config: dict[str, Any],
        assignment_threshold: float = 0.5, llm_override: bool | None = None, log=None) -> dict[str, Any]:
    """Compute the groups and write them into the members' payloads; returns the run's result."""
    log = log or (lambda msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    feature = documents.resolve_feature(svc.registry, config["feature_uri"], namespace_id=namespace_id)
    hits = documents.scan(svc.index, namespace_id, documents.scope_filter(config["collection_ids"], config["filters"]),
                          feature.vector_name)
    # in document-id order: k-means' seeding and the sample depend on the order of the points, and the index's own
    # scan order differs between engines and segment layouts — the same documents give the same groups
    hits = sorted((h for h in hits if h.vectors and h.vectors.get(feature.vector_name) is not None),
                  key=lambda h: (h.payload or {}).get("document_id") or str(h.id))
    if not hits:
        raise WarehouseError(422, f"no documents with {config['feature_uri']} in collections {config['collection_ids']} "
                       "(process a batch first, or check filters)", {"cluster_id": cluster_id})
    X_all = np.asarray([h.vectors[feature.vector_name] for h in hits], dtype=np.float32)
    if config["normalize"]:
        X_all /= np.maximum(np.linalg.norm(X_all, axis=1, keepdims=True), 1e-12)
    docs = [document_view(h) for h in hits]
    n_all = len(docs)
    sample = np.arange(n_all)
    if config.get("sample_size") and config["sample_size"] < n_all:
        sample = np.sort(np.random.default_rng(0).choice(n_all, config["sample_size"], replace=False))
    X = X_all[sample]
    timings["read_s"] = time.perf_counter() - t0
    log(f"clustering {len(X)} of {n_all} documents with {config['method']} ({config['feature_uri']})")

    t = time.perf_counter()
    red = config["reduction"]
    Z = X
    if red["method"] == "umap" and len(X) > red["n_components"] + 1:
        Z = umap_embed(X, red["n_components"], red.get("n_neighbors", 15), red.get("min_dist", 0.0))
    timings["reduce_s"] = time.perf_counter() - t
    t = time.perf_counter()
    labels = cluster(Z, config["method"], config["params"]) if len(X) > 1 else np.zeros(len(X), dtype=int)
    labels = np.asarray(labels, dtype=int)
    timings["cluster_s"] = time.perf_counter() - t

    t = time.perf_counter()
    vis = config.get("vis_n_components", 2)
    if red["method"] == "umap" and red["n_components"] == vis and Z is not X:
        layout = Z
    else:
        layout = umap_embed(X, vis, min_dist=0.1)
    timings["layout_s"] = time.perf_counter() - t

    # Documents outside the sample join the nearest centroid (or noise).
    group_ids = sorted(set(labels.tolist()) - {NOISE})
    centroids = np.stack([X[labels == g].mean(axis=0) for g in group_ids]) if group_ids else np.zeros((0, X.shape[1]))
    if len(centroids):
        centroids /= np.maximum(np.linalg.norm(centroids, axis=1, keepdims=True), 1e-12)
    full = np.full(n_all, NOISE, dtype=int)
    full[sample] = labels
    rest = np.setdiff1d(np.arange(n_all), sample)
    if len(rest) and len(centroids):
        sims = X_all[rest] @ centroids.T
        best = sims.argmax(axis=1)
        full[rest] = np.where(sims[np.arange(len(rest)), best] >= assignment_threshold,
                              np.asarray(group_ids)[best], NOISE)

    t = time.perf_counter()
    text_field = config["text_field"]
    texts = {g: [str(get_path(docs[i], text_field) or "") for i in np.flatnonzero(full == g)] for g in group_ids}
    keywords = ctfidf_keywords(texts, config["num_keywords"])
    central = {g: _central_idx(X_all, full, g, centroids[k], 20) for k, g in enumerate(group_ids)}
    groups = {g: {"keywords": keywords.get(g, []),
                  "samples": [str(get_path(docs[i], text_field) or "") for i in central[g]]} for g in group_ids}
    use_llm = config["llm_labeling"]["enabled"] if llm_override is None else llm_override
    llm, llm_error = ({}, None)
    if use_llm and groups:
        llm, llm_error = llm_labels(svc.settings, config, groups)
        if llm_error:
            log(f"LLM labelling failed, keyword labels kept: {llm_error}")
    timings["label_s"] = time.perf_counter() - t

    names = {g: (llm.get(g) or {}).get("label") or ", ".join(groups[g]["keywords"][:3]) or f"group {g}" for g in group_ids}
    gid = {g: f"{cluster_id}_{g}" for g in group_ids}

    updates = []
    for i, d in enumerate(docs):
        g = int(full[i])
        entry = ({"group_id": f"{cluster_id}_noise", "label": "noise", "is_noise": True, "run_id": run_id}
                 if g == NOISE else {"group_id": gid[g], "label": names[g], "is_noise": False, "run_id": run_id})
        updates.append((str(uuid_from_document_id(d["document_id"])), {cluster_id: entry}))
    t = time.perf_counter()
    documents.write(svc.index, namespace_id, updates, key="clusters")
    timings["write_s"] = time.perf_counter() - t

    pos = {int(i): k for k, i in enumerate(sample)}
    layout_points = [{"document_id": docs[i]["document_id"], "x": round(float(layout[pos[i], 0]), 5),
                      "y": round(float(layout[pos[i], 1]), 5),
                      **({"z": round(float(layout[pos[i], 2]), 5)} if vis == 3 else {}),
                      "group_id": gid.get(int(full[i]), f"{cluster_id}_noise"),
                      "label": names.get(int(full[i]), "noise")} for i in sample.tolist()]
    sizes = Counter(full.tolist())
    result_groups = []
    for g in group_ids:
        members = np.flatnonzero(labels == g)
        result_groups.append({
            "group_id": gid[g], "label": names[g], "keywords": groups[g]["keywords"],
            "summary": (llm.get(g) or {}).get("summary"), "label_source": "llm" if g in llm else "ctfidf",
            "size": int(sizes[g]), "centroid_2d": [round(float(v), 5) for v in layout[members, :2].mean(axis=0)],
            "sample_document_ids": [docs[i]["document_id"] for i in central[g][:5]],
        })
    result_groups.sort(key=lambda x: -x["size"])
    png = plot_png(layout[:, :2], labels, names, f"{config['method']} · {len(group_ids)} groups · {len(X)} documents")
    timings["total_s"] = time.perf_counter() - t0
    return {
        "groups": result_groups, "noise_count": int(sizes.get(NOISE, 0)), "num_groups": len(group_ids),
        "documents": n_all, "sampled": len(X), "layout": layout_points,
        "plot_png_base64": base64.b64encode(png).decode(), "llm_labeling_error": llm_error,
        "timings": {k: round(v, 3) for k, v in timings.items()}, "method": config["method"],
        "reduction": red, "feature_uri": config["feature_uri"],
    }


def _central_idx(X_all, full, g, centroid, n: int) -> list[int]:
    """The ``n`` members of group ``g`` closest to its centroid, closest first."""
    members = np.flatnonzero(full == g)
    order = np.argsort(-(X_all[members] @ centroid))[:n]
    return [int(members[i]) for i in order]
