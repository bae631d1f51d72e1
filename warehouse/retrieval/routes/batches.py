"""Top-level ``/v1/batches/{id}`` and ``/v1/tasks/{id}`` (bearer only, no namespace needed)."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from warehouse.catalog import Batch, Namespace, Task
from warehouse.retrieval.deps import Caller, caller, services
from warehouse.retrieval.errors import ApiError, not_found
from warehouse.retrieval.service import Services
from warehouse.retrieval.views import batch_view, task_view

router = APIRouter(tags=["batches", "tasks"])


def _owned_or_404(svc: Services, who: Caller, model, kind: str, identifier: str):
    """The row, if it exists and belongs to one of the caller's namespaces; else NotFound."""
    with svc.catalog.session() as s:
        row = s.get(model, identifier)
        if row is not None and row.namespace_id is not None:
            ns = s.get(Namespace, row.namespace_id)
            if ns is None or ns.organization_id != who.organization_id:
                row = None
    if row is None:
        raise not_found(kind, identifier)
    return row


@router.get("/v1/batches/{batch_id}", summary="Get a batch by id")
def get_batch(batch_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    return batch_view(_owned_or_404(svc, who, Batch, "batch", batch_id))


@router.post("/v1/batches/{batch_id}/cancel", summary="Cancel a batch")
def cancel_batch(batch_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    return _cancel(svc, who, batch_id)


def _cancel(svc: Services, who: Caller, batch_id: str):
    _owned_or_404(svc, who, Batch, "batch", batch_id)
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
    svc.cancel(batch_id)
    with svc.catalog.session() as s:
        return batch_view(s.get(Batch, batch_id))


@router.get("/v1/tasks/{task_id}", summary="Get a task")
def get_task(task_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    return task_view(_owned_or_404(svc, who, Task, "task", task_id))


@router.delete("/v1/tasks/{task_id}", summary="Cancel the work behind a task")
@router.post("/v1/tasks/{task_id}/kill", summary="Cancel the work behind a task")
def kill_task(task_id: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    task = _owned_or_404(svc, who, Task, "task", task_id)
    if task.resource_id and task.resource_id.startswith("btch_"):
        _cancel(svc, who, task.resource_id)
    with svc.catalog.session() as s:
        return task_view(s.get(Task, task_id))
