"""The sort, reduce, group and apply stages on real documents (MiniLM, written by a batch)."""

from __future__ import annotations

import pytest

from tests.conftest import wait_batch
from tests.retrieval.corpus import DENSE, DOCS, Q, run

pytestmark = [pytest.mark.ray]


def test_sort_attribute_orders_by_field_with_nulls_last_and_aliases(corpus):
    docs = run(corpus, ("sort_attribute", {"field": "year", "direction": "asc"}))["documents"]
    assert [d["year"] for d in docs] == [2018, 2019, 2020, 2021, 2022, 2023]
    desc = run(corpus, ("sort_attribute", {"sort_field": "author", "order": "desc"}))["documents"]
    assert [d["author"] for d in desc] == ["dee", "cy", "cy", "bob", "ada", "ada"]
    tags = run(corpus, ("sort_attribute", {"field": "tags", "null_handling": "first"}))["documents"]
    assert tags[0].get("tags") is None  # the glacier document has no tags: first when asked


def test_sort_relevance_and_score_normalize(corpus):
    base = run(corpus)["documents"]
    flipped = run(corpus, ("sort_relevance", {"direction": "asc"}))["documents"]
    assert [d["score"] for d in flipped] == sorted(d["score"] for d in base)  # two identical texts tie
    assert {d["document_id"] for d in flipped} == {d["document_id"] for d in base}
    norm = run(corpus, ("score_normalize", {"method": "minmax"}))["documents"]
    assert norm[0]["score"] == pytest.approx(1.0) and norm[-1]["score"] == pytest.approx(0.0)
    assert [d["document_id"] for d in norm] == [d["document_id"] for d in base]
    ranked = run(corpus, ("score_normalize", {"method": "rank", "output_field": "scores.rank"}))["documents"]
    assert [d["scores"]["rank"] for d in ranked] == pytest.approx([1 - i / 6 for i in range(6)])
    assert ranked[0]["score"] == base[0]["score"]  # the original score is kept


def test_deduplicate_by_field_and_by_vector(corpus):
    by_author = run(corpus, ("deduplicate", {"field": "author"}))["documents"]
    assert sorted(d["author"] for d in by_author) == ["ada", "bob", "cy", "dee"]
    base = run(corpus)["documents"]
    first_ada = next(d for d in base if d["author"] == "ada")
    assert next(d for d in by_author if d["author"] == "ada")["document_id"] == first_ada["document_id"]
    near = run(corpus, ("deduplicate", {"similarity_threshold": 0.99, "feature_uri": DENSE}))
    texts = [d["text"] for d in near["documents"]]
    assert len(texts) == 5 and texts.count(DOCS[0][0]) == 1  # the identical abstract is dropped once
    assert near["stage_statistics"]["stages"]["s0"]["metadata"]["removed"] == 1


def test_group_by_keeps_the_best_per_group(corpus):
    flat = run(corpus, ("group_by", {"group_by_field": "author", "max_per_group": 1}))["documents"]
    assert [d["group_key"] for d in flat] == list(dict.fromkeys(d["author"] for d in run(corpus)["documents"]))
    grouped = run(corpus, ("group_by", {"field": "author", "max_per_group": 2, "output_mode": "grouped"}))["documents"]
    ada = next(g for g in grouped if g["group_key"] == "ada")
    assert ada["count"] == 2 and {d["year"] for d in ada["documents"]} == {2019, 2021}


def test_sample_is_seeded_stratified_and_ordered(corpus):
    a = run(corpus, ("sample", {"count": 3, "seed": 7}))["documents"]
    b = run(corpus, ("sample", {"count": 3, "seed": 7}))["documents"]
    assert [d["document_id"] for d in a] == [d["document_id"] for d in b] and len(a) == 3
    base_order = [d["document_id"] for d in run(corpus)["documents"]]
    assert [base_order.index(d["document_id"]) for d in a] == sorted(base_order.index(d["document_id"]) for d in a)
    strat = run(corpus, ("sample", {"count": 4, "strategy": "stratified", "stratify_by": "author", "seed": 1}))
    assert sorted(d["author"] for d in strat["documents"]) == ["ada", "bob", "cy", "dee"]


def test_aggregate_per_group(corpus):
    rows = run(corpus, ("aggregate", {"group_by": [{"field": "author"}], "sort_by": "n", "aggregations": [
        {"function": "count", "alias": "n"}, {"function": "avg", "field": "year", "alias": "mean_year"},
        {"function": "collect", "field": "year", "alias": "years"}]}))["documents"]
    by = {r["author"]: r for r in rows}
    assert by["ada"]["n"] == 2 and by["ada"]["mean_year"] == 2020 and sorted(by["ada"]["years"]) == [2019, 2021]
    assert rows[0]["n"] == 2 and by["bob"]["n"] == 1
    total = run(corpus, ("aggregate", {"aggregations": [{"function": "count_distinct", "field": "author",
                                                         "alias": "authors"}, {"function": "max", "field": "year",
                                                                               "alias": "latest"}]}))["documents"]
    assert total == [{"document_id": "aggregate:0", "authors": 4, "latest": 2023}]


def test_unwind_flattens_arrays(corpus):
    docs = run(corpus, ("sort_attribute", {"field": "year", "direction": "asc"}),
               ("unwind", {"field": "tags", "output_field": "tag"}))["documents"]
    assert [(d["year"], d["tag"]) for d in docs] == [(2018, "biology"), (2019, "quantum"), (2019, "physics"),
                                                     (2021, "quantum"), (2023, "quantum"), (2023, "hardware")]
    assert len({d["document_id"] for d in docs}) == len(docs)
    kept = run(corpus, ("unwind", {"field": "tags", "preserve_empty": True}))["documents"]
    assert len(kept) == 8  # six tags, plus the empty list and the missing field kept as they are


def test_rag_prepare_respects_the_budget_and_cites(corpus):
    out = run(corpus, ("rag_prepare", {"max_tokens": 25}))
    [ctx] = out["documents"]
    assert ctx["token_count"] <= 25
    assert ctx["context"].startswith("[1] ")
    assert [c["index"] for c in ctx["citations"]] == list(range(1, len(ctx["citations"]) + 1))
    top = run(corpus)["documents"][0]
    assert ctx["citations"][0]["document_id"] == top["document_id"] and top["text"] in ctx["context"]
    dropped = run(corpus, ("rag_prepare", {"max_tokens": 25, "truncation_strategy": "drop", "output_mode": "documents",
                                           "document_template": "{author}: {content}"}))
    meta = dropped["stage_statistics"]["stages"]["s0"]["metadata"]
    assert meta["context"].startswith(top["author"] + ": ") and meta["tokens"] <= 25
    assert [d["citation_index"] for d in dropped["documents"]][:1] == [1]


@pytest.mark.parametrize("stage,message", [
    (("sort_attribute", {}), "missing parameter 'field'"),
    (("sample", {"strategy": "stratified"}), "stratify_by"),
    (("deduplicate", {}), "give field"),
    (("deduplicate", {"similarity_threshold": 0.9}), "needs feature_uri"),
    (("aggregate", {"aggregations": [{"function": "sum", "alias": "s"}]}), "needs a field"),
    (("score_normalize", {"method": "softmax"}), "method"),
    (("group_by", {"group_by_field": "author", "per_group": 2}), "unknown parameter 'per_group'"),
])
def test_stage_parameter_errors_are_precise(corpus, stage, message):
    client, coll = corpus
    resp = client.post("/v1/retrievers/execute", json={"collection_identifiers": [coll["collection_id"]], "stages": [
        {"stage_name": "bad", "config": {"stage_id": stage[0], "parameters": stage[1]}}]})
    assert resp.status_code == 422
    assert message in resp.text


def test_stage_catalogue_serves_json_schemas(corpus):
    client, _ = corpus
    stages = {s["stage_id"]: s for s in client.get("/v1/retrievers/stages").json()}
    for sid in ("sort_attribute", "sort_relevance", "score_normalize", "sample", "deduplicate", "group_by",
                "aggregate", "unwind", "rag_prepare", "mmr", "rerank", "json_transform", "document_enrich",
                "llm_filter", "llm_enrich", "summarize", "query_expand", "feature_search", "attribute_filter", "limit"):
        assert stages[sid]["parameter_schema"]["type"] == "object", sid
    assert stages["mmr"]["parameter_schema"]["properties"]["lambda"]["default"] == 0.7
    assert stages["llm_enrich"]["category"] == "enrich" and stages["rerank"]["category"] == "sort"


def test_mmr_inside_the_engine_drops_the_duplicate_and_scores_the_order(corpus):
    base = run(corpus, query=Q)["documents"]
    assert base[0]["text"] == base[1]["text"] == DOCS[0][0]  # the two identical texts rank first
    plain = run(corpus, ("mmr", {"lambda": 1.0, "top_k": 3}), query=Q)
    ids = [d["document_id"] for d in plain["documents"]]  # relevance only (the two copies tie, any order)
    assert set(ids[:2]) == {d["document_id"] for d in base[:2]} and ids[2] == base[2]["document_id"]
    out = run(corpus, ("mmr", {"lambda": 0.5, "top_k": 3}), query=Q)
    stats = out["stage_statistics"]["stages"]
    assert stats["s0"]["metadata"]["pushed_down"] is True
    assert stats["search"]["metadata"]["mmr_pushed_down"] == {"lambda": 0.5, "candidates": 10}
    texts = [d["text"] for d in out["documents"]]
    assert texts.count(DOCS[0][0]) == 1 and len(texts) == 3  # the copy gives way to a different document
    assert out["documents"][0]["text"] == DOCS[0][0]
    marginal = [d["scores"]["mmr"] for d in out["documents"]]
    assert marginal[0] == pytest.approx(0.5 * base[0]["score"], abs=1e-4)  # λ·relevance, nothing chosen yet


def test_mmr_in_python_agrees_with_the_engine_and_handles_fields(corpus):
    engine = run(corpus, ("mmr", {"lambda": 0.5, "top_k": 3}), query=Q)["documents"]
    # sort_relevance in between keeps the order but stops the push-down: the stage runs here
    python = run(corpus, ("sort_relevance", {}), ("mmr", {"lambda": 0.5, "top_k": 3, "diversity_feature_uri": DENSE}), query=Q)
    assert python["stage_statistics"]["stages"]["s1"]["metadata"]["pushed_down"] is False
    assert [d["text"] for d in python["documents"]] == [d["text"] for d in engine]  # the copies tie: compare texts
    by_author = run(corpus, ("mmr", {"lambda": 0.2, "top_k": 4, "diversity_fields": ["author"]}), query=Q)["documents"]
    assert sorted(d["author"] for d in by_author) == ["ada", "bob", "cy", "dee"]  # one per author first
    bad = corpus[0].post("/v1/retrievers/execute", json={"collection_identifiers": [corpus[1]["collection_id"]],
                         "stages": [{"stage_name": "m", "config": {"stage_id": "mmr", "parameters": {"lambda": 2}}}]})
    assert bad.status_code == 422 and "lambda" in bad.json()["error"]["message"]


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A real sentence-transformers cross-encoder on disk: the packaged MiniLM with a (seeded, untrained)
    relevance head — the loading and scoring code is the production one; the ordering is the model's."""
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    from warehouse.extractors.models import packaged_minilm_path

    torch.manual_seed(0)
    out = tmp_path_factory.mktemp("cross-encoder")
    AutoModelForSequenceClassification.from_pretrained(packaged_minilm_path(), num_labels=1).save_pretrained(out)
    AutoTokenizer.from_pretrained(packaged_minilm_path()).save_pretrained(out)
    return str(out)


def test_rerank_orders_by_the_cross_encoder(corpus, cross_encoder_dir):
    from sentence_transformers import CrossEncoder

    base = run(corpus)["documents"]
    out = run(corpus, ("rerank", {"model": cross_encoder_dir, "query": "qubits", "top_n": 4}))
    docs = out["documents"]
    expected = CrossEncoder(cross_encoder_dir).predict([("qubits", d["text"]) for d in base])
    ranked = sorted(zip(expected, base, strict=True), key=lambda x: -x[0])[:4]
    assert [d["score"] for d in docs] == pytest.approx([float(s) for s, _ in ranked], abs=1e-5)
    assert [d["text"] for d in docs] == [d["text"] for _, d in ranked]
    assert docs[0]["scores"]["rerank"] == docs[0]["score"]
    by_id = {d["document_id"]: d["score"] for d in base}
    assert all(d["scores"]["retrieval"] == by_id[d["document_id"]] for d in docs)
    assert out["stage_statistics"]["stages"]["s0"]["metadata"]["reranked"] == 6
    # the default query is {{INPUT.query}}
    client, coll = corpus
    body = {"collection_identifiers": [coll["collection_id"]], "inputs": {"query": "qubits"}, "stages": [
        {"stage_name": "search", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "{{INPUT.query}}", "top_k": 10}], "final_top_k": 10}}},
        {"stage_name": "rr", "config": {"stage_id": "rerank", "parameters": {"inference_name": cross_encoder_dir,
                                                                            "top_k": 4}}}]}
    again = client.post("/v1/retrievers/execute", json=body).json()["documents"]
    assert [d["text"] for d in again] == [d["text"] for d in docs]  # identical texts tie: compare texts


def test_rerank_without_the_model_is_a_clear_503(corpus):
    client, coll = corpus
    body = {"collection_identifiers": [coll["collection_id"]], "inputs": {"query": "qubits"}, "stages": [
        {"stage_name": "search", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "{{INPUT.query}}"}]}}},
        {"stage_name": "rr", "config": {"stage_id": "rerank", "parameters": {}}}]}
    resp = client.post("/v1/retrievers/execute", json=body)
    assert resp.status_code == 503
    msg = resp.json()["error"]["message"]
    assert "BAAI/bge-reranker-v2-m3" in msg and "local cross-encoder directory" in msg


def test_json_transform_reshapes_with_a_sandboxed_template(corpus):
    tpl = '{"title": {{ text[:6] | tojson }}, "who": "{{ DOC.author | upper }}", "q": {{ INPUT.q | tojson }}}'
    client, coll = corpus
    body = {"collection_identifiers": [coll["collection_id"]], "inputs": {"q": "quantum"}, "stages": [
        {"stage_name": "search", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": DENSE, "query": "{{INPUT.q}}", "top_k": 10}], "final_top_k": 10}}},
        {"stage_name": "t", "config": {"stage_id": "json_transform", "parameters": {"template": tpl}}}]}
    docs = client.post("/v1/retrievers/execute", json=body).json()["documents"]
    base = run(corpus, query="quantum")["documents"]
    assert [d["document_id"] for d in docs] == [d["document_id"] for d in base]
    assert docs[0] == {"document_id": base[0]["document_id"], "score": base[0]["score"],
                       "title": base[0]["text"][:6], "who": base[0]["author"].upper(), "q": "quantum"}
    # a missing field: the document passes through and the error is counted, or the execution fails
    lenient = run(corpus, ("json_transform", {"template": '{"x": {{ nope }} }'}))
    assert lenient["documents"] == run(corpus)["documents"]
    assert "nope" in lenient["stage_statistics"]["stages"]["s0"]["metadata"]["errors"][0]
    strict = client.post("/v1/retrievers/execute", json={**body, "stages": [body["stages"][0], {
        "stage_name": "t", "config": {"stage_id": "json_transform", "parameters": {
            "template": '{"x": {{ nope }} }', "fail_on_error": True}}}]})
    assert strict.status_code == 422 and "'nope' is undefined" in strict.json()["error"]["message"]
    broken = client.post("/v1/retrievers/execute", json={**body, "stages": [body["stages"][0], {
        "stage_name": "t", "config": {"stage_id": "json_transform", "parameters": {"template": "{{ x "}}}]})
    assert broken.status_code == 422 and "template syntax error" in broken.json()["error"]["message"]
    sneaky = run(corpus, ("json_transform", {"template": '{"x": "{{ DOC.__class__.__mro__ }}"}'}))
    errors = sneaky["stage_statistics"]["stages"]["s0"]["metadata"]["errors"]  # the sandbox refuses attribute tricks
    assert len(errors) == 6 and "SecurityError: access to attribute '__class__'" in errors[0]
    assert "x" not in sneaky["documents"][0]


def test_document_enrich_joins_another_collection(corpus):
    client, coll = corpus
    bucket = client.post("/v1/buckets", json={"bucket_name": "people", "bucket_schema": {"properties": {
        "bio": {"type": "text"}, "author": {"type": "string"}, "affiliation": {"type": "string"}}}}).json()
    people = client.post("/v1/collections", json={
        "collection_name": "people", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "bio"},
                              "field_passthrough": [{"source_path": "author"}, {"source_path": "affiliation"}]}}).json()
    ids = [client.post(f"/v1/buckets/{bucket['bucket_id']}/objects", json={
        "author": a, "affiliation": f, "blobs": [{"property": "bio", "type": "text", "data": f"{a} works at {f}."}]}
    ).json()["object_id"] for a, f in [("ada", "ETH"), ("bob", "IBM"), ("cy", "Kew")]]
    batch = client.post(f"/v1/buckets/{bucket['bucket_id']}/batches", json={"object_ids": ids}).json()
    client.post(f"/v1/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", json={})
    assert wait_batch(client, batch["batch_id"])["status"] == "COMPLETED"

    join = {"target_collection_id": "people", "source_field": "author", "target_field": "author"}
    out = run(corpus, ("document_enrich", {**join, "fields_to_merge": ["affiliation"]}))
    stats = out["stage_statistics"]["stages"]["s0"]["metadata"]
    assert stats["enriched"] == 5 and stats["missing"] == 1 and stats["target_collection_id"] == people["collection_id"]
    by_author = {d["author"]: d.get("affiliation") for d in out["documents"]}
    assert by_author == {"ada": "ETH", "bob": "IBM", "cy": "Kew", "dee": None}
    strict = run(corpus, ("document_enrich", {**join, "allow_missing": False, "output_field": "person"}))
    assert {d["author"] for d in strict["documents"]} == {"ada", "bob", "cy"}
    assert all(d["person"]["text"] == f"{d['author']} works at {d['person']['affiliation']}." for d in strict["documents"])
    appended = run(corpus, ("document_enrich", {**join, "strategy": "append",
                                                "when": {"field": "year", "operator": "gte", "value": 2021}}))
    for d in appended["documents"]:
        assert ("enrichments" in d) == (d["year"] >= 2021 and d["author"] != "dee")
    missing = client.post("/v1/retrievers/execute", json={"collection_identifiers": [coll["collection_id"]], "stages": [
        {"stage_name": "e", "config": {"stage_id": "document_enrich", "parameters": {"target_collection_id": "nope"}}}]})
    assert missing.status_code == 404 and "nope" in missing.json()["error"]["message"]


def test_llm_stages_without_an_endpoint_fail_clearly(corpus, live):
    assert live.services.settings.llm_base_url is None
    for sid, params in [("llm_filter", {"criteria": "x"}), ("llm_enrich", {"prompt": "x"}), ("summarize", {}),
                        ("query_expand", {"feature_search_config": {"searches": [{"feature_uri": DENSE, "query": "q"}]}})]:
        resp = corpus[0].post("/v1/retrievers/execute", json={"collection_identifiers": [corpus[1]["collection_id"]],
                              "stages": [{"stage_name": "x", "config": {"stage_id": sid, "parameters": params}}]})
        assert resp.status_code == 503, (sid, resp.text)
        assert "WAREHOUSE_LLM_BASE_URL" in resp.json()["error"]["message"]


@pytest.fixture
def llm(live, monkeypatch):
    from tests.openai_compatible import FakeLLM

    with FakeLLM(expansions=["superconducting qubit hardware", "Qubits"]) as server:
        monkeypatch.setattr(live.services.settings, "llm_base_url", server.base_url)
        monkeypatch.setattr(live.services.settings, "llm_model", "test-model")
        monkeypatch.setattr(live.services.settings, "llm_api_key", server.api_key)
        yield server


def test_llm_filter_and_enrich(corpus, llm):
    out = run(corpus, ("llm_filter", {"criteria": 'mentions "qubits"', "include_reasoning": True}))
    docs = out["documents"]
    assert {d["text"] for d in docs} == {t for t, *_ in DOCS if "qubits" in t.lower()}
    assert all(d["llm_reasoning"] == "mentions qubits" for d in docs)
    assert out["stage_statistics"]["stages"]["s0"]["metadata"]["judged"] == 6
    sent = llm.requests[-1]
    assert sent["auth"] == "Bearer sk-llm-test" and sent["body"]["model"] == "test-model"
    assert sent["body"]["response_format"]["json_schema"]["schema"]["required"] == ["keep", "reason"]

    enriched = run(corpus, ("llm_enrich", {"prompt": "Count words by {{ author }}", "output_field": "facts.count",
                                           "when": {"field": "author", "operator": "eq", "value": "ada"}}))["documents"]
    for d in enriched:
        if d["author"] == "ada":
            prompt = f"Count words by ada\n\nDocument:\n{d['text']}"
            assert d["facts"]["count"] == f"{len(prompt.split())} words; cites"
        else:
            assert "facts" not in d
    typed = run(corpus, ("llm_enrich", {"prompt": "Topic?", "schema": {"type": "object", "properties": {
        "topic": {"type": "string"}}}}))["documents"]
    assert all(d["summary"] == {"topic": d["text"].split()[0].strip(".,")} for d in typed)
    llm.fail_with = 500  # the endpoint's error surfaces as a 502 that names it
    with pytest.raises(AssertionError, match=r"LLM endpoint http://127\.0\.0\.1:\d+/v1 answered 500"):
        run(corpus, ("llm_enrich", {"prompt": "x"}))


def test_summarize_and_query_expand(corpus, llm):
    one = run(corpus, ("summarize", {}))["documents"]
    assert len(one) == 1 and one[0]["summary"].endswith("cites [1] [2] [3] [4] [5] [6]")
    assert one[0]["document_count"] == 6 and len(one[0]["source_document_ids"]) == 6
    grouped = run(corpus, ("summarize", {"group_by": "author", "max_input_tokens": 16}))["documents"]
    assert sorted(g["group_key"] for g in grouped) == ["ada", "bob", "cy", "dee"]
    ada = next(g for g in grouped if g["group_key"] == "ada")
    assert ada["document_count"] == 2 and len(ada["source_document_ids"]) == 1  # the token budget holds one

    config = {"searches": [{"feature_uri": DENSE, "query": "qubits", "top_k": 10}], "final_top_k": 10}
    out = run(corpus, ("query_expand", {"feature_search_config": config, "rrf_k": 10}))
    meta = out["stage_statistics"]["stages"]["s0"]["metadata"]
    assert meta["queries"] == ["qubits", "superconducting qubit hardware"]  # "Qubits" repeats the original
    assert meta["fusion"] == {"method": "rrf", "searches": [DENSE, DENSE], "k": 10, "weights": [1.0, 1.0]}
    top = out["documents"][0]["text"]
    assert top == DOCS[2][0]  # the hardware document gains from the expansion


def test_an_input_is_data_in_a_template_never_template_code():
    from warehouse.retrieval.pipeline import build_stages
    from warehouse.retrieval.stages import StageContext

    [stage] = build_stages([{"stage_name": "t", "config": {"stage_id": "json_transform", "parameters": {
        "template": '{"q": "{{INPUT.q}}", "missing": "{{INPUT.other}}", "title": "{{ DOC.title }}"}'}}}],
        {"q": "{{ 7*7 }}"})
    ctx = StageContext(services=None, namespace_id="ns", collections=[], inputs={"q": "{{ 7*7 }}"})
    [out] = stage.run(ctx, [{"document_id": "doc_1", "title": "Tides"}])
    assert {k: out[k] for k in ("q", "missing", "title")} == {"q": "{{ 7*7 }}", "missing": "", "title": "Tides"}
