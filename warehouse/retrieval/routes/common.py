"""Helpers the route modules share: resolving resources by id or name inside a namespace."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse.catalog import Bucket, Collection, Retriever
from warehouse.retrieval.errors import not_found


def _by_id_or_name(s: Session, model, kind: str, name_column, namespace_id: str, identifier: str):
    row = s.get(model, identifier)
    if row is None or row.namespace_id != namespace_id:
        row = s.query(model).filter(model.namespace_id == namespace_id, name_column == identifier).one_or_none()
    if row is None:
        raise not_found(kind, identifier, namespace_id=namespace_id)
    return row


def get_bucket(s: Session, namespace_id: str, identifier: str) -> Bucket:
    return _by_id_or_name(s, Bucket, "bucket", Bucket.bucket_name, namespace_id, identifier)


def get_collection(s: Session, namespace_id: str, identifier: str) -> Collection:
    return _by_id_or_name(s, Collection, "collection", Collection.collection_name, namespace_id, identifier)


def get_retriever(s: Session, namespace_id: str, identifier: str) -> Retriever:
    return _by_id_or_name(s, Retriever, "retriever", Retriever.retriever_name, namespace_id, identifier)


def page_args(limit: int | None, offset: int | None, page: int | None = None, page_size: int | None = None,
              default: int = 50) -> tuple[int, int]:
    size = limit or page_size or default
    start = offset if offset is not None else ((page - 1) * size if page else 0)
    return max(1, min(size, 1000)), max(0, start)


def get_taxonomy(s: Session, namespace_id: str, identifier: str):
    from warehouse.catalog import Taxonomy

    return _by_id_or_name(s, Taxonomy, "taxonomy", Taxonomy.taxonomy_name, namespace_id, identifier)


def get_cluster(s: Session, namespace_id: str, identifier: str):
    from warehouse.catalog import Cluster

    return _by_id_or_name(s, Cluster, "cluster", Cluster.cluster_name, namespace_id, identifier)


def get_alert(s: Session, namespace_id: str, identifier: str):
    from warehouse.catalog import Alert

    return _by_id_or_name(s, Alert, "alert", Alert.alert_name, namespace_id, identifier)


def body_dict(body) -> dict:
    """A JSON object body, or 422 saying what came instead."""
    from warehouse.retrieval.errors import ApiError

    if body is None:
        return {}
    if not isinstance(body, dict):
        raise ApiError(422, f"the request body must be a JSON object, not {type(body).__name__}", {"location": "body"})
    return body


def list_page(catalog, namespace_id: str, model, name_column, view, limit, offset, search: str | None = None) -> dict:
    """One page of a namespace's definitions (taxonomies, clusters, alerts) as ``listing`` JSON;
    ``view(session, row)`` renders each row inside the session."""
    from warehouse.retrieval.views import listing

    limit, offset = page_args(limit, offset)
    with catalog.session() as s:
        q = s.query(model).filter(model.namespace_id == namespace_id)
        if search:
            q = q.filter(name_column.contains(search))
        total = q.count()
        rows = [view(s, r) for r in q.order_by(model.created_at).offset(offset).limit(limit)]
    return listing(rows, total, limit, offset)


def start_task(svc, namespace_id: str, task_type: str, resource_id: str, inputs: dict, work) -> dict:
    """A task (``GET /v1/tasks/{id}``) for ``work()`` run in the background: PROCESSING, then COMPLETED with the
    outputs ``work`` returns, or FAILED with the error's message. Returns the task's JSON."""
    from warehouse.catalog import Task
    from warehouse.ids import new_id
    from warehouse.retrieval.views import task_view

    task = Task(task_id=new_id("task"), namespace_id=namespace_id, task_type=task_type, status="PENDING",
                resource_id=resource_id, inputs=inputs)
    with svc.catalog.session() as s:
        s.add(task)

    def update(status: str, outputs: dict | None = None, error: str | None = None) -> None:
        with svc.catalog.session() as s:
            row = s.get(Task, task.task_id)
            row.status, row.error = status, error
            if outputs is not None:
                row.outputs = outputs

    def run() -> None:
        update("PROCESSING")
        try:
            outputs = work()
        except Exception as exc:  # noqa: BLE001 - the task says why (the run records it too)
            update("FAILED", error=getattr(exc, "message", None) or str(exc))
            return
        update("COMPLETED", outputs=outputs)

    svc.background(run)
    return task_view(task)
