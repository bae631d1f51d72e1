"""Request dependencies: the services, the caller's grant (API key), the namespace.

Every authenticated request reads its key from the catalog (one indexed lookup), so revoking, expiring or
re-scoping a key takes effect on the next request in every API process. The key's permissions are checked
here against what the route needs (:func:`required_permission`), and a namespace-scoped key sees only its
namespaces: any other looks to it as if it did not exist (404). Namespace lookups are cached for 2 s and
forgotten at once when a namespace is deleted.

They are ``async`` so FastAPI calls them on the event loop instead of handing each to the thread pool.
"""

from __future__ import annotations

import asyncio

from fastapi import Depends, Request

from warehouse.catalog import Namespace
from warehouse.catalog.api_keys import Grant, authenticate, record_use
from warehouse.catalog.namespaces import find_namespace
from warehouse.errors import WarehouseError
from warehouse.services import Services

#: POST routes that only read (list, execute a retriever, explain); enrichment "execute" writes, so not those
_READING_POSTS = ("/list", "/execute", "/execute/batch", "/execute/explain", "/explain", "/versions")
_WRITING_EXECUTES = ("/v1/taxonomies", "/v1/clusters", "/v1/alerts", "/v1/collections/{collection_identifier}/trigger")
#: organisation-wide routes: looking needs read, changing needs admin
_ORGANISATION = ("/v1/organizations/", "/v1/webhooks", "/v1/namespaces")


def required_permission(method: str, path: str) -> str:
    """What a route needs: ``read`` to look, ``write`` to change, ``delete`` to delete, ``admin`` to change the
    organisation's keys, webhooks and namespaces. ``path`` is the route's template (``/v1/buckets/{bucket}``)."""
    reading = method in ("GET", "HEAD", "OPTIONS") or (
        method == "POST" and path.endswith(_READING_POSTS)
        and not (path.startswith(_WRITING_EXECUTES) and path.endswith("/execute")))
    if "/api-keys" in path:
        return "admin"
    if path.startswith(_ORGANISATION):
        return "read" if reading else "admin"
    if reading:
        return "read"
    return "delete" if method == "DELETE" else "write"


async def services(request: Request) -> Services:
    return request.app.state.services


async def caller(request: Request, svc: Services = Depends(services)) -> Grant:
    header = request.headers.get("authorization")
    if not header:
        raise WarehouseError(401, "missing Authorization header; send 'Authorization: Bearer <api key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WarehouseError(401, "malformed Authorization header; the form is 'Bearer <api key>'")
    grant = authenticate(svc.catalog, token.strip(), request.headers.get("origin"))
    if grant.use_unrecorded:  # a write: never on the event loop, never waited for
        asyncio.get_running_loop().run_in_executor(None, record_use, svc.catalog, grant.key_id)
    route = request.scope.get("route")
    needed = required_permission(request.method, getattr(route, "path", request.url.path))
    if not grant.allows(needed):
        raise WarehouseError(403, f"API key {grant.name!r} lacks the {needed!r} permission for "
                             f"{request.method} {getattr(route, 'path', request.url.path)}",
                             {"needed": needed, "granted": sorted(grant.permissions)})
    return grant


async def namespace(request: Request, who: Grant = Depends(caller), svc: Services = Depends(services)) -> Namespace:
    ident = (
        request.headers.get("x-namespace")
        or request.headers.get("x-namespace-id")
        or request.query_params.get("namespace")
    )
    if not ident:
        raise WarehouseError(
            400, "missing X-Namespace header; send 'X-Namespace: <namespace id or name>'",
            {"header": "X-Namespace"},
        )
    ident = ident.strip()
    ns = svc.lookups.get("namespace", (who.organization_id, ident))
    if ns is None:
        ns = find_namespace(svc.catalog, who.organization_id, ident)
        if ns is not None:
            svc.lookups.put("namespace", (who.organization_id, ident), ns, ttl=2)
    if ns is None or not who.reaches(ns.namespace_id):  # out of a scoped key's reach: as if it did not exist
        with svc.catalog.session() as s:
            known = [n.namespace_name for n in s.query(Namespace).filter(Namespace.organization_id == who.organization_id)
                     if who.reaches(n.namespace_id)]
        raise WarehouseError(404, f"namespace {ident!r} not found", {"header": "X-Namespace", "known_namespaces": known[:20]})
    return ns
