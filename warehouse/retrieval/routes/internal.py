"""The index owner's internal bulk endpoint (single-owner rule).

Processes that must not open the Edge shards — Dagster run workers, Ray workers — call these
operations through :class:`warehouse.index.remote.RemoteIndexStore`. Guarded by a shared secret
(``X-Internal-Token``) kept under the warehouse home; excluded from the public OpenAPI document.
"""

from __future__ import annotations

import hmac
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Body, Depends, Request

from warehouse.index import IndexError_, IndexPoint, VectorSpec
from warehouse.index.base import query_from_json
from warehouse.retrieval.deps import services
from warehouse.retrieval.errors import ApiError
from warehouse.retrieval.service import Services

router = APIRouter(prefix="/internal/index", include_in_schema=False)


def _authorised(request: Request, svc: Services = Depends(services)) -> None:
    token = request.headers.get("x-internal-token", "")
    if not hmac.compare_digest(token, svc.settings.resolved_internal_token()):
        raise ApiError(401, "invalid or missing X-Internal-Token")


@router.post("/{operation}", dependencies=[Depends(_authorised)])
def index_operation(operation: str, body: dict[str, Any] = Body(...), svc: Services = Depends(services)):
    idx, ns = svc.index, body.get("namespace_id")
    if not ns:
        raise ApiError(422, "namespace_id is required")
    try:
        if operation == "ensure_vectors":
            idx.ensure_vectors(ns, [VectorSpec(**v) for v in body["vectors"]])
            result: Any = None
        elif operation == "drop_namespace":
            idx.drop_namespace(ns)
            result = None
        elif operation == "upsert":
            idx.upsert(ns, [IndexPoint(**p) for p in body["points"]])
            result = len(body["points"])
        elif operation == "delete":
            idx.delete(ns, body["filter"])
            result = None
        elif operation == "set_payload":
            idx.set_payload(ns, body["payload"], body["filter"])
            result = None
        elif operation == "optimize":
            idx.optimize(ns)
            result = None
        elif operation == "query_batch":
            result = [[asdict(h) for h in hits] for hits in idx.query_batch(ns, [query_from_json(q) for q in body["queries"]])]
        elif operation == "retrieve":
            result = [asdict(h) for h in idx.retrieve(ns, body["ids"], body.get("with_vectors", False))]
        elif operation == "scroll":
            hits, nxt = idx.scroll(ns, body.get("filter"), body.get("limit", 100), body.get("offset"),
                                   body.get("with_vectors", False))
            result = {"hits": [asdict(h) for h in hits], "next_offset": nxt}
        elif operation == "count":
            result = idx.count(ns, body.get("filter"))
        else:
            raise ApiError(404, f"unknown index operation {operation!r}")
    except (IndexError_, KeyError, TypeError) as exc:
        raise ApiError(422, f"{operation}: {exc}") from exc
    return {"result": result}
