"""``/v1/namespaces``: tenant isolation boundaries (one index collection each)."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from sqlalchemy import func

from warehouse.api.deps import Caller, caller, find_namespace, services
from warehouse.api.schemas import CreateNamespaceRequest, ListRequest
from warehouse.api.views import listing, namespace_view
from warehouse.catalog import Batch, Bucket, Collection, Namespace, Object, Retriever, Task
from warehouse.catalog.batches import ACTIVE
from warehouse.errors import WarehouseError, not_found
from warehouse.ids import new_id
from warehouse.services import Services

router = APIRouter(prefix="/v1/namespaces", tags=["namespaces"])


def counts(svc: Services, ns: Namespace) -> dict[str, int]:
    with svc.catalog.session() as s:
        return {
            "buckets": s.query(func.count(Bucket.bucket_id)).filter(Bucket.namespace_id == ns.namespace_id).scalar(),
            "collections": s.query(func.count(Collection.collection_id)).filter(Collection.namespace_id == ns.namespace_id).scalar(),
            "objects": s.query(func.count(Object.object_id)).filter(Object.namespace_id == ns.namespace_id).scalar(),
            "documents": svc.index.count(ns.namespace_id),
        }


def create_namespace(svc: Services, org: str, body: CreateNamespaceRequest) -> Namespace:
    for fe in body.feature_extractors or []:
        try:
            svc.registry.get(fe.feature_extractor_name, fe.version)
        except LookupError as exc:
            raise WarehouseError(422, str(exc), {"location": "feature_extractors"}) from exc
    with svc.catalog.session() as s:
        clash = s.query(Namespace).filter(Namespace.organization_id == org,
                                          Namespace.namespace_name == body.namespace_name).one_or_none()
        if clash is not None:
            raise WarehouseError(409, f"namespace {body.namespace_name!r} already exists", {"namespace_id": clash.namespace_id})
        ns = Namespace(
            namespace_id=body.namespace_id or new_id("ns"), namespace_name=body.namespace_name, organization_id=org,
            description=body.description,
            feature_extractors=[fe.model_dump(exclude_none=True) for fe in body.feature_extractors or []],
            payload_indexes=normalize_payload_indexes(body.payload_indexes or []),
        )
        s.add(ns)
    return ns


_INDEX_TYPES = {"keyword": "keyword", "string": "keyword", "integer": "integer", "int": "integer",
                "float": "float", "number": "float", "bool": "bool", "boolean": "bool", "text": "text",
                "datetime": "datetime", "date": "datetime"}


def normalize_payload_indexes(items: list) -> list[dict[str, str]]:
    """``[{field_name, type}]`` (also ``field``/``field_schema``/``schema``), types checked; 422 otherwise."""
    out = []
    for i, item in enumerate(items):
        where = f"payload_indexes[{i}]"
        if not isinstance(item, dict):
            raise WarehouseError(422, f"{where}: expected {{field_name, type}}, got {type(item).__name__}", {"location": where})
        unknown = sorted(set(item) - {"field_name", "field", "type", "field_schema", "schema"})
        if unknown:
            raise WarehouseError(422, f"{where}: unknown key(s) {unknown}; expected field_name and type", {"location": where})
        field = item.get("field_name") or item.get("field")
        kind = item.get("type") or item.get("field_schema") or item.get("schema")
        if not isinstance(field, str) or not field:
            raise WarehouseError(422, f"{where}: field_name is required", {"location": where})
        if kind not in _INDEX_TYPES:
            raise WarehouseError(422, f"{where}: type {kind!r} is not one of {sorted(set(_INDEX_TYPES.values()))}",
                           {"location": where})
        out.append({"field_name": field, "type": _INDEX_TYPES[kind]})
    return out


@router.post("", summary="Create a namespace")
def create(body: CreateNamespaceRequest, who: Caller = Depends(caller), svc: Services = Depends(services)):
    ns = create_namespace(svc, who.organization_id, body)
    return namespace_view(ns, svc.registry)


@router.get("", summary="List namespaces")
def list_get(limit: int | None = Query(None, ge=1, le=1000), offset: int | None = Query(None, ge=0),
             who: Caller = Depends(caller), svc: Services = Depends(services)):
    return _list(svc, who, ListRequest(limit=limit, offset=offset))


@router.post("/list", summary="List namespaces")
def list_post(body: ListRequest | None = None, who: Caller = Depends(caller), svc: Services = Depends(services)):
    return _list(svc, who, body or ListRequest())


def _list(svc: Services, who: Caller, body: ListRequest):
    limit, offset = body.limit or 50, body.offset or 0
    with svc.catalog.session() as s:
        q = s.query(Namespace).filter(Namespace.organization_id == who.organization_id)
        if body.search:
            q = q.filter(Namespace.namespace_name.contains(body.search))
        total = q.count()
        rows = q.order_by(Namespace.created_at).offset(offset).limit(limit).all()
    return listing([namespace_view(n, svc.registry) for n in rows], total, limit, offset)


@router.get("/{namespace_identifier}", summary="Get a namespace by id or name")
def get(namespace_identifier: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    ns = find_namespace(svc, who.organization_id, namespace_identifier)
    if ns is None:
        raise not_found("namespace", namespace_identifier)
    return namespace_view(ns, svc.registry, counts(svc, ns))


@router.delete("/{namespace_identifier}", summary="Delete a namespace and everything in it")
def delete(namespace_identifier: str, who: Caller = Depends(caller), svc: Services = Depends(services)):
    ns = find_namespace(svc, who.organization_id, namespace_identifier)
    if ns is None:
        raise not_found("namespace", namespace_identifier)
    with svc.catalog.session() as s:
        busy = s.query(Batch).filter(Batch.namespace_id == ns.namespace_id,
                                     Batch.status.in_(ACTIVE)).count()
        if busy:
            raise WarehouseError(409, f"namespace has {busy} batch(es) in progress; cancel them first")
        for model in (Retriever, Batch, Task, Object, Collection, Bucket):
            s.query(model).filter(model.namespace_id == ns.namespace_id).delete()
        s.query(Namespace).filter(Namespace.namespace_id == ns.namespace_id).delete()
    svc.lookups.forget("namespace")
    svc.lookups.forget("collections")
    svc.index.drop_namespace(ns.namespace_id)
    svc.objects.delete_prefix(f"{ns.namespace_id}/")
    return {"success": True, "namespace_id": ns.namespace_id, "message": "namespace deleted"}
