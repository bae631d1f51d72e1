"""Tasks (``GET /v1/tasks/{id}``): background work a caller can poll — PENDING, PROCESSING, then
COMPLETED with outputs or FAILED with the reason."""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

from warehouse.catalog.db import Catalog
from warehouse.catalog.models import Task
from warehouse.ids import new_id


def start_task(catalog: Catalog, background: Callable[..., Future], namespace_id: str, task_type: str,
               resource_id: str, inputs: dict[str, Any], work: Callable[[], dict[str, Any]]) -> Task:
    """A task row for ``work()``, which ``background`` runs off the request; returns the (PENDING) task.

    Example:
        >>> task = start_task(svc.catalog, svc.background, ns_id, "cluster.execute", cl_id, {}, run)  # doctest: +SKIP
    """
    task = Task(task_id=new_id("task"), namespace_id=namespace_id, task_type=task_type, status="PENDING",
                resource_id=resource_id, inputs=inputs)
    with catalog.session() as s:
        s.add(task)

    def update(status: str, outputs: dict | None = None, error: str | None = None) -> None:
        with catalog.session() as s:
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

    background(run)
    return task
