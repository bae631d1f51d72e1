"""Request dependencies: the services, the caller's organisation (API key), the namespace."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends, Request

from warehouse.catalog import ApiKey, Namespace
from warehouse.ids import hash_api_key
from warehouse.retrieval.errors import ApiError
from warehouse.retrieval.service import Services


def services(request: Request) -> Services:
    return request.app.state.services


@dataclass
class Caller:
    organization_id: str
    key_id: str


def caller(request: Request, svc: Services = Depends(services)) -> Caller:
    header = request.headers.get("authorization")
    if not header:
        raise ApiError(401, "missing Authorization header; send 'Authorization: Bearer <api key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise ApiError(401, "malformed Authorization header; the form is 'Bearer <api key>'")
    with svc.catalog.session() as s:
        key = s.query(ApiKey).filter(ApiKey.key_hash == hash_api_key(token.strip())).one_or_none()
    if key is None:
        raise ApiError(401, "invalid API key", {"key_prefix": token.strip()[:6] + "…"})
    return Caller(key.organization_id, key.key_id)


def find_namespace(svc: Services, org: str, identifier: str) -> Namespace | None:
    with svc.catalog.session() as s:
        ns = s.get(Namespace, identifier)
        if ns is not None and ns.organization_id == org:
            return ns
        return (
            s.query(Namespace)
            .filter(Namespace.organization_id == org, Namespace.namespace_name == identifier)
            .one_or_none()
        )


def namespace(request: Request, who: Caller = Depends(caller), svc: Services = Depends(services)) -> Namespace:
    ident = (
        request.headers.get("x-namespace")
        or request.headers.get("x-namespace-id")
        or request.query_params.get("namespace")
    )
    if not ident:
        raise ApiError(
            400, "missing X-Namespace header; send 'X-Namespace: <namespace id or name>'",
            {"header": "X-Namespace"},
        )
    ns = find_namespace(svc, who.organization_id, ident.strip())
    if ns is None:
        with svc.catalog.session() as s:
            known = [n.namespace_name for n in s.query(Namespace).filter(Namespace.organization_id == who.organization_id)]
        raise ApiError(404, f"namespace {ident!r} not found", {"header": "X-Namespace", "known_namespaces": known[:20]})
    return ns
