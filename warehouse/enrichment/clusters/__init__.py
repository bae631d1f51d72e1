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

from warehouse.enrichment.clusters.config import ALIASES, METHODS, NOISE, parse_request
from warehouse.enrichment.clusters.engine import (
    cluster,
    ctfidf_keywords,
    llm_labels,
    plot_png,
    umap_embed,
)
from warehouse.enrichment.clusters.materialize import run

__all__ = ["ALIASES", "METHODS", "NOISE", "cluster", "ctfidf_keywords", "llm_labels", "parse_request", "plot_png", "run",
           "umap_embed"]
