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
    """An organisation's API key: only its hash is stored. ``permissions`` (read, write, delete, admin) and
    ``scopes`` (namespaces it may reach; none: every namespace) bound what it can do; a revoked or expired key
    stops working on the next request. Columns added after the first release are nullable (None: the default)."""

    __tablename__ = "api_keys"
    key_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    organization_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255), default="default")
    prefix: Mapped[str] = mapped_column(String(16), default="")
    user_email: Mapped[str | None] = mapped_column(String(255), default=None)
    description: Mapped[str | None] = mapped_column(Text, default=None)
    permissions: Mapped[list[Any] | None] = mapped_column(JSON, default=None)  # None: admin (the bootstrap key)
    scopes: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    allowed_origins: Mapped[list[Any] | None] = mapped_column(JSON, default=None)
    status: Mapped[str | None] = mapped_column(String(16), default="active")
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


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
    #: hash of the bucket's unique-key field values (None when the bucket has no unique key)
    unique_value: Mapped[str | None] = mapped_column(String(64), default=None)
    idempotency_key: Mapped[str | None] = mapped_column(String(255), default=None)
    __table_args__ = (Index("ix_objects_bucket_created", "bucket_id", "created_at"),
                      Index("ix_objects_bucket_unique", "bucket_id", "unique_value"),
                      Index("ix_objects_bucket_idempotency", "bucket_id", "idempotency_key"))


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
    #: re-processing on a clock: {trigger_type: cron|interval, schedule_config, description, last_triggered_at}
    schedule: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    #: alert applications and retriever enrichments run on each batch's new documents (warehouse.enrichment.applications)
    applications: Mapped[list[Any] | None] = mapped_column(JSON, default=list)
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
    budget_limits: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    version: Mapped[int | None] = mapped_column(Integer, default=1)  # None: stored before versions (read as 1)
    __table_args__ = (UniqueConstraint("namespace_id", "retriever_name"),)


class RetrieverVersion(Base):
    """What a retriever was at one version: every edit (and a rollback) stores the whole definition, so any
    version can be read back, compared, or made current again."""

    __tablename__ = "retriever_versions"
    retriever_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    namespace_id: Mapped[str] = mapped_column(String(64), index=True)
    definition: Mapped[dict[str, Any]] = mapped_column(default=dict)
    change: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


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


class Taxonomy(Timestamped, Base):
    """A taxonomy: reference documents (flat) or node collections (hierarchical) and how documents are
    matched to them. ``config`` is the normalised spec; every change bumps ``version`` and keeps the old
    spec in ``history``."""

    __tablename__ = "taxonomies"
    taxonomy_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.namespace_id"), index=True)
    taxonomy_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    version: Mapped[int] = mapped_column(Integer, default=1)
    history: Mapped[list[Any]] = mapped_column(default=list)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    __table_args__ = (UniqueConstraint("namespace_id", "taxonomy_name"),)


class Cluster(Timestamped, Base):
    """A cluster definition: which documents, which feature, which algorithm, how groups are labelled."""

    __tablename__ = "clusters"
    cluster_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.namespace_id"), index=True)
    cluster_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    last_run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    __table_args__ = (UniqueConstraint("namespace_id", "cluster_name"),)


class EnrichmentRun(Base):
    """One execution of a taxonomy, cluster definition or alert: status, counts and its result
    (cluster groups and layout points; taxonomy assignment counts; alert matches)."""

    __tablename__ = "enrichment_runs"
    run_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)  # taxonomy | cluster | alert
    resource_id: Mapped[str] = mapped_column(String(64), index=True)
    namespace_id: Mapped[str] = mapped_column(String(64), index=True)
    status: Mapped[str] = mapped_column(String(32), default="PENDING")
    trigger: Mapped[str] = mapped_column(String(64), default="api")
    stats: Mapped[dict[str, Any]] = mapped_column(default=dict)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    dagster_run_id: Mapped[str | None] = mapped_column(String(64), default=None)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class Alert(Timestamped, Base):
    """A standing question asked of newly written documents: a payload condition or a retriever."""

    __tablename__ = "alerts"
    alert_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(ForeignKey("namespaces.namespace_id"), index=True)
    alert_name: Mapped[str] = mapped_column(String(255))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    config: Mapped[dict[str, Any]] = mapped_column(default=dict)
    enabled: Mapped[int] = mapped_column(Integer, default=1)
    last_fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    __table_args__ = (UniqueConstraint("namespace_id", "alert_name"),)


class Webhook(Timestamped, Base):
    """An organisation's subscription to events, delivered signed to its channels."""

    __tablename__ = "webhooks"
    webhook_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    organization_id: Mapped[str] = mapped_column(String(64), index=True)
    webhook_name: Mapped[str] = mapped_column(String(255))
    event_types: Mapped[list[Any]] = mapped_column(default=list)
    channels: Mapped[list[Any]] = mapped_column(default=list)
    namespace_ids: Mapped[list[Any]] = mapped_column(default=list)  # empty: every namespace of the org
    secret: Mapped[str] = mapped_column(String(128))
    is_active: Mapped[int] = mapped_column(Integer, default=1)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    __table_args__ = (UniqueConstraint("organization_id", "webhook_name"),)


class WebhookDelivery(Base):
    """One event sent to one URL: every attempt with its outcome, and when the next one is due."""

    __tablename__ = "webhook_deliveries"
    delivery_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    webhook_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    alert_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    organization_id: Mapped[str | None] = mapped_column(String(64), index=True, default=None)
    event_id: Mapped[str] = mapped_column(String(64), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    url: Mapped[str] = mapped_column(Text)
    headers: Mapped[dict[str, Any]] = mapped_column(default=dict)
    timeout_s: Mapped[float] = mapped_column(default=10.0)
    secret: Mapped[str | None] = mapped_column(String(128), default=None)
    body: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="PENDING", index=True)  # PENDING|SENDING|SUCCEEDED|FAILED
    attempts: Mapped[list[Any]] = mapped_column(default=list)
    next_attempt_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class PluginUpload(Base):
    """One upload of a plugin archive, from the request for an upload URL to its confirmation. The archive is
    PUT to a one-time URL (``token_hash`` is the hash of its secret); confirm checks it and makes a
    :class:`Plugin` version, or records why not. ``status``: PENDING, CONFIRMED, REJECTED."""

    __tablename__ = "plugin_uploads"
    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(String(64), index=True)
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    token_hash: Mapped[str] = mapped_column(String(64))
    archive_key: Mapped[str] = mapped_column(String(512))
    overwrite: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    received_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    etag: Mapped[str | None] = mapped_column(String(64), default=None)
    result: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Plugin(Timestamped, Base):
    """One version of a namespace's custom extractor: its code lives in ``home/plugins/<namespace>/<row_id>``
    (unpacked from ``archive_key``), usable by the namespace's collections from confirmation on.
    ``deployment_status``: NOT_DEPLOYED (batch only), QUEUED, PENDING, IN_PROGRESS, DEPLOYED (realtime too), FAILED."""

    __tablename__ = "plugins"
    row_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(String(64), index=True)
    plugin_id: Mapped[str] = mapped_column(String(255))
    name: Mapped[str] = mapped_column(String(255))
    version: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text, default=None)
    code_hash: Mapped[str] = mapped_column(String(64))
    archive_key: Mapped[str] = mapped_column(String(512))
    upload_id: Mapped[str] = mapped_column(String(64))
    deployment_type: Mapped[str] = mapped_column(String(16), default="batch_only")
    deployment_status: Mapped[str] = mapped_column(String(16), default="NOT_DEPLOYED")
    deployment_error: Mapped[str | None] = mapped_column(Text, default=None)
    deployed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    queued_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
    findings: Mapped[list[Any]] = mapped_column(default=list)
    __table_args__ = (UniqueConstraint("namespace_id", "plugin_id"),)


class BlobUpload(Base):
    """A file uploaded into a bucket through a presigned URL (``/v1/buckets/{b}/uploads``): PENDING until the
    bytes arrive and are confirmed, then COMPLETED (with the object it made, if asked) or FAILED (``message`` says
    why); CANCELED when deleted. The bytes live at ``storage_key``, under the namespace and bucket."""

    __tablename__ = "blob_uploads"
    upload_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    namespace_id: Mapped[str] = mapped_column(String(64), index=True)
    bucket_id: Mapped[str] = mapped_column(String(64), index=True)
    filename: Mapped[str] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(255))
    file_size_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    blob_property: Mapped[str | None] = mapped_column(String(255), default=None)
    blob_type: Mapped[str | None] = mapped_column(String(32), default=None)
    metadata_: Mapped[dict[str, Any]] = mapped_column("metadata", JSON, default=dict)
    object_metadata: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    create_object_on_confirm: Mapped[int] = mapped_column(Integer, default=1)
    token_hash: Mapped[str] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="PENDING")
    message: Mapped[str | None] = mapped_column(Text, default=None)
    received_bytes: Mapped[int | None] = mapped_column(Integer, default=None)
    etag: Mapped[str | None] = mapped_column(String(64), default=None)
    file_hash: Mapped[str | None] = mapped_column(String(64), default=None)
    sniffed_type: Mapped[str | None] = mapped_column(String(255), default=None)
    object_id: Mapped[str | None] = mapped_column(String(64), default=None)
    batch_id: Mapped[str | None] = mapped_column(String(64), default=None)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), default=None)
