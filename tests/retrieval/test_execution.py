"""Saved retrievers: ``{{INPUT.x}}`` checked against input_schema, explain plans, batch execution."""

from __future__ import annotations

import pytest

from tests.retrieval.corpus import DENSE, DOCS

pytestmark = [pytest.mark.ray]

SCHEMA = {"query": {"type": "text", "required": True}, "year": {"type": "integer", "default": 2000}}


def stages(query="{{INPUT.query}}", year="{{INPUT.year}}"):
    return [
        {"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": query, "top_k": 10}], "final_top_k": 10}}},
        {"stage_name": "recent", "stage_type": "filter", "config": {"stage_id": "attribute_filter", "parameters": {
            "field": "year", "operator": "gte", "value": year}}},
        {"stage_name": "diverse", "stage_type": "sort", "config": {"stage_id": "mmr", "parameters": {
            "lambda": 0.5, "top_k": 3}}},
    ]


@pytest.fixture(scope="module")
def retriever(corpus):
    client, coll = corpus
    resp = client.post("/v1/retrievers", json={"retriever_name": "r", "collection_identifiers": [coll["collection_id"]],
                                                "input_schema": SCHEMA, "stages": stages()})
    assert resp.status_code == 200, resp.text
    return resp.json()["retriever_id"]


def test_templates_must_name_declared_inputs(corpus):
    client, coll = corpus
    resp = client.post("/v1/retrievers", json={"retriever_name": "typo", "collection_identifiers": [coll["collection_id"]],
                                                "input_schema": SCHEMA, "stages": stages(query="{{INPUT.qeury}}")})
    assert resp.status_code == 422
    msg = resp.json()["error"]["message"]
    assert "stages[0].config.parameters.searches[0].query" in msg and "'qeury'" in msg and "['query', 'year']" in msg
    assert client.get("/v1/retrievers/typo").status_code == 404  # nothing stored


def test_execute_checks_inputs_and_both_spellings(corpus, retriever):
    client, _ = corpus
    a = client.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"query": "qubits", "year": 2020}}).json()
    b = client.post(f"/v1/retrievers/{retriever}/execute", json={"input": {"query": "qubits", "year": 2020}}).json()
    assert [d["document_id"] for d in a["documents"]] == [d["document_id"] for d in b["documents"]]
    assert all(d["year"] >= 2020 for d in a["documents"]) and len(a["documents"]) == 3
    unknown = client.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"query": "q", "yaer": 2020}})
    assert unknown.status_code == 422 and "unknown input(s) ['yaer']" in unknown.json()["error"]["message"]
    missing = client.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"year": 2020}})
    assert missing.status_code == 422 and "missing required input 'query'" in missing.json()["error"]["message"]
    typed = client.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"query": "q", "year": "new"}})
    assert typed.status_code == 422 and "'year' must be of type integer" in typed.json()["error"]["message"]


def test_explain_shows_the_push_downs_without_running(corpus, retriever):
    client, _ = corpus
    plan = client.post(f"/v1/retrievers/{retriever}/execute/explain", json={"inputs": {"query": "qubits"}}).json()
    search, recent, diverse = plan["explain_plan"]["stages"]
    assert search["engine_query"]["filter"] == {"must": [{"key": "year", "range": {"gte": 2000}}]}  # default input
    assert search["engine_query"]["mmr"] == {"lambda": 0.5} and search["engine_query"]["limit"] == 3
    assert recent["runs_in"] == "engine" and "pushed into 'search'" in recent["notes"][0]
    assert diverse["runs_in"] == "engine" and diverse["parameters"]["lambda"] == 0.5
    alias = client.post(f"/v1/retrievers/{retriever}/explain", json={"inputs": {"query": "qubits"}}).json()
    assert alias["explain_plan"] == plan["explain_plan"]
    executed = client.post(f"/v1/retrievers/{retriever}/execute?explain=true", json={"inputs": {"query": "qubits"}})
    assert executed.json()["explain_plan"] == plan["explain_plan"] and len(executed.json()["documents"]) == 3


def test_batch_execute_runs_each_query_and_isolates_failures(corpus, retriever):
    client, _ = corpus
    queries = [{"inputs": {"query": "qubits"}}, {"input": {"query": "honeybees", "year": 2010}, "limit": 1},
               {"inputs": {"year": 2020}}]
    resp = client.post(f"/v1/retrievers/{retriever}/execute/batch", json={"queries": queries, "concurrency": 2})
    assert resp.status_code == 200, resp.text
    out = resp.json()
    assert out["succeeded"] == 2 and out["failed"] == 1
    first, second, third = out["results"]
    single = client.post(f"/v1/retrievers/{retriever}/execute", json={"inputs": {"query": "qubits"}}).json()
    assert [d["document_id"] for d in first["documents"]] == [d["document_id"] for d in single["documents"]]
    assert [d["text"] for d in second["documents"]] == [DOCS[3][0]]
    assert third["status"] == "failed" and "missing required input 'query'" in third["error"]["message"]
    too_many = client.post(f"/v1/retrievers/{retriever}/execute/batch", json={"queries": [{}] * 51})
    assert too_many.status_code == 422 and "queries" in too_many.json()["error"]["message"]
