"""Collections: creating and deleting them, and the one place a collection's index schema is derived.

A collection's ``vector_indexes`` are derived once, from its extractor, when it is created
(:func:`vector_indexes`); everything that needs the engine's vector layout afterwards reads it back
from the stored row (:func:`index_specs`) — the batch runner before it writes, the API when it
creates the collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warehouse.catalog.batches import ACTIVE
from warehouse.catalog.lookups import get_bucket, get_collection
from warehouse.catalog.models import Batch, Collection, Namespace, Retriever
from warehouse.errors import WarehouseError
from warehouse.ids import new_id
from warehouse.index.base import VectorSpec
from warehouse.index.bm25 import bm25_index, bm25_spec, has_text_input

if TYPE_CHECKING:  # annotations only: the domain receives the process's services, it never builds them
    from warehouse.services import Services

#: payload keys that describe the stored document itself (ids and lineage), not content
IDENTITY_FIELDS = frozenset({"document_id", "collection_id", "source_object_id", "root_object_id", "bucket_id",
                             "blob_id", "batch_id", "feature_refs", "created_at", "_internal"})
#: payload keys the warehouse writes (identity, the text, enrichment results): no passthrough may set them
SYSTEM_FIELDS = IDENTITY_FIELDS | {"text", "taxonomies", "clusters"}

_PASSTHROUGH_INDEX = {"string": "keyword", "integer": "integer", "number": "float", "float": "float",
                      "boolean": "bool", "date": "datetime", "datetime": "datetime"}


def vector_indexes(ext) -> list[dict[str, Any]]:
    """The ``vector_indexes`` of a collection of extractor ``ext``: one dense index per embedding feature,
    plus a BM25 index when the extractor reads text."""
    out = [{
        "name": f.feature_name, "feature_uri": ext.spec.feature_uri(f), "type": "single",
        "index": {"name": ext.spec.vector_name(f), "dimensions": f.embedding_dim, "distance": f.distance_metric,
                  "type": "dense"},
        "feature_extractor": ext.spec.ref,
    } for f in ext.spec.vector_features]
    if has_text_input(ext):
        out.append(bm25_index(ext))
    return out


def index_specs(collection: Collection) -> list[VectorSpec]:
    """The engine's named vectors for a collection, read from its stored ``vector_indexes``."""
    specs = []
    for vi in collection.vector_indexes or []:
        index = vi.get("index") or {}
        if index.get("type") == "sparse":
            specs.append(bm25_spec())
        else:
            specs.append(VectorSpec(index["name"], int(index["dimensions"]), index["distance"]))
    return specs


def payload_indexes(ns: Namespace, c: Collection, schemas: list[dict]) -> dict[str, str]:
    """The namespace's declared payload indexes, plus one per passed-through field of a filterable type."""
    out = {i["field_name"]: i["type"] for i in ns.payload_indexes or []}
    props: dict[str, dict] = {}
    for schema in schemas:
        props.update(schema.get("properties") or {})
    for item in c.feature_extractor.get("field_passthrough") or []:
        source = item if isinstance(item, str) else item.get("source_path")
        target = item if isinstance(item, str) else (item.get("target_path") or source)
        kind = _PASSTHROUGH_INDEX.get((props.get(source) or {}).get("type"))
        if kind and target:
            out.setdefault(target, kind)
    return out


@dataclass
class CollectionRequest:
    """What a new collection is made of (the API's request, already parsed)."""

    collection_name: str
    source_type: str
    bucket_ids: list[str]
    feature_extractor_name: str
    version: str = "v1"
    input_mappings: Any = None
    field_passthrough: list[Any] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    enabled: bool = True


def create_collection(svc: Services, ns: Namespace, req: CollectionRequest) -> Collection:
    """Validate ``req`` against the extractor and the namespace, store the collection, create its vector and
    payload indexes, add its Dagster partition and record ``collection.created``."""
    if req.source_type != "bucket":
        raise WarehouseError(422, f"source type {req.source_type!r} is not supported yet; use 'bucket'",
                             {"location": "source.type"})
    if not req.bucket_ids:
        raise WarehouseError(422, "source.bucket_ids must name at least one bucket", {"location": "source.bucket_ids"})
    try:
        ext = svc.registry.get(req.feature_extractor_name, req.version)
    except LookupError as exc:
        raise WarehouseError(422, str(exc), {"location": "feature_extractor"}) from exc
    params = ext.validate_parameters(req.parameters)
    for i, item in enumerate(req.field_passthrough):
        source = item if isinstance(item, str) else item.get("source_path") or ""
        target = item if isinstance(item, str) else item.get("target_path") or source.split(".")[-1]
        if target.split(".")[0] in SYSTEM_FIELDS:
            raise WarehouseError(422, f"feature_extractor.field_passthrough[{i}]: {target!r} is a field the warehouse "
                                 f"writes itself ({sorted(SYSTEM_FIELDS)}); pick another target_path",
                                 {"location": f"feature_extractor.field_passthrough[{i}].target_path"})
    if isinstance(req.input_mappings, dict) and not all(isinstance(p, str) for p in req.input_mappings.values()):
        raise WarehouseError(422, "input_mappings values must be object paths (strings)",
                             {"location": "feature_extractor.input_mappings"})
    with svc.catalog.session() as s:
        buckets = [get_bucket(s, ns.namespace_id, b) for b in req.bucket_ids]
        if s.query(Collection).filter(Collection.namespace_id == ns.namespace_id,
                                      Collection.collection_name == req.collection_name).count():
            raise WarehouseError(409, f"collection {req.collection_name!r} already exists in this namespace")
        c = Collection(
            collection_id=new_id("col"), namespace_id=ns.namespace_id, collection_name=req.collection_name,
            description=req.description, source={"type": "bucket", "bucket_ids": [b.bucket_id for b in buckets]},
            feature_extractor={"feature_extractor_name": ext.spec.name, "version": ext.spec.version,
                               "feature_extractor_id": ext.spec.extractor_id,
                               "input_mappings": req.input_mappings, "field_passthrough": req.field_passthrough,
                               "parameters": params},
            vector_indexes=vector_indexes(ext), metadata_=req.metadata, enabled=1 if req.enabled else 0,
        )
        s.add(c)
    svc.index.ensure_vectors(ns.namespace_id, index_specs(c))
    svc.index.ensure_payload_indexes(ns.namespace_id, payload_indexes(ns, c, [b.bucket_schema or {} for b in buckets]))
    svc.dagster.add_partition("collections", c.collection_id)
    record_collection_event(svc, "collection.created", c)
    return c


def delete_collection(svc: Services, ns: Namespace, identifier: str) -> tuple[Collection, list[str]]:
    """Delete a collection and its documents (refused while a batch processes it); returns it and the names
    of the retrievers that still reference it."""
    with svc.catalog.session() as s:
        c = get_collection(s, ns.namespace_id, identifier)
        busy = [b.batch_id for b in s.query(Batch).filter(Batch.namespace_id == ns.namespace_id,
                                                         Batch.status.in_(ACTIVE))
                if c.collection_id in (b.collection_ids or [])]
        if busy:
            raise WarehouseError(409, f"collection is being processed by batch(es) {busy}; cancel them first")
        users = [r.retriever_name for r in s.query(Retriever).filter(Retriever.namespace_id == ns.namespace_id)
                 if c.collection_id in (r.collection_ids or [])]
        s.delete(c)
    svc.lookups.forget("collections")
    svc.index.delete(ns.namespace_id, {"must": [{"key": "collection_id", "match": {"value": c.collection_id}}]})
    svc.dagster.delete_partition("collections", c.collection_id)
    record_collection_event(svc, "collection.deleted", c)
    return c, users


def record_collection_event(svc: Services, event_type: str, c: Collection) -> None:
    svc.record_event(event_type, c.namespace_id, c.collection_id,
                     {"collection_id": c.collection_id, "collection_name": c.collection_name},
                     f"{event_type}:{c.collection_id}")
