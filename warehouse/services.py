"""The components one API process holds: catalog, object store, index, extractors, batch runner."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from warehouse.batch.runner import BatchRunner
from warehouse.catalog import Catalog, schedules
from warehouse.catalog.collections import queue_downstream
from warehouse.catalog.events import record_event
from warehouse.enrichment.runs import after_part
from warehouse.enrichment.webhooks import Dispatcher
from warehouse.extractors.registry import ExtractorRegistry
from warehouse.extractors.sandbox import outbound_of
from warehouse.index import IndexStore, make_index_store
from warehouse.orchestration import DagsterLink
from warehouse.outbound import OutboundPolicy
from warehouse.retrieval.inference import QueryInference
from warehouse.retrieval.serving import ServeBackend
from warehouse.settings import Settings
from warehouse.storage import ObjectStore, make_object_store

log = logging.getLogger(__name__)


class LookupCache:
    """Short-lived answers to per-request catalog lookups (name → namespace, identifiers → collections). API keys
    are never cached: a revoked key must fail on the next request."""

    def __init__(self) -> None:
        self._items: dict[tuple[str, object], tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, kind: str, key: object):
        with self._lock:
            hit = self._items.get((kind, key))
        if hit is None or hit[0] < time.monotonic():
            return None
        return hit[1]

    def put(self, kind: str, key: object, value, ttl: float):
        with self._lock:
            if len(self._items) > 10_000:
                self._items.clear()
            self._items[(kind, key)] = (time.monotonic() + ttl, value)
        return value

    def forget(self, kind: str) -> None:
        """Drop every cached answer of a kind (after a delete or an update)."""
        with self._lock:
            for k in [k for k in self._items if k[0] == kind]:
                del self._items[k]


@dataclass
class Services:
    settings: Settings
    catalog: Catalog
    objects: ObjectStore
    index: IndexStore
    registry: ExtractorRegistry
    runner: BatchRunner
    inference: QueryInference
    dagster: DagsterLink
    lookups: LookupCache = field(default_factory=LookupCache)
    dispatcher: Any = None  # warehouse.enrichment.webhooks.Dispatcher, started by the API app
    _scheduler: threading.Thread | None = None
    _scheduler_stop: threading.Event = field(default_factory=threading.Event)
    _enrichment: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="enrichment"))

    def __post_init__(self) -> None:
        self.runner.on_part_done = self.after_part

    def after_part(self, namespace_id: str, collection_id: str, batch_id: str, documents_written: int) -> None:
        """A batch wrote documents: alerts (and, without Dagster, taxonomies and clusters) run in the
        background — the batch never waits for them."""

        if documents_written > 0:  # a multi-tier collection over this one runs on what was just written
            with self.catalog.session() as s:
                queued = [b.batch_id for b in queue_downstream(s, namespace_id, collection_id, batch_id)]
            for downstream in queued:
                self.dispatch(downstream)
        self._enrichment.submit(after_part, self, namespace_id, collection_id, batch_id, documents_written)

    def background(self, fn, *args, **kwargs) -> Future:
        """Run enrichment work (taxonomy and cluster executions) one at a time off the request."""
        return self._enrichment.submit(fn, *args, **kwargs)

    def start_dispatcher(self) -> None:
        if self.dispatcher is None:
            self.dispatcher = Dispatcher(self.catalog, self.settings.webhook_max_attempts,
                                         self.settings.webhook_retry_base_seconds,
                                         policy=OutboundPolicy.from_settings(self.settings))
            self.dispatcher.start()

    def run_schedules(self, now: datetime | None = None) -> list[str]:
        """Queue (and start) a batch for every collection whose schedule is due; their ids."""
        with self.catalog.session() as s:
            queued = [b.batch_id for b in schedules.run_due(s, now)]
        for batch_id in queued:
            self.dispatch(batch_id)
        return queued

    def start_scheduler(self, every_s: float = 30.0) -> None:
        """Tick collection schedules in this process (``orchestrator=inline``; under Dagster a sensor ticks them)."""
        if self._scheduler is not None or self.settings.orchestrator != "inline":
            return

        def loop() -> None:
            while not self._scheduler_stop.wait(every_s):
                try:
                    self.run_schedules()
                except Exception:  # noqa: BLE001 - a failed tick is logged; the next one tries again
                    log.exception("collection schedules tick failed")

        self._scheduler = threading.Thread(target=loop, name="collection-schedules", daemon=True)
        self._scheduler.start()

    def record_event(self, event_type: str, namespace_id: str | None, resource_id: str | None,
                     payload: dict[str, Any], dedupe_key: str) -> None:
        """Record an event for the webhooks (once per ``dedupe_key``) and let the dispatcher send it now."""

        with self.catalog.session() as s:
            record_event(s, event_type, namespace_id, resource_id, payload, dedupe_key)
        self.wake_dispatcher()

    def wake_dispatcher(self) -> None:
        if self.dispatcher is not None:
            self.dispatcher.wake()

    def dispatch(self, batch_id: str) -> None:
        """Start a QUEUED batch: on this server's runner, or — under Dagster — leave it to the
        ``queued_batches`` sensor (its partition is added now so the UI shows it at once)."""
        if self.settings.orchestrator == "dagster":
            self.dagster.add_partition("batches", batch_id)
        else:
            self.runner.submit(batch_id)

    def cancel(self, batch_id: str) -> list[str]:
        """Stop a batch's work wherever it runs; returns the Dagster runs asked to terminate."""
        self.runner.cancel(batch_id)
        return self.dagster.cancel_runs(batch_id)

    @classmethod
    def from_settings(cls, settings: Settings) -> Services:
        catalog = Catalog(settings.catalog_url)
        index = make_index_store(settings)
        registry = ExtractorRegistry.for_home(settings.home_dir)
        for folder, error in registry.errors.items():
            log.error("extractor at %s was not loaded: %s", folder, error)
        runner = BatchRunner(catalog, registry, index, settings)
        backend = None
        if settings.query_inference == "ray_serve":
            backend = ServeBackend(settings.ray_address, settings.ray_num_cpus, settings.query_inference_replicas,
                                   outbound=outbound_of(settings))
        return cls(settings, catalog, make_object_store(settings), index, registry, runner,
                   QueryInference(registry, backend=backend, outbound=outbound_of(settings)), DagsterLink(settings))

    def close(self) -> None:
        self._scheduler_stop.set()
        self._enrichment.shutdown(wait=True, cancel_futures=True)
        if self.dispatcher is not None:
            self.dispatcher.stop()
        if self.inference.backend is not None:
            self.inference.backend.shutdown()
        self.runner.shutdown()
        self.index.close()
        self.catalog.dispose()
