"""The error envelope: an unknown key is named with where it was and which keys that place accepts, at any
depth, and nothing is stored."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from warehouse.api.app import create_app
from warehouse.catalog.bootstrap import ensure_api_key, ensure_namespace
from warehouse.services import Services
from warehouse.settings import Settings


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(home=tmp_path_factory.mktemp("errors"), warm_batch_workers=False)
    svc = Services.from_settings(settings)
    key = ensure_api_key(svc.catalog, settings.organization_id)
    ensure_namespace(svc.catalog, settings.organization_id, "default")
    http = TestClient(create_app(settings, svc, resume=False))  # no lifespan: no model warm-up needed here
    http.headers.update({"Authorization": f"Bearer {key}", "X-Namespace": "default"})
    yield http
    svc.close()


def _error(resp) -> dict:
    assert resp.status_code == 422, resp.text
    body = resp.json()
    assert body["success"] is False and body["error"]["type"] == "ValidationError"
    return body["error"]


def test_an_unknown_top_level_key_lists_the_accepted_ones(client):
    err = _error(client.post("/v1/taxonomies", json={"taxonomy_name": "x", "colour": 1}))
    assert err["message"].startswith("unknown key 'colour' at colour; allowed: [")
    problem = err["details"]["errors"][0]
    assert problem["location"] == "colour" and "taxonomy_name" in problem["allowed"] and "config" in problem["allowed"]
    assert client.get("/v1/taxonomies").json()["total_count"] == 0


def test_an_unknown_nested_key_lists_the_keys_of_its_own_level(client):
    body = {"bucket_name": "b", "bucket_schema": {"properties": {"content": {"type": "text", "colour": 1}}}}
    err = _error(client.post("/v1/buckets", json=body))
    problem = err["details"]["errors"][0]
    assert problem["location"] == "bucket_schema.properties.content.colour"
    assert {"type", "required", "description"} <= set(problem["allowed"]) and "bucket_name" not in problem["allowed"]
    assert client.get("/v1/buckets").json()["total_count"] == 0


def test_hints_still_say_where_a_misplaced_key_belongs(client):
    err = _error(client.post("/v1/buckets/nope/batches", json={"collection_id": "c"}))
    assert "unknown key 'collection_id'" in err["message"] and "collection_ids" in err["message"]


@pytest.mark.parametrize("passthrough", [
    [{"source_path": "owner", "target_path": "collection_id"}],
    ["collection_id"],
    [{"source_path": "owner", "target_path": "_internal.lineage"}],
    [{"source_path": "owner", "target_path": "text"}],
])
def test_passthrough_cannot_write_a_system_field(client, passthrough):
    bucket = client.post("/v1/buckets", json={"bucket_name": "pt-" + str(abs(hash(str(passthrough)))), "bucket_schema": {
        "properties": {"content": {"type": "text"}, "owner": {"type": "string"},
                       "collection_id": {"type": "string"}}}}).json()
    body = {"collection_name": "pt", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "content"}, "field_passthrough": passthrough}}
    resp = client.post("/v1/collections", json=body)
    assert resp.status_code == 422, resp.text
    assert resp.json()["error"]["details"]["location"] == "feature_extractor.field_passthrough[0].target_path"
    assert client.get("/v1/collections").json()["total_count"] == 0
    ok = {**body, "feature_extractor": {**body["feature_extractor"],
                                        "field_passthrough": [{"source_path": "owner", "target_path": "owner"}]}}
    created = client.post("/v1/collections", json={**ok, "collection_name": "pt-ok-" + bucket["bucket_id"]})
    assert created.status_code == 200, created.text
    client.delete(f"/v1/collections/{created.json()['collection_id']}")
