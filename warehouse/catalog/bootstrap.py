"""First-run set-up: an organisation's API key and a default namespace."""

from __future__ import annotations

import secrets

from sqlalchemy.exc import IntegrityError

from warehouse.catalog import ApiKey, Catalog, Namespace
from warehouse.ids import hash_api_key, new_id


def ensure_api_key(catalog: Catalog, organization_id: str, key: str | None = None, name: str = "bootstrap") -> str:
    """Register ``key`` (or a new random one) for the organisation; returns the plain key.

    Only the hash is stored, so a generated key is shown once, by the caller.
    """
    key = key or "sk_" + secrets.token_urlsafe(24)
    digest = hash_api_key(key)
    try:
        with catalog.session() as s:
            if s.query(ApiKey).filter(ApiKey.key_hash == digest).one_or_none() is None:
                s.add(ApiKey(key_id=new_id("key"), key_hash=digest, organization_id=organization_id, name=name,
                             prefix=key[:6]))
    except IntegrityError:  # another replica starting at the same moment registered it first: it is there
        pass
    return key


def ensure_namespace(catalog: Catalog, organization_id: str, name: str) -> Namespace:
    """The organisation's namespace ``name``, made when missing; replicas starting together make it once."""
    for _ in range(2):
        try:
            with catalog.session() as s:
                ns = s.query(Namespace).filter(Namespace.organization_id == organization_id,
                                               Namespace.namespace_name == name).one_or_none()
                if ns is None:
                    ns = Namespace(namespace_id=new_id("ns"), namespace_name=name, organization_id=organization_id,
                                   feature_extractors=[{"feature_extractor_name": "text_extractor", "version": "v1"}])
                    s.add(ns)
                return ns
        except IntegrityError:  # made by another replica between the read and the write: read it again
            continue
    raise RuntimeError(f"namespace {name!r} could not be made or read")
