"""The FastAPI application: the Mixpeek v1 API over the warehouse's services."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from warehouse import __version__
from warehouse.api import internal
from warehouse.api.errors import ERROR_RESPONSES, install_error_handlers
from warehouse.api.middleware import BodyGuard, ErrorEnvelope, NamespacedPaths
from warehouse.api.routes import (
    alerts,
    api_keys,
    batches,
    buckets,
    clusters,
    collections,
    discovery,
    documents,
    exports,
    namespaces,
    objects,
    plugins,
    retrievers,
    taxonomies,
    uploads,
    webhooks,
)
from warehouse.services import Services
from warehouse.settings import Settings

log = logging.getLogger(__name__)


def create_app(settings: Settings | None = None, services: Services | None = None, resume: bool = True) -> FastAPI:
    """Build the API app. The process that runs it owns the Edge index shards.

    Example:
        >>> app = create_app(Settings(home="/tmp/wh"))  # doctest: +SKIP
        >>> uvicorn.run(app, host="127.0.0.1", port=8000)  # doctest: +SKIP
    """
    settings = settings or Settings()
    svc = services or Services.from_settings(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # Load the built-in query models now, so the first search does not pay for it.
        threading.Thread(target=svc.inference.warm, args=(svc.registry.all(),), daemon=True).start()
        if settings.warm_batch_workers:
            threading.Thread(target=svc.runner.warm, name="warm-batch-workers", daemon=True).start()
        svc.start_dispatcher()
        svc.start_scheduler()  # collection schedules, when this server runs batches itself
        if resume and settings.orchestrator == "inline":
            resumed = svc.runner.resume_pending()
            if resumed:
                log.info("re-queued %d unfinished batch(es): %s", len(resumed), resumed)
        yield
        if services is None:
            svc.close()

    app = FastAPI(title="Warehouse", version=__version__, lifespan=lifespan,
                  description="Self-hosted multimodal data warehouse speaking the Mixpeek v1 API.")
    app.state.services = svc
    app.add_middleware(BodyGuard, max_bytes=settings.max_body_bytes, max_depth=settings.max_json_depth)
    app.add_middleware(NamespacedPaths)  # /v1/namespaces/{ns}/buckets… → /v1/buckets… in namespace ns
    app.add_middleware(ErrorEnvelope)  # added last: the outermost of ours
    install_error_handlers(app)
    for module in (namespaces, buckets, objects, batches, documents, collections, exports, retrievers, taxonomies,
                   clusters, alerts, webhooks, api_keys, plugins, uploads, discovery, internal):
        app.include_router(module.router, responses=ERROR_RESPONSES)

    @app.get("/docs/openapi.json", include_in_schema=False)
    def openapi_copy():
        return JSONResponse(app.openapi())

    return app
