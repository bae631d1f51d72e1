"""``/v1/retrievers``: saved multi-stage retrievers, ad-hoc execution, the stage catalogue."""

from __future__ import annotations

import json
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Depends, Query, Response
from fastapi.responses import StreamingResponse

from warehouse.api.deps import namespace, services
from warehouse.api.schemas import (
    AdhocExecuteRequest,
    BatchExecuteRequest,
    BatchQuery,
    CloneRetrieverRequest,
    CreateRetrieverRequest,
    ExecuteRetrieverRequest,
    ListRequest,
    PatchRetrieverRequest,
    RollbackRetrieverRequest,
)
from warehouse.api.views import listing, retriever_version_view, retriever_view
from warehouse.catalog import Namespace, Retriever
from warehouse.catalog.lookups import get_retriever
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.errors import WarehouseError, refuse_set
from warehouse.retrieval import retrievers
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.pipeline import execute, explain, validate_inputs
from warehouse.retrieval.stages import STAGES
from warehouse.services import Services

router = APIRouter(tags=["retrievers"])


@router.post("/v1/retrievers", summary="Create a retriever")
def create_retriever(body: CreateRetrieverRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    retrievers.refuse_publishing(body.model_dump())
    r = retrievers.create_retriever(
        svc, ns.namespace_id, body.retriever_name, body.stages, body.collection_identifiers,
        _schema(body.input_schema), body.description, body.metadata, body.tags, body.budget_limits)
    return retriever_view(r)


def _schema(input_schema) -> dict | None:
    return None if input_schema is None else {k: v.model_dump(exclude_none=True) for k, v in input_schema.items()}


def _given(body) -> dict:
    """The fields a PATCH or clone body set, its input schema as plain dicts."""
    fields = body.model_dump(exclude_unset=True)
    if body.input_schema is not None:
        fields["input_schema"] = _schema(body.input_schema)
    return fields


@router.patch("/v1/retrievers/{retriever_id}", summary="Edit a retriever (a new version)")
def patch_retriever(retriever_id: str, body: PatchRetrieverRequest, ns: Namespace = Depends(namespace),
                    svc: Services = Depends(services)):
    return retriever_view(retrievers.update_retriever(svc, ns.namespace_id, retriever_id, _given(body)))


@router.get("/v1/retrievers/{retriever_id}/versions", summary="Every version of a retriever, oldest first")
def list_versions(retriever_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    r, versions = retrievers.retriever_versions(svc, ns.namespace_id, retriever_id)
    return {"retriever_id": r.retriever_id, "current_version": r.version or 1,
            "results": [retriever_version_view(v) for v in versions], "total_count": len(versions)}


@router.post("/v1/retrievers/{retriever_id}/rollback", summary="Make an earlier version current (as a new version)")
def rollback(retriever_id: str, body: RollbackRetrieverRequest, ns: Namespace = Depends(namespace),
             svc: Services = Depends(services)):
    return retriever_view(retrievers.rollback_retriever(svc, ns.namespace_id, retriever_id, body.version))


@router.post("/v1/retrievers/{retriever_id}/clone", summary="A new retriever from this one, with changes")
def clone(retriever_id: str, body: CloneRetrieverRequest, ns: Namespace = Depends(namespace),
          svc: Services = Depends(services)):
    return retriever_view(retrievers.clone_retriever(svc, ns.namespace_id, retriever_id, _given(body)))


@router.get("/v1/retrievers/stages", summary="The stage catalogue (no auth)")
def list_stages():
    return [cls.definition() for cls in STAGES.values()]


@router.get("/v1/retrievers", summary="List retrievers")
def list_retrievers_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0, le=MAX_OFFSET),
                        ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, ListRequest(limit=limit, offset=offset))


@router.post("/v1/retrievers/list", summary="List retrievers")
def list_retrievers(body: ListRequest | None = None, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return _list(svc, ns, body or ListRequest())


def _list(svc: Services, ns: Namespace, body: ListRequest):
    body.refuse_unhonoured("search")
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size)
    with svc.catalog.session() as s:
        q = s.query(Retriever).filter(Retriever.namespace_id == ns.namespace_id)
        if body.search:
            q = q.filter(Retriever.retriever_name.contains(body.search))
        total = q.count()
        rows = q.order_by(Retriever.created_at).offset(offset).limit(limit).all()
    return listing([retriever_view(r) for r in rows], total, limit, offset)


@router.post("/v1/retrievers/execute", summary="Execute an ad-hoc retriever")
def execute_adhoc(body: AdhocExecuteRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    stages, collections = retrievers.prepare(svc, ns.namespace_id, body.stages, body.collection_identifiers,
                                             body.input_schema, validate=False)  # execute() builds (and so validates) the stages
    limit, offset = execution_page(body)
    budget = retrievers.check_budget(body.budget_limits)
    schema = _schema(body.input_schema) or {}

    def run(on_event=None) -> dict:
        return execute(svc, ns.namespace_id, collections, stages, schema, body.inputs, limit, offset, body.filters,
                       with_plan=bool(body.explain), budget=budget, on_event=on_event)

    if body.stream:
        validate_inputs(schema, body.inputs)
        compile_filter(body.filters, "filters")
        return StreamingResponse(_events(run), media_type="text/event-stream", headers={"Cache-Control": "no-cache"})
    return _json(run())


@router.get("/v1/retrievers/{retriever_id}", summary="Get a retriever")
def get_retriever_route(retriever_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        return retriever_view(get_retriever(s, ns.namespace_id, retriever_id))


@router.delete("/v1/retrievers/{retriever_id}", summary="Delete a retriever")
def delete_retriever(retriever_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        r = get_retriever(s, ns.namespace_id, retriever_id)
        s.delete(r)
    return {"success": True, "retriever_id": r.retriever_id, "message": "retriever deleted"}


def _json(result: dict) -> Response:
    """Execution results are plain JSON already (index payloads): encode them once, without FastAPI's
    per-value ``jsonable_encoder`` walk."""
    return Response(json.dumps(result, default=str, separators=(",", ":")), media_type="application/json")


@router.post("/v1/retrievers/{retriever_id}/execute", summary="Execute a retriever (stream=true: server-sent events)")
def execute_retriever(retriever_id: str, body: ExecuteRetrieverRequest | None = None,
                      explain_: bool = Query(False, alias="explain"), stream: bool = Query(False),
                      ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    body = body or ExecuteRetrieverRequest()
    limit, offset = execution_page(body)
    r, collections = retrievers.saved_retriever(svc, ns.namespace_id, retriever_id)

    def run(on_event=None) -> dict:
        return execute(svc, ns.namespace_id, collections, r.stages, r.input_schema, body.inputs, limit, offset,
                       body.filters, retriever_id=r.retriever_id, with_plan=bool(body.explain or explain_),
                       retriever_version=r.version or 1, budget=r.budget_limits, on_event=on_event)

    if body.stream or stream:
        validate_inputs(r.input_schema, body.inputs)  # a bad request is a 4xx before the stream opens
        compile_filter(body.filters, "filters")
        return StreamingResponse(_events(run), media_type="text/event-stream",
                                 headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
    return _json(run())


# Execution options the hosted platform offers that this server does not: refused, never accepted and ignored.
_UNSUPPORTED_EXECUTION = {
    "expand": "not supported; fetch the referenced documents with POST /v1/documents/batch-get",
    "return_presigned_urls": "not supported; blob URLs in documents are this warehouse's own — fetch them through "
                             "the object's blobs",
    "return_vectors": "not supported; read a document's vectors with GET /v1/collections/{id}/documents/{doc_id}",
    "write_token": "this server issues no write tokens: every acknowledged write is visible to the next read",
    "target_collection_id": "not supported; write results into a collection with POST "
                            "/v1/collections/{id}/documents",
}


def execution_page(body: ExecuteRetrieverRequest) -> tuple[int | None, int]:
    """``limit``/``offset`` of an execution, or its offset ``pagination``; options this server cannot honour are a
    422 naming them (``skip_cache`` holds trivially: no result is cached; reads are always ``strong``)."""
    refuse_set({k: getattr(body, k) or None for k in _UNSUPPORTED_EXECUTION}, _UNSUPPORTED_EXECUTION)
    if body.consistency not in (None, "strong", "eventual"):
        raise WarehouseError(422, "consistency must be 'strong' or 'eventual' (reads here are always strong)",
                             {"location": "consistency"})
    page = body.pagination
    if page is None:
        return body.limit, body.offset or 0
    if body.limit is not None or body.offset is not None:
        raise WarehouseError(422, "send either limit/offset or pagination, not both", {"location": "pagination"})
    unknown = sorted(set(page) - {"method", "page_size", "page_number"})
    if page.get("method", "offset") != "offset" or unknown:
        raise WarehouseError(422, "pagination: only offset pagination {method: 'offset', page_size, page_number} is "
                             "supported", {"location": "pagination." + (unknown[0] if unknown else "method")})
    size, number = page.get("page_size", 10), page.get("page_number", 1)
    for key, value, top in (("page_size", size, 500), ("page_number", number, None)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1 or (top and value > top):
            raise WarehouseError(422, f"pagination.{key} must be an integer >= 1" + (f" and <= {top}" if top else ""),
                                 {"location": f"pagination.{key}"})
    if (number - 1) * size > MAX_OFFSET:
        raise WarehouseError(422, f"pagination reaches past offset {MAX_OFFSET}", {"location": "pagination.page_number"})
    return size, (number - 1) * size


def _events(run) -> Iterator[str]:
    """Server-sent events of one execution as its stages run: ``stage_start``, ``stage_complete`` (with the
    documents so far), then ``execution_complete`` with the whole response — or ``execution_error``."""
    events: queue.Queue = queue.Queue()
    done = object()

    def work():
        try:
            result = run(events.put)
            events.put({"event_type": "execution_complete", **result})
        except WarehouseError as exc:
            events.put({"event_type": "execution_error", "status": exc.status,
                        "error": {"message": exc.message, "type": exc.type, "details": exc.details}})
        except Exception as exc:  # noqa: BLE001 — the stream is already open: the error goes into it
            events.put({"event_type": "execution_error", "status": 500,
                        "error": {"message": f"{type(exc).__name__}: {exc}", "type": "internal_error"}})
        finally:
            events.put(done)

    threading.Thread(target=work, name="retriever-stream", daemon=True).start()
    while (event := events.get()) is not done:
        yield f"event: {event['event_type']}\ndata: {json.dumps(event, default=str, separators=(',', ':'))}\n\n"


@router.post("/v1/retrievers/{retriever_id}/execute/explain", summary="The execution plan of a retriever")
@router.post("/v1/retrievers/{retriever_id}/explain", include_in_schema=False)
def explain_retriever(retriever_id: str, body: ExecuteRetrieverRequest | None = None, ns: Namespace = Depends(namespace),
                      svc: Services = Depends(services)):
    body = body or ExecuteRetrieverRequest()
    r, _ = retrievers.saved_retriever(svc, ns.namespace_id, retriever_id)
    return {"retriever_id": r.retriever_id, "explain_plan": explain(r.stages, r.input_schema, body.inputs, body.filters)}


@router.post("/v1/retrievers/{retriever_id}/execute/batch", summary="Execute a retriever for many queries")
def execute_batch(retriever_id: str, body: BatchExecuteRequest, ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    refuse_set({"return_presigned_urls": body.return_presigned_urls or None,
                "return_vectors": body.return_vectors or None, "stream": body.stream or None},
               {**_UNSUPPORTED_EXECUTION, "stream": "a batch answers once; stream single executions instead"})
    r, collections = retrievers.saved_retriever(svc, ns.namespace_id, retriever_id)

    def one(query: BatchQuery) -> dict:
        try:
            return execute(svc, ns.namespace_id, collections, r.stages, r.input_schema, query.inputs, query.limit,
                           query.offset or 0, query.filters, retriever_id=r.retriever_id,
                           retriever_version=r.version or 1, budget=r.budget_limits)
        except WarehouseError as exc:  # one bad query does not sink the others
            return {"status": "failed", "retriever_id": r.retriever_id, "documents": [],
                    "error": {"status": exc.status, "message": exc.message, "type": exc.type,
                              "details": exc.details}}

    with ThreadPoolExecutor(max_workers=body.concurrency) as pool:
        results = list(pool.map(one, body.queries))
    return {"retriever_id": r.retriever_id, "results": results, "total_queries": len(results),
            "succeeded": sum(x["status"] != "failed" for x in results),
            "failed": sum(x["status"] == "failed" for x in results)}
