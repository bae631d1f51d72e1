"""``/v1/namespaces``: tenant isolation boundaries (one index collection each)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from pydantic import Field

from warehouse.api.deps import caller, services
from warehouse.api.schemas import CreateNamespaceRequest, ListRequest, UpdateNamespaceRequest
from warehouse.api.schemas.common import Strict
from warehouse.api.views import listing, namespace_view
from warehouse.catalog import Namespace, namespaces
from warehouse.catalog.api_keys import Grant
from warehouse.catalog.paging import MAX_OFFSET, page_args
from warehouse.errors import WarehouseError, not_found, refuse_set
from warehouse.services import Services

router = APIRouter(prefix="/v1/namespaces", tags=["namespaces"])


@router.post("", summary="Create a namespace")
def create(body: CreateNamespaceRequest, who: Grant = Depends(caller), svc: Services = Depends(services)):
    if who.namespaces is not None:
        raise WarehouseError(403, f"API key {who.name!r} is scoped to namespaces; creating one needs an unscoped "
                             "admin key", {"needed": "an unscoped admin key"})
    refuse_set({"mode": body.mode if body.mode == "standalone" else None,
                "auto_create_indexes": body.auto_create_indexes or None, "ttl_seconds": body.ttl_seconds,
                "vector_configs": body.vector_configs}, {
        "mode": "standalone (bring-your-own-vector) namespaces are not supported; create a managed one and write "
                "documents with your vectors into a collection (POST /v1/collections/{c}/documents)",
        "auto_create_indexes": "declare payload_indexes instead",
        "ttl_seconds": "namespaces do not expire here; delete it when done",
        "vector_configs": "vector indexes come from the collections' extractors"})
    ns = namespaces.create_namespace(
        svc, who.organization_id, body.namespace_name, body.description,
        [fe.model_dump(exclude_none=True) for fe in body.feature_extractors or []], body.payload_indexes,
        body.namespace_id)
    return namespace_view(ns, svc.registry)


@router.get("", summary="List namespaces")
def list_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0, le=MAX_OFFSET),
             who: Grant = Depends(caller), svc: Services = Depends(services)):
    return _list(svc, who, ListRequest(limit=limit, offset=offset))


@router.post("/list", summary="List namespaces")
def list_post(body: ListRequest | None = None, who: Grant = Depends(caller), svc: Services = Depends(services)):
    return _list(svc, who, body or ListRequest())


def _list(svc: Services, who: Grant, body: ListRequest):
    body.refuse_unhonoured("search")
    limit, offset = page_args(body.limit, body.offset, body.page, body.page_size, default=50)
    with svc.catalog.session() as s:
        q = s.query(Namespace).filter(Namespace.organization_id == who.organization_id)
        if who.namespaces is not None:
            q = q.filter(Namespace.namespace_id.in_(who.namespaces))
        if body.search:
            q = q.filter(Namespace.namespace_name.contains(body.search))
        total = q.count()
        rows = q.order_by(Namespace.created_at).offset(offset).limit(limit).all()
    return listing([namespace_view(n, svc.registry) for n in rows], total, limit, offset)


class StatsBatchRequest(Strict):
    namespace_ids: list[str] = Field(min_length=1, max_length=100)


def _stats(svc: Services, ns: Namespace) -> dict:
    counts = namespaces.namespace_counts(svc, ns)
    return {"namespace_id": ns.namespace_id, "namespace_name": ns.namespace_name,
            "document_count": counts["documents"], "document_count_complete": True,
            "bucket_count": counts["buckets"], "collection_count": counts["collections"],
            "object_count": counts["objects"]}


@router.post("/stats/batch", summary="Counts of several namespaces (by id or name)")
def stats_batch(body: StatsBatchRequest, who: Grant = Depends(caller), svc: Services = Depends(services)):
    results, missing = [], []
    for ident in dict.fromkeys(body.namespace_ids):
        ns = namespaces.find_namespace(svc.catalog, who.organization_id, ident)
        if ns is None or not who.reaches(ns.namespace_id):
            missing.append(ident)  # another organisation's namespace is as unknown as a made-up one
        else:
            results.append(_stats(svc, ns))
    return {"results": results, "not_found": missing}


@router.get("/{namespace_identifier}/stats", summary="Counts of a namespace: buckets, objects, collections, documents")
def stats(namespace_identifier: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    ns = namespaces.find_namespace(svc.catalog, who.organization_id, namespace_identifier)
    if ns is None or not who.reaches(ns.namespace_id):
        raise not_found("namespace", namespace_identifier)
    return _stats(svc, ns)


@router.get("/{namespace_identifier}", summary="Get a namespace by id or name")
def get(namespace_identifier: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    ns = namespaces.find_namespace(svc.catalog, who.organization_id, namespace_identifier)
    if ns is None or not who.reaches(ns.namespace_id):
        raise not_found("namespace", namespace_identifier)
    return namespace_view(ns, svc.registry, namespaces.namespace_counts(svc, ns))


@router.patch("/{namespace_identifier}", summary="Update a namespace (the keys given)")
@router.put("/{namespace_identifier}", summary="Update a namespace (the keys given)")
def update(namespace_identifier: str, body: UpdateNamespaceRequest, who: Grant = Depends(caller),
           svc: Services = Depends(services)):
    ns = namespaces.find_namespace(svc.catalog, who.organization_id, namespace_identifier)
    if ns is None or not who.reaches(ns.namespace_id):
        raise not_found("namespace", namespace_identifier)
    ns = namespaces.update_namespace(svc, ns, body.model_dump(exclude_unset=True))
    return namespace_view(ns, svc.registry, namespaces.namespace_counts(svc, ns))


@router.delete("/{namespace_identifier}", summary="Delete a namespace and everything in it")
def delete(namespace_identifier: str, who: Grant = Depends(caller), svc: Services = Depends(services)):
    ns = namespaces.find_namespace(svc.catalog, who.organization_id, namespace_identifier)
    if ns is None or not who.reaches(ns.namespace_id):
        raise not_found("namespace", namespace_identifier)
    namespaces.delete_namespace(svc, ns)
    return {"success": True, "namespace_id": ns.namespace_id, "message": "namespace deleted"}
