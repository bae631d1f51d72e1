"""API keys: creating, listing, updating, rotating and revoking an organisation's keys, and authenticating one.

A key carries **permissions** — ``read``, ``write``, ``delete``, ``admin`` (``write`` and ``delete`` include
``read``; ``admin`` includes everything, managing keys among it) — and optional **namespace scopes**: a scoped
key reaches only those namespaces; everything else looks to it as if it did not exist. Keys are read from the
catalog on every request, so a revoked, expired or re-scoped key changes behaviour on the very next request,
in every process that serves the API. The bootstrap key (``warehouse up``) is an admin key, and the last
active admin key of an organisation cannot be revoked.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from warehouse.catalog.db import Catalog
from warehouse.catalog.models import ApiKey, Namespace
from warehouse.errors import WarehouseError, not_found
from warehouse.ids import hash_api_key, new_id

PERMISSIONS = ("read", "write", "delete", "admin")
_IMPLIES = {"read": {"read"}, "write": {"read", "write"}, "delete": {"read", "delete"},
            "admin": set(PERMISSIONS)}
ACTIVE, REVOKED, EXPIRED = "active", "revoked", "expired"
#: a key's last use is written at most this often (a write per request would serialise every request)
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class Grant:
    """What the key behind a request may do."""

    organization_id: str
    key_id: str
    name: str
    permissions: frozenset[str]
    namespaces: frozenset[str] | None  # None: every namespace of the organisation
    use_unrecorded: bool = False  # last_used_at is older than a minute: record this use (off the request path)

    def allows(self, permission: str) -> bool:
        return permission in self.permissions

    def reaches(self, namespace_id: str | None) -> bool:
        return self.namespaces is None or namespace_id in self.namespaces


def _granted(permissions: list[str] | None) -> frozenset[str]:
    return frozenset().union(*(_IMPLIES[p] for p in (permissions if permissions is not None else ["admin"])))


def status_of(key: ApiKey, now: datetime | None = None) -> str:
    if key.status == REVOKED:
        return REVOKED
    expires = key.expires_at
    if expires is not None:
        expires = expires if expires.tzinfo else expires.replace(tzinfo=UTC)
        if expires <= (now or datetime.now(UTC)):
            return EXPIRED
    return ACTIVE


def authenticate(catalog: Catalog, token: str, origin: str | None = None) -> Grant:
    """The grant of a bearer token; 401 for an unknown, revoked or expired key, 403 for a disallowed origin.
    Reads only: recording the use is :func:`record_use`, which a request need not wait for."""
    now = datetime.now(UTC)
    with catalog.session() as s:
        key = s.query(ApiKey).filter(ApiKey.key_hash == hash_api_key(token)).one_or_none()
        if key is None:
            raise WarehouseError(401, "invalid API key", {"key_prefix": token[:6] + "…"})
        state = status_of(key, now)
        if state != ACTIVE:
            raise WarehouseError(401, f"API key {key.name!r} is {state}; create or rotate a key "
                                 "(POST /v1/organizations/api-keys)", {"key_id": key.key_id, "status": state})
        if key.allowed_origins and origin is not None and origin not in key.allowed_origins:
            raise WarehouseError(403, f"API key {key.name!r} may not be used from origin {origin!r}",
                                 {"allowed_origins": key.allowed_origins})
        last = key.last_used_at
        due = last is None or (last if last.tzinfo else last.replace(tzinfo=UTC)) < now - _TOUCH_EVERY
        scopes = key.scopes
        return Grant(key.organization_id, key.key_id, key.name, _granted(key.permissions),
                     frozenset(sc["namespace_id"] for sc in scopes) if scopes else None, use_unrecorded=due)


def record_use(catalog: Catalog, key_id: str) -> None:
    """Note that a key was used now (``last_used_at``); callers run it off the request path."""
    with catalog.session() as s:
        key = s.get(ApiKey, key_id)
        if key is not None:
            key.last_used_at = datetime.now(UTC)


def check_permissions(permissions: Any) -> list[str]:
    if not isinstance(permissions, list) or not permissions or not all(p in PERMISSIONS for p in permissions):
        raise WarehouseError(422, f"permissions must be a non-empty list of {list(PERMISSIONS)}",
                             {"location": "permissions", "received": repr(permissions)[:200]})
    return sorted(set(permissions), key=PERMISSIONS.index)


def resolve_scopes(s: Session, organization_id: str, scopes: Any) -> list[dict[str, str]] | None:
    """``[{resource_type: "namespace", resource_id: id or name}]`` → stored scopes; None (or []) = unscoped."""
    if not scopes:
        return None
    out = []
    for i, scope in enumerate(scopes):
        where = f"scopes[{i}]"
        if scope.get("resource_type") != "namespace":
            raise WarehouseError(422, f"{where}.resource_type: keys are scoped to namespaces here "
                                 f"(got {scope.get('resource_type')!r}); use resource_type 'namespace'",
                                 {"location": f"{where}.resource_type"})
        if scope.get("operations"):
            raise WarehouseError(422, f"{where}.operations: per-operation scopes are not enforced by this server; "
                                 "bound what the key may do with permissions (read, write, delete, admin)",
                                 {"location": f"{where}.operations"})
        ident = scope.get("resource_id")
        ns = s.get(Namespace, ident)
        if ns is None or ns.organization_id != organization_id:
            ns = s.query(Namespace).filter(Namespace.organization_id == organization_id,
                                           Namespace.namespace_name == ident).one_or_none()
        if ns is None:
            raise WarehouseError(422, f"{where}.resource_id: namespace {ident!r} not found",
                                 {"location": f"{where}.resource_id"})
        out.append({"namespace_id": ns.namespace_id})
    return out


def find_key(s: Session, organization_id: str, identifier: str, user_email: str | None = None) -> ApiKey:
    """A key of the organisation by id or name (the newest of that name), optionally of one user."""
    key = s.get(ApiKey, identifier)
    if key is None or key.organization_id != organization_id:
        q = s.query(ApiKey).filter(ApiKey.organization_id == organization_id, ApiKey.name == identifier)
        key = q.order_by(ApiKey.created_at.desc()).first()
    if key is None or (user_email is not None and key.user_email != user_email):
        raise not_found("API key", identifier)
    return key


def _new_secret() -> str:
    return "sk_" + secrets.token_urlsafe(32)


def create_key(catalog: Catalog, organization_id: str, name: str, permissions: list[str] | None = None,
               scopes: list[dict] | None = None, description: str | None = None, user_email: str | None = None,
               expires_at: datetime | None = None, allowed_origins: list[str] | None = None) -> tuple[ApiKey, str]:
    """A new key (409 when an active key of that name exists); returns it and its secret, shown once."""
    perms = check_permissions(permissions if permissions is not None else ["read", "write", "delete"])
    if expires_at is not None and (expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=UTC)) <= datetime.now(UTC):
        raise WarehouseError(422, "expires_at is in the past", {"location": "expires_at"})
    plain = _new_secret()
    with catalog.session() as s:
        taken = [k for k in s.query(ApiKey).filter(ApiKey.organization_id == organization_id, ApiKey.name == name)
                 if status_of(k) == ACTIVE]
        if taken:
            raise WarehouseError(409, f"an active API key named {name!r} exists; rotate it or pick another name",
                                 {"key_id": taken[0].key_id})
        key = ApiKey(key_id=new_id("key"), key_hash=hash_api_key(plain), organization_id=organization_id, name=name,
                     prefix=plain[:8], user_email=user_email, description=description, permissions=perms,
                     scopes=resolve_scopes(s, organization_id, scopes), allowed_origins=allowed_origins or None,
                     status=ACTIVE, expires_at=expires_at)
        s.add(key)
    return key, plain


def list_keys(catalog: Catalog, organization_id: str, user_email: str | None = None,
              include_revoked: bool = False) -> list[ApiKey]:
    with catalog.session() as s:
        q = s.query(ApiKey).filter(ApiKey.organization_id == organization_id)
        if user_email is not None:
            q = q.filter(ApiKey.user_email == user_email)
        keys = q.order_by(ApiKey.created_at).all()
    return [k for k in keys if include_revoked or status_of(k) != REVOKED]


def update_key(catalog: Catalog, organization_id: str, identifier: str, changes: dict[str, Any],
               user_email: str | None = None) -> ApiKey:
    """Change a key's name, description, permissions, scopes, expiry, origins or status (``revoked`` revokes)."""
    if changes.get("status") == REVOKED:
        return revoke_key(catalog, organization_id, identifier, user_email)
    with catalog.session() as s:
        key = find_key(s, organization_id, identifier, user_email)
        if status_of(key) == REVOKED:
            raise WarehouseError(409, f"API key {key.name!r} is revoked; create a new one")
        if "permissions" in changes:
            perms = check_permissions(changes["permissions"])
            if "admin" not in perms:
                _keep_an_admin(s, organization_id, key)
            key.permissions = perms
        if "scopes" in changes:
            key.scopes = resolve_scopes(s, organization_id, changes["scopes"])
        for field in ("name", "description", "expires_at", "allowed_origins"):
            if field in changes:
                setattr(key, field, changes[field])
        if changes.get("status") == ACTIVE and key.expires_at is not None and status_of(key) == EXPIRED:
            raise WarehouseError(422, "the key has expired; set a later expires_at to use it again",
                                 {"location": "status"})
    return key


def _keep_an_admin(s: Session, organization_id: str, key: ApiKey) -> None:
    admins = [k for k in s.query(ApiKey).filter(ApiKey.organization_id == organization_id)
              if status_of(k) == ACTIVE and "admin" in _granted(k.permissions) and k.key_id != key.key_id]
    if not admins:
        raise WarehouseError(409, f"API key {key.name!r} is the organisation's last active admin key; create "
                             "another admin key first", {"key_id": key.key_id})


def revoke_key(catalog: Catalog, organization_id: str, identifier: str, user_email: str | None = None) -> ApiKey:
    """Revoke a key: requests with it fail from the next one on. The last active admin key cannot go."""
    with catalog.session() as s:
        key = find_key(s, organization_id, identifier, user_email)
        if status_of(key) == REVOKED:
            return key
        if "admin" in _granted(key.permissions):
            _keep_an_admin(s, organization_id, key)
        key.status, key.revoked_at = REVOKED, datetime.now(UTC)
    return key


def rotate_key(catalog: Catalog, organization_id: str, identifier: str,
               user_email: str | None = None) -> tuple[ApiKey, str]:
    """A new secret for a key (same name, permissions, scopes); the old secret stops working at once."""
    plain = _new_secret()
    with catalog.session() as s:
        old = find_key(s, organization_id, identifier, user_email)
        if status_of(old) == REVOKED:
            raise WarehouseError(409, f"API key {old.name!r} is revoked; create a new one")
        old.status, old.revoked_at = REVOKED, datetime.now(UTC)
        key = ApiKey(key_id=new_id("key"), key_hash=hash_api_key(plain), organization_id=organization_id,
                     name=old.name, prefix=plain[:8], user_email=old.user_email, description=old.description,
                     permissions=old.permissions, scopes=old.scopes, allowed_origins=old.allowed_origins,
                     status=ACTIVE, expires_at=old.expires_at)
        s.add(key)
    return key, plain
