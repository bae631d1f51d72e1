"""``/v1/retrievers``: saved multi-stage retrievers, ad-hoc execution, the stage catalogue."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor

from fastapi import APIRouter, Depends, Query, Response

from warehouse.api.deps import namespace, services
from warehouse.api.schemas import (
    AdhocExecuteRequest,
    BatchExecuteRequest,
    BatchQuery,
    CreateRetrieverRequest,
    ExecuteRetrieverRequest,
    ListRequest,
)
from warehouse.api.views import listing, retriever_view
from warehouse.catalog import Namespace, Retriever
from warehouse.catalog.lookups import get_retriever
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.errors import WarehouseError
from warehouse.retrieval import retrievers
from warehouse.retrieval.pipeline import execute, explain
from warehouse.retrieval.stages import STAGES
from warehouse.services import Services

router = APIRouter(tags=["retrievers"])


@router.post("/v1/retrievers", summary="Create a retriever")
def create_retriever(body: CreateRetrieverRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    r = retrievers.create_retriever(
        svc, ns.namespace_id, body.retriever_name, body.stages, body.collection_identifiers,
        {k: v.model_dump(exclude_none=True) for k, v in (body.input_schema or {}).items()}, body.description,
        body.metadata, body.tags)
    return retriever_view(r)


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
    schema = {k: v.model_dump(exclude_none=True) for k, v in (body.input_schema or {}).items()}
    return _json(execute(svc, ns.namespace_id, collections, stages, schema, body.inputs, body.limit,
                         body.offset or 0, body.filters, with_plan=bool(body.explain)))


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


@router.post("/v1/retrievers/{retriever_id}/execute", summary="Execute a retriever")
def execute_retriever(retriever_id: str, body: ExecuteRetrieverRequest | None = None,
                      explain_: bool = Query(False, alias="explain"), ns: Namespace = Depends(namespace),
                      svc: Services = Depends(services)):
    body = body or ExecuteRetrieverRequest()
    r, collections = retrievers.saved_retriever(svc, ns.namespace_id, retriever_id)
    return _json(execute(svc, ns.namespace_id, collections, r.stages, r.input_schema, body.inputs, body.limit,
                         body.offset or 0, body.filters, retriever_id=r.retriever_id,
                         with_plan=bool(body.explain or explain_)))


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
    r, collections = retrievers.saved_retriever(svc, ns.namespace_id, retriever_id)

    def one(query: BatchQuery) -> dict:
        try:
            return execute(svc, ns.namespace_id, collections, r.stages, r.input_schema, query.inputs, query.limit,
                           query.offset or 0, query.filters, retriever_id=r.retriever_id)
        except WarehouseError as exc:  # one bad query does not sink the others
            return {"status": "failed", "retriever_id": r.retriever_id, "documents": [],
                    "error": {"status": exc.status, "message": exc.message, "type": exc.type,
                              "details": exc.details}}

    with ThreadPoolExecutor(max_workers=body.concurrency) as pool:
        results = list(pool.map(one, body.queries))
    return {"retriever_id": r.retriever_id, "results": results, "total_queries": len(results),
            "succeeded": sum(x["status"] == "completed" for x in results),
            "failed": sum(x["status"] == "failed" for x in results)}
