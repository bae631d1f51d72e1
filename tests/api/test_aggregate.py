"""``POST …/objects/aggregate`` and ``POST …/documents/aggregate``: the aggregation request over a bucket's objects
and a collection's documents, through the API (the engine's own cases: tests/retrieval/test_aggregation.py)."""

from __future__ import annotations

import pytest

from tests.api.seeding import in_process_api, text_collection

OBJECTS = [("report", 2021, ["ice", "sea"]), ("memo", 2021, ["sea"]), ("report", 2023, []), ("note", None, ["ice"])]


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    with in_process_api(tmp_path_factory.mktemp("aggregate")) as (http, _):
        bucket, coll = text_collection(http, "files", "notes", {"kind": {"type": "string"}, "year": {"type": "number"},
                                                                 "tags": {"type": "array"}})
        for kind, year, tags in OBJECTS:
            body = {"kind": kind, "tags": tags, "blobs": [{"property": "content", "type": "text", "data": kind * 3}]}
            if year is not None:
                body["year"] = year
            assert http.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json=body).status_code == 200
        for i, (kind, year, tags) in enumerate(OBJECTS):
            made = http.post(f"/v1/collections/{coll['collection_id']}/documents", json={
                "text": f"{kind} {i}", "kind": kind, "year": year, "tags": tags, "pages": i + 1})
            assert made.status_code == 200, made.text
        yield http, bucket["bucket_id"], coll["collection_id"]


def test_objects_grouped_filtered_and_ordered(env):
    http, bucket, _ = env
    resp = http.post(f"/v1/buckets/{bucket}/objects/aggregate", json={
        "group_by": [{"field": "kind"}], "aggregations": [
            {"function": "count", "alias": "objects"}, {"function": "max", "field": "year", "alias": "latest"},
            {"function": "sum", "field": "size_bytes", "alias": "bytes"}],
        "sort_by": "objects", "sort_direction": "desc"})
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert [(r["group"]["kind"], r["metrics"]["objects"], r["metrics"]["latest"]) for r in body["results"]] == \
        [("report", 2, 2023), ("memo", 1, 2021), ("note", 1, None)]
    assert body["results"][0]["metrics"]["bytes"] == 2 * len("report" * 3)
    assert body["total_groups"] == 3 and body["query_info"]["rows_scanned"] == 4

    tags = http.post(f"/v1/buckets/{bucket}/objects/aggregate", json={
        "unwind": "tags", "group_by": [{"field": "tags", "alias": "tag"}],
        "aggregations": [{"function": "add_to_set", "field": "kind", "alias": "kinds"}],
        "filters": {"field": "year", "operator": "exists", "value": True}, "sort_by": "tag", "sort_direction": "asc"})
    assert [(r["group"]["tag"], r["metrics"]["kinds"]) for r in tags.json()["results"]] == \
        [("ice", ["report"]), ("sea", ["report", "memo"])]

    daily = http.post(f"/v1/buckets/{bucket}/objects/aggregate", json={
        "group_by": [{"field": "created_at", "date_trunc": "day", "alias": "day"}],
        "aggregations": [{"function": "count", "alias": "n"}]}).json()
    assert len(daily["results"]) == 1 and daily["results"][0]["metrics"]["n"] == 4
    assert daily["results"][0]["group"]["day"].endswith("T00:00:00Z")


def test_documents_counted_in_all_or_by_group(env):
    http, _, coll = env
    path = f"/v1/collections/{coll}/documents/aggregate"
    total = http.post(path, json={"aggregations": [{"function": "count", "alias": "total"}],
                                  "filters": {"field": "kind", "operator": "eq", "value": "report"}}).json()
    assert total["results"] == [{"group": {}, "metrics": {"total": 2}}]
    none = http.post(path, json={"aggregations": [{"function": "count", "alias": "total"}],
                                 "filters": {"field": "kind", "operator": "regex", "value": "^zzz"}}).json()
    assert none["results"] == [{"group": {}, "metrics": {"total": 0}}]  # a filter the index cannot run, run here

    pages = http.post(path, json={
        "group_by": [{"field": "pages"}], "range_buckets": [{"field": "pages", "boundaries": [1, 3, 5]}],
        "aggregations": [{"function": "count", "alias": "n"}, {"function": "avg", "field": "year", "alias": "year"}],
        "having": [{"field": "n", "operator": "gte", "value": 2}], "sort_by": "pages", "sort_direction": "asc"}).json()
    assert pages["results"] == [{"group": {"pages": "1-3"}, "metrics": {"n": 2, "year": 2021.0}},
                                {"group": {"pages": "3-5"}, "metrics": {"n": 2, "year": 2023.0}}]


@pytest.mark.parametrize("where, body, status, says", [
    ("objects", {"aggregations": [{"function": "count", "alias": "n"}]}, 422, "group_by"),
    ("objects", {"group_by": [], "aggregations": [{"function": "count", "alias": "n"}]}, 422, "group_by"),
    ("documents", {"aggregations": [{"function": "avg", "field": "year", "alias": "m"}]}, 422, "only count"),
    ("documents", {"aggregations": [{"function": "count", "alias": "n"}], "group_by": [{"field": "kind"}],
                   "sort_by": "nope"}, 422, "sort_by"),
    ("documents", {"aggregations": [{"function": "count", "alias": "n"}], "filters": {"field": "kind",
                   "operator": "like", "value": 1}}, 422, "unknown operator"),
    ("documents", {"aggregations": [{"function": "count", "alias": "n"}], "pipeline": []}, 422, "pipeline"),
    ("documents", {"aggregations": [{"function": "count", "alias": "n"}], "limit": "5"}, 422, "limit"),
])
def test_bad_requests_are_refused_by_name(env, where, body, status, says):
    http, bucket, coll = env
    path = f"/v1/buckets/{bucket}/objects/aggregate" if where == "objects" else f"/v1/collections/{coll}/documents/aggregate"
    resp = http.post(path, json=body)
    assert resp.status_code == status and says in resp.text, resp.text
