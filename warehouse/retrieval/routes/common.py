"""Helpers the route modules share: resolving resources by id or name inside a namespace."""

from __future__ import annotations

from sqlalchemy.orm import Session

from warehouse.catalog import Bucket, Collection, Retriever
from warehouse.retrieval.errors import not_found


def get_bucket(s: Session, namespace_id: str, identifier: str) -> Bucket:
    b = s.get(Bucket, identifier)
    if b is None or b.namespace_id != namespace_id:
        b = s.query(Bucket).filter(Bucket.namespace_id == namespace_id, Bucket.bucket_name == identifier).one_or_none()
    if b is None:
        raise not_found("bucket", identifier, namespace_id=namespace_id)
    return b


def get_collection(s: Session, namespace_id: str, identifier: str) -> Collection:
    c = s.get(Collection, identifier)
    if c is None or c.namespace_id != namespace_id:
        c = s.query(Collection).filter(Collection.namespace_id == namespace_id,
                                       Collection.collection_name == identifier).one_or_none()
    if c is None:
        raise not_found("collection", identifier, namespace_id=namespace_id)
    return c


def get_retriever(s: Session, namespace_id: str, identifier: str) -> Retriever:
    r = s.get(Retriever, identifier)
    if r is None or r.namespace_id != namespace_id:
        r = s.query(Retriever).filter(Retriever.namespace_id == namespace_id,
                                      Retriever.retriever_name == identifier).one_or_none()
    if r is None:
        raise not_found("retriever", identifier, namespace_id=namespace_id)
    return r


def page_args(limit: int | None, offset: int | None, page: int | None = None, page_size: int | None = None,
              default: int = 50) -> tuple[int, int]:
    size = limit or page_size or default
    start = offset if offset is not None else ((page - 1) * size if page else 0)
    return max(1, min(size, 1000)), max(0, start)
