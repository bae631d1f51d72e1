"""The FastAPI application: the Mixpeek v1 API over the warehouse's services."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager

from fastapi import FastAPI
from fastapi.responses import JSONResponse

from warehouse import __version__
from warehouse.retrieval.errors import install_error_handlers
from warehouse.retrieval.routes import batches, buckets, collections, discovery, internal, namespaces, retrievers
from warehouse.retrieval.service import Services
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
        if resume:
            resumed = svc.runner.resume_pending()
            if resumed:
                log.info("re-queued %d unfinished batch(es): %s", len(resumed), resumed)
        yield
        if services is None:
            svc.close()

    app = FastAPI(title="Warehouse", version=__version__, lifespan=lifespan,
                  description="Self-hosted multimodal data warehouse speaking the Mixpeek v1 API.")
    app.state.services = svc
    install_error_handlers(app)
    for module in (namespaces, buckets, collections, batches, retrievers, discovery, internal):
        app.include_router(module.router)

    @app.get("/docs/openapi.json", include_in_schema=False)
    def openapi_copy():
        return JSONResponse(app.openapi())

    return app
