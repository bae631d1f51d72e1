"""Matching documents to a taxonomy's nodes: batched engine queries (retriever strategy), a linear probe on
the reference vectors, or a level-by-level descent of a hierarchy; on-demand matching writes nothing."""

from __future__ import annotations

from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from warehouse.enrichment import documents
from warehouse.enrichment.taxonomies.config import Plan
from warehouse.errors import WarehouseError
from warehouse.ids import uuid_from_document_id
from warehouse.index import VectorQuery
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import get_path
from warehouse.retrieval.pipeline import execute


@dataclass
class Match:
    label: Any
    score: float
    node_id: str
    fields: dict[str, Any]
    path: list[str] = field(default_factory=list)


def _vectors(svc, plan: Plan, targets: list[dict[str, Any]], vectors: dict[str, list[float]]) -> np.ndarray:
    """Query vectors: the stored one where the target has it, else the mapped text embedded."""
    text_key = next((m for m in plan.config["input_mappings"] if m["source_type"] == "payload"), None)
    out = []
    for d in targets:
        v = vectors.get(d["document_id"])
        if v is None:
            path = text_key["path"] if text_key else "text"
            text = get_path(d, path)
            if not isinstance(text, str) or not text.strip():
                raise WarehouseError(422, f"document {d['document_id']} has no {plan.feature.uri} vector and no text at "
                               f"{path!r} to embed", {"document_id": d["document_id"]})
            v = svc.inference.embed_text(plan.feature.ext, text, plan.feature.feature.feature_name)
        out.append(v)
    return np.asarray(out, dtype=np.float32)


def _has_input(plan: Plan, d: dict[str, Any], vectors: dict[str, list[float]]) -> bool:
    """Whether ``d`` gives the matching something to go on: for a retriever run per document, every payload-mapped
    input; otherwise its stored vector or the mapped text to embed."""
    payload = [m["path"] for m in plan.config["input_mappings"] if m["source_type"] == "payload"]

    def present(path: str) -> bool:
        value = get_path(d, path)
        return value is not None and (not isinstance(value, str) or bool(value.strip()))

    per_document = (plan.config["taxonomy_type"] != "hierarchical" and plan.config["inference_strategy"] != "linear_probe"
                    and plan.retriever is not None and plan.engine_input is None)
    if per_document:
        return all(present(p) for p in payload)
    has_vector = vectors.get(d["document_id"]) is not None
    return has_vector or present(payload[0] if payload else "text")


def _copy_fields(ref: dict[str, Any], fields: list[dict[str, Any]]) -> dict[str, Any]:
    return {f["target_field"]: get_path(ref, f["field_path"]) for f in fields}


def _engine_matches(svc, namespace_id: str, plan: Plan, Q: np.ndarray, collection_ids: list[str],
                    exclude: list[str], limit: int, threshold: float | None) -> list[list[tuple[dict, float]]]:
    using = plan.feature.vector_name
    queries = [VectorQuery(using=using, vector=q.tolist(), limit=limit + 1, score_threshold=threshold,
                           filter={"must": [{"key": "collection_id", "match": {"any": collection_ids}}]})
               for q in Q]
    out = []
    for start in range(0, len(queries), 256):
        for hits, self_id in zip(svc.index.query_batch(namespace_id, queries[start:start + 256]),
                                 exclude[start:start + 256], strict=True):
            docs = [(document_view(h), h.score) for h in hits]
            out.append([(d, s) for d, s in docs if d["document_id"] != self_id][:limit])
    return out


def _retriever_matches(svc, namespace_id: str, plan: Plan, targets: list[dict[str, Any]],
                       vectors: dict[str, list[float]]) -> list[list[tuple[dict, float]]]:
    """Run the retriever once per target (any retriever shape), a few at a time."""

    r = plan.retriever

    def one(d):
        inputs = {}
        for m in plan.config["input_mappings"]:
            if m["source_type"] == "payload":
                inputs[m["input_key"]] = get_path(d, m["path"])
            elif m["source_type"] == "literal":
                inputs[m["input_key"]] = m.get("value")
            else:
                inputs[m["input_key"]] = {"input_mode": "vector", "value": vectors.get(d["document_id"])}
        res = execute(svc, namespace_id, plan.retriever_collections, r.stages, r.input_schema, inputs,
                      plan.config["top_k"] + 1)
        ref_ids = set(plan.reference_ids)
        found = [(x, float(x.get("score") or 0)) for x in res["documents"]
                 if x.get("collection_id") in ref_ids and x["document_id"] != d["document_id"]]
        t = plan.config["threshold"]
        return [(x, sc) for x, sc in found if t is None or sc >= t][:plan.config["top_k"]]

    with ThreadPoolExecutor(max_workers=4) as pool:
        return list(pool.map(one, targets))


def _fit_probe(svc, namespace_id: str, plan: Plan):
    """The classifier over the reference vectors (read once per plan, not once per page of targets)."""
    # lazy: scikit-learn is imported by the enrichment runs that use it, not by every process
    from sklearn.linear_model import LogisticRegression

    label_path = plan.config["source_collection"]["enrichment_fields"][0]["field_path"]
    refs = documents.scan(svc.index, namespace_id, documents.scope_filter(plan.reference_ids), plan.feature.vector_name)
    refs = [h for h in refs if h.vectors and h.vectors.get(plan.feature.vector_name) is not None]
    ref_docs = [document_view(h) for h in refs]
    labels = [get_path(d, label_path) for d in ref_docs]
    keep = [i for i, lab in enumerate(labels) if lab is not None]
    if len({str(labels[i]) for i in keep}) < 2:
        raise WarehouseError(422, f"linear_probe needs reference documents with at least two distinct values of "
                       f"{label_path!r}; found {len({str(labels[i]) for i in keep})}", {"location": "inference_strategy"})
    R = np.asarray([refs[i].vectors[plan.feature.vector_name] for i in keep], dtype=np.float32)
    y = np.asarray([str(labels[i]) for i in keep])
    return LogisticRegression(C=100.0, max_iter=3000).fit(R, y), R, y, [ref_docs[i] for i in keep]


def _linear_probe(svc, namespace_id: str, plan: Plan, Q: np.ndarray) -> list[list[tuple[dict, float]]]:
    if plan.probe is None:
        plan.probe = _fit_probe(svc, namespace_id, plan)
    clf, R, y, ref_docs = plan.probe
    P = clf.predict_proba(Q)
    sims = Q @ R.T
    out = []
    t = plan.config["threshold"]
    for row, sim in zip(P, sims, strict=True):
        order = np.argsort(-row)[: plan.config["top_k"]]
        matches = []
        for j in order:
            if t is not None and row[j] < t:
                continue
            members = np.flatnonzero(y == clf.classes_[j])
            best = members[np.argmax(sim[members])]  # the closest reference of the predicted label
            matches.append((ref_docs[best], float(row[j])))
        out.append(matches)
    return out


def classify(svc, namespace_id: str, plan: Plan, targets: list[dict[str, Any]],
             vectors: dict[str, list[float]]) -> tuple[list[Match | None], str]:
    """The best match of each target (None below the threshold) and how matching ran."""
    cfg = plan.config
    if not targets:
        return [], "none"
    usable = [i for i, d in enumerate(targets) if _has_input(plan, d, vectors)]
    if len(usable) < len(targets):  # a document with nothing to classify is left unassigned, not the whole run failed
        found, how = classify(svc, namespace_id, plan, [targets[i] for i in usable], vectors)
        out: list[Match | None] = [None] * len(targets)
        for i, match in zip(usable, found, strict=True):
            out[i] = match
        return out, how
    if cfg["taxonomy_type"] == "hierarchical":
        return _hierarchical(svc, namespace_id, plan, targets, vectors), "engine_batch"
    fields = cfg["source_collection"]["enrichment_fields"]
    if cfg["inference_strategy"] == "linear_probe":
        found, how = _linear_probe(svc, namespace_id, plan, _vectors(svc, plan, targets, vectors)), "linear_probe"
    elif plan.retriever is None or plan.engine_input is not None:
        Q = _vectors(svc, plan, targets, vectors)
        found = _engine_matches(svc, namespace_id, plan, Q, plan.reference_ids,
                                [d["document_id"] for d in targets], cfg["top_k"], cfg["threshold"])
        how = "engine_batch"
    else:
        found, how = _retriever_matches(svc, namespace_id, plan, targets, vectors), "retriever_per_document"
    out: list[Match | None] = []
    for matches in found:
        if not matches:
            out.append(None)
            continue
        ref, score = matches[0]
        copied = _copy_fields(ref, fields)
        if len(matches) > 1:  # top_k > 1: every match's values, best first
            copied = {f["target_field"]: [get_path(m, f["field_path"]) for m, _ in matches] for f in fields}
        label = get_path(ref, fields[0]["field_path"])
        out.append(Match(label, float(score), ref["document_id"], copied, [str(label)]))
    return out, how


def _hierarchical(svc, namespace_id: str, plan: Plan, targets, vectors) -> list[Match | None]:
    cfg = plan.config
    nodes = {n["collection_id"]: n for n in cfg["hierarchical_nodes"]}
    children: dict[str | None, list[str]] = defaultdict(list)
    for n in cfg["hierarchical_nodes"]:
        children[n.get("parent_collection_id")].append(n["collection_id"])
    Q = _vectors(svc, plan, targets, vectors)
    state: list[Match | None] = [None] * len(targets)
    current: list[str | None] = [None] * len(targets)  # the node each target sits at
    active = list(range(len(targets)))
    while active:
        by_parent: dict[str | None, list[int]] = defaultdict(list)
        for i in active:
            if children.get(current[i]):
                by_parent[current[i]].append(i)
        active = []
        for parent, idx in by_parent.items():
            kids = children[parent]
            found = _engine_matches(svc, namespace_id, plan, Q[idx], kids, [targets[i]["document_id"] for i in idx],
                                    1, None)
            for i, matches in zip(idx, found, strict=True):
                if not matches:
                    continue
                ref, score = matches[0]
                node = nodes[ref["collection_id"]]
                t = node.get("threshold", cfg["threshold"])
                if t is not None and score < t:
                    continue
                label = node.get("label") or ref["collection_id"]
                prev = state[i]
                fields = {**(prev.fields if prev else {}), **_copy_fields(ref, node["enrichment_fields"])}
                state[i] = Match(label, float(score), node["collection_id"], fields, (prev.path if prev else []) + [label])
                current[i] = node["collection_id"]
                active.append(i)
    for m in state:
        if m is not None:
            m.fields[cfg["path_field"]] = cfg["path_separator"].join(m.path)
    return state


def match_documents(svc, namespace_id: str, plan: Plan, docs: list[dict[str, Any]]) -> list[Match | None]:
    """On-demand matching of documents (retriever results, request bodies): stored vectors are used
    for documents that have one."""

    ids = {str(uuid_from_document_id(d["document_id"])): d["document_id"] for d in docs
           if str(d.get("document_id", "")).startswith("doc_")}
    vectors = {}
    if ids:
        for h in svc.index.retrieve(namespace_id, list(ids), with_vectors=[plan.feature.vector_name]):
            v = (h.vectors or {}).get(plan.feature.vector_name)
            if v is not None:
                vectors[ids[h.id]] = v
    docs = [d if d.get("document_id") else {**d, "document_id": f"input_{i}"} for i, d in enumerate(docs)]
    return classify(svc, namespace_id, plan, docs, vectors)[0]


def match_view(m: Match | None) -> dict[str, Any] | None:
    if m is None:
        return None
    return {"label": m.label, "score": round(m.score, 6), "node_id": m.node_id, "path": m.path, "fields": m.fields}
