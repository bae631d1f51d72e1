"""Finding a namespace's resources by id or by name: one rule for every kind, a 404 naming what was asked for."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse.catalog.models import (
    Alert,
    Batch,
    Bucket,
    Cluster,
    Collection,
    Object,
    Retriever,
    Taxonomy,
)
from warehouse.errors import not_found


def _by_id_or_name(s: Session, model, kind: str, name_column, namespace_id: str, identifier: str):
    row = s.get(model, identifier)
    if row is None or row.namespace_id != namespace_id:
        row = s.query(model).filter(model.namespace_id == namespace_id, name_column == identifier).one_or_none()
    if row is None:
        raise not_found(kind, identifier, namespace_id=namespace_id)
    return row


def get_bucket(s: Session, namespace_id: str, identifier: str) -> Bucket:
    return _by_id_or_name(s, Bucket, "bucket", Bucket.bucket_name, namespace_id, identifier)


def get_collection(s: Session, namespace_id: str, identifier: str) -> Collection:
    return _by_id_or_name(s, Collection, "collection", Collection.collection_name, namespace_id, identifier)


def get_retriever(s: Session, namespace_id: str, identifier: str) -> Retriever:
    return _by_id_or_name(s, Retriever, "retriever", Retriever.retriever_name, namespace_id, identifier)


def get_taxonomy(s: Session, namespace_id: str, identifier: str) -> Taxonomy:
    return _by_id_or_name(s, Taxonomy, "taxonomy", Taxonomy.taxonomy_name, namespace_id, identifier)


def get_cluster(s: Session, namespace_id: str, identifier: str) -> Cluster:
    return _by_id_or_name(s, Cluster, "cluster", Cluster.cluster_name, namespace_id, identifier)


def get_alert(s: Session, namespace_id: str, identifier: str) -> Alert:
    return _by_id_or_name(s, Alert, "alert", Alert.alert_name, namespace_id, identifier)


def _in_bucket(s: Session, model, kind: str, bucket: Bucket, identifier: str):
    row = s.get(model, identifier)
    if row is None or row.bucket_id != bucket.bucket_id:
        raise not_found(kind, identifier, bucket_id=bucket.bucket_id)
    return row


def get_object(s: Session, bucket: Bucket, object_id: str) -> Object:
    return _in_bucket(s, Object, "object", bucket, object_id)


def get_batch(s: Session, bucket: Bucket, batch_id: str) -> Batch:
    return _in_bucket(s, Batch, "batch", bucket, batch_id)
