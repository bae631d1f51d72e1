"""A taxonomy's request shapes (the documented ``config`` form, the tutorial's flat form, the showcase
variant) and resolving a stored config against the catalog into a :class:`Plan`."""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from warehouse.catalog import Collection, Retriever, Taxonomy
from warehouse.catalog.lookups import get_collection, get_retriever
from warehouse.enrichment import documents
from warehouse.errors import WarehouseError, check_keys
from warehouse.retrieval.templates import _TEMPLATE

STRATEGIES = ("retriever", "linear_probe")
MERGE_MODES = ("replace", "append")


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
               "enrichment_fields", "collection_configuration", "min_score", "execution_mode"}
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
        if raw.get("reference_collection_id"):
            raw.setdefault("source_collection", {"collection_id": raw.pop("reference_collection_id")})
        raw.pop("reference_collection_id", None)
    return top, normalize_config(raw)


def after_batch_targets(config: dict[str, Any] | None) -> list[str]:
    """The collections a taxonomy materializes into after each of their batches: its targets, none when it is
    ``on_demand`` (then it runs only when executed or applied)."""
    config = config or {}
    return [] if config.get("execution_mode") == "on_demand" else list(config.get("target_collection_ids") or [])


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
    mode = raw.get("execution_mode") or "materialize"
    if mode not in ("materialize", "on_demand"):
        raise WarehouseError(422, "execution_mode must be 'materialize' (it runs after every batch that writes into "
                             "its target collections) or 'on_demand' (only when executed or applied)",
                             {"location": "execution_mode"})
    if ttype == "flat":
        for key in ("hierarchical_nodes", "path_field", "path_separator"):
            if raw.get(key) is not None:
                raise WarehouseError(422, f"{key}: only a hierarchical taxonomy has it (taxonomy_type "
                                     "'hierarchical'); leave it out", {"location": key})
    strategy = raw.get("inference_strategy") or "retriever"
    if strategy not in STRATEGIES:
        raise WarehouseError(422, f"inference_strategy {strategy!r} is not one of {list(STRATEGIES)}",
                       {"location": "inference_strategy"})
    config = {
        "taxonomy_type": ttype, "retriever_id": raw.get("retriever_id"), "feature_uri": raw.get("feature_uri"),
        "input_mappings": [_mapping(m, f"input_mappings[{i}]") for i, m in enumerate(raw.get("input_mappings") or [])],
        "source_collection": {"collection_id": source.get("collection_id"), "enrichment_fields": fields},
        "top_k": top_k, "threshold": threshold, "inference_strategy": strategy,
        "target_collection_ids": list(dict.fromkeys(targets)), "execution_mode": mode,
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
    feature = documents.resolve_feature(svc.registry, feature_uri, namespace_id=namespace_id)

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
