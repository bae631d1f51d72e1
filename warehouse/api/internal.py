"""The index owner's internal endpoints (single-owner rule).

``/internal/index/*``: processes that must not open the Edge shards — Dagster run workers, Ray
workers — call these operations through :class:`warehouse.index.remote.RemoteIndexStore`.

``/internal/batches/*``: a Dagster run asks the owner to run one (collection, batch) partition on
its warm Ray workers and reads the progress back as a stream of NDJSON events.

Guarded by a shared secret (``X-Internal-Token``) kept under the warehouse home; excluded from the
public OpenAPI document.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import queue
import time
from dataclasses import asdict
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import StreamingResponse

from warehouse.api.deps import services
from warehouse.api.schemas.internal import (
    EnrichmentRunRequest,
    IndexOperationRequest,
    PartitionCancelRequest,
    PartitionRunRequest,
)
from warehouse.batch.engine import describe_exception
from warehouse.enrichment import runs
from warehouse.errors import WarehouseError
from warehouse.index import IndexError_, IndexPoint, VectorSpec
from warehouse.index.base import query_from_json
from warehouse.services import Services

router = APIRouter(prefix="/internal", include_in_schema=False)


def _authorised(request: Request, svc: Services = Depends(services)) -> None:
    token = request.headers.get("x-internal-token", "")
    expected = svc.settings.resolved_internal_token().encode()
    if not hmac.compare_digest(token.encode("utf-8", "surrogateescape"), expected):  # bytes: any header compares
        raise WarehouseError(401, "invalid or missing X-Internal-Token")


@router.post("/batches/run", dependencies=[Depends(_authorised)])
async def run_partition(body: PartitionRunRequest, svc: Services = Depends(services)):
    """Run one (collection, batch) partition here; stream ``progress`` events, then ``result`` or ``error``.

    If the caller goes away mid-stream (its Dagster run was terminated) the batch is cancelled.
    """
    events: queue.Queue = queue.Queue()
    batch_id = body.batch_id
    future = svc.runner.submit_partition(batch_id, body.collection_id, body.run_id, events.put)

    async def stream():
        finished = False
        try:
            yield json.dumps({"event": "accepted", "batch_id": batch_id}) + "\n"
            beat = time.monotonic()
            while True:
                while not events.empty():
                    yield json.dumps({"event": "progress", **events.get_nowait()}) + "\n"
                if future.done():
                    break
                if time.monotonic() - beat > 5:
                    beat = time.monotonic()
                    yield json.dumps({"event": "heartbeat"}) + "\n"
                await asyncio.sleep(0.1)
            exc = future.exception()
            if exc is not None:
                yield json.dumps({"event": "error", "error": describe_exception(exc)}) + "\n"
            else:
                yield json.dumps({"event": "result", **future.result()}, default=str) + "\n"
            finished = True
        finally:
            if not finished:
                svc.runner.cancel(batch_id)

    return StreamingResponse(stream(), media_type="application/x-ndjson")


@router.post("/batches/cancel", dependencies=[Depends(_authorised)])
def cancel_partition(body: PartitionCancelRequest, svc: Services = Depends(services)):
    svc.runner.cancel(body.batch_id)
    return {"result": "cancel requested"}


@router.post("/enrichment/run", dependencies=[Depends(_authorised)])
def run_enrichment(body: EnrichmentRunRequest, svc: Services = Depends(services)):
    """Run a taxonomy or cluster partition for a Dagster run; the result (cluster plot included) comes back."""
    kind, resource_id = body.kind, body.resource_id
    run = runs.run_taxonomy if kind == "taxonomy" else runs.run_cluster
    try:
        return run(svc, resource_id, trigger="dagster", dagster_run_id=body.dagster_run_id)
    except WarehouseError:
        raise
    except Exception as exc:  # noqa: BLE001 - the Dagster run shows the message
        raise WarehouseError(500, f"{kind} {resource_id} failed: {describe_exception(exc)}") from exc


@router.post("/index/{operation}", dependencies=[Depends(_authorised)])
def index_operation(operation: str, request: IndexOperationRequest, svc: Services = Depends(services)):
    idx, ns = svc.index, request.namespace_id
    body = request.model_dump(exclude_unset=True)
    try:
        if operation == "ensure_vectors":
            idx.ensure_vectors(ns, [VectorSpec(**v) for v in body["vectors"]])
            result: Any = None
        elif operation == "ensure_payload_indexes":
            idx.ensure_payload_indexes(ns, body["indexes"])
            result = None
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
        elif operation == "set_payloads":
            idx.set_payloads(ns, [(u[0], u[1]) for u in body["updates"]], body.get("key"))
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
            raise WarehouseError(404, f"unknown index operation {operation!r}")
    except (IndexError_, KeyError, TypeError) as exc:
        raise WarehouseError(422, f"{operation}: {exc}") from exc
    return {"result": result}
