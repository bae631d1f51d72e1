"""Documents: an index hit's payload with its ``doc_`` id (what the retriever engine and its callers see), and the
direct writes — create with your own vectors, update, delete by id or by filter, count, get many.

A document written here is the same kind of point the batch engine writes: the collection's named vectors (each
checked against the collection's ``vector_indexes``: known name, dimension, finite values), BM25 from ``text`` when
the collection has a lexical index, ``collection_id``/``document_id`` and lineage under ``_internal``. System fields
(ids, lineage, enrichment results) are never written by a caller: they are refused with the field named.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from warehouse.catalog.collections import SYSTEM_FIELDS, index_specs
from warehouse.catalog.models import Bucket, Collection, Object
from warehouse.errors import WarehouseError, not_found
from warehouse.ids import document_id_from_uuid, uuid_from_document_id
from warehouse.index.base import Hit, IndexPoint, IndexStore
from warehouse.index.bm25 import BM25_VECTOR, encode_documents, has_bm25
from warehouse.retrieval.filters import CompiledFilter, compile_filter

if TYPE_CHECKING:  # annotations only: the domain receives the process's services, it never builds them
    from warehouse.services import Services

#: fields a caller may not set on a document: the system's (but ``text``, which a direct document brings) and the
#: response-only ones
PROTECTED_FIELDS = (SYSTEM_FIELDS - {"text"}) | {"vectors", "document_blobs", "searchable_at"}
#: lineage keys a created document may carry (the SDK's ``DocumentCreateRequest``)
LINEAGE_KEYS = ("root_object_id", "root_bucket_id", "source_type", "source_collection_id", "source_document_id",
                "source_object_id", "lineage_path", "lineage_chain", "content_hash")
MAX_MANY = 1000


def document_view(hit, with_vectors: bool = False, vector_names: dict[str, str] | None = None) -> dict[str, Any]:
    payload = dict(hit.payload or {})
    doc = {"document_id": payload.get("document_id") or document_id_from_uuid(hit.id), **payload}
    if with_vectors and hit.vectors:
        names = vector_names or {}
        doc["vectors"] = {names.get(k, k): v for k, v in hit.vectors.items()}
    return doc


def matching(index: IndexStore, namespace_id: str, collection_id: str, compiled: CompiledFilter | None,
             with_vectors: bool = False, page: int = 500) -> Iterator[Hit]:
    """The collection's documents that match ``compiled``, a page at a time from the index: the engine runs the
    filter when it can, the rest runs here."""
    flt = {"must": [{"key": "collection_id", "match": {"value": collection_id}}]}
    if compiled is not None and compiled.qdrant is not None:
        flt["must"].append(compiled.qdrant)
    here = compiled is not None and compiled.qdrant is None
    offset = None
    while True:
        hits, offset = index.scroll(namespace_id, flt, page, offset, with_vectors=with_vectors)
        yield from (h for h in hits if not here or compiled.matches(h.payload or {}))
        if offset is None:
            return


def vector_names(collection: Collection) -> dict[str, str]:
    """Engine vector name → the collection's feature name."""
    return {vi["index"]["name"]: vi["name"] for vi in collection.vector_indexes or []}


def point_id(document_id: str) -> str:
    try:
        return str(uuid_from_document_id(document_id))
    except ValueError as exc:
        raise WarehouseError(422, f"malformed document id {document_id!r}: {exc}", {"document_id": document_id}) from exc


def fetch(svc: Services, namespace_id: str, document_id: str, collection: Collection | None = None,
          with_vectors: bool = False) -> Hit:
    """The document's hit, in ``collection`` when given; 404 otherwise."""
    hits = svc.index.retrieve(namespace_id, [point_id(document_id)], with_vectors=with_vectors)
    if not hits or (collection is not None and (hits[0].payload or {}).get("collection_id") != collection.collection_id):
        raise not_found("document", document_id)
    return hits[0]


def _vectors(collection: Collection, given: Any, where: str = "vectors") -> dict[str, list[float]]:
    """Caller vectors keyed by the engine's names, each checked against the collection's dense indexes (by feature
    name, feature URI or engine name)."""
    if given is None:
        return {}
    if not isinstance(given, dict):
        raise WarehouseError(422, f"{where} must be an object of vector index name → list of numbers",
                             {"location": where})
    dense = [vi for vi in collection.vector_indexes or [] if (vi.get("index") or {}).get("type") != "sparse"]
    by_name = {key: vi for vi in dense for key in (vi["name"], vi.get("feature_uri"), vi["index"]["name"]) if key}
    out = {}
    for name, values in given.items():
        vi = by_name.get(name)
        if vi is None:
            raise WarehouseError(422, f"{where}.{name}: collection {collection.collection_name!r} has no dense vector "
                                 f"index {name!r}; its indexes: {sorted(v['name'] for v in dense)} (BM25 comes from "
                                 "the document's text)", {"location": f"{where}.{name}",
                                                           "allowed": sorted(v["name"] for v in dense)})
        dim = int(vi["index"]["dimensions"])
        if (not isinstance(values, list) or len(values) != dim
                or not all(isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) for v in values)):
            raise WarehouseError(422, f"{where}.{name} must be {dim} finite numbers (the index's dimensions)",
                                 {"location": f"{where}.{name}", "dimensions": dim})
        out[vi["index"]["name"]] = [float(v) for v in values]
    return out


def _user_fields(fields: dict[str, Any], where: str) -> dict[str, Any]:
    bad = sorted(k for k in fields if k in PROTECTED_FIELDS or k.startswith("_"))
    if bad:
        raise WarehouseError(422, f"{where}: {bad} are system fields the warehouse writes (ids, lineage, enrichment "
                             "results); set your own fields or metadata", {"location": f"{where}.{bad[0]}"})
    return fields


def _lexical(collection: Collection, points: list[IndexPoint]) -> None:
    if has_bm25(collection):
        for point, sparse in zip(points, encode_documents([p.payload.get("text") for p in points]), strict=True):
            if sparse is not None:
                point.vectors[BM25_VECTOR] = sparse


def create(svc: Services, namespace_id: str, collection: Collection, body: dict[str, Any]) -> dict[str, Any]:
    """Write one document into ``collection`` (direct insert); the document as stored."""
    body = dict(body)
    if body.pop("collection_id", None) not in (None, collection.collection_id):
        raise WarehouseError(422, "collection_id differs from the collection in the path; leave it out",
                             {"location": "collection_id"})
    if body.pop("features", None):
        raise WarehouseError(422, "features: give precomputed embeddings in vectors {index name: [numbers]}",
                             {"location": "features"})
    if body.pop("document_schema_version", None) not in (None, "v1"):
        raise WarehouseError(422, "document_schema_version: this server stores v1 documents; leave it out",
                             {"location": "document_schema_version"})
    vectors = _vectors(collection, body.pop("vectors", None))
    lineage = {k: body.pop(k) for k in LINEAGE_KEYS if body.get(k) is not None}
    for k in LINEAGE_KEYS:
        body.pop(k, None)
    metadata = body.pop("metadata", None)
    fields = _user_fields(body, "body")
    payload: dict[str, Any] = {**fields}
    if metadata is not None:
        payload["metadata"] = metadata
    with svc.catalog.session() as s:  # lineage names only the caller's own objects and buckets
        for key in ("source_object_id", "root_object_id"):
            if key in lineage:
                obj = s.get(Object, lineage[key])
                if obj is None or obj.namespace_id != namespace_id:
                    raise not_found("object", lineage[key])
                payload[key] = obj.object_id
                payload["bucket_id"] = obj.bucket_id
        if "root_bucket_id" in lineage:
            bucket = s.get(Bucket, lineage["root_bucket_id"])
            if bucket is None or bucket.namespace_id != namespace_id:
                raise not_found("bucket", lineage["root_bucket_id"])
            payload["bucket_id"] = bucket.bucket_id
    document_id = document_id_from_uuid(uuid.uuid4())
    payload.update({"document_id": document_id, "collection_id": collection.collection_id,
                    "created_at": datetime.now(UTC).isoformat(),
                    "_internal": {"lineage": {"source": "direct", **lineage}}})
    point = IndexPoint(id=point_id(document_id), vectors=vectors, payload=payload)
    _lexical(collection, [point])
    svc.index.ensure_vectors(namespace_id, index_specs(collection))
    svc.index.upsert(namespace_id, [point])
    return document_view(Hit(id=point.id, score=0.0, payload=payload))


def update(svc: Services, namespace_id: str, collection: Collection | None, document_id: str,
           fields: dict[str, Any], replace: bool = False) -> dict[str, Any]:
    """Set a document's own fields (``replace``: the given fields become all of them; the system fields stay);
    ``vectors`` replaces the named vectors. The document as stored."""
    fields = dict(fields)
    hit = fetch(svc, namespace_id, document_id, collection, with_vectors=True)
    payload = dict(hit.payload or {})
    if collection is None:
        with svc.catalog.session() as s:
            collection = s.get(Collection, payload.get("collection_id"))
    new_vectors = _vectors(collection, fields.pop("vectors", None)) if collection is not None else {}
    own = _user_fields(fields, "body")
    if replace:
        payload = {k: v for k, v in payload.items() if k in PROTECTED_FIELDS or k == "text" or k.startswith("_")}
    payload.update(own)
    point = IndexPoint(id=hit.id, vectors={**(hit.vectors or {}), **new_vectors}, payload=payload)
    if "text" in own and collection is not None:
        point.vectors.pop(BM25_VECTOR, None)
        _lexical(collection, [point])
    svc.index.upsert(namespace_id, [point])
    return document_view(Hit(id=hit.id, score=0.0, payload=payload))


def delete(svc: Services, namespace_id: str, collection: Collection | None, document_id: str) -> None:
    hit = fetch(svc, namespace_id, document_id, collection)
    svc.index.delete(namespace_id, {"must": [{"has_id": [hit.id]}]})


def _match_in(collection: Collection, filters: Any, where: str) -> tuple[dict[str, Any], Any]:
    """The engine filter for ``filters`` inside the collection, and the compiled filter when the engine cannot
    evaluate all of it."""
    compiled = compile_filter(filters, where)
    if compiled is None:
        raise WarehouseError(422, f"{where} matches every document; delete the collection or name documents "
                             "with document_ids", {"location": where})
    flt = in_collection(collection)
    if compiled.qdrant is not None:
        flt["must"].append(compiled.qdrant)
        return flt, None
    return flt, compiled


def _matching_ids(svc: Services, namespace_id: str, flt: dict[str, Any], compiled) -> list[str]:
    ids, cursor = [], None
    while True:
        hits, cursor = svc.index.scroll(namespace_id, flt, limit=1000, offset=cursor)
        ids += [h.id for h in hits if compiled is None or compiled.matches(document_view(h))]
        if cursor is None:
            return ids


def _one_mode(ids: Any, filters: Any, ids_key: str) -> None:
    if (ids is None) == (filters is None):
        raise WarehouseError(422, f"give exactly one of {ids_key} (these documents) or filters (every match)",
                             {"location": ids_key})
    if ids is not None and not 1 <= len(ids) <= MAX_MANY:
        raise WarehouseError(422, f"{ids_key}: 1 to {MAX_MANY} entries", {"location": ids_key})


def delete_many(svc: Services, namespace_id: str, collection: Collection, document_ids: list[str] | None,
                filters: Any) -> dict[str, Any]:
    """Delete the named documents (each reported) or every document matching ``filters``."""
    _one_mode(document_ids, filters, "document_ids")
    if filters is not None:
        flt, compiled = _match_in(collection, filters, "filters")
        ids = _matching_ids(svc, namespace_id, flt, compiled)
        for start in range(0, len(ids), MAX_MANY):
            svc.index.delete(namespace_id, {"must": [{"has_id": ids[start:start + MAX_MANY]}]})
        return {"deleted_count": len(ids), "failed_count": 0, "results": [], "task_id": None, "status": None,
                "message": f"deleted {len(ids)} documents matching the filters"}
    results, found = [], []
    hits = {h.id: h for h in svc.index.retrieve(namespace_id, [point_id(d) for d in document_ids])}
    for d in document_ids:
        hit = hits.get(point_id(d))
        if hit is None or (hit.payload or {}).get("collection_id") != collection.collection_id:
            results.append({"document_id": d, "success": False, "error": "not found in this collection"})
        else:
            found.append(hit.id)
            results.append({"document_id": d, "success": True, "error": None})
    if found:
        svc.index.delete(namespace_id, {"must": [{"has_id": found}]})
    return {"deleted_count": len(found), "failed_count": len(results) - len(found), "results": results,
            "task_id": None, "status": None, "message": f"deleted {len(found)} of {len(document_ids)} documents"}


def update_many(svc: Services, namespace_id: str, collection: Collection, updates: list[dict[str, Any]] | None,
                filters: Any, update_data: dict[str, Any] | None) -> dict[str, Any]:
    """Merge fields into the named documents (each its own ``update_data``) or into every match of ``filters``."""
    _one_mode(updates, filters, "updates")
    if filters is not None:
        if not update_data:
            raise WarehouseError(422, "update_data is required with filters: the fields to set on every match",
                                 {"location": "update_data"})
        fields = _user_fields(dict(update_data), "update_data")
        if "vectors" in update_data:
            raise WarehouseError(422, "update_data.vectors: vectors change one document at a time (PATCH it)",
                                 {"location": "update_data.vectors"})
        flt, compiled = _match_in(collection, filters, "filters")
        ids = _matching_ids(svc, namespace_id, flt, compiled)
        svc.index.set_payloads(namespace_id, [(i, fields) for i in ids])
        return {"updated_count": len(ids), "failed_count": 0, "results": [],
                "message": f"updated {len(ids)} documents matching the filters"}
    if update_data is not None:
        raise WarehouseError(422, "update_data goes with filters; with updates, each entry has its own update_data",
                             {"location": "update_data"})
    checked = []
    for i, entry in enumerate(updates):
        data = entry.get("update_data") or {}
        if "vectors" in data:
            raise WarehouseError(422, f"updates[{i}].update_data.vectors: vectors change one document at a time "
                                 "(PATCH it)", {"location": f"updates[{i}].update_data.vectors"})
        checked.append((entry["document_id"], _user_fields(dict(data), f"updates[{i}].update_data")))
    hits = {h.id: h for h in svc.index.retrieve(namespace_id, [point_id(d) for d, _ in checked])}
    results, writes = [], []
    for d, data in checked:
        hit = hits.get(point_id(d))
        if hit is None or (hit.payload or {}).get("collection_id") != collection.collection_id:
            results.append({"document_id": d, "success": False, "error": "not found in this collection"})
        else:
            writes.append((hit.id, data))
            results.append({"document_id": d, "success": True, "error": None})
    if writes:
        svc.index.set_payloads(namespace_id, writes)
    return {"updated_count": len(writes), "failed_count": len(results) - len(writes), "results": results,
            "message": f"updated {len(writes)} of {len(checked)} documents"}


def in_collection(collection: Collection) -> dict[str, Any]:
    """The engine filter for the collection's documents."""
    return {"must": [{"key": "collection_id", "match": {"value": collection.collection_id}}]}


def count(svc: Services, namespace_id: str, collection: Collection) -> int:
    return svc.index.count(namespace_id, in_collection(collection))


def get_many(svc: Services, namespace_id: str, document_ids: list[str]) -> dict[str, Any]:
    """The documents found (in the order asked) and the ids not found in the namespace."""
    hits = {h.id: h for h in svc.index.retrieve(namespace_id, [point_id(d) for d in document_ids])}
    found = [document_view(hits[point_id(d)]) for d in document_ids if point_id(d) in hits]
    return {"documents": found, "not_found": [d for d in document_ids if point_id(d) not in hits]}
