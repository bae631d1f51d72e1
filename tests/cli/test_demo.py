"""What ``make run`` ingests on first start: the text corpus, the demo photos and a PDF, each with a retriever that
answers (the photos and the PDF through presigned uploads, image_extractor and document_extractor, found by words)."""

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
        pdf = c.post("/v1/retrievers/demo-document-search/execute",
                     json={"inputs": {"query": "explicit is better than implicit"}}).json()["documents"][0]
        assert pdf["title"] == "zen-of-python-example" and pdf["page_number"] == 1
        assert "Explicit is better than implicit" in pdf["text"]
        _ingest_demo(live.base_url, live.key, ns)  # a second start adds nothing
        assert len(c.post("/v1/buckets/list", json={}).json()["results"]) == 3
