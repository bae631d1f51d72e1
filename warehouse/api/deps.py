"""Request dependencies: the services, the caller's organisation (API key), the namespace.

They are ``async`` so FastAPI calls them on the event loop instead of handing each to the thread
pool (a hop that costs more than the lookup). Lookups go through :class:`LookupCache`: an API key is
re-read after 30 s, a namespace after 2 s or at once when it is deleted.
"""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from warehouse.catalog import ApiKey, Namespace
from warehouse.catalog.namespaces import find_namespace
from warehouse.errors import WarehouseError
from warehouse.ids import hash_api_key
from warehouse.services import Services


async def services(request: Request) -> Services:
    return request.app.state.services


@dataclass
class Caller:
    organization_id: str
    key_id: str


async def caller(request: Request, svc: Services = Depends(services)) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise WarehouseError(401, "missing Authorization header; send 'Authorization: Bearer <api key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise WarehouseError(401, "malformed Authorization header; the form is 'Bearer <api key>'")
    digest = hash_api_key(token.strip())
    found = svc.lookups.get("key", digest)
    if found is None:
        with svc.catalog.session() as s:
            key = s.query(ApiKey).filter(ApiKey.key_hash == digest).one_or_none()
        if key is None:
            raise WarehouseError(401, "invalid API key", {"key_prefix": token.strip()[:6] + "…"})
        found = svc.lookups.put("key", digest, Caller(key.organization_id, key.key_id), ttl=30)
    return found


async def namespace(request: Request, who: Caller = Depends(caller), svc: Services = Depends(services)) -> Namespace:
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
    if ns is None:
        with svc.catalog.session() as s:
            known = [n.namespace_name for n in s.query(Namespace).filter(Namespace.organization_id == who.organization_id)]
        raise WarehouseError(404, f"namespace {ident!r} not found", {"header": "X-Namespace", "known_namespaces": known[:20]})
    return ns
