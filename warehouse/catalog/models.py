"""SQLAlchemy tables of the catalog.

Portable across SQLite and PostgreSQL: strings for ids, ``JSON`` for nested specs, timezone-aware
timestamps. Names are unique per namespace; everything but API keys belongs to a namespace.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow
    )


class Namespace(Timestamped, Base):
    __tablename__ = "namespaces"
    namespace_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_name: Mapped[str] = mapped_column(String(255))
    organization_id: Mapped[str] = mapped_column(String(64), index=True)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    feature_extractors: Mapped[list[Any]] = mapped_column(default=list)
    payload_indexes: Mapped[list[Any]] = mapped_column(default=list)
    extra: Mapped[dict[str, Any]] = mapped_column(default=dict)
    __table_args__ = (UniqueConstraint("organization_id", "namespace_name"),)


class ApiKey(Timestamped, Base):
    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organization_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="default")
    prefix: Mapped[str] = mapped_column(String(16), default="")


class Bucket(Timestamped, Base):
    __tablename__ = "buckets"
    bucket_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.namespace_id"), index=True)
    bucket_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    bucket_schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    unique_key: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    __table_args__ = (UniqueConstraint("namespace_id", "bucket_name"),)


class Object(Timestamped, Base):
    __tablename__ = "objects"
    object_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(String(64), index=True)
    bucket_id: Mapped[str] = mapped_column(ForeignKey("buckets.bucket_id"), index=True)
    key_prefix: Mapped[str | None] = mapped_column(String(1024), default=None)
    blobs: Mapped[list[Any]] = mapped_column(default=list)
    fields: Mapped[dict[str, Any]] = mapped_column(default=dict)
    etag: Mapped[str] = mapped_column(String(64))
    size_bytes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(32), default="ACTIVE")
    __table_args__ = (Index("ix_objects_bucket_created", "bucket_id", "created_at"),)


class Collection(Timestamped, Base):
    __tablename__ = "collections"
    collection_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.namespace_id"), index=True)
    collection_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    source: Mapped[dict[str, Any]] = mapped_column(default=dict)
    feature_extractor: Mapped[dict[str, Any]] = mapped_column(default=dict)
    vector_indexes: Mapped[list[Any]] = mapped_column(default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    enabled: Mapped[int] = mapped_column(Integer, default=1)
    __table_args__ = (UniqueConstraint("namespace_id", "collection_name"),)


class Batch(Timestamped, Base):
    __tablename__ = "batches"
    batch_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(String(64), index=True)
    bucket_id: Mapped[str] = mapped_column(String(64), index=True)
    batch_name: Mapped[str | None] = mapped_column(String(255), default=None)
    status: Mapped[str] = mapped_column(String(32), default="DRAFT", index=True)
    object_ids: Mapped[list[Any]] = mapped_column(default=list)
    collection_ids: Mapped[list[Any]] = mapped_column(default=list)
    task_id: Mapped[str | None] = mapped_column(String(64), default=None)
    documents_written: Mapped[int] = mapped_column(Integer, default=0)
    documents_replaced: Mapped[int] = mapped_column(Integer, default=0)
    failed_objects: Mapped[list[Any]] = mapped_column(default=list)
    skipped_rows: Mapped[list[Any]] = mapped_column(default=list)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    submitted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Task(Timestamped, Base):
    __tablename__ = "tasks"
    task_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    task_type: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(32), default="PENDING")
    inputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    outputs: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    resource_id: Mapped[str | None] = mapped_column(String(64), default=None)


class Retriever(Timestamped, Base):
    __tablename__ = "retrievers"
    retriever_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.namespace_id"), index=True)
    retriever_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    collection_ids: Mapped[list[Any]] = mapped_column(default=list)
    stages: Mapped[list[Any]] = mapped_column(default=list)
    input_schema: Mapped[dict[str, Any]] = mapped_column(default=dict)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    tags: Mapped[list[Any]] = mapped_column(default=list)
    __table_args__ = (UniqueConstraint("namespace_id", "retriever_name"),)


class Event(Base):
    """Something that happened (``batch.completed``, ``collection.created``, …), kept for webhook delivery.

    ``dedupe_key`` makes recording idempotent: a sensor that sees the same run twice records one event.
    """

    __tablename__ = "events"
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    event_type: Mapped[str] = mapped_column(String(64), index=True)
    resource_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    dedupe_key: Mapped[str] = mapped_column(String(255), unique=True)
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
