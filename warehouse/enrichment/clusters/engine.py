"""The clustering itself: UMAP reduction, HDBSCAN / k-means / agglomerative, c-TF-IDF keywords, LLM labels,
the scatter plot."""

from __future__ import annotations

import io
import math
from typing import Any

import numpy as np

from warehouse.enrichment.clusters.config import NOISE
from warehouse.errors import WarehouseError
from warehouse.retrieval.llm import ChatClient


def umap_embed(X: np.ndarray, n_components: int, n_neighbors: int = 15, min_dist: float = 0.0,
               seed: int = 42) -> np.ndarray:
    """UMAP (cosine) — with the small-set cases UMAP cannot take handled (fewer points than neighbours)."""
    n = len(X)
    if n <= n_components + 1:
        out = np.zeros((n, n_components), dtype=np.float32)
        out[:, : min(n_components, X.shape[1])] = X[:, :n_components]
        return out
    # lazy: umap-learn (numba) costs seconds of imports; only cluster runs need it
    import umap

    reducer = umap.UMAP(n_components=n_components, n_neighbors=max(2, min(n_neighbors, n - 1)), min_dist=min_dist,
                        metric="cosine", random_state=seed, n_jobs=1, init="spectral" if n > n_components + 2 else "random")
    return np.asarray(reducer.fit_transform(X), dtype=np.float32)


def cluster(X: np.ndarray, method: str, params: dict[str, Any]) -> np.ndarray:
    n = len(X)
    if method == "kmeans":
        # lazy: scikit-learn is imported by the enrichment runs that use it, not by every process
        from sklearn.cluster import KMeans

        k = min(params["n_clusters"], n)
        return KMeans(n_clusters=k, n_init=params.get("n_init", 10), max_iter=params.get("max_iter", 300),
                      random_state=params.get("random_state", 0)).fit_predict(X)
    if method == "agglomerative":
        # lazy: scikit-learn is imported by the enrichment runs that use it, not by every process
        from sklearn.cluster import AgglomerativeClustering

        kwargs = {"linkage": params.get("linkage", "ward")}
        if "distance_threshold" in params:
            kwargs.update(n_clusters=None, distance_threshold=float(params["distance_threshold"]))
        else:
            kwargs["n_clusters"] = min(params["n_clusters"], n)
        return AgglomerativeClustering(**kwargs).fit_predict(X)
    # lazy: scikit-learn is imported by the enrichment runs that use it, not by every process
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
    # lazy: scikit-learn is imported by the enrichment runs that use it, not by every process
    from sklearn.feature_extraction.text import CountVectorizer

    groups = sorted(texts_by_group)
    joined = [" ".join(texts_by_group[g]) for g in groups]
    if not any(j.strip() for j in joined):
        return {g: [] for g in groups}
    # lazy: scikit-learn is imported by the enrichment runs that use it, not by every process
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
    # lazy: matplotlib is needed only to draw a cluster plot
    import matplotlib

    matplotlib.use("Agg")
    # lazy: matplotlib is needed only to draw a cluster plot
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
