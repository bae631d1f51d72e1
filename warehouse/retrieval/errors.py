"""The API's error envelope ``{success: false, status, error: {type, message, details}}``.

Validation errors name the exact key and location, and carry a hint for each of the documented
common mistakes (a key from another API generation, a misplaced field).
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

_TYPES = {
    400: "BadRequestError",
    401: "UnauthorizedError",
    403: "ForbiddenError",
    404: "NotFoundError",
    405: "MethodNotAllowedError",
    409: "AlreadyExistsError",
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


class ApiError(Exception):
    """An error the API reports with the envelope; ``details`` says where and how to fix it."""

    def __init__(self, status: int, message: str, details: dict[str, Any] | None = None, type_: str | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.details = details or {}
        self.type = type_ or _TYPES.get(status, "Error")


def check_keys(data: Any, allowed: set[str], where: str) -> dict[str, Any]:
    """``data`` when it is an object with only ``allowed`` keys; else a 422 naming the unknown ones (and the
    hint for a key that belongs elsewhere)."""
    if not isinstance(data, dict):
        raise ApiError(422, f"{where} must be an object", {"location": where})
    unknown = sorted(set(data) - allowed)
    if unknown:
        hints = [HINTS[k] for k in unknown if k in HINTS]
        raise ApiError(422, f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}"
                       + (f" (hint: {'; '.join(hints)})" if hints else ""), {"location": where, "unknown": unknown})
    return data


def not_found(kind: str, identifier: str, **details: Any) -> ApiError:
    return ApiError(404, f"{kind} {identifier!r} not found", {"resource": kind, "identifier": identifier, **details})


def envelope(status: int, type_: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"success": False, "status": status,
                 "error": {"type": type_, "message": message, "details": details or {}}},
    )


def _describe(err: dict[str, Any]) -> dict[str, Any]:
    loc = [str(x) for x in err.get("loc", ()) if x not in ("body",)]
    where = ".".join(loc) or "body"
    kind = err.get("type", "")
    out: dict[str, Any] = {"location": where, "type": kind}
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        out["message"] = f"unknown key {key!r} at {where}"
        if key in HINTS:
            out["hint"] = HINTS[key]
    elif kind == "missing":
        out["message"] = f"missing required field {where!r}"
    elif kind == "json_invalid":
        out["message"] = f"request body is not valid JSON: {err.get('ctx', {}).get('error', err.get('msg'))}"
    else:
        out["message"] = f"{where}: {err.get('msg')}"
        if "input" in err and not isinstance(err["input"], dict | list):
            out["received"] = repr(err["input"])[:200]
    return out


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError):
        return envelope(exc.status, exc.type, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, exc: RequestValidationError):
        problems = [_describe(e) for e in exc.errors()]
        message = "; ".join(p["message"] for p in problems[:5])
        hints = [p["hint"] for p in problems if "hint" in p]
        if hints:
            message += " (hint: " + "; ".join(hints) + ")"
        return envelope(422, "ValidationError", message, {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs for the API"
        return envelope(exc.status_code, _TYPES.get(exc.status_code, "Error"), message)

    @app.exception_handler(Exception)
    async def _unexpected(_: Request, exc: Exception):
        return envelope(500, "InternalServerError", f"{type(exc).__name__}: {exc}")
