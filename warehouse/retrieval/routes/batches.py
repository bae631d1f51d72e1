"""Top-level ``/v1/batches/{id}`` and ``/v1/tasks/{id}`` (bearer only, no namespace needed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from warehouse.catalog import Batch, Namespace, Task
from warehouse.retrieval.deps import Caller, caller, services
from warehouse.retrieval.errors import ApiError, not_found
from warehouse.retrieval.service import Services
from warehouse.retrieval.views import batch_view, task_view

router = APIRouter(tags=["batches", "tasks"])


def _owned(svc: Services, who: Caller, namespace_id: str | None) -> bool:
    if namespace_id is None:
        return True
    with svc.catalog.session() as s:
        ns = s.get(Namespace, namespace_id)
        return ns is not None and ns.organization_id == who.organization_id


@router.get("/v1/batches/{batch_id}", summary="Get a batch by id")
def get_batch(batch_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        batch = s.get(Batch, batch_id)
    if batch is None or not _owned(svc, who, batch.namespace_id):
        raise not_found("batch", batch_id)
    return batch_view(batch)


@router.post("/v1/batches/{batch_id}/cancel", summary="Cancel a batch")
def cancel_batch(batch_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    return _cancel(svc, who, batch_id)


def _cancel(svc: Services, who: Caller, batch_id: str):
    with svc.catalog.session() as s:
        batch = s.get(Batch, batch_id)
    if batch is None or not _owned(svc, who, batch.namespace_id):
        raise not_found("batch", batch_id)
    return cancel_batch_by_id(svc, batch_id)


def cancel_batch_by_id(svc: Services, batch_id: str) -> dict:
    """Cancel a batch: DRAFT/QUEUED ones at once, a running one between its result batches."""
    with svc.catalog.session() as s:
        batch = s.get(Batch, batch_id)
        if batch.status in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"):
            raise ApiError(409, f"batch already finished ({batch.status})")
        if batch.status in ("DRAFT", "QUEUED"):
            batch.status = "CANCELED"
            if batch.task_id and (task := s.get(Task, batch.task_id)) is not None:
                task.status = "CANCELED"
    svc.runner.cancel(batch_id)
    with svc.catalog.session() as s:
        return batch_view(s.get(Batch, batch_id))


@router.get("/v1/tasks/{task_id}", summary="Get a task")
def get_task(task_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        task = s.get(Task, task_id)
    if task is None or not _owned(svc, who, task.namespace_id):
        raise not_found("task", task_id)
    return task_view(task)


@router.delete("/v1/tasks/{task_id}", summary="Cancel the work behind a task")
@router.post("/v1/tasks/{task_id}/kill", summary="Cancel the work behind a task")
def kill_task(task_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        task = s.get(Task, task_id)
    if task is None or not _owned(svc, who, task.namespace_id):
        raise not_found("task", task_id)
    if task.resource_id and task.resource_id.startswith("btch_"):
        _cancel(svc, who, task.resource_id)
    with svc.catalog.session() as s:
        return task_view(s.get(Task, task_id))
