"""API keys as a resource: permissions and namespace scopes hold on every request, and revoking, rotating or
expiring a key changes what it can do on the very next request (no cache to wait out)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from warehouse.api.app import create_app
from warehouse.catalog import Catalog
from warehouse.catalog.api_keys import authenticate
from warehouse.catalog.bootstrap import ensure_api_key
from warehouse.ids import hash_api_key
from warehouse.services import Services
from warehouse.settings import Settings

pytestmark = [pytest.mark.ray]


def _as(live, key: str, namespace: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"}
    if namespace:
        headers["X-Namespace"] = namespace
    return httpx.Client(base_url=live.base_url, headers=headers, timeout=60)


def _create(admin: httpx.Client, **body) -> dict:
    resp = admin.post("/v1/organizations/api-keys", json={"name": "k-" + uuid.uuid4().hex[:8], **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_a_read_only_key_scoped_to_one_namespace(live):
    alpha, _ = live.new_namespace()
    beta, _ = live.new_namespace()
    with live.client() as admin:
        made = _create(admin, permissions=["read"], scopes=[{"resource_type": "namespace", "resource_id": alpha}])
    assert made["key"].startswith("sk_") and made["permissions"] == ["read"] and made["status"] == "active"
    assert made["key_hash"] == hash_api_key(made["key"])
    with _as(live, made["key"], alpha) as c:
        assert c.get("/v1/buckets").status_code == 200
        denied = c.post("/v1/buckets", json={"bucket_name": "nope"})
        assert denied.status_code == 403 and "'write'" in denied.json()["error"]["message"]
        assert c.post("/v1/organizations/api-keys", json={"name": "escalate"}).status_code == 403
        assert [n["namespace_name"] for n in c.get("/v1/namespaces").json()["results"]] == [alpha]
    with _as(live, made["key"], beta) as c:
        resp = c.get("/v1/buckets")
        assert resp.status_code == 404 and beta not in resp.json()["error"]["details"]["known_namespaces"]
    with live.client(alpha) as admin:
        assert admin.get("/v1/buckets").json()["total_count"] == 0  # the refused create stored nothing


def test_revoke_and_rotate_take_effect_on_the_next_request(live):
    ns, _ = live.new_namespace()
    with live.client() as admin:
        made = _create(admin, permissions=["write"])
        with _as(live, made["key"], ns) as c:
            assert c.post("/v1/buckets", json={"bucket_name": "b1"}).status_code == 200
            rotated = admin.post(f"/v1/organizations/api-keys/{made['name']}/rotate").json()
            old = c.get("/v1/buckets")
            assert old.status_code == 401 and "revoked" in old.json()["error"]["message"]
        with _as(live, rotated["key"], ns) as c:
            assert c.get("/v1/buckets").json()["total_count"] == 1
            assert admin.delete(f"/v1/organizations/api-keys/{rotated['key_id']}").json()["success"] is True
            assert c.get("/v1/buckets").status_code == 401
        names = [k["name"] for k in admin.get("/v1/organizations/api-keys").json()["results"]]
        assert made["name"] not in names
        revoked = admin.get("/v1/organizations/api-keys", params={"include_revoked": True}).json()["results"]
        assert sum(k["name"] == made["name"] and k["status"] == "revoked" for k in revoked) == 2


def test_an_expired_key_stops_working(live):
    ns, _ = live.new_namespace()
    with live.client() as admin:
        made = _create(admin, permissions=["read"])
        with _as(live, made["key"], ns) as c:
            assert c.get("/v1/buckets").status_code == 200
            past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
            assert admin.patch(f"/v1/organizations/api-keys/{made['key_id']}", json={"expires_at": past}).status_code == 200
            resp = c.get("/v1/buckets")
            assert resp.status_code == 401 and "expired" in resp.json()["error"]["message"]


@pytest.mark.parametrize("body, where", [
    ({"permissions": ["root"]}, "permissions"),
    ({"scopes": [{"resource_type": "bucket", "resource_id": "b"}]}, "scopes[0].resource_type"),
    ({"scopes": [{"resource_type": "namespace", "resource_id": "no-such-namespace"}]}, "scopes[0].resource_id"),
    ({"scopes": [{"resource_type": "namespace", "resource_id": "x", "operations": ["read_data"]}]}, "operations"),
    ({"rate_limit_override": 10}, "rate_limit_override"),
    ({"expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ({"colour": 1}, "colour"),
])
def test_bad_key_requests_name_the_field_and_store_nothing(live, body, where):
    with live.client() as admin:
        before = admin.get("/v1/organizations/api-keys").json()["total"]
        resp = admin.post("/v1/organizations/api-keys", json={"name": "bad-" + uuid.uuid4().hex[:6], **body})
        assert resp.status_code == 422, resp.text
        assert where in resp.text
        assert admin.get("/v1/organizations/api-keys").json()["total"] == before


def test_the_sdk_manages_keys(live):
    import mixpeek
    from mixpeek.models import APIKeyCreateRequest

    cfg = mixpeek.Configuration(host=live.base_url, access_token=live.key)
    with mixpeek.ApiClient(cfg) as client:
        api = mixpeek.OrganizationAPIKeysApi(client)
        name = "sdk-" + uuid.uuid4().hex[:6]
        made = api.create_key_organizations_users_email(
            "ops@example.com", APIKeyCreateRequest(name=name, permissions=["read"]))
        assert made.key.startswith("sk_") and made.user_id == "ops@example.com"
        listed = api.list_keys_organizations_users_email("ops@example.com")
        assert [k["name"] for k in listed["results"]] == [name]
        assert api.delete_key_organizations_users_email_name("ops@example.com", name).success is True
    with _as(live, made.key) as c:
        assert c.get("/v1/namespaces").status_code == 401


def test_the_last_admin_key_stays(tmp_path):
    settings = Settings(home=tmp_path, warm_batch_workers=False)
    svc = Services.from_settings(settings)
    try:
        bootstrap = ensure_api_key(svc.catalog, settings.organization_id)
        http = TestClient(create_app(settings, svc, resume=False))
        http.headers["Authorization"] = f"Bearer {bootstrap}"
        keys = http.get("/v1/organizations/api-keys").json()["results"]
        assert [k["permissions"] for k in keys] == [["admin"]]
        refused = http.delete(f"/v1/organizations/api-keys/{keys[0]['key_id']}")
        assert refused.status_code == 409 and "last active admin" in refused.json()["error"]["message"]
        other = http.post("/v1/organizations/api-keys", json={"name": "second-admin", "permissions": ["admin"]}).json()
        assert http.delete(f"/v1/organizations/api-keys/{keys[0]['key_id']}").status_code == 200
        assert http.get("/v1/organizations/api-keys").status_code == 401
        http.headers["Authorization"] = f"Bearer {other['key']}"
        assert [k["name"] for k in http.get("/v1/organizations/api-keys").json()["results"]] == ["second-admin"]
    finally:
        svc.close()


def test_a_catalog_from_before_key_permissions_opens_and_its_key_is_admin(tmp_path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = create_engine(url)
    with engine.begin() as conn:  # the api_keys table as the first release made it
        conn.execute(text("CREATE TABLE api_keys (key_id VARCHAR(64) PRIMARY KEY, key_hash VARCHAR(64) UNIQUE, "
                          "organization_id VARCHAR(64), name VARCHAR(255), prefix VARCHAR(16), "
                          "created_at DATETIME, updated_at DATETIME)"))
        conn.execute(text("INSERT INTO api_keys VALUES ('key_old', :h, 'org_a', 'bootstrap', 'sk_old', "
                          "'2026-01-01 00:00:00', '2026-01-01 00:00:00')"), {"h": hash_api_key("sk_old_secret")})
    engine.dispose()
    grant = authenticate(Catalog(url), "sk_old_secret")
    assert grant.organization_id == "org_a" and grant.allows("admin") and grant.namespaces is None


def test_a_keys_use_is_recorded(live):
    with live.client() as admin:
        made = _create(admin, permissions=["read"])
        assert made["last_used_at"] is None
        with _as(live, made["key"]) as c:
            assert c.get("/v1/namespaces").status_code == 200
        for _ in range(50):  # recorded off the request path, a moment later
            seen = admin.get(f"/v1/organizations/api-keys/{made['key_id']}").json()["last_used_at"]
            if seen:
                break
            time.sleep(0.1)
        assert seen is not None
