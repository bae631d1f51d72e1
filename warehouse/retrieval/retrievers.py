"""Saved retrievers: checking their stages and templates, resolving the collections they search, storing them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from warehouse.catalog import Collection, Retriever
from warehouse.catalog.lookups import get_collection, get_retriever
from warehouse.errors import WarehouseError
from warehouse.ids import new_id
from warehouse.retrieval.pipeline import check_templates, normalize_stage

if TYPE_CHECKING:  # annotations only: the domain receives the process's services, it never builds them
    from warehouse.services import Services


def resolve_collections(svc: Services, namespace_id: str, identifiers: list[str]) -> list[Collection]:
    """The collections a request searches, by id or name (remembered for 2 s, forgotten when one is deleted)."""
    key = (namespace_id, tuple(identifiers))
    found = svc.lookups.get("collections", key)
    if found is None:
        with svc.catalog.session() as s:
            found = svc.lookups.put("collections", key, [get_collection(s, namespace_id, i) for i in identifiers], ttl=2)
    return found


def stage_collections(stages: list[dict[str, Any]]) -> list[str]:
    """Collections that the stages name themselves (``collection_identifiers``, per search too)."""
    out = []
    for stage in stages:
        params = stage["config"].get("parameters") or {}
        out += params.get("collection_identifiers") or []
        for search in params.get("searches") or []:
            out += search.get("collection_identifiers") or []
    return out


def prepare(svc: Services, namespace_id: str, stages_raw: list, identifiers: list[str] | None,
            input_schema: dict | None = None, validate: bool = True) -> tuple[list[dict], list[Collection]]:
    """Stages in their normal form (checked, unless ``validate`` is off because the caller builds them next),
    their templates checked against ``input_schema``, and the collections they search."""
    stages = [normalize_stage(st, i, validate) for i, st in enumerate(stages_raw)]
    check_templates(stages, input_schema or {})
    identifiers = list(dict.fromkeys((identifiers or []) + stage_collections(stages)))
    if not identifiers:
        raise WarehouseError(422, "name the collections to search in collection_identifiers",
                             {"location": "collection_identifiers"})
    return stages, resolve_collections(svc, namespace_id, identifiers)


def create_retriever(svc: Services, namespace_id: str, retriever_name: str, stages_raw: list,
                     identifiers: list[str] | None, input_schema: dict[str, dict] | None = None,
                     description: str | None = None, metadata: dict | None = None,
                     tags: list[str] | None = None) -> Retriever:
    """Store a retriever (409 if the name is taken); its stages, templates and collections are checked first."""
    stages, collections = prepare(svc, namespace_id, stages_raw, identifiers, input_schema)
    with svc.catalog.session() as s:
        if s.query(Retriever).filter(Retriever.namespace_id == namespace_id,
                                     Retriever.retriever_name == retriever_name).count():
            raise WarehouseError(409, f"retriever {retriever_name!r} already exists in this namespace")
        r = Retriever(retriever_id=new_id("ret"), namespace_id=namespace_id, retriever_name=retriever_name,
                      description=description, collection_ids=[c.collection_id for c in collections], stages=stages,
                      input_schema=input_schema or {}, metadata_=metadata or {}, tags=tags or [])
        s.add(r)
    return r


def saved_retriever(svc: Services, namespace_id: str, identifier: str) -> tuple[Retriever, list[Collection]]:
    """A saved retriever and its collections; a 404 naming them when one was deleted since."""
    with svc.catalog.session() as s:
        r = get_retriever(s, namespace_id, identifier)
        found = {c.collection_id: c for c in s.query(Collection).filter(Collection.collection_id.in_(r.collection_ids))}
    missing = [cid for cid in r.collection_ids if cid not in found]
    if missing:
        raise WarehouseError(404, f"retriever {r.retriever_name!r} references deleted collection(s) {missing}",
                             {"retriever_id": r.retriever_id, "missing_collections": missing})
    return r, [found[cid] for cid in r.collection_ids]
