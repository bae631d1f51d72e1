"""Buckets: creating one, its object counts, and deleting it with everything that hangs off it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func
from sqlalchemy.orm import Session

from warehouse.catalog.batches import ACTIVE
from warehouse.catalog.lookups import get_bucket
from warehouse.catalog.models import Batch, BlobUpload, Bucket, Collection, Namespace, Object
from warehouse.catalog.objects import check_unique_key
from warehouse.errors import WarehouseError, refuse_set
from warehouse.ids import new_id

if TYPE_CHECKING:  # annotations only: the domain receives the process's services, it never builds them
    from warehouse.services import Services


def bucket_stats(s: Session, bucket_id: str) -> tuple[int, int]:
    """``(object count, total bytes)`` of a bucket."""
    count, size = s.query(func.count(Object.object_id), func.coalesce(func.sum(Object.size_bytes), 0)).filter(
        Object.bucket_id == bucket_id).one()
    return int(count), int(size)


def create_bucket(svc: Services, ns: Namespace, bucket_name: str, bucket_schema: dict[str, Any] | None = None,
                  description: str | None = None, unique_key: dict[str, Any] | None = None,
                  metadata: dict[str, Any] | None = None) -> Bucket:
    """A new bucket (409 if the name is taken in the namespace) and its Dagster partition."""
    unique_key = check_unique_key(bucket_schema, unique_key)
    with svc.catalog.session() as s:
        clash = s.query(Bucket).filter(Bucket.namespace_id == ns.namespace_id, Bucket.bucket_name == bucket_name).one_or_none()
        if clash is not None:
            raise WarehouseError(409, f"bucket {bucket_name!r} already exists in this namespace", {"bucket_id": clash.bucket_id})
        bucket = Bucket(bucket_id=new_id("bkt"), namespace_id=ns.namespace_id, bucket_name=bucket_name,
                        description=description, bucket_schema=bucket_schema or {"properties": {}},
                        unique_key=unique_key, metadata_=metadata or {})
        s.add(bucket)
    svc.dagster.add_partition("buckets", bucket.bucket_id)
    return bucket


def delete_bucket(svc: Services, ns: Namespace, identifier: str, force: bool = False) -> str:
    """Delete a bucket, its objects, batches, blobs and documents; returns its id.

    Refused (409) while collections source it (unless ``force``) or a batch of it is in progress.
    """
    with svc.catalog.session() as s:
        b = get_bucket(s, ns.namespace_id, identifier)
        users = [c.collection_name for c in s.query(Collection).filter(Collection.namespace_id == ns.namespace_id)
                 if b.bucket_id in (c.source or {}).get("bucket_ids", [])]
        if users and not force:
            raise WarehouseError(409, f"bucket is the source of collection(s) {users}; delete them first or pass "
                                 "?force=true", {"collections": users})
        busy = s.query(Batch).filter(Batch.bucket_id == b.bucket_id, Batch.status.in_(ACTIVE)).count()
        if busy:
            raise WarehouseError(409, f"bucket has {busy} batch(es) in progress; cancel them first")
        bucket_id = b.bucket_id
        s.query(Object).filter(Object.bucket_id == bucket_id).delete()
        s.query(Batch).filter(Batch.bucket_id == bucket_id).delete()
        s.query(BlobUpload).filter(BlobUpload.bucket_id == bucket_id).delete()  # their files go with the prefix below
        s.query(Bucket).filter(Bucket.bucket_id == bucket_id).delete()
    svc.index.delete(ns.namespace_id, {"must": [{"key": "bucket_id", "match": {"value": bucket_id}}]})
    svc.objects.delete_prefix(f"{ns.namespace_id}/{bucket_id}/")
    svc.dagster.delete_partition("buckets", bucket_id)
    return bucket_id


def delete_object(svc: Services, ns: Namespace, bucket: Bucket, obj: Object) -> None:
    """Delete an object, its documents and its stored blobs."""
    with svc.catalog.session() as s:
        s.query(Object).filter(Object.object_id == obj.object_id).delete()
    svc.index.delete(ns.namespace_id, {"must": [{"key": "source_object_id", "match": {"value": obj.object_id}}]})
    svc.objects.delete_prefix(f"{ns.namespace_id}/{bucket.bucket_id}/{obj.object_id}/")


#: update keys of the reference's BucketUpdateRequest this server does not implement: refused, named
BUCKET_UPDATE_UNSUPPORTED = ("storage_class", "destination", "ingest_filter", "unique_key")


def update_bucket(svc: Services, ns: Namespace, bucket: Bucket, fields: dict[str, Any]) -> Bucket:
    """Rename, describe, re-tag a bucket, or add properties to its schema (PATCH and PUT: the keys given change).
    A property's type cannot change, nor a property go: objects were stored and processed under it."""
    refuse_set(fields, {key: "cannot be changed on this server; leave it out" for key in BUCKET_UPDATE_UNSUPPORTED})
    with svc.catalog.session() as s:
        row = s.get(Bucket, bucket.bucket_id)
        name = fields.get("bucket_name")
        if name is not None and name != row.bucket_name:
            clash = s.query(Bucket).filter(Bucket.namespace_id == ns.namespace_id, Bucket.bucket_name == name).one_or_none()
            if clash is not None:
                raise WarehouseError(409, f"bucket {name!r} already exists in this namespace", {"bucket_id": clash.bucket_id})
            row.bucket_name = name
        if "description" in fields:
            row.description = fields["description"]
        if fields.get("metadata") is not None:
            row.metadata_ = fields["metadata"]
        if fields.get("bucket_schema") is not None:
            old = (row.bucket_schema or {}).get("properties") or {}
            new = fields["bucket_schema"].get("properties") or {}
            gone = sorted(set(old) - set(new))
            if gone:
                raise WarehouseError(422, f"bucket_schema: properties {gone} would be removed; a schema update may only "
                                     "add properties (objects were stored under these)",
                                     {"location": f"bucket_schema.properties.{gone[0]}"})
            for prop, spec in new.items():
                if prop in old and old[prop].get("type") != spec.get("type"):
                    raise WarehouseError(422, f"bucket_schema.properties.{prop}: type {old[prop].get('type')!r} cannot "
                                         f"become {spec.get('type')!r}; add a new property instead",
                                         {"location": f"bucket_schema.properties.{prop}.type"})
            row.bucket_schema = {**(row.bucket_schema or {}), "properties": new}
        s.flush()
        s.expunge(row)
    return row
