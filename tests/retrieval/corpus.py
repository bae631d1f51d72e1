"""The documents of the ``corpus`` fixture and a helper that runs stages over them."""

from __future__ import annotations

DOCS = [  # text, author, year, tags
    ("Qubits are the units of quantum information.", "ada", 2019, ["quantum", "physics"]),
    ("Quantum error correction protects fragile qubits.", "ada", 2021, ["quantum"]),
    ("Superconducting circuits host many qubits today.", "bob", 2023, ["quantum", "hardware"]),
    ("Honeybees pollinate almond orchards in spring.", "cy", 2018, ["biology"]),
    ("Qubits are the units of quantum information.", "dee", 2020, []),  # same text as the first
    ("Glaciers carve valleys as they retreat.", "cy", 2022, None),
]
Q = "the units of quantum information"
DENSE = "mixpeek://text_extractor@v1/all_minilm_l6_v2_v1"


def run(corpus, *stages, query="qubits and quantum computers"):
    client, coll = corpus
    search = {"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
        "searches": [{"feature_uri": DENSE, "query": query, "top_k": 10}], "final_top_k": 10}}}
    body = {"collection_identifiers": [coll["collection_id"]], "stages": [search] + [
        {"stage_name": f"s{i}", "config": {"stage_id": sid, "parameters": params}}
        for i, (sid, params) in enumerate(stages)]}
    resp = client.post("/v1/retrievers/execute", json=body)
    assert resp.status_code == 200, resp.text
    return resp.json()


