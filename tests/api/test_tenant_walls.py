"""Two organisations on one server: every resource kind, by id and by name, read / list / update / delete /
execute / search across the wall answers 404 — as if it did not exist — and changes nothing."""

from __future__ import annotations

import uuid

import httpx
import pytest

from tests.api.seeding import seed_namespace
from warehouse.catalog.bootstrap import ensure_api_key

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _client(live, key: str, namespace: str | None = None) -> httpx.Client:
    headers = {"Authorization": f"Bearer {key}"}
    if namespace:
        headers["X-Namespace"] = namespace
    return httpx.Client(base_url=live.base_url, headers=headers, timeout=60)


@pytest.fixture(scope="module")
def walls(live):
    """Organisation A's namespace with one of every resource; organisation B with a namespace of its own."""
    tag = uuid.uuid4().hex[:6]
    ns_a, a = live.new_namespace()
    made = seed_namespace(a, tag)
    bucket, obj, coll, state, doc = made["bucket"], made["object"], made["collection"], made["batch"], made["document"]
    batch, retriever, alert = state, made["retriever"], made["alert"]
    taxonomy, cluster = made["taxonomy"], made["cluster"]
    with live.client() as admin_a:
        hook = admin_a.post("/v1/organizations/webhooks", json={"webhook_name": f"hook-{tag}", "events": ["*"],
                                                                "url": "http://127.0.0.1:9/hook"}).json()  # loopback: allowed on the test server, nothing listens
    key_b = ensure_api_key(live.services.catalog, f"org_b_{tag}")
    with _client(live, key_b) as b_admin:
        ns_b = b_admin.post("/v1/namespaces", json={"namespace_name": f"b-{tag}"}).json()
    ids = {"namespace": (a.get("/v1/namespaces/" + ns_a).json()["namespace_id"], ns_a),
           "bucket": (bucket["bucket_id"], bucket["bucket_name"]), "object": (obj["object_id"], None),
           "collection": (coll["collection_id"], coll["collection_name"]), "batch": (batch["batch_id"], None),
           "task": (state["task_id"], None), "document": (doc["document_id"], None),
           "retriever": (retriever["retriever_id"], retriever["retriever_name"]),
           "alert": (alert["alert_id"], alert["alert_name"]), "webhook": (hook["webhook_id"], hook["webhook_name"]),
           "taxonomy": (taxonomy["taxonomy_id"], taxonomy["taxonomy_name"]),
           "cluster": (cluster["cluster_id"], cluster["cluster_name"])}
    yield live, a, key_b, ns_b["namespace_id"], ids
    with live.client() as admin_a:  # the webhook is organisation-wide: other tests list the organisation's
        admin_a.delete(f"/v1/organizations/webhooks/{hook['webhook_id']}")
    a.close()


def _calls(ids: dict) -> list[tuple[str, str, dict | None]]:
    """(method, path, body) of every read / list / update / delete / execute / search B could aim at A's things."""
    out = []
    ns = ids["namespace"]
    for ident in ns:
        out += [("GET", f"/v1/namespaces/{ident}", None), ("DELETE", f"/v1/namespaces/{ident}", None)]
    for ident in filter(None, ids["bucket"]):
        out += [("GET", f"/v1/buckets/{ident}", None), ("DELETE", f"/v1/buckets/{ident}", None),
                ("GET", f"/v1/buckets/{ident}/objects", None), ("POST", f"/v1/buckets/{ident}/objects/list", {}),
                ("POST", f"/v1/buckets/{ident}/objects", {"blobs": [{"property": "content", "type": "text",
                                                                      "data": "x"}]}),
                ("POST", f"/v1/buckets/{ident}/batches", {}), ("POST", f"/v1/buckets/{ident}/batches/list", {}),
                ("GET", f"/v1/buckets/{ident}/objects/{ids['object'][0]}", None),
                ("DELETE", f"/v1/buckets/{ident}/objects/{ids['object'][0]}", None),
                ("GET", f"/v1/buckets/{ident}/batches/{ids['batch'][0]}", None)]
    for ident in filter(None, ids["collection"]):
        out += [("GET", f"/v1/collections/{ident}", None), ("DELETE", f"/v1/collections/{ident}", None),
                ("POST", f"/v1/collections/{ident}/trigger", {}),
                ("POST", f"/v1/collections/{ident}/documents/list", {}),
                ("GET", f"/v1/collections/{ident}/documents/{ids['document'][0]}", None)]
    for ident in filter(None, ids["retriever"]):
        out += [("GET", f"/v1/retrievers/{ident}", None), ("DELETE", f"/v1/retrievers/{ident}", None),
                ("POST", f"/v1/retrievers/{ident}/execute", {"inputs": {"query": "glacier"}}),
                ("POST", f"/v1/retrievers/{ident}/execute/explain", {"inputs": {"query": "glacier"}})]
    for ident in filter(None, ids["alert"]):
        out += [("GET", f"/v1/alerts/{ident}", None), ("PATCH", f"/v1/alerts/{ident}", {"description": "mine"}),
                ("DELETE", f"/v1/alerts/{ident}", None), ("POST", f"/v1/alerts/{ident}/execute", {})]
    for ident in filter(None, ids["webhook"]):
        out += [("GET", f"/v1/organizations/webhooks/{ident}", None),
                ("PUT", f"/v1/organizations/webhooks/{ident}", {"webhook_name": "mine"}),
                ("DELETE", f"/v1/organizations/webhooks/{ident}", None),
                ("POST", f"/v1/organizations/webhooks/{ident}/test", None)]
    for ident in filter(None, ids["taxonomy"]):
        out += [("GET", f"/v1/taxonomies/{ident}", None), ("PATCH", f"/v1/taxonomies/{ident}", {"description": "mine"}),
                ("GET", f"/v1/taxonomies/{ident}/versions", None), ("DELETE", f"/v1/taxonomies/{ident}", None),
                ("POST", f"/v1/taxonomies/{ident}/execute", {"documents": [{"text": "glacier"}]}),
                ("POST", f"/v1/collections/{ids['collection'][0]}/apply-taxonomy", {"taxonomy_id": ident})]
    for ident in filter(None, ids["cluster"]):
        out += [("GET", f"/v1/clusters/{ident}", None), ("PATCH", f"/v1/clusters/{ident}", {"description": "mine"}),
                ("POST", f"/v1/clusters/{ident}/execute", {}), ("GET", f"/v1/clusters/{ident}/executions", None),
                ("GET", f"/v1/clusters/{ident}/groups", None), ("GET", f"/v1/clusters/{ident}/visualization", None),
                ("DELETE", f"/v1/clusters/{ident}", None)]
    out += [("GET", f"/v1/batches/{ids['batch'][0]}", None), ("POST", f"/v1/batches/{ids['batch'][0]}/cancel", None),
            ("GET", f"/v1/tasks/{ids['task'][0]}", None), ("GET", f"/v1/documents/{ids['document'][0]}", None),
            ("GET", f"/v1/documents/{ids['document'][0]}/lineage", None),
            ("GET", f"/v1/objects/{ids['object'][0]}/documents", None)]
    return out


def test_every_call_across_the_wall_is_a_404(walls):
    live, a, key_b, ns_b, ids = walls
    leaks = []
    for namespace in (ns_b, *ids["namespace"]):  # B in its own namespace, and naming A's by id and by name
        with _client(live, key_b, namespace) as b:
            for method, path, body in _calls(ids):
                resp = b.request(method, path, json=body)
                if resp.status_code != 404:
                    leaks.append(f"{method} {path} as B in {namespace}: {resp.status_code} {resp.text[:120]}")
    assert leaks == []


def test_lists_across_the_wall_show_nothing_of_the_other_organisation(walls):
    live, a, key_b, ns_b, ids = walls
    with _client(live, key_b, ns_b) as b:
        assert b.get("/v1/buckets").json()["total_count"] == 0
        assert b.post("/v1/collections/list", json={}).json()["total_count"] == 0
        assert b.get("/v1/retrievers").json()["total_count"] == 0
        assert b.get("/v1/alerts").json()["total_count"] == 0
        assert b.post("/v1/taxonomies/list", json={}).json()["total"] == 0
        assert b.post("/v1/clusters/list", json={}).json()["total"] == 0
        assert b.post("/v1/organizations/webhooks/list", json={}).json()["total"] == 0
        assert [n["namespace_id"] for n in b.get("/v1/namespaces").json()["results"]] == [ns_b]


def test_nothing_of_the_first_organisation_changed(walls):
    live, a, key_b, ns_b, ids = walls
    assert a.get(f"/v1/buckets/{ids['bucket'][0]}").json()["object_count"] == 1
    assert a.get(f"/v1/alerts/{ids['alert'][0]}").json()["description"] is None
    assert a.get(f"/v1/taxonomies/{ids['taxonomy'][0]}").json()["description"] is None
    assert a.get(f"/v1/clusters/{ids['cluster'][0]}").json()["description"] is None
    assert a.post(f"/v1/retrievers/{ids['retriever'][0]}/execute",
                  json={"inputs": {"query": "glacier"}}).json()["documents"]
    with live.client() as admin_a:
        assert admin_a.get(f"/v1/organizations/webhooks/{ids['webhook'][0]}").json()["webhook_name"].startswith("hook-")
