"""Bucket and object request bodies (an object's unknown root keys are its own fields)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from warehouse.api.schemas.common import BODY_CONFIG, Strict
from warehouse.errors import rename_aliases

FieldType = Literal[
    "string", "number", "integer", "float", "boolean", "object", "array", "date", "datetime",
    "text", "image", "audio", "video", "pdf", "excel",
]


class SchemaField(BaseModel):
    model_config = BODY_CONFIG
    type: FieldType
    required: bool | None = None
    description: str | None = None
    default: Any = None
    enum: list[Any] | None = None
    items: Any = None
    properties: Any = None
    examples: list[Any] | None = None


class BucketSchema(Strict):
    properties: dict[str, SchemaField] = Field(default_factory=dict)


class CreateBucketRequest(Strict):
    bucket_name: str = Field(min_length=1, max_length=255)
    bucket_schema: BucketSchema | None = None
    description: str | None = None
    unique_key: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    storage_class: str | None = None
    destination: Any = None
    ingest_filter: Any = None
    source_adapter: Any = None

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"schema": "bucket_schema", "name": "bucket_name"})


class UpdateBucketRequest(Strict):
    """PATCH / PUT a bucket: the keys given change; ``bucket_schema`` may only add properties."""

    bucket_name: str | None = Field(default=None, min_length=1, max_length=255)
    description: str | None = None
    metadata: dict[str, Any] | None = None
    bucket_schema: BucketSchema | None = None
    storage_class: Any = Field(default=None, description="Cannot change here: refused when set.")
    destination: Any = Field(default=None, description="Cannot change here: refused when set.")
    ingest_filter: Any = Field(default=None, description="Cannot change here: refused when set.")
    unique_key: Any = Field(default=None, description="Cannot change here: refused when set.")

    @model_validator(mode="before")
    @classmethod
    def _aliases(cls, data):
        return rename_aliases(data, {"schema": "bucket_schema", "name": "bucket_name"})


# -- objects ------------------------------------------------------------------------------------
class BlobRequest(Strict):
    property: str = Field(min_length=1)
    type: Literal["text", "image", "audio", "video", "pdf", "excel", "string", "json"]
    data: Any = None
    upload_id: str | None = None
    key_prefix: str | None = None
    checksum: str | None = None
    metadata: dict[str, Any] | None = None
    canonicalize_source: bool | None = None
    force_remirror: bool | None = None
    mime_type: str | None = None
    content_type: str | None = None
    filename: str | None = None


class CreateObjectRequest(BaseModel):
    """Root keys beyond these are the object's own fields (schema properties / metadata)."""

    model_config = ConfigDict(extra="allow", strict=True)
    blobs: list[BlobRequest] = Field(default_factory=list)
    key_prefix: str | None = None
    skip_duplicates: bool | None = None
    canonicalize_source: bool | None = None
    force_remirror: bool | None = None
    edges: list[dict[str, Any]] | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] | None = None


class CreateObjectsBatchRequest(Strict):
    objects: list[CreateObjectRequest] = Field(min_length=1, max_length=1000)


class UpdateObjectRequest(BaseModel):
    """Root keys beyond these are fields to set on the object; ``blobs`` replaces its blobs."""

    model_config = ConfigDict(extra="allow", strict=True)
    key_prefix: str | None = None
    metadata: dict[str, Any] | None = Field(default=None, description="Fields to change: a key the object holds in its "
                                            "own metadata changes there, any other at its root.")
    blobs: list[BlobRequest] | None = None
    skip_duplicates: bool | None = Field(default=None, description="Not supported: refused when true.")


class CreateUploadRequest(Strict):
    """``POST /v1/buckets/{b}/uploads``: a presigned URL for one file."""

    filename: str = Field(min_length=1, max_length=255, description="The file's name (not a path).")
    content_type: str = Field(description="Its MIME type, e.g. image/jpeg; the blob type follows from it.")
    file_size_bytes: int | None = Field(default=None, ge=1, description="Checked on confirm; sizes the upload limit.")
    presigned_url_expiration: int | None = Field(default=3600, ge=60, le=86400)
    metadata: dict[str, Any] | None = Field(default=None, description="Kept with the upload record.")
    create_object_on_confirm: bool | None = Field(default=True)
    object_metadata: dict[str, Any] | None = Field(default=None, description="Fields of the object made on confirm.")
    blob_property: str | None = Field(default=None, description="Default: the schema's property of the blob's type.")
    blob_type: str | None = Field(default=None, description="Default: from content_type (image/… → image).")
    file_hash: str | None = Field(default=None, min_length=64, max_length=64, description="SHA-256 of the file.")
    skip_duplicates: bool | None = Field(default=True, description="With file_hash: a completed upload of the same "
                                         "hash answers instead of a new one.")


class ConfirmBlobUploadRequest(Strict):
    etag: str | None = None
    file_size_bytes: int | None = Field(default=None, ge=1)
    auto_submit_batch: bool | None = False


class BatchUploadRequest(Strict):
    uploads: list[CreateUploadRequest] = Field(min_length=1, max_length=100)


class ConfirmBatchItem(ConfirmBlobUploadRequest):
    upload_id: str


class ConfirmBatchRequest(Strict):
    uploads: list[ConfirmBatchItem] = Field(min_length=1, max_length=100)
    auto_submit_batch: bool | None = False
