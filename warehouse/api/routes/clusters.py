"""``/v1/clusters``: cluster definitions, their executions, groups and layout."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import fields, list_page
from warehouse.api.schemas import ClusterExecuteRequest, ClusterRequest, DefinitionListRequest
from warehouse.api.views import _ts, enrichment_run_view, task_view
from warehouse.catalog import Cluster, EnrichmentRun, Namespace
from warehouse.catalog.lookups import get_cluster, get_collection
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.catalog.tasks import start_task
from warehouse.enrichment import clusters, runs
from warehouse.enrichment.documents import resolve_feature, scope_filter
from warehouse.errors import WarehouseError, refuse_set
from warehouse.ids import new_id
from warehouse.services import Services

router = APIRouter(tags=["clusters"])
PATCHABLE = {"cluster_name", "description", "metadata", "auto_execute_on_batch", "auto_execute_min_documents",
             "auto_execute_cooldown_seconds", "llm_labeling"}


def cluster_view(c: Cluster, last: EnrichmentRun | None = None) -> dict[str, Any]:
    cfg = c.config
    return {"cluster_id": c.cluster_id, "cluster_name": c.cluster_name, "namespace_id": c.namespace_id,
            "description": c.description, "input_collections": cfg["collection_ids"], "collection_ids": cfg["collection_ids"],
            "cluster_type": "vector",
            "vector_config": {"feature_uri": cfg["feature_uri"], "clustering_method": cfg["method"],
                              "algorithm_params": cfg["params"], "dimension_reduction": cfg["reduction"],
                              "sample_size": cfg["sample_size"], "normalize_features": cfg["normalize"],
                              "vis_n_components": cfg["vis_n_components"]},
            "llm_labeling": cfg["llm_labeling"], "filters": cfg["filters"], "text_field": cfg["text_field"],
            "num_keywords": cfg.get("num_keywords", 8),
            "auto_execute_on_batch": cfg["auto_execute_on_batch"],
            "auto_execute_min_documents": cfg["auto_execute_min_documents"],
            "auto_execute_cooldown_seconds": cfg["auto_execute_cooldown_seconds"],
            "last_run_id": c.last_run_id, "status": last.status if last else "NOT_RUN",
            "num_clusters": (last.stats or {}).get("num_groups") if last else None,
            "metadata": c.metadata_ or {}, "created_at": _ts(c.created_at), "updated_at": _ts(c.updated_at)}


def _last(s, c: Cluster) -> EnrichmentRun | None:
    return (s.query(EnrichmentRun).filter(EnrichmentRun.resource_id == c.cluster_id)
            .order_by(EnrichmentRun.started_at.desc()).first())


def _event(svc: Services, event_type: str, c: Cluster) -> None:
    svc.record_event(event_type, c.namespace_id, c.cluster_id, {"cluster_id": c.cluster_id, "cluster_name": c.cluster_name},
                     f"{event_type}:{c.cluster_id}:{_ts(c.updated_at)}")


def _check(svc: Services, s, ns: Namespace, config: dict[str, Any]) -> dict[str, Any]:
    ids = []
    for c in config["collection_ids"]:
        try:
            ids.append(get_collection(s, ns.namespace_id, c))
        except WarehouseError:
            raise WarehouseError(422, f"collection_ids: collection {c!r} not found", {"location": "collection_ids"}) from None
    if not config.get("feature_uri"):
        uris = [vi["feature_uri"] for vi in ids[0].vector_indexes or [] if (vi.get("index") or {}).get("type") == "dense"]
        if not uris:
            raise WarehouseError(422, "name the feature to cluster on (vector_config.feature_uri)", {"location": "feature_uri"})
        config["feature_uri"] = uris[0]
    resolve_feature(svc.registry, config["feature_uri"], "vector_config.feature_uri", ns.namespace_id)
    scope_filter([c.collection_id for c in ids], config.get("filters"))
    if config["llm_labeling"]["enabled"] and not svc.settings.llm_base_url:
        raise WarehouseError(422, "llm_labeling.enabled needs an OpenAI-compatible endpoint: set WAREHOUSE_LLM_BASE_URL "
                       "(and WAREHOUSE_LLM_MODEL), or leave llm_labeling off for keyword labels",
                       {"location": "llm_labeling.enabled"})
    config["collection_ids"] = [c.collection_id for c in ids]
    return config


@router.post("/v1/clusters", summary="Create a cluster definition")
def create_cluster(body: ClusterRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    top, config = clusters.parse_request(fields(body))
    with svc.catalog.session() as s:
        if s.query(Cluster).filter(Cluster.namespace_id == ns.namespace_id,
                                   Cluster.cluster_name == top["cluster_name"]).count():
            raise WarehouseError(409, f"cluster {top['cluster_name']!r} already exists in this namespace")
        c = Cluster(cluster_id=new_id("clu"), namespace_id=ns.namespace_id, cluster_name=top["cluster_name"],
                    description=top.get("description"), config=_check(svc, s, ns, config),
                    metadata_=top.get("metadata") or {})
        s.add(c)
    svc.dagster.add_partition("clusters", c.cluster_id)
    _event(svc, "cluster.created", c)
    return cluster_view(c)


@router.get("/v1/clusters", summary="List cluster definitions")
def list_clusters_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0, le=MAX_OFFSET),
                      ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, limit, offset)


@router.post("/v1/clusters/list", summary="List cluster definitions")
def list_clusters(body: DefinitionListRequest | None = None, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    body = body or DefinitionListRequest()
    return _list(svc, ns, *page_args(body.limit, body.offset, body.page, body.page_size), body.search)


def _list(svc, ns, limit, offset, search=None):
    return list_page(svc.catalog, ns.namespace_id, Cluster, Cluster.cluster_name,
                     lambda s, c: cluster_view(c, _last(s, c)), limit, offset, search)


@router.get("/v1/clusters/{cluster_id}", summary="Get a cluster definition")
def get_cluster_route(cluster_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_cluster(s, ns.namespace_id, cluster_id)
        return cluster_view(c, _last(s, c))


@router.patch("/v1/clusters/{cluster_id}", summary="Update a cluster definition")
def patch_cluster(cluster_id: str, body: ClusterRequest | None = None, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    body = fields(body)
    unknown = sorted(set(body) - PATCHABLE)
    if unknown:  # own message: say why the rest cannot change
        raise WarehouseError(422, f"cannot patch {unknown}; patchable: {sorted(PATCHABLE)} (create a new definition to "
                       "change what is clustered and how)", {"location": "body", "unknown": unknown})
    with svc.catalog.session() as s:
        c = get_cluster(s, ns.namespace_id, cluster_id)
        cfg = dict(c.config)
        for key in ("auto_execute_on_batch", "auto_execute_min_documents", "auto_execute_cooldown_seconds"):
            if key in body:
                cfg[key] = body[key]
        if "llm_labeling" in body:
            _, parsed = clusters.parse_request({"cluster_name": c.cluster_name, "collection_ids": cfg["collection_ids"],
                                                "llm_labeling": body["llm_labeling"]})
            cfg["llm_labeling"] = parsed["llm_labeling"]
        c.config = cfg
        c.cluster_name = body.get("cluster_name", c.cluster_name)
        c.description = body.get("description", c.description)
        c.metadata_ = body.get("metadata", c.metadata_)
    _event(svc, "cluster.updated", c)
    return cluster_view(c)


@router.delete("/v1/clusters/{cluster_id}", summary="Delete a cluster definition")
def delete_cluster(cluster_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_cluster(s, ns.namespace_id, cluster_id)
        s.delete(c)
    svc.dagster.delete_partition("clusters", c.cluster_id)
    _event(svc, "cluster.deleted", c)
    return {"success": True, "cluster_id": c.cluster_id, "message": "cluster definition deleted"}


@router.post("/v1/clusters/{cluster_id}/execute", summary="Run the clustering now (a task)")
def execute_cluster(cluster_id: str, body: ClusterExecuteRequest | None = None, ns: Namespace = Depends(namespace),
                    svc: Services = Depends(services)):
    body = fields(body)
    threshold = body.get("assignment_threshold", 0.5)
    if not isinstance(threshold, int | float) or not -1 <= threshold <= 1:
        raise WarehouseError(422, "assignment_threshold must be a cosine similarity from -1 to 1", {"location": "assignment_threshold"})
    refuse_set({"mode": None if body.get("mode") in (None, "full") else body["mode"],
                "source_execution_ids": body.get("source_execution_ids") or None,
                "vis_n_components": None if body.get("vis_n_components") in (None, 2) else body["vis_n_components"],
                "defer_visualization": body.get("defer_visualization") or None,
                "layout_stability": None if body.get("layout_stability") in (None, "none") else body["layout_stability"]},
               {"mode": "only 'full' runs here (a run assigns documents outside its sample to the nearest centroid "
                        "by assignment_threshold); 'assign' and 'composite' are not supported",
                "source_execution_ids": "composite runs are not supported",
                "vis_n_components": "the layout is 2-D: 2 or leave it out",
                "defer_visualization": "the layout is computed with the run; leave it out",
                "layout_stability": "each run lays out independently ('none'); leave it out"})
    overrides = {}
    if body.get("sample_size") is not None:
        if isinstance(body["sample_size"], bool) or not isinstance(body["sample_size"], int) or body["sample_size"] < 2:
            raise WarehouseError(422, "sample_size must be an integer ≥ 2", {"location": "sample_size"})
        overrides["sample_size"] = body["sample_size"]
    if body.get("filters") is not None:
        scope_filter([], body["filters"])  # refused now, with the field named, not mid-run
        overrides["filters"] = body["filters"]
    llm = body.get("llm_labeling")
    if isinstance(llm, dict):
        llm = llm.get("enabled")
    with svc.catalog.session() as s:
        c = get_cluster(s, ns.namespace_id, cluster_id)
    if llm and not svc.settings.llm_base_url:
        raise WarehouseError(422, "llm_labeling needs WAREHOUSE_LLM_BASE_URL", {"location": "llm_labeling"})
    run_id = new_id("crun")

    def work() -> dict:
        result = runs.run_cluster(svc, c.cluster_id, "api", run_id=run_id, assignment_threshold=float(threshold),
                                  llm_labeling=llm if isinstance(llm, bool) else None, overrides=overrides)
        return {k: result[k] for k in ("run_id", "num_groups", "noise_count", "documents", "plot_path")}

    task = task_view(start_task(svc.catalog, svc.background, ns.namespace_id, "cluster.execute", c.cluster_id,
                                {"cluster_id": c.cluster_id, "assignment_threshold": threshold, **overrides}, work))
    return {**task, "run_id": run_id, "cluster_id": c.cluster_id,
            "message": f"GET /v1/clusters/{c.cluster_id}/executions/{run_id} for the run, /v1/tasks/{task['task_id']} "
                       "for the task"}


@router.get("/v1/clusters/{cluster_id}/executions", summary="Executions of a cluster definition")
@router.post("/v1/clusters/{cluster_id}/executions/list", include_in_schema=False)
def cluster_executions(cluster_id: str, limit: int = Query(20, ge=1, le=200), ns: Namespace = Depends(namespace),
                       svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        c = get_cluster(s, ns.namespace_id, cluster_id)
        rows = (s.query(EnrichmentRun).filter(EnrichmentRun.resource_id == c.cluster_id)
                .order_by(EnrichmentRun.started_at.desc()).limit(limit).all())
    return {"results": [enrichment_run_view(r) for r in rows], "total": len(rows)}


def _run(s, c: Cluster, run_id: str | None) -> EnrichmentRun:
    if run_id:
        r = s.get(EnrichmentRun, run_id)
        if r is None or r.resource_id != c.cluster_id:
            raise WarehouseError(404, f"cluster {c.cluster_name!r} has no execution {run_id!r}")
        return r
    r = (s.query(EnrichmentRun).filter(EnrichmentRun.resource_id == c.cluster_id, EnrichmentRun.status == "COMPLETED")
         .order_by(EnrichmentRun.started_at.desc()).first())
    if r is None:
        raise WarehouseError(404, f"cluster {c.cluster_name!r} has no completed execution yet; POST "
                       f"/v1/clusters/{c.cluster_id}/execute first")
    return r


@router.get("/v1/clusters/{cluster_id}/executions/{run_id}", summary="One execution (with its groups)")
def cluster_execution(cluster_id: str, run_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        r = _run(s, get_cluster(s, ns.namespace_id, cluster_id), run_id)
    out = enrichment_run_view(r)
    out["groups"] = (r.result or {}).get("groups", [])
    return out


@router.get("/v1/clusters/{cluster_id}/groups", summary="The groups of the latest (or a given) execution")
def cluster_groups(cluster_id: str, run_id: str | None = Query(None), ns: Namespace = Depends(namespace),
                   svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        r = _run(s, get_cluster(s, ns.namespace_id, cluster_id), run_id)
    res = r.result or {}
    return {"cluster_id": r.resource_id, "run_id": r.run_id, "results": res.get("groups", []),
            "num_groups": res.get("num_groups"), "noise_count": res.get("noise_count"), "documents": res.get("documents")}


@router.get("/v1/clusters/{cluster_id}/visualization", summary="Layout points (2-D UMAP) and centroids")
def cluster_visualization(cluster_id: str, run_id: str | None = Query(None), max_points: int = Query(5000, ge=1, le=100_000),
                          centroids_only: bool = Query(False), compact: bool = Query(False),
                          ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        r = _run(s, get_cluster(s, ns.namespace_id, cluster_id), run_id)
    res = r.result or {}
    points = [] if centroids_only else res.get("layout", [])
    if len(points) > max_points:  # an even subsample keeps every group's shape
        step = len(points) / max_points
        points = [points[int(i * step)] for i in range(max_points)]
    if compact:
        points = [[p["x"], p["y"], p["group_id"]] for p in points]
    centroids = [{"group_id": g["group_id"], "label": g["label"], "x": g["centroid_2d"][0], "y": g["centroid_2d"][1],
                  "size": g["size"]} for g in res.get("groups", [])]
    return {"cluster_id": r.resource_id, "run_id": r.run_id, "points": points, "centroids": centroids,
            "total_points": len(res.get("layout", [])), "returned_points": len(points),
            "plot_url": f"/v1/clusters/{r.resource_id}/visualization.png?run_id={r.run_id}"}


@router.get("/v1/clusters/{cluster_id}/visualization.png", summary="The scatter plot of an execution (PNG)")
def cluster_plot(cluster_id: str, run_id: str | None = Query(None), ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):

    with svc.catalog.session() as s:
        r = _run(s, get_cluster(s, ns.namespace_id, cluster_id), run_id)
    path = Path((r.stats or {}).get("plot_path") or "")
    if not path.is_file():
        raise WarehouseError(404, f"the plot of execution {r.run_id} is gone from {path}")
    return Response(path.read_bytes(), media_type="image/png")
