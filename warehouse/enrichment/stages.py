"""``document_enrich``: join each result with documents of another collection.

Each document's ``source_field`` value is looked up in the target collection's ``target_field``
(one batched, filtered scroll per execution — not one query per document). ``enrich`` merges the
first match's fields into the document (or under ``output_field``); ``append`` attaches all matches
as a list.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from warehouse.catalog.collections import IDENTITY_FIELDS
from warehouse.catalog.lookups import get_collection, get_taxonomy
from warehouse.enrichment import taxonomies
from warehouse.retrieval.filters import get_path
from warehouse.retrieval.stages.base import Stage, StageContext, register


class DocumentEnrichParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_collection_id: str = Field(description="Collection (id or name, same namespace) to join with.")
    source_field: str = Field(default="source_object_id", description="Field of the result documents.")
    target_field: str = Field(default="document_id", description="Field of the target documents it must equal.")
    fields_to_merge: list[str] | None = Field(default=None, description="Target fields to copy (default: all "
                                              "content fields, not the system ones).")
    output_field: str | None = Field(default=None, description="enrich: merge under this field instead of the "
                                     "top level; append: the list's field (default `enrichments`).")
    strategy: Literal["enrich", "append"] = "enrich"
    allow_missing: bool = Field(default=True, description="Keep documents without a match (false drops them).")
    max_matches: int = Field(default=10, ge=1, le=1000, description="append: at most this many matches per document.")
    when: dict[str, Any] | None = Field(default=None, description="Only enrich documents matching this filter.")


@register
class DocumentEnrichStage(Stage):
    stage_id = "document_enrich"
    category = "enrich"
    description = "Join documents with another collection's documents on a field; merge or append the matches."
    icon = "merge"
    Params = DocumentEnrichParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        with ctx.services.catalog.session() as s:
            target = get_collection(s, ctx.namespace_id, p.target_collection_id)
        chosen = [docs[i] for i in self.selected(docs)]
        keys = list({repr(v): v for d in chosen if (v := get_path(d, p.source_field)) is not None
                     and isinstance(v, str | int | bool)}.values())
        matches = self._lookup(ctx, target.collection_id, keys) if keys else {}
        out, enriched, missing = [], 0, 0
        chosen_ids = {id(d) for d in chosen}
        for d in docs:
            if id(d) not in chosen_ids:
                out.append(d)
                continue
            found = matches.get(repr(get_path(d, p.source_field)), [])
            if not found:
                missing += 1
                if p.allow_missing:
                    out.append(d)
                continue
            enriched += 1
            out.append(self._merge(d, found))
        self.metadata.update(target_collection_id=target.collection_id, enriched=enriched, missing=missing,
                             skipped_by_when=len(docs) - len(chosen))
        return out

    def _lookup(self, ctx: StageContext, collection_id: str, keys: list[Any]) -> dict[str, list[dict[str, Any]]]:
        """Target documents by ``repr(target_field value)``, in one filtered scroll."""
        p = self.params
        flt = {"must": [{"key": "collection_id", "match": {"value": collection_id}},
                        {"key": p.target_field, "match": {"any": keys}}]}
        found: dict[str, list[dict[str, Any]]] = {}
        offset = None
        while True:
            hits, offset = ctx.services.index.scroll(ctx.namespace_id, filter=flt, limit=256, offset=offset)
            for h in hits:
                payload = h.payload or {}
                found.setdefault(repr(get_path(payload, p.target_field)), []).append(payload)
            if offset is None:
                return found

    def _fields(self, payload: dict[str, Any]) -> dict[str, Any]:
        wanted = self.params.fields_to_merge
        if wanted is not None:
            return {f: get_path(payload, f) for f in wanted if get_path(payload, f) is not None}
        return {k: v for k, v in payload.items() if k not in IDENTITY_FIELDS}

    def _merge(self, doc: dict[str, Any], found: list[dict[str, Any]]) -> dict[str, Any]:
        p = self.params
        if p.strategy == "append":
            items = [{"document_id": m.get("document_id"), **self._fields(m)} for m in found[: p.max_matches]]
            return {**doc, (p.output_field or "enrichments"): items}
        fields = self._fields(found[0])
        if p.output_field:
            return {**doc, p.output_field: fields}
        return {**doc, **fields}



class TaxonomyEnrichParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    taxonomy_id: str = Field(description="Taxonomy (id or name, same namespace) to match the documents against.")
    output_field: str | None = Field(default=None, description="Put the assignment (label, score, node, path, "
                                     "copied fields) under this field instead of merging the fields at the top level.")
    keep_unassigned: bool = Field(default=True, description="Keep documents that match no node above the "
                                  "threshold (false drops them).")
    when: dict[str, Any] | None = Field(default=None, description="Only classify documents matching this filter.")


@register
class TaxonomyEnrichStage(Stage):
    """On-demand taxonomy: the documents are matched at query time (stored vectors where they have them);
    nothing is written to the index."""

    stage_id = "taxonomy_enrich"
    category = "enrich"
    description = "Classify the documents against a taxonomy and add its fields (on-demand mode)."
    icon = "tags"
    Params = TaxonomyEnrichParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        with ctx.services.catalog.session() as s:
            t = get_taxonomy(s, ctx.namespace_id, p.taxonomy_id)
            plan = taxonomies.resolve(ctx.services, s, ctx.namespace_id, t, dict(t.config))
        chosen = self.selected(docs)
        matches = taxonomies.match_documents(ctx.services, ctx.namespace_id, plan, [docs[i] for i in chosen])
        by_index = dict(zip(chosen, matches, strict=True))
        out, assigned = [], 0
        for i, d in enumerate(docs):
            if i not in by_index:
                out.append(d)
                continue
            m = by_index[i]
            if m is None and not p.keep_unassigned:
                continue
            assigned += m is not None
            view = taxonomies.match_view(m)
            if p.output_field:
                out.append({**d, p.output_field: view})
            else:
                out.append({**d, **(m.fields if m else {}), "taxonomy_assignment": view})
        self.metadata.update(taxonomy_id=t.taxonomy_id, version=t.version, assigned=assigned,
                             unassigned=len(chosen) - assigned, skipped_by_when=len(docs) - len(chosen))
        return out
