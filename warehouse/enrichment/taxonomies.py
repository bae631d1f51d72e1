"""Taxonomies: matching documents to labelled reference documents (flat) or to a tree of node
collections (hierarchical), and copying the match's fields into the documents.

A **flat** taxonomy's nodes are the documents of a reference collection; each carries its label in a
payload field (``enrichment_fields[].field_path``). A target document gets the best matching
reference (above ``threshold``) and the configured fields are copied into it (``replace`` or
``append``). Two ways to match:

* ``inference_strategy: "retriever"`` (default) — the taxonomy's retriever, with inputs mapped from
  the target document. When the retriever is one dense ``feature_search`` (the usual case) every
  page of documents becomes one batched engine query, and a target indexed with the same feature
  searches with its stored vector (no re-embedding); any other retriever runs per document.
* ``inference_strategy: "linear_probe"`` — a logistic-regression classifier fitted on the reference
  documents' vectors (few-shot: ~10 references per label are enough); the score is its probability.

A **hierarchical** taxonomy's nodes are collections (``hierarchical_nodes[]`` with
``parent_collection_id``); a document descends from the roots, and a child is only considered under
the node chosen at the level above, so the path is always consistent. The path goes into
``path_field`` joined by ``path_separator``.

Every assignment is also recorded under ``taxonomies.<taxonomy_id>`` in the document's payload:
label, score, node, path, taxonomy version.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from warehouse.catalog import Collection, Retriever, Taxonomy
from warehouse.catalog.lookups import get_collection, get_retriever
from warehouse.enrichment import documents
from warehouse.errors import WarehouseError, check_keys
from warehouse.ids import uuid_from_document_id
from warehouse.index import VectorQuery
from warehouse.retrieval.documents import document_view
from warehouse.retrieval.filters import get_path
from warehouse.retrieval.pipeline import execute
from warehouse.retrieval.templates import _TEMPLATE

STRATEGIES = ("retriever", "linear_probe")
MERGE_MODES = ("replace", "append")


# -- the request shapes -----------------------------------------------------------------------------

def _strip_payload(path: str) -> str:
    return path[len("payload."):] if path.startswith("payload.") else path


def _mapping(m: Any, where: str) -> dict[str, Any]:
    """``{input_key, source_type, path, value}`` from the documented form or the tutorial's ``{source, target}``."""
    m = check_keys(m, {"input_key", "source_type", "path", "value", "override", "source", "target"}, where)
    if "source" in m or "target" in m:
        if not m.get("source") or not m.get("target"):
            raise WarehouseError(422, f"{where}: the short form needs both 'source' (e.g. 'payload.text') and "
                           "'target' (the retriever input)", {"location": where})
        return {"input_key": m["target"], "source_type": "payload", "path": _strip_payload(m["source"])}
    if not m.get("input_key"):
        raise WarehouseError(422, f"{where}: input_key is required", {"location": where})
    source_type = m.get("source_type", "payload")
    if source_type not in ("payload", "literal", "vector"):
        raise WarehouseError(422, f"{where}.source_type: {source_type!r} is not one of payload, literal, vector",
                       {"location": where})
    if source_type == "payload" and not m.get("path"):
        raise WarehouseError(422, f"{where}: a payload mapping needs 'path'", {"location": where})
    out = {"input_key": m["input_key"], "source_type": source_type}
    if m.get("path"):
        out["path"] = _strip_payload(m["path"])
    if source_type == "literal":
        out["value"] = m.get("value", m.get("override"))
    return out


def _enrichment_field(f: Any, where: str) -> dict[str, Any]:
    if isinstance(f, str):
        f = {"field_path": f}
    f = check_keys(f, {"field_path", "target_field", "merge_mode", "source", "target"}, where)
    path = f.get("field_path") or f.get("source")
    if not path or not isinstance(path, str):
        raise WarehouseError(422, f"{where}: field_path (the reference document's field to copy) is required",
                       {"location": where})
    path = _strip_payload(path)
    mode = f.get("merge_mode", "replace")
    if mode not in MERGE_MODES:
        raise WarehouseError(422, f"{where}.merge_mode: {mode!r} is not one of {list(MERGE_MODES)}", {"location": where})
    return {"field_path": path, "target_field": _strip_payload(f.get("target_field") or f.get("target") or path),
            "merge_mode": mode}


CONFIG_KEYS = {"taxonomy_type", "retriever_id", "input_mappings", "source_collection", "top_k", "threshold",
               "step_analytics", "hierarchical_nodes", "inference_strategy", "inference_collections", "llm_provider",
               "llm_model", "cluster_ids", "path_field", "path_separator", "feature_uri", "target_collection_ids",
               "enrichment_fields", "collection_configuration", "min_score"}
FLAT_KEYS = {"taxonomy_name", "description", "metadata", "config", "taxonomy_type", "retriever_id", "collection_id",
             "input_mappings", "enrichment_fields", "threshold", "execution_mode", "top_k", "feature_uri",
             "inference_strategy", "source_collection", "target_collection_ids", "reference_collection_id",
             "hierarchical_nodes", "path_field", "path_separator"}


def parse_request(body: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(top-level fields, config)`` from the documented ``config`` form, the tutorial's flat form, or
    the showcase's ``config.enrichment_fields`` / ``collection_configuration`` variant."""
    body = check_keys(body, FLAT_KEYS, "body")
    top = {k: body.get(k) for k in ("taxonomy_name", "description", "metadata")}
    if "config" in body:
        misplaced = sorted(set(body) - {"taxonomy_name", "description", "metadata", "config"})
        if misplaced:
            raise WarehouseError(422, f"with 'config', put {misplaced} inside config (or drop config and use the flat form)",
                           {"location": "body", "misplaced": misplaced})
        raw = dict(check_keys(body["config"], CONFIG_KEYS, "config"))
    else:
        raw = {k: v for k, v in body.items() if k not in ("taxonomy_name", "description", "metadata")}
        # Tutorial shape: collection_id is the collection to classify; the references are the
        # retriever's collection unless source_collection / reference_collection_id says otherwise.
        if raw.get("collection_id"):
            raw.setdefault("target_collection_ids", [raw.pop("collection_id")])
        raw.pop("collection_id", None)
        if raw.pop("execution_mode", "materialize") not in ("materialize", "on_demand"):
            raise WarehouseError(422, "execution_mode must be 'materialize' or 'on_demand'", {"location": "execution_mode"})
        if raw.get("reference_collection_id"):
            raw.setdefault("source_collection", {"collection_id": raw.pop("reference_collection_id")})
        raw.pop("reference_collection_id", None)
    return top, normalize_config(raw)


def normalize_config(raw: dict[str, Any]) -> dict[str, Any]:
    raw = dict(raw)
    ttype = raw.get("taxonomy_type", "flat")
    if ttype not in ("flat", "hierarchical"):
        raise WarehouseError(422, f"taxonomy_type {ttype!r} is not 'flat' or 'hierarchical'", {"location": "taxonomy_type"})
    source = check_keys(raw.get("source_collection") or {}, {"collection_id", "enrichment_fields"}, "source_collection")
    fields = [_enrichment_field(f, f"enrichment_fields[{i}]")
              for i, f in enumerate(source.get("enrichment_fields") or raw.get("enrichment_fields") or [])]
    targets = list(raw.get("target_collection_ids") or [])
    for i, cc in enumerate(raw.get("collection_configuration") or []):  # showcase variant
        cc = check_keys(cc, {"collection_id", "apply_on_ingestion"}, f"collection_configuration[{i}]")
        if cc.get("apply_on_ingestion", True) and cc.get("collection_id"):
            targets.append(cc["collection_id"])
    threshold = raw.get("threshold", raw.get("min_score"))
    if threshold is not None and not isinstance(threshold, int | float):
        raise WarehouseError(422, "threshold must be a number (the minimum match score)", {"location": "threshold"})
    top_k = raw.get("top_k", 1)
    if not isinstance(top_k, int) or not 1 <= top_k <= 50:
        raise WarehouseError(422, "top_k must be an integer from 1 to 50", {"location": "top_k"})
    strategy = raw.get("inference_strategy") or "retriever"
    if strategy not in STRATEGIES:
        raise WarehouseError(422, f"inference_strategy {strategy!r} is not one of {list(STRATEGIES)}",
                       {"location": "inference_strategy"})
    config = {
        "taxonomy_type": ttype, "retriever_id": raw.get("retriever_id"), "feature_uri": raw.get("feature_uri"),
        "input_mappings": [_mapping(m, f"input_mappings[{i}]") for i, m in enumerate(raw.get("input_mappings") or [])],
        "source_collection": {"collection_id": source.get("collection_id"), "enrichment_fields": fields},
        "top_k": top_k, "threshold": threshold, "inference_strategy": strategy,
        "target_collection_ids": list(dict.fromkeys(targets)),
    }
    if ttype == "hierarchical":
        if strategy != "retriever":
            raise WarehouseError(422, "inference_strategy 'linear_probe' is for flat taxonomies", {"location": "inference_strategy"})
        nodes = raw.get("hierarchical_nodes") or []
        if not nodes:
            raise WarehouseError(422, "a hierarchical taxonomy needs hierarchical_nodes: [{collection_id, "
                           "parent_collection_id, label}]", {"location": "hierarchical_nodes"})
        allowed = {"collection_id", "parent_collection_id", "label", "summary", "keywords", "enrichment_fields",
                   "threshold", "retriever_id", "input_mappings"}
        out = []
        for i, n in enumerate(nodes):
            n = check_keys(n, allowed, f"hierarchical_nodes[{i}]")
            if not n.get("collection_id"):
                raise WarehouseError(422, f"hierarchical_nodes[{i}]: collection_id is required", {"location": f"hierarchical_nodes[{i}]"})
            if n.get("retriever_id") or n.get("input_mappings"):
                raise WarehouseError(422, f"hierarchical_nodes[{i}]: per-node retriever_id/input_mappings are not supported; "
                               "every level is matched with the taxonomy's retriever feature", {"location": f"hierarchical_nodes[{i}]"})
            out.append({"collection_id": n["collection_id"], "parent_collection_id": n.get("parent_collection_id"),
                        "label": n.get("label"), "summary": n.get("summary"), "keywords": n.get("keywords") or [],
                        "threshold": n.get("threshold"),
                        "enrichment_fields": [_enrichment_field(f, f"hierarchical_nodes[{i}].enrichment_fields[{j}]")
                                              for j, f in enumerate(n.get("enrichment_fields") or [])]})
        config.update(hierarchical_nodes=out, path_field=_strip_payload(raw.get("path_field") or "taxonomy_path"),
                      path_separator=raw.get("path_separator") or "/")
    elif not fields:
        raise WarehouseError(422, "a flat taxonomy needs enrichment_fields: the reference fields to copy, e.g. "
                       "[{'field_path': 'category', 'target_field': 'auto_category'}]", {"location": "enrichment_fields"})
    if not config["retriever_id"] and not config["feature_uri"]:
        raise WarehouseError(422, "name the retriever that matches documents (retriever_id) or the feature to match on "
                       "(feature_uri)", {"location": "retriever_id"})
    return config


# -- resolving against the catalog ------------------------------------------------------------------

@dataclass
class Plan:
    """A taxonomy resolved against the catalog: what to read and how to match."""

    taxonomy_id: str
    name: str
    version: int
    config: dict[str, Any]
    feature: documents.Feature
    reference_ids: list[str]  # flat: the reference collection
    retriever: Retriever | None = None
    retriever_collections: list[Collection] = field(default_factory=list)
    engine_input: str | None = None  # the one input a simple retriever's query is, when it is simple
    probe: Any = None  # linear_probe: (classifier, reference vectors, labels, reference docs), fitted once per plan


def _retriever_feature(r: Retriever) -> tuple[str | None, str | None, bool]:
    """``(dense feature_uri, query input name, simple)`` of a retriever's first feature_search."""
    for st in r.stages:
        cfg = st.get("config") or {}
        if cfg.get("stage_id") != "feature_search":
            continue
        params = cfg.get("parameters") or {}
        searches = params.get("searches") or []
        uri = next((s.get("feature_uri") for s in searches
                    if s.get("feature_uri") and not s.get("lexical") and not str(s["feature_uri"]).endswith("/bm25")), None)
        simple = (len(r.stages) == 1 and len(searches) == 1 and uri is not None and not params.get("filters")
                  and not searches[0].get("filters"))
        query = searches[0].get("query") if searches else None
        name = None
        if simple and isinstance(query, str) and (m := _TEMPLATE.fullmatch(query.strip())):
            name = m.group(2)
        return uri, name, simple and name is not None
    return None, None, False


def resolve(svc, s, namespace_id: str, t: Taxonomy, config: dict[str, Any] | None = None) -> Plan:
    """Check that everything the taxonomy names exists (422 naming what is missing); the plan holds a
    resolved copy of the config (ids for names), the stored one is left as it is."""

    config = copy.deepcopy(config if config is not None else t.config)
    retriever, r_colls, engine_input = None, [], None
    feature_uri = config.get("feature_uri")
    if config.get("retriever_id"):
        try:
            retriever = get_retriever(s, namespace_id, config["retriever_id"])
        except WarehouseError:
            raise WarehouseError(422, f"retriever_id: retriever {config['retriever_id']!r} not found in this namespace",
                           {"location": "retriever_id"}) from None
        uri, name, simple = _retriever_feature(retriever)
        if uri is None:
            raise WarehouseError(422, f"retriever {retriever.retriever_name!r} has no dense feature_search to match with",
                           {"location": "retriever_id"})
        feature_uri = feature_uri or uri
        engine_input = name if simple else None
        r_colls = [c for cid in retriever.collection_ids if (c := s.get(Collection, cid)) is not None]
    feature = documents.resolve_feature(svc.registry, feature_uri)

    def coll(identifier: str, where: str) -> Collection:
        try:
            return get_collection(s, namespace_id, identifier)
        except WarehouseError:
            raise WarehouseError(422, f"{where}: collection {identifier!r} not found in this namespace",
                           {"location": where}) from None

    targets = [coll(c, "target_collection_ids").collection_id for c in config.get("target_collection_ids") or []]
    reference_ids: list[str] = []
    if config["taxonomy_type"] == "flat":
        ref = config["source_collection"].get("collection_id")
        if ref:
            reference_ids = [coll(ref, "source_collection.collection_id").collection_id]
        elif r_colls:
            reference_ids = [r_colls[0].collection_id]
        else:
            raise WarehouseError(422, "name the reference collection (source_collection.collection_id) or a retriever "
                           "over it", {"location": "source_collection.collection_id"})
        config["source_collection"] = {**config["source_collection"], "collection_id": reference_ids[0]}
    else:
        nodes = config["hierarchical_nodes"]
        ids = []
        for i, n in enumerate(nodes):
            n["collection_id"] = coll(n["collection_id"], f"hierarchical_nodes[{i}].collection_id").collection_id
            ids.append(n["collection_id"])
        for i, n in enumerate(nodes):
            if n.get("parent_collection_id"):
                n["parent_collection_id"] = coll(n["parent_collection_id"],
                                                 f"hierarchical_nodes[{i}].parent_collection_id").collection_id
                if n["parent_collection_id"] not in ids:
                    raise WarehouseError(422, f"hierarchical_nodes[{i}]: parent {n['parent_collection_id']!r} is not a node "
                                   "of this taxonomy", {"location": f"hierarchical_nodes[{i}].parent_collection_id"})
        _check_tree(nodes)
        reference_ids = ids
    config["target_collection_ids"] = targets
    return Plan(t.taxonomy_id if t is not None else "", t.taxonomy_name if t is not None else "",
                t.version if t is not None else 1, config, feature, reference_ids, retriever, r_colls, engine_input)


def _check_tree(nodes: list[dict[str, Any]]) -> None:
    parent = {n["collection_id"]: n.get("parent_collection_id") for n in nodes}
    if len(parent) != len(nodes):
        raise WarehouseError(422, "hierarchical_nodes: a collection appears twice", {"location": "hierarchical_nodes"})
    if not any(p is None for p in parent.values()):
        raise WarehouseError(422, "hierarchical_nodes: no root node (one without parent_collection_id)",
                       {"location": "hierarchical_nodes"})
    for start in parent:
        seen, cur = set(), start
        while cur is not None:
            if cur in seen:
                raise WarehouseError(422, f"hierarchical_nodes: the parents form a cycle through {cur!r}",
                               {"location": "hierarchical_nodes"})
            seen.add(cur)
            cur = parent.get(cur)


# -- matching ---------------------------------------------------------------------------------------

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


# -- applying ---------------------------------------------------------------------------------------

def updates_for(plan: Plan, targets: list[dict[str, Any]], matches: list[Match | None]):
    """``(field updates, taxonomies.<id> updates)`` for the index, one per target."""

    now = datetime.now(UTC).isoformat()
    modes = {f["target_field"]: f["merge_mode"] for f in plan.config["source_collection"]["enrichment_fields"]}
    for n in plan.config.get("hierarchical_nodes") or []:
        modes.update({f["target_field"]: f["merge_mode"] for f in n["enrichment_fields"]})
    fields_out, record_out = [], []
    for d, m in zip(targets, matches, strict=True):
        pid = str(uuid_from_document_id(d["document_id"]))
        if m is None:
            cleared = {k: None for k, mode in modes.items() if mode == "replace"}
            if plan.config["taxonomy_type"] == "hierarchical":
                cleared[plan.config["path_field"]] = None
            if cleared:
                fields_out.append((pid, cleared))
            record_out.append((pid, {plan.taxonomy_id: {"assigned": False, "version": plan.version, "at": now}}))
            continue
        values = {}
        for k, v in m.fields.items():
            if modes.get(k) == "append":
                have = d.get(k)
                have = list(have) if isinstance(have, list) else ([] if have is None else [have])
                for x in v if isinstance(v, list) else [v]:
                    if x is not None and x not in have:
                        have.append(x)
                v = have
            values[k] = v
        fields_out.append((pid, values))
        record_out.append((pid, {plan.taxonomy_id: {"assigned": True, "label": m.label, "score": round(m.score, 6),
                                                    "node_id": m.node_id, "path": m.path, "version": plan.version,
                                                    "at": now}}))
    return fields_out, record_out


def materialize(svc, namespace_id: str, plan: Plan, collection_ids: list[str] | None = None,
                scroll_filters: Any = None, batch_size: int = 1000, progress=None) -> dict[str, Any]:
    """Classify every document of the target collections and write the fields; returns counts."""
    collection_ids = collection_ids or plan.config["target_collection_ids"]
    if not collection_ids:
        raise WarehouseError(422, f"taxonomy {plan.name!r} has no target collections; pass collection ids or set "
                       "target_collection_ids", {"location": "target_collection_ids"})
    overlap = sorted(set(collection_ids) & set(plan.reference_ids)) if plan.config["taxonomy_type"] == "flat" else []
    scope = documents.scope_filter(collection_ids, scroll_filters, "scroll_filters")
    total = svc.index.count(namespace_id, scope)
    counts: dict[str, int] = defaultdict(int)
    assigned = written = 0
    how = "none"
    scores = []
    for page in documents.pages(svc.index, namespace_id, scope, plan.feature.vector_name, batch_size):
        targets = [document_view(h) for h in page]
        vectors = {d["document_id"]: (h.vectors or {}).get(plan.feature.vector_name) for d, h in zip(targets, page, strict=True)}
        vectors = {k: v for k, v in vectors.items() if v is not None}
        matches, how = classify(svc, namespace_id, plan, targets, vectors)
        fields, records = updates_for(plan, targets, matches)
        documents.write(svc.index, namespace_id, fields)
        documents.write(svc.index, namespace_id, records, key="taxonomies")
        written += len(targets)
        for m in matches:
            if m is not None:
                assigned += 1
                counts[" / ".join(m.path) if m.path else str(m.label)] += 1
                scores.append(m.score)
        if progress:
            progress({"documents_done": written, "documents_total": total, "assigned": assigned})
    return {"documents": written, "assigned": assigned, "unassigned": written - assigned, "matching": how,
            "collections": collection_ids, "labels": dict(sorted(counts.items(), key=lambda kv: -kv[1])),
            "mean_score": round(float(np.mean(scores)), 4) if scores else None,
            "warnings": [f"collection(s) {overlap} are both references and targets; a document never matches itself"]
            if overlap else []}


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
