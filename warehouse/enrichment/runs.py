"""Running taxonomies and cluster definitions as recorded executions, and what follows a batch.

Every execution — from the API, a Dagster partition run, a schedule or the end of a batch — goes
through :func:`run_taxonomy` / :func:`run_cluster`: an :class:`EnrichmentRun` row records its status,
counts and result, and ``*.execution.*`` events go to the webhooks. Errors are recorded on the run and
raised to the caller (a Dagster run fails loudly; an API task reports FAILED with the message).
"""

from __future__ import annotations

import base64
import logging
from datetime import UTC, datetime
from typing import Any

from warehouse.batch.engine import describe_exception
from warehouse.catalog import Cluster, Collection, EnrichmentRun, Taxonomy
from warehouse.catalog.lookups import get_collection
from warehouse.enrichment import alerts, applications, clusters, taxonomies
from warehouse.errors import WarehouseError
from warehouse.ids import new_id

log = logging.getLogger(__name__)


def _start(svc, kind: str, resource_id: str, namespace_id: str, trigger: str, dagster_run_id: str | None,
           run_id: str | None = None) -> str:
    run_id = run_id or new_id("crun" if kind == "cluster" else "trun")
    with svc.catalog.session() as s:
        s.add(EnrichmentRun(run_id=run_id, kind=kind, resource_id=resource_id, namespace_id=namespace_id,
                            status="RUNNING", trigger=trigger, dagster_run_id=dagster_run_id))
    return run_id


def _finish(svc, run_id: str, status: str, stats: dict[str, Any] | None = None, result: dict[str, Any] | None = None,
            error: str | None = None) -> None:
    with svc.catalog.session() as s:
        run = s.get(EnrichmentRun, run_id)
        run.status, run.finished_at, run.error = status, datetime.now(UTC), error
        if stats is not None:
            run.stats = stats
        if result is not None:
            run.result = result


def _failed(svc, kind: str, resource_id: str, namespace_id: str, run_id: str, exc: Exception) -> None:
    """Record a failed execution on its run and tell the webhooks (``<kind>.execution.failed``)."""
    message = exc.message if isinstance(exc, WarehouseError) else describe_exception(exc)
    _finish(svc, run_id, "FAILED", error=message)
    svc.record_event(f"{kind}.execution.failed", namespace_id, resource_id,
                     {f"{kind}_id": resource_id, "run_id": run_id, "error": message}, f"{kind}.failed:{run_id}")


def run_taxonomy(svc, taxonomy_id: str, collection_ids: list[str] | None = None, scroll_filters: Any = None,
                 batch_size: int = 1000, trigger: str = "api", dagster_run_id: str | None = None,
                 run_id: str | None = None, log_fn=None) -> dict[str, Any]:
    """Materialize a taxonomy into its target collections (or ``collection_ids``)."""
    with svc.catalog.session() as s:
        t = s.get(Taxonomy, taxonomy_id)
        if t is None:
            raise WarehouseError(404, f"taxonomy {taxonomy_id!r} not found")
        namespace_id = t.namespace_id
        plan = taxonomies.resolve(svc, s, namespace_id, t, dict(t.config))
        targets = None
        if collection_ids:
            targets = [get_collection(s, namespace_id, c).collection_id for c in collection_ids]
    run_id = _start(svc, "taxonomy", taxonomy_id, namespace_id, trigger, dagster_run_id, run_id)
    try:
        stats = taxonomies.materialize(svc, namespace_id, plan, targets, scroll_filters, batch_size,
                                       progress=(lambda e: log_fn(f"{e['documents_done']}/{e['documents_total']} "
                                                                  f"documents, {e['assigned']} assigned"))
                                       if log_fn else None)
    except Exception as exc:
        _failed(svc, "taxonomy", taxonomy_id, namespace_id, run_id, exc)
        raise
    stats.update(run_id=run_id, taxonomy_version=plan.version)
    _finish(svc, run_id, "COMPLETED", stats=stats)
    svc.record_event("taxonomy.execution.completed", namespace_id, taxonomy_id,
                     {"taxonomy_id": taxonomy_id, "run_id": run_id,
                      **{k: stats[k] for k in ("documents", "assigned", "collections")}},
                     f"taxonomy.completed:{run_id}")
    return stats


def run_cluster(svc, cluster_id: str, trigger: str = "api", dagster_run_id: str | None = None,
                run_id: str | None = None, assignment_threshold: float = 0.5, llm_labeling: bool | None = None,
                log_fn=None, overrides: dict[str, Any] | None = None) -> dict[str, Any]:
    """Compute a cluster definition's groups and write them into the members; returns the run's result.
    ``overrides`` (``filters``, ``sample_size``) apply to this run only, not to the stored definition."""
    with svc.catalog.session() as s:
        c = s.get(Cluster, cluster_id)
        if c is None:
            raise WarehouseError(404, f"cluster {cluster_id!r} not found")
        namespace_id, config, name = c.namespace_id, {**c.config, **(overrides or {})}, c.cluster_name
    run_id = _start(svc, "cluster", cluster_id, namespace_id, trigger, dagster_run_id, run_id)
    svc.record_event("cluster.execution.started", namespace_id, cluster_id,
                     {"cluster_id": cluster_id, "run_id": run_id}, f"cluster.started:{run_id}")
    try:
        result = clusters.run(svc, namespace_id, cluster_id, run_id, config, assignment_threshold, llm_labeling, log_fn)
    except Exception as exc:
        _failed(svc, "cluster", cluster_id, namespace_id, run_id, exc)
        raise
    png = result.pop("plot_png_base64")
    plot = svc.settings.home_dir / "clusters" / cluster_id / f"{run_id}.png"
    plot.parent.mkdir(parents=True, exist_ok=True)
    plot.write_bytes(base64.b64decode(png))
    stats = {k: result[k] for k in ("num_groups", "noise_count", "documents", "sampled", "timings", "method",
                                    "llm_labeling_error")}
    stats["plot_path"] = str(plot)
    _finish(svc, run_id, "COMPLETED", stats=stats, result=result)
    with svc.catalog.session() as s:
        s.get(Cluster, cluster_id).last_run_id = run_id
    svc.record_event("cluster.execution.completed", namespace_id, cluster_id,
                     {"cluster_id": cluster_id, "cluster_name": name, "run_id": run_id,
                      "num_groups": result["num_groups"], "noise_count": result["noise_count"],
                      "documents": result["documents"]}, f"cluster.completed:{run_id}")
    return {**result, "run_id": run_id, "plot_path": str(plot), "plot_png_base64": png}


# -- after a batch -----------------------------------------------------------------------------------

def due_after_batch(catalog, collection_id: str, now: datetime | None = None) -> tuple[list[str], list[str]]:
    """``(taxonomy ids, cluster ids)`` to refresh because a batch wrote into ``collection_id``: taxonomies
    that target it (unless ``on_demand``: those run only when executed or applied), and cluster definitions over it with ``auto_execute_on_batch`` whose cooldown passed
    and whose document minimum is met."""
    now = now or datetime.now(UTC)
    with catalog.session() as s:
        c = s.get(Collection, collection_id)
        if c is None:
            return [], []
        tax = [t.taxonomy_id for t in s.query(Taxonomy).filter(Taxonomy.namespace_id == c.namespace_id)
               if collection_id in taxonomies.after_batch_targets(t.config)]
        due = []
        for cl in s.query(Cluster).filter(Cluster.namespace_id == c.namespace_id):
            cfg = cl.config or {}
            if not cfg.get("auto_execute_on_batch") or collection_id not in cfg.get("collection_ids", []):
                continue
            last = (s.query(EnrichmentRun).filter(EnrichmentRun.resource_id == cl.cluster_id)
                    .order_by(EnrichmentRun.started_at.desc()).first())
            if last is not None and cfg.get("auto_execute_cooldown_seconds"):
                started = last.started_at if last.started_at.tzinfo else last.started_at.replace(tzinfo=UTC)
                if (now - started).total_seconds() < cfg["auto_execute_cooldown_seconds"]:
                    continue
            due.append(cl.cluster_id)
    return tax, due


def after_part(svc, namespace_id: str, collection_id: str, batch_id: str, documents_written: int) -> None:
    """What follows a batch writing into a collection: its alerts always; its taxonomies and
    auto-executing clusters here unless Dagster runs them (``orchestrator=dagster``: the
    ``enrichment_after_batches`` sensor starts their partitions); then its alert applications and retriever
    enrichments (under Dagster, the run that wrote the part does those)."""

    if documents_written <= 0:
        return
    try:
        alerts.after_batch(svc, namespace_id, collection_id, batch_id)
    except Exception:  # noqa: BLE001 - an alert's failure is recorded on its run; never fail the batch
        log.exception("alerts after batch %s failed", batch_id)
    if svc.settings.orchestrator == "dagster":
        return
    tax, cls = due_after_batch(svc.catalog, collection_id)
    for taxonomy_id in tax:
        try:
            run_taxonomy(svc, taxonomy_id, trigger=f"batch:{batch_id}")
        except Exception:  # noqa: BLE001 - recorded on the run
            log.exception("taxonomy %s after batch %s failed", taxonomy_id, batch_id)
    for cluster_id in cls:
        with svc.catalog.session() as s:
            config = s.get(Cluster, cluster_id).config or {}
        scope = {"must": [{"key": "collection_id", "match": {"any": config.get("collection_ids", [])}}]}
        if svc.index.count(namespace_id, scope) < config.get("auto_execute_min_documents", 0):
            continue
        try:
            run_cluster(svc, cluster_id, trigger=f"batch:{batch_id}")
        except Exception:  # noqa: BLE001 - recorded on the run
            log.exception("cluster %s after batch %s failed", cluster_id, batch_id)
    run_applications(svc, namespace_id, collection_id, batch_id)


def run_applications(svc, namespace_id: str, collection_id: str, batch_id: str) -> list[dict[str, Any]]:
    """The collection's alert applications and retriever enrichments over the documents ``batch_id`` wrote, in
    phase and priority order; a failure is recorded on its run (or the alert's), never on the batch."""
    out = []
    for app in applications.of_collection(svc.catalog, collection_id):
        try:
            if app["kind"] == "alert":
                out.append(alerts.evaluate(svc, app["alert_id"], collection_id, batch_id,
                                           trigger="collection_application", application=app))
            else:
                out.append(applications.enrich(svc, namespace_id, collection_id, batch_id, app))
        except Exception:  # noqa: BLE001 - e.g. the alert was deleted since; the batch stands
            log.exception("%s application after batch %s failed", app["kind"], batch_id)
    return out
