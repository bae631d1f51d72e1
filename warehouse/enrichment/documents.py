"""Reading documents for enrichment (with their vectors) and writing enrichment fields back.

Enrichment reads whole collections page by page (one scroll call per 1,000 documents) and writes
back in one batched call per page of updates — never one request per document.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from warehouse.errors import WarehouseError
from warehouse.index import IndexStore
from warehouse.index.base import Hit
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.stages.feature_search import parse_feature_uri

PAGE = 1000


@dataclass
class Feature:
    """A dense feature of an installed extractor and the named vector that stores it."""

    uri: str
    vector_name: str
    ext: Any
    feature: Any


def resolve_feature(registry, feature_uri: str, where: str = "feature_uri", namespace_id: str | None = None) -> Feature:
    try:
        name, version, feature_name = parse_feature_uri(feature_uri)
        ext = registry.get(name, version, namespace_id)
    except (LookupError, ValueError) as exc:
        raise WarehouseError(422, f"{where}: {exc}", {"location": where}) from None
    except WarehouseError as exc:
        raise WarehouseError(422, f"{where}: {exc.message}", {"location": where}) from None
    feature = next((f for f in ext.spec.vector_features if f.feature_name == feature_name), None)
    if feature is None:
        have = [ext.spec.feature_uri(f) for f in ext.spec.vector_features]
        raise WarehouseError(422, f"{where}: {feature_uri!r} names no dense feature of {ext.spec.ref}; use one of {have}",
                       {"location": where, "available": have})
    return Feature(feature_uri, ext.spec.vector_name(feature), ext, feature)


def scope_filter(collection_ids: list[str], filters: Any = None, where: str = "filters") -> dict[str, Any]:
    """The Qdrant filter of the documents of ``collection_ids`` matching the user's ``filters``."""
    must: list[dict[str, Any]] = [{"key": "collection_id", "match": {"any": list(collection_ids)}}]
    compiled = compile_filter(filters, where)
    if compiled is not None:
        if compiled.qdrant is None:
            raise WarehouseError(422, f"{where}: this filter cannot run inside the index; use field/operator/value "
                           "conditions (eq, ne, in, gt, gte, lt, lte, exists)", {"location": where})
        must.append(compiled.qdrant)
    return {"must": must}


def pages(index: IndexStore, namespace_id: str, filter: dict[str, Any], vector_name: str | None = None,
          size: int = PAGE) -> Iterator[list[Hit]]:
    """The documents matching ``filter`` (payload, and the named vector when given), a page at a time."""
    offset = None
    while True:
        hits, offset = index.scroll(namespace_id, filter, size, offset,
                                    with_vectors=[vector_name] if vector_name else False)
        if hits:
            yield hits
        if offset is None:
            return


def scan(index: IndexStore, namespace_id: str, filter: dict[str, Any], vector_name: str | None = None) -> list[Hit]:
    """Every document matching ``filter`` at once (clustering needs them all)."""
    return [h for page in pages(index, namespace_id, filter, vector_name) for h in page]


def write(index: IndexStore, namespace_id: str, updates: list[tuple[str, dict[str, Any]]],
          key: str | None = None) -> int:
    """Merge each update into its document (nested under ``key`` when given); returns how many."""
    for start in range(0, len(updates), PAGE):
        index.set_payloads(namespace_id, updates[start:start + PAGE], key)
    return len(updates)
