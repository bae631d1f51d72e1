"""A collection's alert_applications and retriever_enrichments on real AG News items: each new document asks a
retriever over labelled references with its own text; the enrichment writes the nearest reference's topic onto the
document, the alert fires with matches naming the documents that found them; every bad application is a 4xx that
names its field, and nothing is created."""

from __future__ import annotations

import time

import pytest

from tests.enrichment.conftest import CLASSES, DENSE, Space, ag_news, pick

pytestmark = [pytest.mark.ray, pytest.mark.slow]


def _wait(fetch, ready, timeout: float = 120):
    deadline = time.monotonic() + timeout
    while True:
        value = fetch()
        if ready(value) or time.monotonic() > deadline:
            return value
        time.sleep(0.5)


def test_applications_enrich_each_new_document_and_fire_the_alert(live):
    rows = ag_news()
    space = Space(live)
    c = space.client
    refs = space.collection("labelled")
    space.index(refs["collection_id"], [r for t in CLASSES.values() for r in pick(rows, t, 5)])
    nearest = c.post("/v1/retrievers", json={
        "retriever_name": "nearest-labelled", "collection_identifiers": [refs["collection_id"]],
        "input_schema": {"query": {"type": "text", "required": True}},
        "stages": [{"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "{{INPUT.query}}", "top_k": 3}], "final_top_k": 3}}}]}).json()
    rid = nearest["retriever_id"]
    alert = c.post("/v1/alerts", json={"name": "looks-like-a-known-story", "source": "retriever", "retriever_id": rid,
                                       "collection_id": refs["collection_id"], "trigger_on": "results",
                                       "min_count": 1, "notification_config": {"channels": []}})
    assert alert.status_code == 200, alert.text
    alert_id = alert.json()["alert_id"]
    mapping = [{"input_key": "query", "source": {"source_type": "document_field", "path": "text"}}]
    body = {"collection_name": "incoming", "source": {"type": "bucket", "bucket_ids": [space.bucket]},
            "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                  "input_mappings": {"text": "text"}, "field_passthrough": [{"source_path": "topic"}]},
            "alert_applications": [{"alert_id": alert_id, "input_mappings": mapping}],
            "retriever_enrichments": [{"retriever_id": rid, "input_mappings": mapping, "write_back_fields": [
                {"source_field": "topic", "target_field": "nearest_topic"},
                {"source_field": "topic", "target_field": "nearest_topics", "mode": "all_as_array"}]}]}

    def refused(change: dict, status: int, words: str, where: str) -> None:
        bad = {**body, **change}
        resp = c.post("/v1/collections", json=bad)
        assert resp.status_code == status and words in resp.text and where in resp.text, (change, resp.text)

    enrich = body["retriever_enrichments"][0]
    refused({"alert_applications": [{"alert_id": "alt_nope", "input_mappings": mapping}]}, 404, "not found",
            "alert_applications[0].alert_id")
    refused({"alert_applications": [{"alert_id": alert_id, "input_mappings": mapping, "execution_mode": "scheduled"}]},
            422, "not supported", "alert_applications[0].execution_mode")
    refused({"retriever_enrichments": [{**enrich, "input_mappings": [{"input_key": "q", "source": {
        "source_type": "document_field", "path": "text"}}]}]}, 422, "not an input of retriever",
        "retriever_enrichments[0].input_mappings[0].input_key")
    refused({"retriever_enrichments": [{**enrich, "write_back_fields": [{"source_field": "topic",
                                                                         "target_field": "document_id"}]}]},
            422, "cannot be written", "write_back_fields[0].target_field")
    refused({"retriever_enrichments": [{**enrich, "write_back_fields": [{"source_field": "topic",
                                                                         "target_field": "t", "mode": "sum"}]}]},
            422, "not one of", "write_back_fields[0].mode")
    refused({"retriever_enrichments": [{**enrich, "wrong": 1}]}, 422, "unknown key", "retriever_enrichments[0].wrong")
    assert "incoming" not in [x["collection_name"] for x in c.post("/v1/collections/list", json={}).json()["results"]]

    incoming = c.post("/v1/collections", json=body)
    assert incoming.status_code == 200, incoming.text
    view = incoming.json()
    assert view["alert_applications"][0]["alert_id"] == alert_id
    assert view["retriever_enrichments"][0]["write_back_fields"][1]["mode"] == "all_as_array"
    fresh = [r for t in CLASSES.values() for r in pick(rows, t, 3, skip=5)]
    space.index(view["collection_id"], fresh)
    docs = _wait(lambda: space.documents(view["collection_id"]),
                 lambda ds: len(ds) == len(fresh) and all("nearest_topic" in d for d in ds))
    assert all("nearest_topic" in d for d in docs), docs[0]
    assert all(len(d["nearest_topics"]) == 3 and d["nearest_topics"][0] == d["nearest_topic"] for d in docs)
    for d in docs[:4]:  # what the retriever answers for the document's own text is what was written back
        asked = c.post(f"/v1/retrievers/{rid}/execute", json={"inputs": {"query": d["text"]}}).json()["documents"]
        assert d["nearest_topics"] == [r["topic"] for r in asked] and d["nearest_topic"] == asked[0]["topic"]
    runs = _wait(lambda: c.get(f"/v1/alerts/{alert_id}/executions").json(),
                 lambda r: any(x.get("status") == "FIRED" for x in (r.get("results") or r.get("executions") or [])))
    fired = [x for x in (runs.get("results") or runs.get("executions") or []) if x.get("status") == "FIRED"]
    assert fired, runs
    matches = fired[0]["result"]["matches"] if "result" in fired[0] else fired[0]["matches"]
    assert {m["document"]["triggered_by"] for m in matches} <= {d["document_id"] for d in docs}
    patched = c.patch(f"/v1/collections/{view['collection_id']}", json={"retriever_enrichments": []})
    assert patched.status_code == 200 and patched.json()["retriever_enrichments"] == []
    assert patched.json()["alert_applications"][0]["alert_id"] == alert_id  # the other kind is kept
    wrong = c.patch(f"/v1/collections/{view['collection_id']}", json={"alert_applications": [{"alert_id": alert_id}]})
    assert wrong.status_code == 422 and "alert_applications[0].input_mappings" in wrong.text
    assert c.get(f"/v1/collections/{view['collection_id']}").json()["alert_applications"][0]["alert_id"] == alert_id
