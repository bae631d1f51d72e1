"""What the route modules share beyond the domain: a body's fields, a collection by id or name, one page of
definitions as ``listing`` JSON."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from warehouse.api.views import listing
from warehouse.catalog import Catalog, Collection, Namespace
from warehouse.catalog.lookups import get_collection
from warehouse.catalog.paging import page_args


def fields(body: BaseModel | None) -> dict[str, Any]:
    """The keys the caller sent (explicit nulls included), for the domain's shape checks; ``{}`` for no body."""
    return body.model_dump(exclude_unset=True) if body is not None else {}


def collection_in(catalog: Catalog, ns: Namespace, identifier: str) -> Collection:
    """The namespace's collection by id or name (404 naming it otherwise), read in a session of its own."""
    with catalog.session() as s:
        return get_collection(s, ns.namespace_id, identifier)


def list_page(catalog: Catalog, namespace_id: str, model, name_column, view, limit, offset,
              search: str | None = None) -> dict:
    """One page of a namespace's definitions (taxonomies, clusters, alerts) as ``listing`` JSON;
    ``view(session, row)`` renders each row inside the session."""
    limit, offset = page_args(limit, offset)
    with catalog.session() as s:
        q = s.query(model).filter(model.namespace_id == namespace_id)
        if search:
            q = q.filter(name_column.contains(search))
        total = q.count()
        rows = [view(s, r) for r in q.order_by(model.created_at).offset(offset).limit(limit)]
    return listing(rows, total, limit, offset)
