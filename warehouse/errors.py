"""The domain's one error type and the request-shape checks every layer shares.

The domain never speaks HTTP: it raises :class:`WarehouseError` with a status *hint* (404 for a
missing resource, 409 for a conflict, 422 for a bad shape) and ``details`` saying where and how to
fix it. Only ``warehouse.api`` turns it into a response (the ``{success, status, error}``
envelope); the CLI and Dagster show its message.
"""

from __future__ import annotations

from typing import Any

#: the error envelope's ``type`` for each status (the Mixpeek names)
ERROR_TYPES: dict[int, str] = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    409: "AlreadyExistsError",
    413: "PayloadTooLargeError",
    422: "ValidationError",
    429: "TooManyRequestsError",
    500: "InternalServerError",
    503: "InferenceServiceUnavailableError",
}

#: key → how to fix it, shown when the key is unknown where it was sent.
HINTS: dict[str, str] = {
    "collection_id": "use 'collection_ids' (a list) to name the collections of a batch",
    "bucket_id": "collections take source: {'type': 'bucket', 'bucket_ids': ['bkt_…']}",
    "query": "retriever inputs go under 'inputs', e.g. {'inputs': {'query': '…'}}",
    "stage_id": "a stage is {'stage_name', 'stage_type', 'config': {'stage_id', 'parameters'}}",
    "parameters": "stage parameters go under config.parameters",
    "feature_extractor_id": "name the extractor with feature_extractor: {'feature_extractor_name', 'version'}",
    "namespace": "the namespace is chosen by the X-Namespace header, not the body",
    "namespace_id": "the namespace is chosen by the X-Namespace header, not the body",
    "objects": "create objects one per request at /v1/buckets/{bucket}/objects, or use /objects/batch",
    "filter": "the key is 'filters'",
    "top_n": "the key is 'top_k'",
    "k": "the key is 'top_k'",
    "vector": "send a vector query as {'input_mode': 'vector', 'value': [...]}",
}


class WarehouseError(Exception):
    """A failure the caller can act on: ``status`` is an HTTP-style hint, ``details`` says where and how to fix it.

    Example:
        >>> raise WarehouseError(422, "chunk_size must be positive", {"location": "parameters.chunk_size"})
        Traceback (most recent call last):
        ...
        warehouse.errors.WarehouseError: chunk_size must be positive
    """

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None, type_: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.type = type_ or ERROR_TYPES.get(status, "Error")


def not_found(kind: str, identifier: str, **details: Any) -> WarehouseError:
    return WarehouseError(404, f"{kind} {identifier!r} not found", {"resource": kind, "identifier": identifier, **details})


def check_keys(data: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """``data`` when it is an object with only ``allowed`` keys; else a 422 naming the unknown ones (and the
    hint for a key that belongs elsewhere)."""
    if not isinstance(data, dict):
        raise WarehouseError(422, f"{where} must be an object", {"location": where})
    unknown = sorted(set(data) - allowed)
    if unknown:
        hints = [HINTS[k] for k in unknown if k in HINTS]
        raise WarehouseError(422, f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}"
                             + (f" (hint: {'; '.join(hints)})" if hints else ""), {"location": where, "unknown": unknown})
    return data


def refuse_set(values: dict[str, Any], reasons: dict[str, str]) -> None:
    """A 422 for the first key of ``reasons`` that ``values`` sets (not None), with its reason: a key this server
    cannot honour is refused, never accepted and dropped."""
    for key, why in reasons.items():
        if values.get(key) is not None:
            raise WarehouseError(422, f"{key}: {why}", {"location": key})


def rename_aliases(data: Any, pairs: dict[str, str]) -> Any:
    """Accept documented alternative spellings: ``{old: new}`` renames ``old`` unless ``new`` is given."""
    if not isinstance(data, dict):
        return data
    data = dict(data)
    for old, new in pairs.items():
        if old in data and new not in data:
            data[new] = data.pop(old)
    return data
