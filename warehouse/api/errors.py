"""The API's error envelope ``{success: false, status, error: {type, message, details}}``.

The domain raises :class:`warehouse.errors.WarehouseError`; this module maps it (and FastAPI's own
validation errors) onto the envelope.

Validation errors name the exact key and location, and carry a hint for each of the documented
common mistakes (a key from another API generation, a misplaced field).
"""

from __future__ import annotations

from typing import Any, get_args

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from warehouse.errors import ERROR_TYPES, HINTS, WarehouseError


def envelope(status: int, type_: str, message: str, details: dict[str, Any] | None = None,
             headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(
        status_code=status,
        content={"success": False, "status": status,
                 "error": {"type": type_, "message": message, "details": details or {}}},
        headers=headers,
    )


class ErrorBody(BaseModel):
    type: str = Field(description="The kind of error, e.g. ValidationError, NotFoundError, ConflictError.")
    message: str = Field(description="What is wrong, where, and how to fix it.")
    details: dict[str, Any] = Field(description="Machine-readable context: the offending location, allowed keys…")


class ErrorResponse(BaseModel):
    """Every 4xx and 5xx answer."""

    success: bool = False
    status: int
    error: ErrorBody


#: the answers any operation may give besides its success (documented on every route)
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: {"model": ErrorResponse, "description": "Malformed request (e.g. a body that is not UTF-8)."},
    401: {"model": ErrorResponse, "description": "Missing or unknown API key."},
    403: {"model": ErrorResponse, "description": "The key lacks the permission or the namespace scope."},
    404: {"model": ErrorResponse, "description": "No such resource in the caller's namespace or organisation."},
    405: {"model": ErrorResponse, "description": "Method not allowed on this path (see the Allow header)."},
    409: {"model": ErrorResponse, "description": "Conflicts with the current state (a duplicate name, a locked batch)."},
    413: {"model": ErrorResponse, "description": "Body larger than the server's limit."},
    422: {"model": ErrorResponse, "description": "Invalid input: names the field, what was wrong and what to send."},
    500: {"model": ErrorResponse, "description": "Unexpected error; the body carries a request id for the logs."},
    502: {"model": ErrorResponse, "description": "An upstream service (LLM endpoint, object store) failed."},
    503: {"model": ErrorResponse, "description": "A dependency is not ready (e.g. the index owner)."},
}


def _model_in(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``T``, ``T | None``, ``list[T]``, ``dict[str, T]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in get_args(annotation):
        if (found := _model_in(arg)) is not None:
            return found
    return None


def _allowed_keys(request: Request, loc: tuple) -> list[str] | None:
    """The keys the body model accepts where ``loc`` found an unknown one (None when it cannot be told)."""
    route = request.scope.get("route")
    field = getattr(route, "body_field", None)
    model = _model_in(getattr(getattr(field, "field_info", None), "annotation", None))
    for part in [p for p in loc[1:-1] if not isinstance(p, int)]:  # loc: ("body", …path…, unknown key)
        if model is None:
            return None
        inner = model.model_fields.get(part)
        if inner is not None:  # a field; else a key of a dict or list the model sits in
            model = _model_in(inner.annotation)
    return sorted(model.model_fields) if model is not None else None


def _describe(err: dict[str, Any], request: Request | None = None) -> dict[str, Any]:
    loc = [str(x) for x in err.get("loc", ()) if x not in ("body",)]
    where = ".".join(loc) or "body"
    kind = err.get("type", "")
    out: dict[str, Any] = {"location": where, "type": kind}
    if kind == "extra_forbidden":
        key = loc[-1] if loc else "?"
        out["message"] = f"unknown key {key!r} at {where}"
        allowed = _allowed_keys(request, tuple(err.get("loc", ()))) if request is not None else None
        if allowed:
            out["allowed"] = allowed
            out["message"] += f"; allowed: {allowed}"
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
    @app.exception_handler(WarehouseError)
    async def _domain_error(_: Request, exc: WarehouseError):
        return envelope(exc.status, exc.type, exc.message, exc.details)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError):
        problems = [_describe(e, request) for e in exc.errors()]
        message = "; ".join(p["message"] for p in problems[:5])
        hints = [p["hint"] for p in problems if "hint" in p]
        if hints:
            message += " (hint: " + "; ".join(hints) + ")"
        return envelope(422, "ValidationError", message, {"errors": problems})

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException):
        message = exc.detail if isinstance(exc.detail, str) else "request failed"
        headers = getattr(exc, "headers", None)
        if exc.status_code == 404 and message == "Not Found":
            message = "no such endpoint; see /docs for the API"
        elif exc.status_code == 405:
            # Starlette's Allow names the first route that matched the path; a path served by several routes
            # (GET and DELETE of one resource) supports the methods of all of them
            allowed = _methods_for(request)
            headers = {**(headers or {}), "Allow": ", ".join(allowed)}
            message = f"{request.method} is not supported on {request.url.path}; use {' or '.join(allowed)}"
        return envelope(exc.status_code, ERROR_TYPES.get(exc.status_code, "Error"), message, headers=headers)


#: the methods a 405's Allow may name
_METHODS = ("DELETE", "GET", "PATCH", "POST", "PUT")


def _methods_for(request: Request) -> list[str]:
    """The methods a route serves on this request's path. As in OpenAPI path matching, concrete segments win over
    templated ones (``/v1/alerts/list`` over ``/v1/alerts/{alert_id}``): the documented path that matches most
    specifically gives its documented methods; an undocumented path, the methods some route serves on it (asked of
    the routes themselves: included routers answer ``matches`` for the routes they hold)."""
    parts = request.url.path.strip("/").split("/")
    best: tuple[tuple[int, ...], dict] | None = None
    for template, operations in request.app.openapi().get("paths", {}).items():
        segments = template.strip("/").split("/")
        if len(segments) == len(parts) and all(t.startswith("{") or t == p for t, p in zip(segments, parts, strict=True)):
            rank = tuple(0 if t.startswith("{") else 1 for t in segments)
            if best is None or rank > best[0]:
                best = (rank, operations)
    if best is not None:
        return sorted(m.upper() for m in best[1] if m.upper() in _METHODS)
    return [method for method in _METHODS
            if any(route.matches({**request.scope, "method": method})[0] == Match.FULL
                   for route in request.app.router.routes)]
