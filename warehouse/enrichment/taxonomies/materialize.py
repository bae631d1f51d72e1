"""Writing a taxonomy's assignments into its target collections, page by page, in batched payload writes."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

import numpy as np

from warehouse.enrichment import documents
from warehouse.enrichment.taxonomies.config import Plan
from warehouse.enrichment.taxonomies.engine import Match, classify
from warehouse.errors import WarehouseError
from warehouse.ids import uuid_from_document_id
from warehouse.retrieval.documents import document_view


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
