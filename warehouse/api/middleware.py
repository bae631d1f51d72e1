"""ASGI middleware of the API: every body is JSON (whatever its Content-Type), every body is checked before a
route sees it, and no failure leaves the envelope — or drops the client's connection.

:class:`BodyGuard` buffers a ``/v1`` request body up to ``WAREHOUSE_MAX_BODY_BYTES`` (413 past it) and refuses, with
a 4xx naming where, what the JSON parser would let through and later code would choke on: bytes that are not
UTF-8, ``NaN``/``Infinity`` (stored, they make every later listing fail), lone UTF-16 surrogates (the same), and
nesting deeper than ``WAREHOUSE_MAX_JSON_DEPTH``. Bodies of multipart uploads and of the internal endpoints
(authenticated by the owner's token, and large by design) pass through.

:class:`ErrorEnvelope` turns an unexpected exception into a 500 envelope with a request id and logs the
traceback under that id; the exception text stays in the log, and the connection stays open.
"""

from __future__ import annotations

import json
import logging
import math
import secrets
from typing import Any

from warehouse.errors import ERROR_TYPES

log = logging.getLogger(__name__)


def _envelope(status: int, message: str, details: dict[str, Any]) -> bytes:
    return json.dumps({"success": False, "status": status, "error": {
        "type": ERROR_TYPES.get(status, "Error"), "message": message, "details": details}}).encode()


async def _send_json(send, status: int, body: bytes) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


class BodyProblem(ValueError):
    def __init__(self, status: int, message: str, location: str) -> None:
        super().__init__(message)
        self.status, self.message, self.location = status, message, location


def _reject_constant(name: str) -> float:
    raise BodyProblem(422, f"{name} is not a number JSON allows here; send a finite number (or null)", "body")


def check_json(raw: bytes, max_depth: int) -> None:
    """Raise :class:`BodyProblem` for a body a route must never see; invalid JSON is left to the route's parser."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BodyProblem(400, f"the body is not UTF-8 (byte {exc.start}: {exc.reason})", "body") from None
    try:
        value = json.loads(text, parse_constant=_reject_constant)
    except RecursionError:
        raise BodyProblem(422, f"the body nests deeper than {max_depth} levels", "body") from None
    except json.JSONDecodeError:
        return
    _walk(value, "body", 0, max_depth)


def _walk(value: Any, where: str, depth: int, max_depth: int) -> None:
    if depth > max_depth:
        raise BodyProblem(422, f"{where}: nested deeper than {max_depth} levels", where)
    if isinstance(value, str):
        _check_text(value, where)
    elif isinstance(value, float):
        if not math.isfinite(value):  # 1e999 parses to inf without a constant
            raise BodyProblem(422, f"{where}: {value!r} is out of range; send a finite number", where)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, f"{where}.{key[:40]!r}")
            _walk(item, f"{where}.{key}", depth + 1, max_depth)
    elif isinstance(value, list):
        for i, item in enumerate(value):
            _walk(item, f"{where}[{i}]", depth + 1, max_depth)


def _check_text(value: str, where: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise BodyProblem(422, f"{where}: invalid Unicode (a lone surrogate at character {exc.start}); send "
                          "valid UTF-8 text", where) from None


class BodyGuard:
    """Treat ``/v1`` and ``/internal`` bodies as JSON whatever their Content-Type (``curl -d`` sends form type),
    and check ``/v1`` bodies before any route parses them."""

    def __init__(self, app, max_bytes: int, max_depth: int) -> None:
        self.app, self.max_bytes, self.max_depth = app, max_bytes, max_depth

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or not scope["path"].startswith(("/v1/", "/internal/")):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        if headers.get(b"content-type", b"").startswith(b"multipart/"):
            return await self.app(scope, receive, send)
        scope = {**scope, "headers": [(k, v) for k, v in scope["headers"] if k != b"content-type"]
                 + [(b"content-type", b"application/json")]}
        if scope["path"].startswith("/internal/") or scope["method"] in ("GET", "HEAD", "OPTIONS", "DELETE"):
            return await self.app(scope, receive, send)
        declared = headers.get(b"content-length", b"")
        if declared.isdigit() and int(declared) > self.max_bytes:
            return await self._refuse(send, BodyProblem(413, self._too_large(int(declared)), "body"))
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_bytes:
                return await self._refuse(send, BodyProblem(413, self._too_large(size), "body"))
            chunks.append(chunk)
            if not message.get("more_body"):
                break
        body = b"".join(chunks)
        if body:
            try:
                check_json(body, self.max_depth)
            except BodyProblem as problem:
                return await self._refuse(send, problem)
        replayed = False

        async def replay():
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _too_large(self, size: int) -> str:
        return (f"the body is {size} bytes, over the {self.max_bytes}-byte limit (WAREHOUSE_MAX_BODY_BYTES); send "
                "large files as blobs by URL or through the bucket's inbox")

    @staticmethod
    async def _refuse(send, problem: BodyProblem) -> None:
        location = problem.location.removeprefix("body.")
        await _send_json(send, problem.status, _envelope(problem.status, problem.message, {"location": location}))


class ErrorEnvelope:
    """The outermost safety net: an exception no handler turned into a 4xx becomes a 500 envelope with a request id
    (the traceback is logged under it); the exception's text is not sent, and the connection is kept."""

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        started = False

        async def watch(message):
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, watch)
        except Exception:  # noqa: BLE001 - this is the place every unexpected error ends up
            request_id = "req_" + secrets.token_hex(8)
            log.exception("request %s %s %s failed", request_id, scope.get("method"), scope.get("path"))
            if not started:
                await _send_json(send, 500, _envelope(500, f"internal error; the server logged it as {request_id}",
                                                      {"request_id": request_id}))


class NamespacedPaths:
    """The tutorial's path forms: ``/v1/namespaces/{ns}/buckets…`` (and ``collections``, ``retrievers``,
    ``taxonomies``, ``clusters``, ``alerts``, ``objects``, ``batches``, ``tasks``, ``plugins``, ``extractors``) are the top-level routes with the
    namespace taken from the path. A request that also names a different namespace in ``X-Namespace`` (or
    ``X-Namespace-Id``, ``?namespace=``) is a 400 naming both, never a silent pick of one."""

    RESOURCES = frozenset({"buckets", "collections", "retrievers", "taxonomies", "clusters", "alerts", "objects",
                           "batches", "tasks", "plugins", "extractors"})

    def __init__(self, app) -> None:
        self.app = app

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http" and scope["path"].startswith("/v1/namespaces/"):
            parts = scope["path"].split("/", 5)  # "", "v1", "namespaces", ns, resource, rest
            if len(parts) >= 5 and parts[4] in self.RESOURCES and parts[3]:
                ns = parts[3]
                given = {v.decode("latin-1") for k, v in scope["headers"] if k in (b"x-namespace", b"x-namespace-id")}
                query = scope.get("query_string", b"").decode("latin-1")
                given |= {p.split("=", 1)[1] for p in query.split("&") if p.startswith("namespace=")}
                if given - {ns}:
                    body = _envelope(400, f"the path names namespace {ns!r} but the request also names "
                                     f"{sorted(given - {ns})}; send one", {"location": "path.namespace"})
                    return await _send_json(send, 400, body)
                path = "/v1/" + "/".join(parts[4:])
                headers = [(k, v) for k, v in scope["headers"] if k not in (b"x-namespace", b"x-namespace-id")]
                scope = {**scope, "path": path, "raw_path": path.encode(),
                         "headers": [*headers, (b"x-namespace", ns.encode())]}
        await self.app(scope, receive, send)
