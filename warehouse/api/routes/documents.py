"""Document writes and counts: ``/v1/collections/{c}/documents`` (create, update, delete, batch, count) and
``/v1/documents`` (namespace-wide update, delete, batch get). Reads and lineage are in ``routes/collections``.

Registered before ``routes/collections``: ``/documents/count`` and ``/documents/batch`` are matched before the
templated ``/documents/{document_id}``.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Depends, Response

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import collection_in
from warehouse.api.schemas import (
    BatchDeleteDocumentsRequest,
    BatchGetDocumentsRequest,
    BatchUpdateDocumentsRequest,
    CreateDocumentRequest,
    UpdateDocumentRequest,
)
from warehouse.catalog import Namespace
from warehouse.errors import refuse_set
from warehouse.retrieval import documents as docs
from warehouse.services import Services

router = APIRouter(tags=["documents"])
log = logging.getLogger(__name__)


def _fields(body) -> dict:
    return body.model_dump(exclude_unset=True)


@router.get("/v1/collections/{collection_identifier}/documents/count", summary="Count a collection's documents")
def count_documents(collection_identifier: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return {"collection_id": c.collection_id, "count": docs.count(svc, ns.namespace_id, c)}


@router.post("/v1/collections/{collection_identifier}/documents/batch",
             summary="Update documents: by id (each its own fields) or every match of filters")
def batch_update(collection_identifier: str, body: BatchUpdateDocumentsRequest, ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    updates = [u.model_dump() for u in body.updates] if body.updates is not None else None
    return docs.update_many(svc, ns.namespace_id, c, updates, body.filters, body.update_data)


@router.delete("/v1/collections/{collection_identifier}/documents/batch",
               summary="Delete documents: by id or every match of filters")
def batch_delete(collection_identifier: str, body: BatchDeleteDocumentsRequest, ns: Namespace = Depends(namespace),
                 svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    out = docs.delete_many(svc, ns.namespace_id, c, body.document_ids, body.filters)
    log.info("deleted %d documents from %s (%s)%s", out["deleted_count"], c.collection_id,
             "by filter" if body.filters is not None else "by id", f": {body.reason}" if body.reason else "")
    return {**out, "reason": body.reason} if body.reason else out


@router.post("/v1/collections/{collection_identifier}/documents",
             summary="Create a document (direct insert, your own vectors)")
def create_document(collection_identifier: str, body: CreateDocumentRequest, ns: Namespace = Depends(namespace),
                    svc: Services = Depends(services)):
    return docs.create(svc, ns.namespace_id, collection_in(svc.catalog, ns, collection_identifier), _fields(body))


@router.patch("/v1/collections/{collection_identifier}/documents/{document_id}",
              summary="Set some of a document's fields")
def patch_document(collection_identifier: str, document_id: str, body: UpdateDocumentRequest,
                   ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return docs.update(svc, ns.namespace_id, c, document_id, _fields(body))


@router.put("/v1/collections/{collection_identifier}/documents/{document_id}",
            summary="Replace a document's own fields (system fields stay)")
def put_document(collection_identifier: str, document_id: str, body: UpdateDocumentRequest,
                 ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    c = collection_in(svc.catalog, ns, collection_identifier)
    return docs.update(svc, ns.namespace_id, c, document_id, _fields(body), replace=True)


@router.delete("/v1/collections/{collection_identifier}/documents/{document_id}", status_code=204,
               summary="Delete a document")
def delete_document(collection_identifier: str, document_id: str, ns: Namespace = Depends(namespace),
                    svc: Services = Depends(services)):
    docs.delete(svc, ns.namespace_id, collection_in(svc.catalog, ns, collection_identifier), document_id)
    return Response(status_code=204)


@router.post("/v1/documents/batch-get", summary="Get documents by id (namespace-wide)")
def batch_get(body: BatchGetDocumentsRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    refuse_set({"return_presigned_urls": body.return_presigned_urls or None}, {
        "return_presigned_urls": "not supported; blob URLs in documents are this warehouse's own — fetch a blob "
                                 "through GET /v1/buckets/{bucket}/objects/{object}"})
    return docs.get_many(svc, ns.namespace_id, body.document_ids)


@router.patch("/v1/documents/{document_id}", summary="Set some of a document's fields (namespace-wide)")
def patch_document_any(document_id: str, body: UpdateDocumentRequest, ns: Namespace = Depends(namespace),
                       svc: Services = Depends(services)):
    return docs.update(svc, ns.namespace_id, None, document_id, _fields(body))


@router.put("/v1/documents/{document_id}", summary="Replace a document's own fields (namespace-wide)")
def put_document_any(document_id: str, body: UpdateDocumentRequest, ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    return docs.update(svc, ns.namespace_id, None, document_id, _fields(body), replace=True)


@router.delete("/v1/documents/{document_id}", status_code=204, summary="Delete a document (namespace-wide)")
def delete_document_any(document_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    docs.delete(svc, ns.namespace_id, None, document_id)
    return Response(status_code=204)
