"""Namespaces: the tenant boundary. Finding one by id or name inside an organisation, creating one, its
counts, and deleting it with everything in it."""

from __future__ import annotations

import shutil
from typing import TYPE_CHECKING, Any

from sqlalchemy import func

from warehouse.catalog.batches import ACTIVE
from warehouse.catalog.db import Catalog
from warehouse.catalog.models import (
    Alert,
    Batch,
    BlobUpload,
    Bucket,
    Cluster,
    Collection,
    EnrichmentRun,
    Namespace,
    Object,
    Plugin,
    PluginUpload,
    Retriever,
    Task,
    Taxonomy,
)
from warehouse.errors import WarehouseError, refuse_set
from warehouse.ids import is_valid_id, new_id

if TYPE_CHECKING:  # annotations only: the domain receives the process's services, it never builds them
    from warehouse.services import Services

_INDEX_TYPES = {"keyword": "keyword", "string": "keyword", "integer": "integer", "int": "integer",
                "float": "float", "number": "float", "bool": "bool", "boolean": "bool", "text": "text",
                "datetime": "datetime", "date": "datetime"}

#: what lives in a namespace, deleted with it (children before the rows their foreign keys name)
_CONTENTS = (EnrichmentRun, Alert, Taxonomy, Cluster, Retriever, Batch, Task, Object, Collection, Bucket, Plugin,
             PluginUpload, BlobUpload)
#: Dagster partitions keyed by the namespace's resources: partitions set → (model, id column)
_PARTITIONS = {"collections": (Collection, Collection.collection_id), "buckets": (Bucket, Bucket.bucket_id),
               "taxonomies": (Taxonomy, Taxonomy.taxonomy_id), "clusters": (Cluster, Cluster.cluster_id)}


def find_namespace(catalog: Catalog, organization_id: str, identifier: str) -> Namespace | None:
    """The organisation's namespace with this id or name; None for anything else (another organisation's too)."""
    with catalog.session() as s:
        ns = s.get(Namespace, identifier)
        if ns is not None and ns.organization_id == organization_id:
            return ns
        return (s.query(Namespace)
                .filter(Namespace.organization_id == organization_id, Namespace.namespace_name == identifier)
                .one_or_none())


def normalize_payload_indexes(items: list) -> list[dict[str, str]]:
    """``[{field_name, type}]`` (also ``field``/``field_schema``/``schema``), types checked; 422 otherwise."""
    out = []
    for i, item in enumerate(items):
        where = f"payload_indexes[{i}]"
        if not isinstance(item, dict):
            raise WarehouseError(422, f"{where}: expected {{field_name, type}}, got {type(item).__name__}",
                                 {"location": where})
        unknown = sorted(set(item) - {"field_name", "field", "type", "field_schema", "schema"})
        if unknown:
            raise WarehouseError(422, f"{where}: unknown key(s) {unknown}; expected field_name and type",
                                 {"location": where})
        field = item.get("field_name") or item.get("field")
        kind = item.get("type") or item.get("field_schema") or item.get("schema")
        if not isinstance(field, str) or not field:
            raise WarehouseError(422, f"{where}: field_name is required", {"location": where})
        if kind not in _INDEX_TYPES:
            raise WarehouseError(422, f"{where}: type {kind!r} is not one of {sorted(set(_INDEX_TYPES.values()))}",
                                 {"location": where})
        out.append({"field_name": field, "type": _INDEX_TYPES[kind]})
    return out


def create_namespace(svc: Services, organization_id: str, namespace_name: str, description: str | None = None,
                     feature_extractors: list[dict[str, Any]] | None = None, payload_indexes: list | None = None,
                     namespace_id: str | None = None) -> Namespace:
    """A new namespace (409 if the organisation has one of that name); its extractors must be installed."""
    if namespace_id is not None and not is_valid_id(namespace_id):
        raise WarehouseError(422, f"namespace_id {namespace_id!r}: use 1–64 letters, digits, '_' or '-', starting "
                             "with a letter or digit (or leave it out: one is generated)", {"location": "namespace_id"})
    for fe in feature_extractors or []:
        try:
            svc.registry.get(fe["feature_extractor_name"], fe.get("version", "v1"), namespace_id)
        except LookupError as exc:
            raise WarehouseError(422, str(exc), {"location": "feature_extractors"}) from exc
    with svc.catalog.session() as s:
        clash = s.query(Namespace).filter(Namespace.organization_id == organization_id,
                                          Namespace.namespace_name == namespace_name).one_or_none()
        if clash is not None:
            raise WarehouseError(409, f"namespace {namespace_name!r} already exists",
                                 {"namespace_id": clash.namespace_id})
        if namespace_id is not None and s.get(Namespace, namespace_id) is not None:
            raise WarehouseError(409, f"namespace id {namespace_id!r} is taken; choose another or leave it out",
                                 {"location": "namespace_id"})
        ns = Namespace(namespace_id=namespace_id or new_id("ns"), namespace_name=namespace_name,
                       organization_id=organization_id, description=description,
                       feature_extractors=feature_extractors or [],
                       payload_indexes=normalize_payload_indexes(payload_indexes or []))
        s.add(ns)
    return ns


def namespace_counts(svc: Services, ns: Namespace) -> dict[str, int]:
    with svc.catalog.session() as s:
        def count(column, model):
            return s.query(func.count(column)).filter(model.namespace_id == ns.namespace_id).scalar()

        return {"buckets": count(Bucket.bucket_id, Bucket),
                "collections": count(Collection.collection_id, Collection),
                "objects": count(Object.object_id, Object),
                "documents": svc.index.count(ns.namespace_id)}


def delete_namespace(svc: Services, ns: Namespace) -> None:
    """Delete a namespace and everything in it — buckets, objects, collections, retrievers, taxonomies,
    clusters, alerts, batches, tasks, runs — with its index shard, its blobs and its Dagster partitions.
    Refused (409) while a batch of it is in progress."""
    with svc.catalog.session() as s:
        busy = s.query(Batch).filter(Batch.namespace_id == ns.namespace_id, Batch.status.in_(ACTIVE)).count()
        if busy:
            raise WarehouseError(409, f"namespace has {busy} batch(es) in progress; cancel them first")
        partitions = {name: [k for (k,) in s.query(column).filter(model.namespace_id == ns.namespace_id)]
                      for name, (model, column) in _PARTITIONS.items()}
        for model in _CONTENTS:
            s.query(model).filter(model.namespace_id == ns.namespace_id).delete()
        s.query(Namespace).filter(Namespace.namespace_id == ns.namespace_id).delete()
    svc.lookups.forget("namespace")
    svc.lookups.forget("collections")
    svc.index.drop_namespace(ns.namespace_id)
    svc.objects.delete_prefix(f"{ns.namespace_id}/")  # plugin archives are under it too
    shutil.rmtree(svc.settings.home_dir / "plugins" / ns.namespace_id, ignore_errors=True)  # its uploaded extractors
    svc.registry.refresh()
    for name, keys in partitions.items():
        for key in keys:
            svc.dagster.delete_partition(name, key)


#: update keys of the reference's PatchNamespaceRequest this server does not implement: refused, named
NAMESPACE_UPDATE_UNSUPPORTED = ("auto_create_indexes", "adaptive_indexing", "repair_vectors", "infrastructure",
                                "trusted_issuers", "spend_budget", "pinned", "tiering", "expires_at", "ttl_seconds",
                                "cost_cap_override")


def update_namespace(svc: Services, ns: Namespace, fields: dict[str, Any]) -> Namespace:
    """Rename, describe, add extractors to, or re-declare the payload indexes of a namespace (PATCH and PUT: the
    keys given change, the others stay)."""
    refuse_set(fields, {key: "not supported by this server; leave it out" for key in NAMESPACE_UPDATE_UNSUPPORTED})
    for fe in fields.get("feature_extractors") or []:
        try:
            svc.registry.get(fe["feature_extractor_name"], fe.get("version", "v1"), ns.namespace_id)
        except LookupError as exc:
            raise WarehouseError(422, str(exc), {"location": "feature_extractors"}) from exc
    indexes = (normalize_payload_indexes(fields["payload_indexes"])
               if fields.get("payload_indexes") is not None else None)
    with svc.catalog.session() as s:
        row = s.get(Namespace, ns.namespace_id)
        name = fields.get("namespace_name")
        if name is not None and name != row.namespace_name:
            clash = s.query(Namespace).filter(Namespace.organization_id == row.organization_id,
                                              Namespace.namespace_name == name).one_or_none()
            if clash is not None:
                raise WarehouseError(409, f"namespace {name!r} already exists", {"namespace_id": clash.namespace_id})
            row.namespace_name = name
        if "description" in fields:
            row.description = fields["description"]
        if fields.get("feature_extractors"):
            have = {(f["feature_extractor_name"], f.get("version", "v1")) for f in row.feature_extractors or []}
            row.feature_extractors = list(row.feature_extractors or []) + [
                f for f in fields["feature_extractors"] if (f["feature_extractor_name"], f.get("version", "v1")) not in have]
        if indexes is not None:
            row.payload_indexes = indexes
        s.flush()
        s.expunge(row)
    if indexes:  # types checked above; a namespace without documents yet gets them with its first collection
        svc.index.ensure_payload_indexes(ns.namespace_id, {i["field_name"]: i["type"] for i in indexes})
    return row
