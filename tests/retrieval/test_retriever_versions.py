"""Saved retrievers change as versions: every edit is a new version that executions name, any version can be made
current again, breaking changes are refused (clone instead); executions stream their stages as server-sent events,
honour a time budget, page by ``pagination``, and refuse the options this server does not have."""

from __future__ import annotations

import json
import math

import pytest

from tests.api.seeding import in_process_api, text_collection

DIM = 384


def unit(seed: int) -> list[float]:
    raw = [math.sin(seed * 7.1 + i * 0.37) for i in range(DIM)]
    norm = math.sqrt(sum(v * v for v in raw))
    return [v / norm for v in raw]


def _search(dense: dict, top_k: int) -> dict:
    return {"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
        "searches": [{"feature_uri": dense["feature_uri"], "query": {"input_mode": "vector", "value": "{{INPUT.vec}}"},
                      "top_k": 10}], "final_top_k": top_k}}}


def _only(genre: str) -> dict:
    return {"stage_name": "only", "stage_type": "filter", "config": {"stage_id": "attribute_filter", "parameters": {
        "field": "genre", "operator": "eq", "value": genre}}}


def _sort() -> dict:
    return {"stage_name": "by_text", "stage_type": "sort", "config": {"stage_id": "sort_attribute", "parameters": {
        "field": "text", "direction": "desc"}}}


@pytest.fixture()
def env(tmp_path):
    with in_process_api(tmp_path) as (http, _):
        _, coll = text_collection(http, "b", "c")
        dense = next(vi for vi in coll["vector_indexes"] if vi["index"]["type"] == "dense")
        for seed in range(4):
            resp = http.post("/v1/collections/c/documents", json={
                "vectors": {dense["name"]: unit(seed)}, "text": f"doc {seed}", "genre": "even" if seed % 2 == 0 else "odd"})
            assert resp.status_code == 200, resp.text
        made = http.post("/v1/retrievers", json={
            "retriever_name": "r", "collection_identifiers": ["c"], "input_schema": {"vec": {"type": "array"}},
            "stages": [_search(dense, 3)]})
        assert made.status_code == 200, made.text
        yield http, dense, made.json()


def _run(http, body: dict | None = None, **params):
    resp = http.post("/v1/retrievers/r/execute", json={"inputs": {"vec": unit(0)}, **(body or {})}, params=params)
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_every_edit_is_a_version_that_executions_name_and_a_rollback_restores(env):
    http, dense, made = env
    assert made["version"] == 1 and len(_run(http)["documents"]) == 3
    edited = http.patch("/v1/retrievers/r", json={"description": "nearest three", "tags": ["demo"]}).json()
    assert edited["version"] == 2 and edited["description"] == "nearest three" and edited["tags"] == ["demo"]
    edited = http.patch("/v1/retrievers/r", json={"stages": [_search(dense, 2), _only("even")]})
    assert edited.status_code == 200, edited.text
    run = _run(http)
    assert run["retriever_version"] == 3 and [d["genre"] for d in run["documents"]] == ["even", "even"]
    versions = http.get("/v1/retrievers/r/versions").json()
    assert versions["current_version"] == 3 and [v["version"] for v in versions["results"]] == [1, 2, 3]
    assert versions["results"][0]["change"] == "created" and "stages" in versions["results"][2]["change"]
    assert len(versions["results"][0]["stages"]) == 1 and len(versions["results"][2]["stages"]) == 2

    back = http.post("/v1/retrievers/r/rollback", json={"version": 1}).json()
    assert back["version"] == 4 and len(back["stages"]) == 1 and back["description"] is None
    run = _run(http)
    assert run["retriever_version"] == 4 and len(run["documents"]) == 3
    assert http.get("/v1/retrievers/r/versions").json()["results"][-1]["change"] == "rolled back to version 1"
    missing = http.post("/v1/retrievers/r/rollback", json={"version": 9})
    assert missing.status_code == 404 and "[1, 2, 3, 4]" in missing.json()["error"]["message"]


@pytest.mark.parametrize("edit, status, names", [
    ({}, 400, "nothing to update"),
    ({"input_schema": {}}, 422, "input 'vec' is removed"),
    ({"input_schema": {"vec": {"type": "string"}}}, 422, "changes type 'array' -> 'string'"),
    ({"input_schema": {"vec": {"type": "array", "required": True}}}, 422, "becomes required"),
    ({"input_schema": {"vec": {"type": "array"}, "k": {"type": "integer", "required": True}}}, 422, "new input 'k'"),
    ({"budget_limits": {"max_time_ms": 5}}, 422, "clone"),
    ({"visibility": "public"}, 422, "publishing"),
    ({"stages": [{"stage_name": "x", "config": {"stage_id": "no_such_stage"}}]}, 422, "unknown stage_id"),
    ({"collection_identifiers": ["nope"]}, 404, "nope"),
    ({"colour": "red"}, 422, "colour"),
])
def test_a_refused_edit_names_why_and_changes_nothing(env, edit, status, names):
    http, _, _ = env
    resp = http.patch("/v1/retrievers/r", json=edit)
    assert resp.status_code == status, resp.text
    assert names in json.dumps(resp.json()["error"])
    got = http.get("/v1/retrievers/r").json()
    assert got["version"] == 1 and got["input_schema"] == {"vec": {"type": "array"}}
    assert len(http.get("/v1/retrievers/r/versions").json()["results"]) == 1


def test_a_non_breaking_schema_change_and_a_rename_are_versions_and_a_taken_name_is_a_conflict(env):
    http, _, _ = env
    ok = http.patch("/v1/retrievers/r", json={"input_schema": {
        "vec": {"type": "array", "description": "a query vector"}, "note": {"type": "string"}}})
    assert ok.status_code == 200 and ok.json()["version"] == 2, ok.text
    other = http.post("/v1/retrievers/r/clone", json={"retriever_name": "r2", "budget_limits": {"max_time_ms": 100}})
    assert other.status_code == 200, other.text
    assert other.json()["version"] == 1 and other.json()["retriever_id"] != ok.json()["retriever_id"]
    assert other.json()["budget_limits"] == {"max_time_ms": 100}
    taken = http.patch("/v1/retrievers/r", json={"retriever_name": "r2"})
    assert taken.status_code == 409 and taken.json()["error"]["details"]["location"] == "retriever_name"
    renamed = http.patch("/v1/retrievers/r", json={"retriever_name": "renamed"}).json()
    assert renamed["retriever_name"] == "renamed" and renamed["version"] == 3
    assert http.get("/v1/retrievers/r2").json()["input_schema"]["note"] == {"type": "string"}  # cloned from v2


def test_a_streamed_execution_sends_each_stage_then_the_result(env):
    http, dense, _ = env
    http.patch("/v1/retrievers/r", json={"stages": [_search(dense, 3), _only("even")]})
    with http.stream("POST", "/v1/retrievers/r/execute", json={"inputs": {"vec": unit(0)}, "stream": True}) as resp:
        assert resp.status_code == 200 and resp.headers["content-type"].startswith("text/event-stream")
        events = [json.loads(line[len("data: "):]) for line in resp.iter_lines() if line.startswith("data: ")]
    assert [(e["event_type"], e.get("stage_name")) for e in events] == [
        ("stage_start", "search"), ("stage_complete", "search"), ("stage_start", "only"),
        ("stage_complete", "only"), ("execution_complete", None)]
    # the filter is pushed into the search: its documents are already the even ones
    assert [d["genre"] for d in events[1]["documents"]] == [d["genre"] for d in events[3]["documents"]] == ["even"] * 2
    final = events[-1]
    assert final["status"] == "completed" and final["retriever_version"] == 2 and len(final["documents"]) == 2
    # A bad request is refused before the stream opens.
    bad = http.post("/v1/retrievers/r/execute", json={"inputs": {"vec": "not a list"}, "stream": True})
    assert bad.status_code == 422 and "vec" in bad.json()["error"]["message"]


def test_a_time_budget_stops_the_stages_it_leaves_no_time_for(env):
    http, dense, _ = env
    resp = http.post("/v1/retrievers/execute", json={
        "collection_identifiers": ["c"], "input_schema": {"vec": {"type": "array"}}, "inputs": {"vec": unit(0)},
        "stages": [_search(dense, 3), _sort()], "budget_limits": {"max_time_ms": 0}})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["status"] == "budget_exceeded" and list(out["stage_statistics"]["stages"]) == ["search"]
    assert "not run: ['by_text']" in out["warnings"][0]
    assert [d["text"] for d in out["documents"]] == ["doc 0", "doc 1", "doc 2"]  # score order: the sort never ran
    unbounded = http.post("/v1/retrievers/execute", json={
        "collection_identifiers": ["c"], "input_schema": {"vec": {"type": "array"}}, "inputs": {"vec": unit(0)},
        "stages": [_search(dense, 3), _sort()], "budget_limits": {"max_time_ms": 60_000}}).json()
    assert unbounded["status"] == "completed" and [d["text"] for d in unbounded["documents"]] == ["doc 2", "doc 1", "doc 0"]
    assert out["budget"]["limits"] == {"max_time_ms": 0}
    bad = http.post("/v1/retrievers/r/clone", json={"retriever_name": "x", "budget_limits": {"max_money": 1}})
    assert bad.status_code == 422 and bad.json()["error"]["details"]["location"] == "budget_limits.max_money"


def test_pagination_pages_and_unsupported_options_are_refused(env):
    http, _, _ = env
    everything = [d["document_id"] for d in _run(http)["documents"]]
    second = _run(http, {"pagination": {"method": "offset", "page_size": 1, "page_number": 2}})
    assert [d["document_id"] for d in second["documents"]] == everything[1:2]
    assert second["pagination"]["page_number"] == 2
    assert _run(http, {"skip_cache": True, "consistency": "strong"})["consistency_mode"] == "strong"
    for body, where in [({"return_vectors": True}, "return_vectors"), ({"write_token": "w"}, "write_token"),
                        ({"expand": ["ref"]}, "expand"), ({"target_collection_id": "c"}, "target_collection_id"),
                        ({"pagination": {"method": "cursor"}}, "pagination.method"),
                        ({"pagination": {"page_size": 0}}, "pagination.page_size"),
                        ({"pagination": {"page_size": 2}, "limit": 2}, "pagination")]:
        resp = http.post("/v1/retrievers/r/execute", json={"inputs": {"vec": unit(0)}, **body})
        assert resp.status_code == 422, (body, resp.text)
        assert resp.json()["error"]["details"]["location"] == where
