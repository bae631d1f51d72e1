"""What ``make run`` ingests on first start: the text corpus and the demo photos, each with a retriever that
answers (the photos through presigned uploads and image_extractor, found by words)."""

from __future__ import annotations

from warehouse.cli.up import _ingest_demo


def test_the_demo_corpus_and_photos_are_searchable(live):
    ns, c = live.new_namespace()
    with c:
        _ingest_demo(live.base_url, live.key, ns)
        texts = c.post("/v1/retrievers/demo-search/execute", json={"inputs": {"query": "how do I search"}}).json()
        assert texts["documents"], texts
        photos = c.post("/v1/retrievers/demo-photo-search/execute", json={"inputs": {"query": "a cup of coffee"}})
        assert photos.status_code == 200, photos.text
        assert photos.json()["documents"][0]["title"] == "coffee", photos.json()["documents"]
        rocket = c.post("/v1/retrievers/demo-photo-search/execute", json={"inputs": {"query": "a space rocket"}})
        assert rocket.json()["documents"][0]["title"] == "rocket", rocket.json()["documents"]
        _ingest_demo(live.base_url, live.key, ns)  # a second start adds nothing
        assert len(c.post("/v1/buckets/list", json={}).json()["results"]) == 2
