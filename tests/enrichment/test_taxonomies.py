"""Taxonomies over real AG News items: flat (retriever and linear probe), hierarchical, materialized
through the API, on demand in a retriever, and the bad-input paths."""

from __future__ import annotations

import time

import pytest

from tests.enrichment.conftest import DENSE, ag_news, pick

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _retriever(client, collection_id: str, name: str) -> dict:
    resp = client.post("/v1/retrievers", json={
        "retriever_name": name, "collection_identifiers": [collection_id],
        "input_schema": {"query": {"type": "text"}},
        "stages": [{"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "{{INPUT.query}}", "top_k": 5}], "final_top_k": 5}}}]})
    assert resp.status_code == 200, resp.text
    return resp.json()


def _wait_task(client, task_id: str, timeout: float = 120) -> dict:
    deadline = time.time() + timeout
    while time.time() < deadline:
        task = client.get(f"/v1/tasks/{task_id}").json()
        if task["status"] in ("COMPLETED", "FAILED"):
            return task
        time.sleep(0.3)
    raise AssertionError(f"task {task_id} still {task['status']}")


def _accuracy(docs: list[dict], field: str) -> float:
    return sum(d.get(field) == d["topic"] for d in docs) / len(docs)


@pytest.fixture(scope="module")
def flat(news):
    """The tutorial's flat shape: retriever over the references, target collection, tutorial mappings."""
    client = news.client
    r = _retriever(client, news.refs["collection_id"], "refs-search")
    resp = client.post("/v1/taxonomies", json={
        "taxonomy_name": "topics", "taxonomy_type": "flat", "retriever_id": r["retriever_id"],
        "collection_id": news.targets["collection_id"],
        "input_mappings": [{"source": "payload.text", "target": "query"}],
        "enrichment_fields": [{"source": "payload.topic", "target": "auto_topic"}],
        "threshold": 0.1, "execution_mode": "materialize"})
    assert resp.status_code == 200, resp.text
    return resp.json()


def test_flat_taxonomy_materializes_topics_into_documents(news, flat):
    client = news.client
    assert flat["config"]["source_collection"]["collection_id"] == news.refs["collection_id"]
    assert flat["target_collection_ids"] == [news.targets["collection_id"]]
    task = client.post(f"/v1/collections/{news.targets['collection_id']}/apply-taxonomy",
                       json={"taxonomy_id": flat["taxonomy_id"]}).json()
    done = _wait_task(client, task["task_id"])
    assert done["status"] == "COMPLETED", done
    assert done["outputs"]["documents"] == 32 and done["outputs"]["matching"] == "engine_batch"
    docs = news.documents(news.targets["collection_id"])
    assert len(docs) == 32
    # 5 references per topic, nearest neighbour on MiniLM (numpy on the same items: 22/32 right).
    assert _accuracy(docs, "auto_topic") >= 0.65
    for d in docs:
        record = d["taxonomies"][flat["taxonomy_id"]]
        if record["assigned"]:
            assert record["label"] == d["auto_topic"] and record["version"] == 1
            assert record["node_id"].startswith("doc_") and 0.1 <= record["score"] <= 1.0
        else:
            assert d["auto_topic"] is None
    runs = client.get(f"/v1/taxonomies/{flat['taxonomy_id']}/executions").json()["results"]
    assert runs[0]["status"] == "COMPLETED" and runs[0]["stats"]["documents"] == 32


def test_linear_probe_and_on_demand_stage(news, flat):
    client = news.client
    resp = client.post("/v1/taxonomies", json={"taxonomy_name": "topics-probe", "config": {
        "taxonomy_type": "flat", "feature_uri": DENSE, "inference_strategy": "linear_probe",
        "source_collection": {"collection_id": news.refs["collection_id"],
                              "enrichment_fields": [{"field_path": "topic", "target_field": "probe_topic"}]}}})
    assert resp.status_code == 200, resp.text
    probe = resp.json()
    # Classify request documents without writing anything.
    rows = ag_news()
    fresh = [pick(rows, "Sports", 1, skip=20, words=("touchdown", "quarterback"))[0],
             pick(rows, "Business", 1, skip=10, words=("profit", "earnings"))[0]]
    out = client.post(f"/v1/taxonomies/{probe['taxonomy_id']}/execute",
                      json={"documents": [{"text": r["text"]} for r in fresh]}).json()
    assert [d["probe_topic"] for d in out["results"]] == ["Sports", "Business"]
    assert 0 < out["results"][0]["taxonomy_assignment"]["score"] <= 1
    # Over the 32 indexed articles (by id, stored vectors): the probe beats nearest-neighbour matching.
    ids = [d["document_id"] for d in news.documents(news.targets["collection_id"])]
    out = client.post(f"/v1/taxonomies/{probe['taxonomy_id']}/execute", json={"document_ids": ids}).json()
    assert out["assigned"] == 32 and _accuracy(out["results"], "probe_topic") >= 0.75
    # The taxonomy_enrich stage classifies search results at query time.
    body = {"collection_identifiers": [news.targets["collection_id"]], "stages": [
        {"stage_name": "s", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "football match goals league", "top_k": 5}]}}},
        {"stage_name": "t", "config": {"stage_id": "taxonomy_enrich", "parameters": {"taxonomy_id": "topics-probe"}}}]}
    res = client.post("/v1/retrievers/execute", json=body)
    assert res.status_code == 200, res.text
    docs = res.json()["documents"]
    assert docs and all("probe_topic" in d for d in docs)
    assert sum(d["probe_topic"] == "Sports" for d in docs) >= 4
    assert res.json()["stage_statistics"]["stages"]["t"]["metadata"]["assigned"] == len(docs)


def test_hierarchical_paths_are_consistent(news):
    client, rows = news.client, ag_news()
    nodes = {}
    for name, topic, words in (("World", "World", ()), ("Sports", "Sports", ()),
                               ("Baseball", "Sports", ("baseball", "red sox", "yankees")),
                               ("Soccer", "Sports", ("soccer", "premier league", "champions league"))):
        c = news.collection(f"node-{name.lower()}")
        news.index(c["collection_id"], [{**r, "node": name} for r in pick(rows, topic, 4, words=words)])
        nodes[name] = c["collection_id"]
    target = news.collection("hier-targets")
    items = (pick(rows, "World", 3, skip=5, words=("prime minister", "election", "troops")) + pick(rows, "Sports", 3, skip=10, words=("baseball", "red sox"))
             + pick(rows, "Sports", 3, skip=10, words=("soccer", "premier league")))
    news.index(target["collection_id"], items)
    resp = client.post("/v1/taxonomies", json={"taxonomy_name": "news-tree", "config": {
        "taxonomy_type": "hierarchical", "feature_uri": DENSE, "target_collection_ids": [target["collection_id"]],
        "hierarchical_nodes": [
            {"collection_id": nodes["World"], "label": "World"},
            {"collection_id": nodes["Sports"], "label": "Sports"},
            {"collection_id": nodes["Baseball"], "parent_collection_id": nodes["Sports"], "label": "Baseball"},
            {"collection_id": nodes["Soccer"], "parent_collection_id": nodes["Sports"], "label": "Soccer",
             "enrichment_fields": [{"field_path": "node", "target_field": "leaf_node"}]}]}})
    assert resp.status_code == 200, resp.text
    tax = resp.json()
    task = client.post(f"/v1/taxonomies/{tax['taxonomy_id']}/execute", json={}).json()
    assert _wait_task(client, task["task_id"])["status"] == "COMPLETED"
    docs = {d["text"]: d for d in news.documents(target["collection_id"])}
    paths = [docs[r["text"]].get("taxonomy_path") for r in items]
    assert paths[:3] == ["World"] * 3
    assert sum(p == "Sports/Baseball" for p in paths[3:6]) >= 2
    assert sum(p == "Sports/Soccer" for p in paths[6:]) >= 2
    for d in docs.values():  # a child only under its parent
        p = d["taxonomy_path"]
        assert p in ("World", "Sports", "Sports/Baseball", "Sports/Soccer"), p
        if p == "Sports/Soccer":
            assert d["leaf_node"] == "Soccer"


def test_versions_and_patch(news, flat):
    client = news.client
    resp = client.patch(f"/v1/taxonomies/{flat['taxonomy_id']}", json={"threshold": 0.5, "description": "v2"})
    assert resp.status_code == 200, resp.text
    assert resp.json()["version"] == 2 and resp.json()["config"]["threshold"] == 0.5
    versions = client.get(f"/v1/taxonomies/{flat['taxonomy_id']}/versions").json()["results"]
    assert [v["version"] for v in versions] == [1, 2] and versions[0]["config"]["threshold"] == 0.1
    assert client.get(f"/v1/taxonomies/{flat['taxonomy_id']}?version=1").json()["config"]["threshold"] == 0.1
    assert client.get(f"/v1/taxonomies/{flat['taxonomy_id']}?version=7").status_code == 404
    names = [t["taxonomy_name"] for t in client.get("/v1/taxonomies").json()["results"]]
    assert "topics" in names


@pytest.mark.parametrize("body, status, words", [
    ({"taxonomy_name": "x", "enrichment_fields": ["topic"]}, 422, "retriever_id"),
    ({"taxonomy_name": "x", "feature_uri": DENSE}, 422, "enrichment_fields"),
    ({"taxonomy_name": "x", "feature_uri": DENSE, "enrichment_fields": ["topic"], "colour": 1}, 422, "colour"),
    ({"taxonomy_name": "x", "feature_uri": DENSE, "enrichment_fields": [{"field_path": "topic", "merge_mode": "mix"}]},
     422, "merge_mode"),
    ({"taxonomy_name": "x", "feature_uri": DENSE, "enrichment_fields": ["topic"]}, 422, "reference collection"),
    ({"taxonomy_name": "x", "retriever_id": "ret_missing", "enrichment_fields": ["topic"]}, 422, "ret_missing"),
    ({"taxonomy_name": "x", "feature_uri": "mixpeek://nope@v1/x", "enrichment_fields": ["topic"],
      "reference_collection_id": "references"}, 422, "feature_uri"),
    ({"taxonomy_name": "x", "config": {"taxonomy_type": "hierarchical", "feature_uri": DENSE,
                                       "hierarchical_nodes": [{"collection_id": "references", "parent_collection_id": "articles"},
                                                              {"collection_id": "articles", "parent_collection_id": "references"}]}},
     422, "root"),
    ({"taxonomy_name": "x", "config": {"taxonomy_type": "tree"}}, 422, "taxonomy_type"),
    ({"taxonomy_name": "x", "taxonomy_type": "flat", "config": {}}, 422, "inside config"),
    ({"taxonomy_name": "x", "feature_uri": DENSE, "enrichment_fields": ["topic"], "path_field": "p"}, 422,
     "hierarchical"),
    ({"taxonomy_name": "x", "feature_uri": DENSE, "enrichment_fields": ["topic"], "execution_mode": "later"}, 422,
     "execution_mode"),
])
def test_bad_taxonomy_requests(news, body, status, words):
    before = news.client.get("/v1/taxonomies").json()["total_count"]
    resp = news.client.post("/v1/taxonomies", json=body)
    assert resp.status_code == status, resp.text
    assert words in resp.json()["error"]["message"], resp.json()
    assert news.client.get("/v1/taxonomies").json()["total_count"] == before


def test_bad_apply_and_execute(news, flat):
    client = news.client
    assert client.post(f"/v1/collections/{news.targets['collection_id']}/apply-taxonomy", json={}).status_code == 422
    resp = client.post(f"/v1/collections/{news.targets['collection_id']}/apply-taxonomy",
                       json={"taxonomy_id": flat["taxonomy_id"], "scroll_filters": {"field": "year", "operator": "regex",
                                                                                 "value": "x"}})
    assert resp.status_code == 422 and "scroll_filters" in resp.json()["error"]["message"]
    assert client.post(f"/v1/taxonomies/{flat['taxonomy_id']}/execute", json={"document_ids": ["nope"]}).status_code == 422
    assert client.post("/v1/taxonomies/missing/execute", json={}).status_code == 404
    resp = client.post(f"/v1/taxonomies/{flat['taxonomy_id']}/execute", json={"documents": "text"})
    assert resp.status_code == 422 and "documents" in resp.json()["error"]["message"]


def test_a_collection_created_with_taxonomy_applications_is_enriched_after_its_batches(news, flat):
    client = news.client
    body = {"collection_name": "applied", "source": {"type": "bucket", "bucket_ids": [news.bucket]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "text"}, "field_passthrough": [{"source_path": "topic"}]}}
    before = client.get("/v1/collections").json()["total_count"]
    for items, status, where in [([{"taxonomy_id": flat["taxonomy_id"], "execution_mode": "on_demand"}], 422,
                                  "taxonomy_applications[0].execution_mode"),
                                 ([{"taxonomy_id": flat["taxonomy_id"], "scroll_filters": {"field": "x"}}], 422,
                                  "taxonomy_applications[0].scroll_filters"),
                                 ([{"execution_mode": "materialize"}], 422, "taxonomy_applications[0].taxonomy_id")]:
        resp = client.post("/v1/collections", json={**body, "taxonomy_applications": items})
        assert resp.status_code == status and resp.json()["error"]["details"]["location"] == where, resp.text
    assert client.post("/v1/collections", json={**body, "taxonomy_applications": [
        {"taxonomy_id": "tax_nope"}]}).status_code == 404
    assert client.get("/v1/collections").json()["total_count"] == before  # nothing made by a refused create
    made = client.post("/v1/collections", json={**body, "taxonomy_applications": [{"taxonomy_id": flat["taxonomy_id"]}]})
    assert made.status_code == 200, made.text
    coll = made.json()
    assert client.get(f"/v1/collections/{coll['collection_id']}").json()["taxonomy_applications"] == [
        {"taxonomy_id": flat["taxonomy_id"], "execution_mode": "materialize"}]
    assert coll["collection_id"] in client.get(f"/v1/taxonomies/{flat['taxonomy_id']}").json()["target_collection_ids"]
    news.index(coll["collection_id"], [r for r in news.target_rows[:4]])
    deadline = time.time() + 120
    while time.time() < deadline:  # the taxonomy runs after the batch, in the background
        docs = news.documents(coll["collection_id"])
        if docs and all(flat["taxonomy_id"] in (d.get("taxonomies") or {}) for d in docs):
            break
        time.sleep(0.5)
    assert len(docs) == 4 and all(flat["taxonomy_id"] in d["taxonomies"] for d in docs), docs


def test_a_document_with_nothing_to_classify_is_left_unassigned_not_the_run_failed(news, flat):
    client = news.client
    blank = client.post(f"/v1/collections/{news.targets['collection_id']}/documents", json={"topic": "none"})
    assert blank.status_code == 200, blank.text
    try:
        task = client.post(f"/v1/collections/{news.targets['collection_id']}/apply-taxonomy",
                           json={"taxonomy_id": flat["taxonomy_id"]}).json()
        done = _wait_task(client, task["task_id"])
        assert done["status"] == "COMPLETED", done
        docs = {d["document_id"]: d for d in news.documents(news.targets["collection_id"])}
        record = docs[blank.json()["document_id"]]["taxonomies"][flat["taxonomy_id"]]
        assert record["assigned"] is False
        assert done["outputs"]["documents"] == len(docs) == 33  # every document was considered, the blank one too
    finally:
        client.delete(f"/v1/collections/{news.targets['collection_id']}/documents/{blank.json()['document_id']}")


def test_execution_mode_decides_whether_a_taxonomy_runs_after_batches(live, news, flat):
    from warehouse.enrichment.runs import due_after_batch

    client, targets = news.client, news.targets["collection_id"]
    assert flat["config"]["execution_mode"] == "materialize"
    retriever = _retriever(client, news.refs["collection_id"], "refs-search-on-demand")
    made = client.post("/v1/taxonomies", json={
        "taxonomy_name": "topics-on-demand", "retriever_id": retriever["retriever_id"], "collection_id": targets,
        "input_mappings": [{"source": "payload.text", "target": "query"}],
        "enrichment_fields": [{"source": "payload.topic", "target": "on_demand_topic"}], "execution_mode": "on_demand"})
    assert made.status_code == 200, made.text
    on_demand = made.json()
    assert on_demand["config"]["execution_mode"] == "on_demand"
    due, _ = due_after_batch(live.services.catalog, targets)
    assert flat["taxonomy_id"] in due and on_demand["taxonomy_id"] not in due  # on demand: only when asked
    listed = client.get(f"/v1/collections/{targets}").json()["taxonomy_applications"]
    assert [a["taxonomy_id"] for a in listed] == [flat["taxonomy_id"]]
    resp = client.post("/v1/collections", json={
        "collection_name": "attach-on-demand", "source": {"type": "bucket", "bucket_ids": [news.bucket]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "text"}},
        "taxonomy_applications": [{"taxonomy_id": on_demand["taxonomy_id"]}]})
    assert resp.status_code == 422 and "on_demand" in resp.json()["error"]["message"], resp.text
    patched = client.patch(f"/v1/taxonomies/{on_demand['taxonomy_id']}", json={"execution_mode": "materialize"})
    assert patched.status_code == 200 and patched.json()["config"]["execution_mode"] == "materialize", patched.text
    assert on_demand["taxonomy_id"] in due_after_batch(live.services.catalog, targets)[0]
    assert client.delete(f"/v1/taxonomies/{on_demand['taxonomy_id']}").status_code == 200


def test_execute_materializes_into_the_named_collections_only_the_documents_its_filters_match(news, flat):
    client = news.client
    made = client.post("/v1/taxonomies", json={
        "taxonomy_name": "topics-filtered", "retriever_id": flat["retriever_id"],
        "reference_collection_id": news.refs["collection_id"],
        "input_mappings": [{"source": "payload.text", "target": "query"}],
        "enrichment_fields": [{"source": "payload.topic", "target": "filtered_topic"}], "execution_mode": "on_demand"})
    assert made.status_code == 200, made.text
    taxonomy = made.json()
    assert taxonomy["config"]["source_collection"]["collection_id"] == news.refs["collection_id"]
    task = client.post(f"/v1/taxonomies/{taxonomy['taxonomy_id']}/execute", json={
        "collection_ids": [news.targets["collection_id"]], "batch_size": 5,
        "scroll_filters": {"field": "topic", "operator": "eq", "value": "Sports"}}).json()
    done = _wait_task(client, task["task_id"])
    assert done["status"] == "COMPLETED", done
    docs = news.documents(news.targets["collection_id"])
    touched = [d for d in docs if taxonomy["taxonomy_id"] in (d.get("taxonomies") or {})]
    assert touched and all(d["topic"] == "Sports" for d in touched)
    assert len(touched) == sum(d["topic"] == "Sports" for d in docs)


def test_a_clone_has_its_sources_configuration_and_runs_on_its_own(news, flat):
    client = news.client
    source = client.get(f"/v1/taxonomies/{flat['taxonomy_id']}").json()
    resp = client.post(f"/v1/taxonomies/{flat['taxonomy_name']}/clone", json={"taxonomy_name": "topics-copy"})
    assert resp.status_code == 200, resp.text
    clone = resp.json()["taxonomy"]
    assert resp.json()["source_taxonomy_id"] == flat["taxonomy_id"]
    assert clone["taxonomy_id"] != flat["taxonomy_id"] and clone["version"] == 1
    assert clone["config"] == source["config"] and clone["description"] == source["description"]
    try:
        assert client.patch(f"/v1/taxonomies/{clone['taxonomy_id']}", json={"threshold": 0.9}).status_code == 200
        assert client.get(f"/v1/taxonomies/{flat['taxonomy_id']}").json()["config"] == source["config"]

        task = client.post(f"/v1/taxonomies/{clone['taxonomy_id']}/execute", json={
            "collection_ids": [news.targets["collection_id"]],
            "scroll_filters": {"field": "topic", "operator": "eq", "value": "World"}}).json()
        assert _wait_task(client, task["task_id"])["status"] == "COMPLETED"
        docs = news.documents(news.targets["collection_id"])
        touched = [d for d in docs if clone["taxonomy_id"] in (d.get("taxonomies") or {})]
        assert touched and len(touched) == sum(d["topic"] == "World" for d in docs)

        described = client.post(f"/v1/taxonomies/{flat['taxonomy_id']}/clone",
                                json={"taxonomy_name": "topics-described", "description": "for the archive"})
        assert described.status_code == 200 and described.json()["taxonomy"]["description"] == "for the archive"
        assert client.delete(f"/v1/taxonomies/{described.json()['taxonomy']['taxonomy_id']}").status_code == 200
    finally:
        assert client.delete(f"/v1/taxonomies/{clone['taxonomy_id']}").status_code == 200

    for body, status, words in [({"taxonomy_name": "topics"}, 409, "already exists"), ({}, 422, "taxonomy_name"),
                                ({"taxonomy_name": ""}, 422, "taxonomy_name"),
                                ({"taxonomy_name": "t2", "config": {}}, 422, "config")]:
        refused = client.post(f"/v1/taxonomies/{flat['taxonomy_id']}/clone", json=body)
        assert refused.status_code == status and words in refused.text, (body, refused.text)
    assert client.post("/v1/taxonomies/tax_missing/clone", json={"taxonomy_name": "t3"}).status_code == 404
