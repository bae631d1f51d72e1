"""API key request bodies (the SDK's ``APIKeyCreateRequest`` / ``APIKeyUpdateRequest``)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from warehouse.api.schemas.common import Strict

Permission = Literal["read", "write", "delete", "admin"]


class ResourceScope(Strict):
    resource_type: str = Field(description="'namespace': the key reaches only this namespace (and the others listed).")
    resource_id: str = Field(description="The namespace's id or name.")
    operations: list[str] | None = Field(default=None, description="Not enforced here: use permissions instead.")


class CreateApiKeyRequest(Strict):
    name: str = Field(min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    permissions: list[Permission] | None = Field(
        default=None, description="read, write, delete, admin (default: read, write, delete).")
    scopes: list[ResourceScope] | None = Field(default=None, description="Namespaces the key may reach "
                                               "(default: all of the organisation's).")
    expires_at: datetime | None = Field(default=None, strict=False, description="ISO 8601 time after which the key stops working.")
    allowed_origins: list[str] | None = Field(default=None, description="Browser origins the key may be used from.")
    rate_limit_override: int | None = Field(default=None, description="Not supported here: refused when set.")
    principal_id: str | None = Field(default=None, description="Not supported here: refused when set.")


class UpdateApiKeyRequest(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    description: str | None = Field(default=None, max_length=500)
    permissions: list[Permission] | None = None
    scopes: list[ResourceScope] | None = None
    expires_at: datetime | None = Field(default=None, strict=False, description="ISO 8601 time after which the key stops working.")
    allowed_origins: list[str] | None = None
    status: Literal["active", "revoked"] | None = None
    rate_limit_override: int | None = Field(default=None, description="Not supported here: refused when set.")
