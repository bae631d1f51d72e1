"""Clusters: grouping a collection's documents by a feature's vectors, labelling the groups, and
writing each member's group into its payload.

One run: read the vectors (all, or a seeded ``sample_size``), L2-normalise, optionally reduce with
UMAP (HDBSCAN's default: 5 dimensions, where density is meaningful), cluster (HDBSCAN, k-means or
agglomerative), label each group with c-TF-IDF keywords of its members' text and — when an
OpenAI-compatible endpoint is configured and ``llm_labeling.enabled`` — with an LLM's short label,
compute a 2-D UMAP layout for the picture, and write ``clusters.<cluster_id> = {group_id, label,
is_noise, run_id}`` into every member. HDBSCAN's noise points get ``group_id "<cluster_id>_noise"``
and ``is_noise: true``; documents outside the sample join the nearest centroid when their cosine
similarity reaches ``assignment_threshold``, else noise.
"""

from __future__ import annotations

import base64
import io
import math
import time
from collections import Counter
from typing import Any

import numpy as np

from warehouse.enrichment import documents
from warehouse.errors import WarehouseError, check_keys
from warehouse.ids import uuid_from_document_id
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import get_path
from warehouse.retrieval.llm import ChatClient

METHODS = ("hdbscan", "kmeans", "agglomerative")
ALIASES = {"k-means": "kmeans", "k_means": "kmeans", "hierarchical": "agglomerative"}
NOISE = -1


TOP_KEYS = {"cluster_name", "description", "metadata", "collection_ids", "collection_id", "source_cluster_ids",
            "cluster_type", "vector_config", "attribute_config", "filters", "llm_labeling", "feature_uri", "algorithm",
            "dimension_reduction", "text_field", "sample_size", "enrich_source_collection", "source_enrichment_config",
            "auto_execute_on_batch", "auto_execute_min_documents", "auto_execute_cooldown_seconds", "num_keywords"}
VECTOR_KEYS = {"feature_uri", "feature_uris", "clustering_method", "kmeans_parameters", "hdbscan_parameters",
               "dbscan_parameters", "agglomerative_parameters", "algorithm_params", "sample_size",
               "multi_feature_strategy", "normalize_features", "feature_weights", "output_strategy", "hierarchical",
               "max_hierarchy_depth", "vis_n_components", "num_clusters", "dimension_reduction"}
LLM_KEYS = {"enabled", "provider", "model_name", "include_summary", "include_keywords", "max_samples_per_cluster",
            "custom_prompt", "response_shape", "candidate_labels"}


def parse_request(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(top-level fields, config)`` from ``CreateClusterRequest`` (``vector_config``) or the tutorial's
    short form (``collection_id``, ``feature_uri``, ``algorithm{name, params}``, ``dimension_reduction``)."""
    body = check_keys(body, TOP_KEYS, "body")
    if not body.get("cluster_name"):
        raise WarehouseError(422, "cluster_name is required", {"location": "cluster_name"})
    if body.get("cluster_type", "vector") != "vector":
        raise WarehouseError(422, f"cluster_type {body['cluster_type']!r} is not supported; only 'vector' clustering is "
                       "built in", {"location": "cluster_type"})
    if body.get("source_cluster_ids") or body.get("attribute_config"):
        raise WarehouseError(422, "clustering other clusters or attributes is not supported; cluster a collection's "
                       "vectors (collection_ids + vector_config)", {"location": "source_cluster_ids"})
    vc = check_keys(body.get("vector_config") or {}, VECTOR_KEYS, "vector_config")
    collections = list(body.get("collection_ids") or []) + ([body["collection_id"]] if body.get("collection_id") else [])
    if not collections:
        raise WarehouseError(422, "name the collections to cluster in collection_ids", {"location": "collection_ids"})
    uris = vc.get("feature_uris") or []
    feature_uri = body.get("feature_uri") or vc.get("feature_uri") or (uris[0] if uris else None)
    if len(uris) > 1:
        raise WarehouseError(422, "clustering over several features (feature_uris) is not supported; pick one feature_uri",
                       {"location": "vector_config.feature_uris"})
    algorithm = check_keys(body.get("algorithm") or {}, {"name", "params"}, "algorithm")
    method = (algorithm.get("name") or vc.get("clustering_method") or "hdbscan").lower()
    method = ALIASES.get(method, method)
    if method not in METHODS:
        raise WarehouseError(422, f"clustering_method {method!r} is not one of {list(METHODS)}",
                       {"location": "vector_config.clustering_method"})
    params = dict(algorithm.get("params") or {})
    params.update(vc.get("algorithm_params") or {})
    params.update(vc.get(f"{method}_parameters") or {})
    if vc.get("num_clusters") is not None:  # showcase spelling
        params.setdefault("n_clusters", vc["num_clusters"])
    _check_params(method, params)
    reduction = body.get("dimension_reduction") or vc.get("dimension_reduction")
    reduction = _reduction(reduction, method)
    llm = check_keys(body.get("llm_labeling") or {}, LLM_KEYS, "llm_labeling")
    if llm.get("provider") not in (None, "openai", "openai_compatible"):
        raise WarehouseError(422, f"llm_labeling.provider {llm['provider']!r} is not built in; point WAREHOUSE_LLM_BASE_URL "
                       "at an OpenAI-compatible endpoint and drop provider", {"location": "llm_labeling.provider"})
    sample = body.get("sample_size", vc.get("sample_size"))
    if sample is not None and (not isinstance(sample, int) or sample < 2):
        raise WarehouseError(422, "sample_size must be an integer ≥ 2", {"location": "sample_size"})
    config = {
        "collection_ids": collections, "feature_uri": feature_uri, "method": method, "params": params,
        "reduction": reduction, "normalize": vc.get("normalize_features", True) is not False,
        "sample_size": sample, "filters": body.get("filters"), "text_field": body.get("text_field") or "text",
        "num_keywords": int(body.get("num_keywords") or 8),
        "llm_labeling": {"enabled": bool(llm.get("enabled")), "model_name": llm.get("model_name"),
                         "custom_prompt": llm.get("custom_prompt"),
                         "max_samples_per_cluster": int(llm.get("max_samples_per_cluster") or 10),
                         "include_summary": llm.get("include_summary", True) is not False},
        "vis_n_components": int(vc.get("vis_n_components") or 2),
        "auto_execute_on_batch": bool(body.get("auto_execute_on_batch")),
        "auto_execute_min_documents": int(body.get("auto_execute_min_documents") or 0),
        "auto_execute_cooldown_seconds": float(body.get("auto_execute_cooldown_seconds") or 0),
    }
    if config["vis_n_components"] not in (2, 3):
        raise WarehouseError(422, "vis_n_components must be 2 or 3", {"location": "vector_config.vis_n_components"})
    top = {k: body.get(k) for k in ("cluster_name", "description", "metadata")}
    return top, config


def _check_params(method: str, params: dict[str, Any]) -> None:
    allowed = {"hdbscan": {"min_cluster_size", "min_samples", "cluster_selection_method", "cluster_selection_epsilon"},
               "kmeans": {"n_clusters", "max_iter", "n_init", "random_state"},
               "agglomerative": {"n_clusters", "linkage", "distance_threshold"}}[method]
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise WarehouseError(422, f"{method} parameters: unknown {unknown}; allowed: {sorted(allowed)}",
                       {"location": f"vector_config.{method}_parameters"})
    for key in ("n_clusters", "min_cluster_size", "min_samples", "max_iter", "n_init"):
        if key in params and (not isinstance(params[key], int) or params[key] < 1):
            raise WarehouseError(422, f"{method} parameter {key} must be a positive integer", {"location": key})
    if method == "kmeans" and "n_clusters" not in params:
        raise WarehouseError(422, "kmeans needs n_clusters (vector_config.kmeans_parameters.n_clusters)",
                       {"location": "vector_config.kmeans_parameters.n_clusters"})
    if method == "agglomerative" and "n_clusters" not in params and "distance_threshold" not in params:
        raise WarehouseError(422, "agglomerative needs n_clusters or distance_threshold", {"location": "algorithm_params"})


def _reduction(spec: Any, method: str) -> dict[str, Any]:
    if spec is None:  # density needs few dimensions; k-means and agglomerative work on the vectors
        return {"method": "umap", "n_components": 5} if method == "hdbscan" else {"method": "none"}
    spec = check_keys(spec, {"method", "n_components", "n_neighbors", "min_dist"}, "dimension_reduction")
    m = (spec.get("method") or "umap").lower()
    if m not in ("umap", "none"):
        raise WarehouseError(422, f"dimension_reduction.method {m!r} is not 'umap' or 'none'", {"location": "dimension_reduction"})
    n = spec.get("n_components", 5)
    if not isinstance(n, int) or not 2 <= n <= 100:
        raise WarehouseError(422, "dimension_reduction.n_components must be an integer from 2 to 100",
                       {"location": "dimension_reduction.n_components"})
    out = {"method": m, "n_components": n}
    if spec.get("n_neighbors"):
        out["n_neighbors"] = int(spec["n_neighbors"])
    if spec.get("min_dist") is not None:
        out["min_dist"] = float(spec["min_dist"])
    return out


# -- the computation --------------------------------------------------------------------------------

def umap_embed(X: np.ndarray, n_components: int, n_neighbors: int = 15, min_dist: float = 0.0,
               seed: int = 42) -> np.ndarray:
    """UMAP (cosine) — with the small-set cases UMAP cannot take handled (fewer points than neighbours)."""
    n = len(X)
    if n <= n_components + 1:
        out = np.zeros((n, n_components), dtype=np.float32)
        out[:, : min(n_components, X.shape[1])] = X[:, :n_components]
        return out
    import umap

    reducer = umap.UMAP(n_components=n_components, n_neighbors=max(2, min(n_neighbors, n - 1)), min_dist=min_dist,
                        metric="cosine", random_state=seed, n_jobs=1, init="spectral" if n > n_components + 2 else "random")
    return np.asarray(reducer.fit_transform(X), dtype=np.float32)


def cluster(X: np.ndarray, method: str, params: dict[str, Any]) -> np.ndarray:
    n = len(X)
    if method == "kmeans":
        from sklearn.cluster import KMeans

        k = min(params["n_clusters"], n)
        return KMeans(n_clusters=k, n_init=params.get("n_init", 10), max_iter=params.get("max_iter", 300),
                      random_state=params.get("random_state", 0)).fit_predict(X)
    if method == "agglomerative":
        from sklearn.cluster import AgglomerativeClustering

        kwargs = {"linkage": params.get("linkage", "ward")}
        if "distance_threshold" in params:
            kwargs.update(n_clusters=None, distance_threshold=float(params["distance_threshold"]))
        else:
            kwargs["n_clusters"] = min(params["n_clusters"], n)
        return AgglomerativeClustering(**kwargs).fit_predict(X)
    from sklearn.cluster import HDBSCAN

    mcs = params.get("min_cluster_size") or max(5, min(int(math.sqrt(n)), n // 4 or 2))
    if n < 2 * min(mcs, n):
        mcs = max(2, n // 2)
    return HDBSCAN(min_cluster_size=min(mcs, n), min_samples=params.get("min_samples"), copy=True,
                   cluster_selection_method=params.get("cluster_selection_method", "eom"),
                   cluster_selection_epsilon=float(params.get("cluster_selection_epsilon", 0.0))).fit_predict(X)


#: remnants of markup and links in scraped text, never a topic
MARKUP_WORDS = frozenset({"quot", "amp", "nbsp", "href", "http", "https", "www", "com", "html", "said", "says"})


def ctfidf_keywords(texts_by_group: dict[int, list[str]], top_n: int = 8) -> dict[int, list[str]]:
    """Class-based TF-IDF (BERTopic's c-TF-IDF): each group's texts are one document; a term weighs
    ``tf(t, group) · log(1 + A / f(t)) · log(1 + G / g(t))`` with ``A`` the mean words per group, ``f(t)`` its
    frequency over all groups, ``G`` the number of groups and ``g(t)`` how many contain it. Words of three
    letters or more, English stop words and markup remnants left out."""
    from sklearn.feature_extraction.text import CountVectorizer

    groups = sorted(texts_by_group)
    joined = [" ".join(texts_by_group[g]) for g in groups]
    if not any(j.strip() for j in joined):
        return {g: [] for g in groups}
    from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

    try:
        vec = CountVectorizer(stop_words=sorted(ENGLISH_STOP_WORDS | MARKUP_WORDS), ngram_range=(1, 2), min_df=1,
                              token_pattern=r"(?u)\b[a-zA-Z][a-zA-Z][a-zA-Z]+\b")
        counts = vec.fit_transform(joined).toarray().astype(np.float64)
    except ValueError:  # only stop words
        return {g: [] for g in groups}
    terms = np.asarray(vec.get_feature_names_out())
    tf = counts / np.maximum(counts.sum(axis=1, keepdims=True), 1)
    avg_words = counts.sum() / len(groups)
    idf = np.log(1 + avg_words / np.maximum(counts.sum(axis=0), 1))
    # ... and, with several groups, a term found in most of them says little about any one group.
    spread = np.log(1 + len(groups) / np.maximum((counts > 0).sum(axis=0), 1)) if len(groups) > 1 else 1.0
    scores = tf * idf * spread
    out = {}
    for row, g in enumerate(groups):
        order = np.argsort(-scores[row])
        words: list[str] = []
        for j in order:
            if scores[row, j] <= 0 or len(words) >= top_n:
                break
            term = terms[j]
            if any(term in w.split() or w in term.split() for w in words):  # "quantum" and "quantum computing"
                continue
            words.append(term)
        out[g] = words
    return out


def llm_labels(settings, config: dict[str, Any], groups: dict[int, dict[str, Any]]) -> tuple[dict[int, dict], str | None]:
    """``{group: {label, summary}}`` from the configured LLM, or ``({}, reason)`` when it cannot answer."""

    llm = config["llm_labeling"]
    try:
        client = ChatClient.for_stage(settings, "cluster llm_labeling", llm.get("model_name"))
    except WarehouseError as exc:
        return {}, exc.message
    schema = {"type": "object", "properties": {"label": {"type": "string"}, "summary": {"type": "string"}},
              "required": ["label"]}
    prompt = llm.get("custom_prompt") or ("These texts belong to one group. Give the group a short label (2-4 "
                                           "words) and a one-sentence summary. Answer as JSON {label, summary}.")
    keys = sorted(groups)
    conversations = []
    for g in keys:
        samples = "\n".join(f"- {t[:300]}" for t in groups[g]["samples"][: llm["max_samples_per_cluster"]])
        conversations.append([{"role": "user", "content": f"{prompt}\n\nKeywords: {', '.join(groups[g]['keywords'])}"
                                                            f"\n\nTexts:\n{samples}"}])
    try:
        answers = client.complete_many(conversations, schema=schema, max_tokens=200, temperature=0)
    except WarehouseError as exc:
        return {}, exc.message
    out = {}
    for g, a in zip(keys, answers, strict=True):
        if isinstance(a, dict) and isinstance(a.get("label"), str) and a["label"].strip():
            out[g] = {"label": a["label"].strip()[:120], "summary": (a.get("summary") or None)}
    return out, None


def plot_png(layout: np.ndarray, labels: np.ndarray, names: dict[int, str], title: str) -> bytes:
    """A scatter of the 2-D layout coloured by group (noise grey), each group's label at its centre."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 6), dpi=100)
    groups = sorted(set(labels.tolist()) - {NOISE})
    cmap = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20")
    noise = labels == NOISE
    if noise.any():
        ax.scatter(layout[noise, 0], layout[noise, 1], s=4, c="#bbbbbb", alpha=0.5, label="noise", linewidths=0)
    for i, g in enumerate(groups):
        pts = layout[labels == g]
        ax.scatter(pts[:, 0], pts[:, 1], s=6, color=cmap(i % cmap.N), alpha=0.8, linewidths=0)
        cx, cy = np.median(pts, axis=0)
        ax.annotate(names.get(g, str(g))[:40], (cx, cy), fontsize=8, ha="center", weight="bold",
                    bbox={"boxstyle": "round,pad=0.2", "fc": "white", "alpha": 0.7, "lw": 0})
    ax.set_title(title)
    ax.set_xticks([])
    ax.set_yticks([])
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png")
    plt.close(fig)
    return buf.getvalue()


def run(svc, namespace_id: str, cluster_id: str, run_id: str, config: dict[str, Any],
        assignment_threshold: float = 0.5, llm_override: bool | None = None, log=None) -> dict[str, Any]:
    """Compute the groups and write them into the members' payloads; returns the run's result."""
    log = log or (lambda msg: None)
    timings: dict[str, float] = {}
    t0 = time.perf_counter()
    feature = documents.resolve_feature(svc.registry, config["feature_uri"])
    hits = documents.scan(svc.index, namespace_id, documents.scope_filter(config["collection_ids"], config["filters"]),
                          feature.vector_name)
    hits = [h for h in hits if h.vectors and h.vectors.get(feature.vector_name) is not None]
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

