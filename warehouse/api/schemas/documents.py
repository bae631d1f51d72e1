"""Document request bodies: direct create (bring your own vectors), field updates, and the batch forms."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from warehouse.api.schemas.common import Strict


class CreateDocumentRequest(BaseModel):
    """Root keys beyond these are the document's own fields (``text`` feeds the collection's BM25 index)."""

    model_config = ConfigDict(extra="allow", strict=True)
    collection_id: str | None = Field(default=None, description="Optional: the collection is the one in the path.")
    vectors: dict[str, list[float]] | None = Field(
        default=None, description="Precomputed vectors by the collection's vector index name (or feature URI); "
        "each checked against the index's dimensions.")
    metadata: dict[str, Any] | None = None
    root_object_id: str | None = Field(default=None, description="An object of this namespace the document comes from.")
    root_bucket_id: str | None = None
    source_type: str | None = None
    source_collection_id: str | None = None
    source_document_id: str | None = None
    source_object_id: str | None = Field(default=None, description="An object of this namespace (lineage).")
    lineage_path: str | None = None
    lineage_chain: list[dict[str, Any]] | None = None
    content_hash: str | None = None
    document_schema_version: str | None = Field(default=None, description="v1 (the only version stored here).")
    features: list[dict[str, Any]] | None = Field(default=None, description="Refused: use vectors.")


class UpdateDocumentRequest(BaseModel):
    """The document's own fields to set (PATCH merges, PUT replaces them all); ``vectors`` replaces named vectors.
    System fields (ids, lineage, enrichment results) are refused."""

    model_config = ConfigDict(extra="allow", strict=True)
    vectors: dict[str, list[float]] | None = None
    metadata: dict[str, Any] | None = None


class DocumentUpdate(Strict):
    document_id: str
    update_data: dict[str, Any]


class BatchUpdateDocumentsRequest(Strict):
    """``updates`` (each document its own fields) or ``filters`` + ``update_data`` (every match the same)."""

    updates: list[DocumentUpdate] | None = Field(default=None, min_length=1, max_length=1000)
    filters: Any = None
    update_data: dict[str, Any] | None = None


class BatchDeleteDocumentsRequest(Strict):
    """``document_ids`` or ``filters`` (every match in the collection)."""

    document_ids: list[str] | None = Field(default=None, min_length=1, max_length=1000)
    filters: Any = None
    reason: str | None = Field(default=None, max_length=500, description="Logged with the delete.")


class BatchGetDocumentsRequest(Strict):
    document_ids: list[str] = Field(min_length=1, max_length=1000)
    return_presigned_urls: bool | None = Field(default=None, description="Documents carry no blobs here: no effect.")
