"""Collections: creating and deleting them, and the one place a collection's index schema is derived.

A collection's ``vector_indexes`` are derived once, from its extractor, when it is created
(:func:`vector_indexes`); everything that needs the engine's vector layout afterwards reads it back
from the stored row (:func:`index_specs`) — the batch runner before it writes, the API when it
creates the collection.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from warehouse.catalog.batches import ACTIVE, queue_batch
from warehouse.catalog.lookups import get_bucket, get_cluster, get_collection, get_taxonomy
from warehouse.catalog.models import (
    Batch,
    Bucket,
    Cluster,
    Collection,
    Namespace,
    Retriever,
    Taxonomy,
)
from warehouse.errors import WarehouseError
from warehouse.ids import new_id
from warehouse.index.base import VectorSpec
from warehouse.index.bm25 import bm25_index, bm25_spec, has_text_input

if TYPE_CHECKING:  # annotations only: the domain receives the process's services, it never builds them
    from warehouse.services import Services

#: payload keys that describe the stored document itself (ids and lineage), not content
IDENTITY_FIELDS = frozenset({"document_id", "collection_id", "source_object_id", "root_object_id", "bucket_id",
                             "blob_id", "batch_id", "feature_refs", "created_at", "_internal",
                             "source_document_id", "source_collection_id"})
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
    #: ``source_type == "collection"``: the upstream collections (ids or names) and a filter on their documents
    source_collections: list[str] = field(default_factory=list)
    source_filters: Any = None
    engine_filter: dict[str, Any] | None = None  # ``source_filters`` compiled for the index (the API compiles it)
    schedule: dict[str, Any] | None = None  # checked by ``schedules.check_schedule``
    #: alert applications and retriever enrichments, checked by ``enrichment.applications.check_applications``
    applications: list[dict[str, Any]] = field(default_factory=list)


def upstream_ids(c: Collection) -> list[str]:
    """The collections whose documents feed ``c`` (a multi-tier collection's source), or []."""
    source = c.source or {}
    return list(source.get("collection_ids") or []) if source.get("type") == "collection" else []


def downstream_of(s, namespace_id: str, collection_id: str) -> list[Collection]:
    """The enabled collections fed by ``collection_id``'s documents."""
    return [c for c in s.query(Collection).filter(Collection.namespace_id == namespace_id)
            if collection_id in upstream_ids(c) and c.enabled]


def queue_downstream(s, namespace_id: str, collection_id: str, batch_id: str) -> list[Batch]:
    """After ``batch_id`` wrote documents into ``collection_id``: a QUEUED batch of the same objects for the
    collections fed by it (``metadata.upstream_batch_id`` and ``upstream_collection_id`` say why), each of which
    queues its own downstream in turn when it has written."""
    downstream = downstream_of(s, namespace_id, collection_id)
    batch = s.get(Batch, batch_id)
    if not downstream or batch is None:
        return []
    failed = {f.get("object_id") for f in batch.failed_objects or [] if f.get("collection_id") == collection_id}
    object_ids = [o for o in batch.object_ids or [] if o not in failed]
    if not object_ids:
        return []
    tier = int((batch.metadata_ or {}).get("tier") or 0) + 1
    made = Batch(batch_id=new_id("btch"), namespace_id=namespace_id, bucket_id=batch.bucket_id,
                 batch_name=f"tier {tier} after {batch.batch_name or batch_id}", object_ids=object_ids,
                 collection_ids=[c.collection_id for c in downstream],
                 metadata_={"upstream_batch_id": batch_id, "upstream_collection_id": collection_id, "tier": tier})
    s.add(made)
    queue_batch(s, made)
    return [made]


def _check_passthrough(items: list[Any]) -> None:
    for i, item in enumerate(items):
        source = item if isinstance(item, str) else item.get("source_path") or ""
        target = item if isinstance(item, str) else item.get("target_path") or source.split(".")[-1]
        if target.split(".")[0] in SYSTEM_FIELDS:
            raise WarehouseError(422, f"feature_extractor.field_passthrough[{i}]: {target!r} is a field the warehouse "
                                 f"writes itself ({sorted(SYSTEM_FIELDS)}); pick another target_path",
                                 {"location": f"feature_extractor.field_passthrough[{i}].target_path"})


def create_collection(svc: Services, ns: Namespace, req: CollectionRequest) -> Collection:
    """Validate ``req`` against the extractor and the namespace, store the collection, create its vector and
    payload indexes, add its Dagster partition and record ``collection.created``."""
    if req.source_type not in ("bucket", "collection"):
        raise WarehouseError(422, f"source type {req.source_type!r} is not supported; use 'bucket' (objects) or "
                             "'collection' (another collection's documents)", {"location": "source.type"})
    if req.source_type == "bucket" and not req.bucket_ids:
        raise WarehouseError(422, "source.bucket_ids must name at least one bucket", {"location": "source.bucket_ids"})
    if req.source_type == "collection":
        if not req.source_collections:
            raise WarehouseError(422, "a collection source names its upstream in source.collection_id or "
                                 "source.collection_ids", {"location": "source.collection_ids"})
        if req.bucket_ids:
            raise WarehouseError(422, "source.bucket_ids: a collection source reads its upstream's documents; the "
                                 "buckets are the upstream's", {"location": "source.bucket_ids"})
    elif req.source_filters is not None:
        raise WarehouseError(422, "source.source_filters applies to a collection source (type 'collection')",
                             {"location": "source.source_filters"})
    try:
        ext = svc.registry.get(req.feature_extractor_name, req.version, ns.namespace_id)
    except LookupError as exc:
        raise WarehouseError(422, str(exc), {"location": "feature_extractor"}) from exc
    params = ext.validate_parameters(req.parameters)
    _check_passthrough(req.field_passthrough)
    if isinstance(req.input_mappings, dict) and not all(isinstance(p, str) for p in req.input_mappings.values()):
        raise WarehouseError(422, "input_mappings values must be object paths (strings)",
                             {"location": "feature_extractor.input_mappings"})
    with svc.catalog.session() as s:
        if req.source_type == "collection":
            upstream = [get_collection(s, ns.namespace_id, u) for u in dict.fromkeys(req.source_collections)]
            bucket_ids = list(dict.fromkeys(b for u in upstream for b in (u.source or {}).get("bucket_ids", [])))
            source = {"type": "collection", "collection_ids": [u.collection_id for u in upstream],
                      "bucket_ids": bucket_ids, "source_filters": req.source_filters,
                      "engine_filter": req.engine_filter}
        else:
            bucket_ids = req.bucket_ids
            source = {"type": "bucket"}
        buckets = [get_bucket(s, ns.namespace_id, b) for b in bucket_ids]
        source["bucket_ids"] = [b.bucket_id for b in buckets]  # the objects at the root of every tier
        if s.query(Collection).filter(Collection.namespace_id == ns.namespace_id,
                                      Collection.collection_name == req.collection_name).count():
            raise WarehouseError(409, f"collection {req.collection_name!r} already exists in this namespace")
        c = Collection(
            collection_id=new_id("col"), namespace_id=ns.namespace_id, collection_name=req.collection_name,
            description=req.description, source=source,
            feature_extractor={"feature_extractor_name": ext.spec.name, "version": ext.spec.version,
                               "feature_extractor_id": ext.spec.extractor_id,
                               "input_mappings": req.input_mappings, "field_passthrough": req.field_passthrough,
                               "parameters": params},
            vector_indexes=vector_indexes(ext), metadata_=req.metadata, enabled=1 if req.enabled else 0,
            schedule=req.schedule,
            applications=req.applications,
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
        fed = [d.collection_name for d in s.query(Collection).filter(Collection.namespace_id == ns.namespace_id)
               if c.collection_id in upstream_ids(d)]
        if fed:
            raise WarehouseError(409, f"collection {c.collection_name!r} is the source of collection(s) {fed}; "
                                 "delete those first", {"downstream": fed})
        users = [r.retriever_name for r in s.query(Retriever).filter(Retriever.namespace_id == ns.namespace_id)
                 if c.collection_id in (r.collection_ids or [])]
        s.delete(c)
    svc.lookups.forget("collections")
    svc.index.delete(ns.namespace_id, {"must": [{"key": "collection_id", "match": {"value": c.collection_id}}]})
    svc.dagster.delete_partition("collections", c.collection_id)
    record_collection_event(svc, "collection.deleted", c)
    return c, users


#: what a collection update may change; anything else of the collection is refused with the reason
COLLECTION_UPDATABLE = ("collection_name", "description", "metadata", "enabled", "feature_extractor")


def update_collection(svc: Services, ns: Namespace, c: Collection, fields: dict[str, Any]) -> Collection:
    """Rename, describe, re-tag, enable/disable a collection, or change its ``field_passthrough`` (applies to the
    documents written from now on). Its extractor, mappings and parameters cannot change: its documents and vector
    indexes were made by them — create a new collection for another extractor."""
    other = sorted(k for k in fields if k not in COLLECTION_UPDATABLE and fields[k] is not None)
    if other:
        raise WarehouseError(422, f"{other[0]} cannot be changed on an existing collection (its documents were made "
                             f"from it); create a new collection. Updatable: {list(COLLECTION_UPDATABLE)}",
                             {"location": other[0]})
    fe = fields.get("feature_extractor") or {}
    current = c.feature_extractor or {}
    for key, value in fe.items():
        if key == "field_passthrough" or value is None:
            continue
        if key in ("feature_extractor_name", "version") and value == current.get(key):
            continue
        raise WarehouseError(422, f"feature_extractor.{key} cannot change: the collection's documents and vector "
                             "indexes were made by its extractor as configured; create a new collection (only "
                             "field_passthrough may change)", {"location": f"feature_extractor.{key}"})
    if fe.get("field_passthrough") is not None:
        _check_passthrough(fe["field_passthrough"])
    with svc.catalog.session() as s:
        row = s.get(Collection, c.collection_id)
        name = fields.get("collection_name")
        if name is not None and name != row.collection_name:
            if s.query(Collection).filter(Collection.namespace_id == ns.namespace_id,
                                          Collection.collection_name == name).count():
                raise WarehouseError(409, f"collection {name!r} already exists in this namespace",
                                     {"location": "collection_name"})
            row.collection_name = name
        if "description" in fields:
            row.description = fields["description"]
        if fields.get("metadata") is not None:
            row.metadata_ = {**fields["metadata"], **{k: v for k, v in (row.metadata_ or {}).items()
                                                       if k.startswith("_")}}  # keeps the system's _indexed
        if fields.get("enabled") is not None:
            row.enabled = 1 if fields["enabled"] else 0
        if fe.get("field_passthrough") is not None:
            row.feature_extractor = {**current, "field_passthrough": fe["field_passthrough"]}
        s.flush()
        s.expunge(row)
    if fe.get("field_passthrough") is not None:
        with svc.catalog.session() as s:
            buckets = [s.get(Bucket, b) for b in (row.source or {}).get("bucket_ids", [])]
            schemas = [b.bucket_schema or {} for b in buckets if b is not None]
        svc.index.ensure_payload_indexes(ns.namespace_id, payload_indexes(ns, row, schemas))
    svc.record_event("collection.updated", row.namespace_id, row.collection_id,
                     {"collection_id": row.collection_id, "collection_name": row.collection_name,
                      "changed": sorted(k for k in fields if fields[k] is not None)},
                     f"collection.updated:{row.collection_id}:{new_id('upd')}")  # every update is an event
    return row


def record_collection_event(svc: Services, event_type: str, c: Collection) -> None:
    svc.record_event(event_type, c.namespace_id, c.collection_id,
                     {"collection_id": c.collection_id, "collection_name": c.collection_name},
                     f"{event_type}:{c.collection_id}")


def check_taxonomy_applications(s, namespace_id: str, items: list[Any]) -> list[str]:
    """The taxonomy ids of a collection create's ``taxonomy_applications``, each checked: the taxonomy exists here,
    it materializes into this collection (``execution_mode`` materialize, no other ``target_collection_id``), and
    no option this server does not apply is set. A 422 (404 for a taxonomy) names the item's field."""
    ids = []
    for i, item in enumerate(items):
        where = f"taxonomy_applications[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("taxonomy_id"), str):
            raise WarehouseError(422, f"{where}: needs taxonomy_id", {"location": f"{where}.taxonomy_id"})
        unknown = sorted(set(item) - {"taxonomy_id", "execution_mode", "target_collection_id", "scroll_filters",
                                      "execution_phase", "priority", "hierarchical_enrichment_style"})
        if unknown:
            raise WarehouseError(422, f"{where}: unknown key(s) {unknown}", {"location": f"{where}.{unknown[0]}"})
        refused = {
            "execution_mode": None if item.get("execution_mode") in (None, "materialize") else item["execution_mode"],
            "target_collection_id": item.get("target_collection_id"),
            "scroll_filters": item.get("scroll_filters"),
            "execution_phase": None if item.get("execution_phase") in (None, 1) else item["execution_phase"],
            "priority": item.get("priority") or None,
            "hierarchical_enrichment_style": item.get("hierarchical_enrichment_style")}
        for key, value in refused.items():
            if value is not None:
                raise WarehouseError(422, f"{where}.{key}: not supported — an applied taxonomy materializes into this "
                                     "collection after every batch that writes here; leave it out",
                                     {"location": f"{where}.{key}"})
        t = get_taxonomy(s, namespace_id, item["taxonomy_id"])
        if (t.config or {}).get("execution_mode") == "on_demand":
            raise WarehouseError(422, f"{where}.taxonomy_id: taxonomy {t.taxonomy_name!r} is on_demand (it runs only "
                                 "when executed or applied); PATCH it with execution_mode 'materialize' to run it "
                                 "after every batch", {"location": f"{where}.taxonomy_id"})
        ids.append(t.taxonomy_id)
    return ids


def apply_taxonomies(s, collection_id: str, taxonomy_ids: list[str]) -> None:
    """Make ``collection_id`` a target of each taxonomy: it then runs after every batch that writes there."""
    for taxonomy_id in taxonomy_ids:
        t = s.get(Taxonomy, taxonomy_id)
        targets = list((t.config or {}).get("target_collection_ids") or [])
        if collection_id not in targets:
            t.config = {**(t.config or {}), "target_collection_ids": [*targets, collection_id]}


def check_cluster_applications(s, namespace_id: str, items: list[Any], feature_uris: list[str]) -> list[dict[str, Any]]:
    """A collection create's ``cluster_applications``, checked: each cluster exists here and clusters a feature this
    collection's extractor makes (``feature_uris``); ``auto_execute_on_batch`` (default true),
    ``min_document_threshold`` and ``cooldown_seconds`` (default 3600) are kept; other options are refused."""
    out = []
    for i, item in enumerate(items):
        where = f"cluster_applications[{i}]"
        if not isinstance(item, dict) or not isinstance(item.get("cluster_id"), str):
            raise WarehouseError(422, f"{where}: needs cluster_id", {"location": f"{where}.cluster_id"})
        unknown = sorted(set(item) - {"cluster_id", "auto_execute_on_batch", "min_document_threshold",
                                      "cooldown_seconds", "execution_phase", "priority"})
        if unknown:
            raise WarehouseError(422, f"{where}: unknown key(s) {unknown}", {"location": f"{where}.{unknown[0]}"})
        for key in ("execution_phase", "priority"):
            if item.get(key) not in (None, 2 if key == "execution_phase" else 0):
                raise WarehouseError(422, f"{where}.{key}: not supported — applied clusters run after the batch's "
                                     "taxonomies; leave it out", {"location": f"{where}.{key}"})
        for key in ("min_document_threshold", "cooldown_seconds"):
            value = item.get(key)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise WarehouseError(422, f"{where}.{key} must be an integer ≥ 0", {"location": f"{where}.{key}"})
        auto = item.get("auto_execute_on_batch", True)
        if not isinstance(auto, bool):
            raise WarehouseError(422, f"{where}.auto_execute_on_batch must be true or false",
                                 {"location": f"{where}.auto_execute_on_batch"})
        cluster = get_cluster(s, namespace_id, item["cluster_id"])
        if cluster.config.get("feature_uri") not in feature_uris:
            raise WarehouseError(422, f"{where}.cluster_id: cluster {cluster.cluster_name!r} clusters "
                                 f"{cluster.config.get('feature_uri')!r}, which this collection's extractor does not "
                                 f"make ({feature_uris})", {"location": f"{where}.cluster_id"})
        out.append({"cluster_id": cluster.cluster_id, "auto_execute_on_batch": auto,
                    "auto_execute_min_documents": item.get("min_document_threshold") or 0,
                    "auto_execute_cooldown_seconds": 3600 if item.get("cooldown_seconds") is None
                    else item["cooldown_seconds"]})
    return out


def apply_clusters(s, collection_id: str, applications: list[dict[str, Any]]) -> None:
    """Add ``collection_id`` to each cluster's input collections, with the application's auto-execution settings."""
    for app in applications:
        c = s.get(Cluster, app["cluster_id"])
        ids = list(c.config.get("collection_ids") or [])
        c.config = {**c.config, "collection_ids": ids + ([collection_id] if collection_id not in ids else []),
                    **{k: v for k, v in app.items() if k != "cluster_id"}}
