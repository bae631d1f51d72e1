"""API keys: ``/v1/organizations/api-keys`` and the SDK's per-user form
``/v1/organizations/users/{user_email}/api-keys`` — create (the secret is shown once), list, get, update,
rotate, revoke. Managing keys needs the ``admin`` permission."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from warehouse.api.deps import caller, services
from warehouse.api.routes.common import fields
from warehouse.api.schemas import CreateApiKeyRequest, UpdateApiKeyRequest
from warehouse.api.views import _ts
from warehouse.catalog import ApiKey, api_keys
from warehouse.catalog.api_keys import Grant
from warehouse.errors import WarehouseError
from warehouse.services import Services

router = APIRouter(tags=["api-keys"])
ORG = "/v1/organizations/api-keys"
USER = "/v1/organizations/users/{user_email}/api-keys"
#: accepted by the SDK's request models but not implemented here: refused with the reason (never dropped)
_UNSUPPORTED = {"rate_limit_override": "per-key rate limits are not enforced by this server",
                "principal_id": "keys belong to the organisation (or a user_email); principals are not modelled"}


def key_view(k: ApiKey, secret: str | None = None) -> dict[str, Any]:
    """The SDK's ``APIKeyModel`` (``APIKeyCreateResponse`` with ``key`` when the secret is shown)."""
    out = {
        "key_id": k.key_id, "key_hash": k.key_hash, "key_prefix": k.prefix, "key_type": "standard",
        "is_internal": False, "internal_id": k.key_id, "organization_id": k.organization_id,
        "user_id": k.user_email or "organization", "name": k.name, "description": k.description,
        "permissions": k.permissions if k.permissions is not None else ["admin"],
        "scopes": [{"resource_type": "namespace", "resource_id": sc["namespace_id"], "operations": None}
                   for sc in k.scopes or []],
        "rate_limit_override": None, "status": api_keys.status_of(k), "expires_at": _ts(k.expires_at),
        "last_used_at": _ts(k.last_used_at), "created_at": _ts(k.created_at), "created_by": None,
        "revoked_at": _ts(k.revoked_at), "revoked_by": None, "allowed_origins": k.allowed_origins or [],
        "principal_id": None,
    }
    if secret is not None:
        out["key"] = secret
    return out


def _refuse_unsupported(body: dict[str, Any]) -> None:
    for key, why in _UNSUPPORTED.items():
        if body.get(key) is not None:
            raise WarehouseError(422, f"{key}: {why}; leave it out", {"location": key})


@router.post(ORG, summary="Create an API key (its secret is shown once)")
@router.post(USER, summary="Create an API key for a user (its secret is shown once)")
def create_key(body: CreateApiKeyRequest, user_email: str | None = None, who: Grant = Depends(caller),
               svc: Services = Depends(services)):
    raw = fields(body)
    _refuse_unsupported(raw)
    key, secret = api_keys.create_key(svc.catalog, who.organization_id, body.name, body.permissions, raw.get("scopes"),
                                      body.description, user_email, body.expires_at, body.allowed_origins)
    return key_view(key, secret)


@router.get(ORG, summary="List API keys")
@router.get(USER, summary="List a user's API keys")
def list_keys(user_email: str | None = None, include_revoked: bool = Query(False), who: Grant = Depends(caller),
              svc: Services = Depends(services)):
    keys = api_keys.list_keys(svc.catalog, who.organization_id, user_email, include_revoked)
    return {"results": [key_view(k) for k in keys], "total": len(keys)}


@router.get(ORG + "/{key_name}", summary="Get an API key (by id or name)")
@router.get(USER + "/{key_name}", summary="Get a user's API key (by id or name)")
def get_key(key_name: str, user_email: str | None = None, who: Grant = Depends(caller),
            svc: Services = Depends(services)):
    with svc.catalog.session() as s:
        return key_view(api_keys.find_key(s, who.organization_id, key_name, user_email))


@router.patch(ORG + "/{key_name}", summary="Update an API key (status 'revoked' revokes it)")
@router.patch(USER + "/{key_name}", summary="Update a user's API key (status 'revoked' revokes it)")
def update_key(key_name: str, body: UpdateApiKeyRequest, user_email: str | None = None,
               who: Grant = Depends(caller), svc: Services = Depends(services)):
    changes = fields(body)
    _refuse_unsupported(changes)
    return key_view(api_keys.update_key(svc.catalog, who.organization_id, key_name, changes, user_email))


@router.post(ORG + "/{key_name}/rotate", summary="Rotate an API key: a new secret, the old one stops at once")
@router.post(USER + "/{key_name}/rotate", summary="Rotate a user's API key")
def rotate_key(key_name: str, user_email: str | None = None, who: Grant = Depends(caller),
               svc: Services = Depends(services)):
    key, secret = api_keys.rotate_key(svc.catalog, who.organization_id, key_name, user_email)
    return key_view(key, secret)


@router.delete(ORG + "/{key_name}", summary="Revoke an API key (effective on the next request)")
@router.delete(USER + "/{key_name}", summary="Revoke a user's API key (effective on the next request)")
def revoke_key(key_name: str, user_email: str | None = None, who: Grant = Depends(caller),
               svc: Services = Depends(services)):
    key = api_keys.revoke_key(svc.catalog, who.organization_id, key_name, user_email)
    return {"success": True, "message": f"API key {key.name!r} revoked", "key_id": key.key_id}
