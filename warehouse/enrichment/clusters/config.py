"""A cluster definition's request shapes (``CreateClusterRequest`` and the tutorial's short form), checked
and normalised into the stored config."""

from __future__ import annotations

from typing import Any

from warehouse.errors import WarehouseError, check_keys

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
    for key in ("source_cluster_ids", "attribute_config"):
        if body.get(key):
            raise WarehouseError(422, f"{key}: clustering other clusters or attributes is not supported; cluster a "
                                 "collection's vectors (collection_ids + vector_config)", {"location": key})
    if body.get("enrich_source_collection") is False or body.get("source_enrichment_config") is not None:
        key = "source_enrichment_config" if body.get("source_enrichment_config") is not None else "enrich_source_collection"
        raise WarehouseError(422, f"{key}: a run always writes clusters.<cluster_id> (id, label, distance) into its "
                             "members' payloads; leave it out", {"location": key})
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
