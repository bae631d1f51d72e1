"""Saved retrievers: checking their stages and templates, resolving the collections they search, storing them."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from sqlalchemy import func

from warehouse.catalog import Collection, Retriever, RetrieverVersion
from warehouse.catalog.lookups import get_collection, get_retriever
from warehouse.errors import WarehouseError, refuse_set
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


# Publishing (public pages, a marketplace, subscriptions) is the hosted platform's; a self-hosted warehouse has no
# public surface to publish to, so these are refused on create, update and clone instead of stored and ignored.
PUBLISHING_FIELDS = {
    key: "publishing is not part of a self-hosted warehouse; leave it out (share the retriever through the API "
         "and an API key scoped to its namespace)"
    for key in ("display_config", "visibility", "marketplace_listing_id", "requires_subscription")}

def refuse_publishing(fields: dict[str, Any]) -> None:
    """A 422 for a publishing option that asks for something: ``visibility: private`` and ``requires_subscription:
    false`` (what the SDK sends by default) are what every retriever here is, and pass."""
    refuse_set({"display_config": fields.get("display_config") or None,
                "visibility": None if fields.get("visibility") in (None, "private") else fields["visibility"],
                "marketplace_listing_id": fields.get("marketplace_listing_id"),
                "requires_subscription": fields.get("requires_subscription") or None}, PUBLISHING_FIELDS)


# What a version stores: the whole definition, so a rollback restores it exactly.
_DEFINITION = ("retriever_name", "description", "collection_ids", "stages", "input_schema", "metadata_", "tags",
               "budget_limits")


def check_budget(budget: dict | None) -> dict | None:
    """``budget_limits``: ``max_time_ms`` (the execution stops after the stage that crosses it and says so) and
    ``max_credits`` (a self-hosted execution costs no credits: any value >= 0 holds)."""
    if budget is None:
        return None
    unknown = sorted(set(budget) - {"max_time_ms", "max_credits"})
    if unknown:
        raise WarehouseError(422, f"budget_limits: unknown key(s) {unknown}; use max_time_ms, max_credits",
                             {"location": f"budget_limits.{unknown[0]}"})
    for key in ("max_time_ms", "max_credits"):
        value = budget.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
            raise WarehouseError(422, f"budget_limits.{key} must be a number >= 0", {"location": f"budget_limits.{key}"})
    return {k: v for k, v in budget.items() if v is not None}


def create_retriever(svc: Services, namespace_id: str, retriever_name: str, stages_raw: list,
                     identifiers: list[str] | None, input_schema: dict[str, dict] | None = None,
                     description: str | None = None, metadata: dict | None = None,
                     tags: list[str] | None = None, budget_limits: dict | None = None) -> Retriever:
    """Store a retriever at version 1 (409 if the name is taken); its stages, templates and collections are
    checked first."""
    budget_limits = check_budget(budget_limits)
    stages, collections = prepare(svc, namespace_id, stages_raw, identifiers, input_schema)
    with svc.catalog.session() as s:
        _check_name_free(s, namespace_id, retriever_name)
        r = Retriever(retriever_id=new_id("ret"), namespace_id=namespace_id, retriever_name=retriever_name,
                      description=description, collection_ids=[c.collection_id for c in collections], stages=stages,
                      input_schema=input_schema or {}, metadata_=metadata or {}, tags=tags or [],
                      budget_limits=budget_limits, version=1)
        s.add(r)
        _record_version(s, r, "created")
    return r


def _check_name_free(s, namespace_id: str, name: str) -> None:
    if s.query(Retriever).filter(Retriever.namespace_id == namespace_id, Retriever.retriever_name == name).count():
        raise WarehouseError(409, f"retriever {name!r} already exists in this namespace", {"location": "retriever_name"})


def _record_version(s, r: Retriever, change: str) -> None:
    s.add(RetrieverVersion(retriever_id=r.retriever_id, version=r.version or 1, namespace_id=r.namespace_id,
                           definition=_definition(r), change=change))


def _definition(r: Retriever) -> dict[str, Any]:
    return {k: getattr(r, k) for k in _DEFINITION}


def _schema_breaks(old: dict[str, dict], new: dict[str, dict]) -> list[str]:
    """Why ``new`` would break callers of ``old``: a field removed, its type changed, or newly required."""
    out = []
    for name, spec in old.items():
        if name not in new:
            out.append(f"input {name!r} is removed")
        elif new[name].get("type") != spec.get("type"):
            out.append(f"input {name!r} changes type {spec.get('type')!r} -> {new[name].get('type')!r}")
        elif new[name].get("required") and not spec.get("required"):
            out.append(f"input {name!r} becomes required")
    out += [f"new input {name!r} is required" for name, spec in new.items() if name not in old and spec.get("required")]
    return out


def update_retriever(svc: Services, namespace_id: str, identifier: str, fields: dict[str, Any]) -> Retriever:
    """Edit a retriever in place as a new version: rename, describe, re-tag, new metadata, new stages or
    collections (re-validated as on create), a non-breaking ``input_schema`` evolution. ``budget_limits`` and
    breaking schema changes are refused (clone instead: callers and taxonomies rely on this retriever)."""
    fields = {k: v for k, v in fields.items() if v is not None}
    if not fields:
        raise WarehouseError(400, "nothing to update: send at least one of retriever_name, description, tags, "
                             "metadata, collection_identifiers, stages, input_schema")
    refuse_publishing(fields)
    refuse_set(fields, {"budget_limits": "cannot change on an existing retriever (it changes how executions "
                                         "behave); clone it with POST /v1/retrievers/{id}/clone"})
    with svc.catalog.session() as s:
        current = get_retriever(s, namespace_id, identifier)
    schema = fields.get("input_schema", current.input_schema or {})
    breaks = _schema_breaks(current.input_schema or {}, schema)
    if breaks:
        raise WarehouseError(422, "input_schema: a breaking change (" + "; ".join(breaks) + "); add optional inputs "
                             "or defaults only, or clone the retriever for this change", {"location": "input_schema",
                                                                                          "breaking": breaks})
    stages, collections = current.stages, None
    if "stages" in fields or "collection_identifiers" in fields or "input_schema" in fields:
        ids = fields.get("collection_identifiers", current.collection_ids)
        stages, collections = prepare(svc, namespace_id, fields.get("stages", current.stages), ids, schema)
    with _new_version(svc, current.retriever_id, "updated " + ", ".join(sorted(fields))) as (s, r):
        name = fields.get("retriever_name")
        if name is not None and name != r.retriever_name:
            _check_name_free(s, namespace_id, name)
            r.retriever_name = name
        for key, attr in (("description", "description"), ("tags", "tags"), ("metadata", "metadata_"),
                          ("input_schema", "input_schema")):
            if key in fields:
                setattr(r, attr, fields[key])
        if collections is not None:
            r.stages, r.collection_ids = stages, [c.collection_id for c in collections]
    return r


@contextmanager
def _new_version(svc: Services, retriever_id: str, change: str) -> Iterator[tuple[Any, Retriever]]:
    """``(session, row)`` to edit a retriever in; the edit is stored as its next version when the block ends (and
    a row made before versions existed first gets its definition kept as the version it was)."""
    with svc.catalog.session() as s:
        r = s.get(Retriever, retriever_id)
        if r.version is None or not s.get(RetrieverVersion, (r.retriever_id, r.version)):
            _record_version(s, r, "stored before versions")
        yield s, r
        r.version = _next_version(s, retriever_id)
        _record_version(s, r, change)
        s.flush()
        s.expunge(r)


def _next_version(s, retriever_id: str) -> int:
    top = s.query(func.max(RetrieverVersion.version)).filter(RetrieverVersion.retriever_id == retriever_id).scalar()
    return (top or 0) + 1


def retriever_versions(svc: Services, namespace_id: str, identifier: str) -> tuple[Retriever, list[RetrieverVersion]]:
    """A retriever and its versions, oldest first (one synthesized from the row if it predates versions)."""
    with svc.catalog.session() as s:
        r = get_retriever(s, namespace_id, identifier)
        rows = (s.query(RetrieverVersion).filter(RetrieverVersion.retriever_id == r.retriever_id)
                .order_by(RetrieverVersion.version).all())
    if not rows:
        rows = [RetrieverVersion(retriever_id=r.retriever_id, version=r.version or 1, namespace_id=namespace_id,
                                 definition=_definition(r), change="stored before versions",
                                 created_at=r.updated_at)]
    return r, rows


def rollback_retriever(svc: Services, namespace_id: str, identifier: str, version: int) -> Retriever:
    """Make ``version``'s definition current again, as a new version (history is never rewritten). Its stages and
    collections are checked again: a version over a since-deleted collection cannot come back."""
    r, rows = retriever_versions(svc, namespace_id, identifier)
    target = next((v for v in rows if v.version == version), None)
    if target is None:
        raise WarehouseError(404, f"retriever {r.retriever_name!r} has no version {version}; versions: "
                             f"{[v.version for v in rows]}", {"location": "version"})
    d = target.definition
    stages, collections = prepare(svc, namespace_id, d["stages"], d["collection_ids"], d["input_schema"])
    with _new_version(svc, r.retriever_id, f"rolled back to version {version}") as (s, row):
        if d["retriever_name"] != row.retriever_name:
            _check_name_free(s, namespace_id, d["retriever_name"])
        for key in _DEFINITION:
            setattr(row, key, d.get(key))
        row.stages, row.collection_ids = stages, [c.collection_id for c in collections]
    return row


def clone_retriever(svc: Services, namespace_id: str, identifier: str, fields: dict[str, Any]) -> Retriever:
    """A new retriever (new id, version 1) from this one's current definition with ``fields`` overriding it —
    the way to make the changes an update refuses."""
    fields = {k: v for k, v in fields.items() if v is not None}
    refuse_publishing(fields)
    with svc.catalog.session() as s:
        src = get_retriever(s, namespace_id, identifier)
    if fields["retriever_name"] == src.retriever_name:
        raise WarehouseError(409, "a clone needs a name of its own", {"location": "retriever_name"})
    return create_retriever(
        svc, namespace_id, fields["retriever_name"], fields.get("stages", src.stages),
        fields.get("collection_identifiers", src.collection_ids), fields.get("input_schema", src.input_schema),
        fields.get("description", src.description), fields.get("metadata", src.metadata_),
        fields.get("tags", src.tags), fields.get("budget_limits", src.budget_limits))


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
