"""The Dagster resource that hands assets and sensors the warehouse's components.

One interface, :class:`WarehouseResource`, with two implementations chosen by configuration
(``WAREHOUSE_DAGSTER_EXECUTOR``), never by an ``if`` in an asset:

* :class:`OwnerWarehouse` (``owner``, the default): Dagster run workers never open the Edge shards;
  they ask the API server (the index owner) to run the Ray Data job on its warm Ray workers and
  stream its progress back, and read the index through its internal endpoint.
* :class:`InProcessWarehouse` (``in_process``): the run worker itself is the Ray Data driver. It joins
  the cluster at ``WAREHOUSE_RAY_ADDRESS`` (or starts a local one) and writes through the configured
  index store (the owner's endpoint, or a Qdrant server in a scale-out deployment).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import Any

import httpx
from dagster import ConfigurableResource

from warehouse.batch.engine import ensure_ray, watch_ray
from warehouse.batch.runner import BatchRunner, record_part
from warehouse.catalog import Catalog
from warehouse.catalog.batches import BatchStatus
from warehouse.catalog.collections import queue_downstream
from warehouse.enrichment import alerts, applications, runs
from warehouse.extractors.registry import ExtractorRegistry
from warehouse.index import IndexStore, make_index_store
from warehouse.services import Services
from warehouse.settings import Settings
from warehouse.storage import ObjectStore, make_object_store
from warehouse.storage.s3 import S3ObjectStore

log = logging.getLogger(__name__)

Progress = Callable[[dict[str, Any]], None]
Log = Callable[[str], None]


class PartitionRunError(RuntimeError):
    """The (collection, batch) partition could not run; the message says why."""


class WarehouseResource(ConfigurableResource):
    """One warehouse home, as Dagster config; subclasses decide where the work runs.

    Example:
        >>> Definitions(assets=[...], resources={"warehouse": warehouse_resource(Settings())})  # doctest: +SKIP
    """

    home: str = ".warehouse"
    index_owner_url: str | None = "http://127.0.0.1:8000"
    object_store: str | None = None
    s3_endpoint_url: str | None = None
    s3_bucket: str | None = None

    def settings(self) -> Settings:
        overrides: dict[str, Any] = {"home": self.home}
        if self.index_owner_url:
            overrides.update(index_store="remote", index_owner_url=self.index_owner_url)
        for name in ("object_store", "s3_endpoint_url", "s3_bucket"):
            if getattr(self, name):
                overrides[name] = getattr(self, name)
        return Settings(**overrides)

    def catalog(self) -> Catalog:
        return _catalog(self.settings().catalog_url)

    def s3(self):
        """``dagster_aws``'s S3 resource configured from the warehouse settings (endpoint, region, keys): the client
        Dagster code uses for the S3 object store and the ``s3_new_objects`` sensor."""
        # lazy: dagster-aws loads boto3; only S3 deployments need it
        from dagster_aws.s3 import S3Resource

        s = self.settings()
        return S3Resource(endpoint_url=s.s3_endpoint_url, region_name=s.s3_region, aws_access_key_id=s.s3_access_key_id,
                          aws_secret_access_key=s.s3_secret_access_key, max_attempts=3)

    def objects(self) -> ObjectStore:
        settings = self.settings()
        if settings.object_store == "s3":  # inside Dagster the S3 client is dagster-aws's S3Resource's
            return S3ObjectStore(settings.s3_bucket, region=settings.s3_region, client=self.s3().get_client())
        return make_object_store(settings)

    def index(self) -> IndexStore:
        return make_index_store(self.settings())

    def registry(self) -> ExtractorRegistry:
        return ExtractorRegistry.for_home(self.settings().home_dir)

    def run_partition(self, batch_id: str, collection_id: str, run_id: str | None, progress: Progress,
                      log: Log = print) -> dict[str, Any]:
        """Process ``batch_id`` into ``collection_id``; ``progress`` receives events as rows come back."""
        raise NotImplementedError

    def run_enrichment(self, kind: str, resource_id: str, run_id: str | None, log: Log = print) -> dict[str, Any]:
        """Materialize a taxonomy (``kind="taxonomy"``) or run a cluster definition (``"cluster"``)."""
        raise NotImplementedError


class OwnerWarehouse(WarehouseResource):
    """Runs batches and enrichment on the index owner (the API server), over its internal endpoints."""

    def _owner(self) -> tuple[str, dict[str, str]]:
        if not self.index_owner_url:
            raise PartitionRunError("the owner executor needs index_owner_url (the API server's base URL)")
        return self.index_owner_url, {"X-Internal-Token": self.settings().resolved_internal_token()}

    def run_partition(self, batch_id: str, collection_id: str, run_id: str | None, progress: Progress,
                      log: Log = print) -> dict[str, Any]:
        owner, headers = self._owner()
        body = {"batch_id": batch_id, "collection_id": collection_id, "run_id": run_id}
        timeout = httpx.Timeout(30.0, read=300.0)
        finished = False
        try:
            with httpx.stream("POST", f"{owner}/internal/batches/run", json=body, headers=headers,
                              timeout=timeout) as resp:
                if resp.status_code != 200:
                    raise PartitionRunError(f"the index owner at {owner} refused the run: "
                                            f"HTTP {resp.status_code} {resp.read().decode(errors='replace')[:500]}")
                for line in resp.iter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind = event.pop("event")
                    if kind == "progress":
                        progress(event)
                    elif kind == "accepted":
                        log(f"the API server at {owner} accepted batch {batch_id}")
                    elif kind == "result":
                        finished = True
                        return event
                    elif kind == "error":
                        finished = True
                        raise PartitionRunError(event["error"])
        except httpx.HTTPError as exc:
            raise PartitionRunError(f"lost the index owner at {owner} while running batch "
                                    f"{batch_id}: {exc!r}; is `warehouse up` running?") from exc
        finally:
            if not finished:  # interrupted (run terminated) or the stream broke: stop the work there too
                try:
                    httpx.post(f"{owner}/internal/batches/cancel", json={"batch_id": batch_id},
                               headers=headers, timeout=10)
                except httpx.HTTPError:
                    pass
        raise PartitionRunError(f"the index owner closed the stream for batch {batch_id} without a result "
                                "(did the API server restart?)")

    def run_enrichment(self, kind: str, resource_id: str, run_id: str | None, log: Log = print) -> dict[str, Any]:
        owner, headers = self._owner()
        body = {"kind": kind, "resource_id": resource_id, "dagster_run_id": run_id}
        log(f"asking the API server at {owner} to run {kind} {resource_id}")
        try:
            resp = httpx.post(f"{owner}/internal/enrichment/run", json=body, headers=headers,
                              timeout=httpx.Timeout(30.0, read=3600.0))
        except httpx.HTTPError as exc:
            raise PartitionRunError(f"lost the index owner at {owner} while running {kind} "
                                    f"{resource_id}: {exc!r}; is `warehouse up` running?") from exc
        if resp.status_code != 200:
            raise PartitionRunError(f"{kind} {resource_id} failed on the index owner: HTTP {resp.status_code} "
                                    f"{resp.text[:1000]}")
        return resp.json()


class InProcessWarehouse(WarehouseResource):
    """The run worker drives Ray Data itself and writes through the configured index store."""

    def run_partition(self, batch_id: str, collection_id: str, run_id: str | None, progress: Progress,
                      log: Log = print) -> dict[str, Any]:
        settings = self.settings()
        runner = BatchRunner(self.catalog(), self.registry(), self.index(), settings)
        runner.on_part_done = self._after_part
        stop = threading.Event()
        if settings.ray_address:  # a cluster beside this process: its death must end the run, not hang it
            ensure_ray(settings.ray_address, settings.ray_num_cpus)

            def dead(reason: str) -> None:
                message = f"{reason}; the run was stopped — submit the batch again (or retry it) once Ray is back"
                log(message)
                record_part(self.catalog(), batch_id, collection_id, {
                    "status": BatchStatus.FAILED.value, "error": message, "dagster_run_id": run_id,
                    "finished_at": datetime.now(UTC).isoformat()})
                os._exit(70)  # a Ray Data job whose raylet died never returns; the run worker ends, Dagster marks it

            watch_ray(dead, stop)
        try:
            return runner.run_partition(batch_id, collection_id, run_id, threading.Event(), progress)
        finally:
            stop.set()
            runner.shutdown()

    def _after_part(self, namespace_id: str, collection_id: str, batch_id: str, documents_written: int) -> None:
        """What follows a part this run wrote, done in the run (the API process does it for parts it runs): the
        collection's alerts, and a queued batch for each multi-tier collection it feeds (queued_batches starts it).
        Taxonomies and clusters are the enrichment_after_batches sensor's."""
        if documents_written <= 0:
            return
        with self.catalog().session() as s:
            queue_downstream(s, namespace_id, collection_id, batch_id)
        if not (alerts.watching(self.catalog(), namespace_id, collection_id)
                or applications.of_collection(self.catalog(), collection_id)):
            return  # the services (models, index, extractors) are built only when there is something to evaluate
        svc = Services.from_settings(self.settings().model_copy(update={"orchestrator": "dagster"}))
        try:
            alerts.after_batch(svc, namespace_id, collection_id, batch_id)
        except Exception:  # noqa: BLE001 - an alert's failure is recorded on its run; the batch part stands
            log.exception("alerts after batch %s failed", batch_id)
        try:
            runs.run_applications(svc, namespace_id, collection_id, batch_id)
        finally:
            svc.close()

    def run_enrichment(self, kind: str, resource_id: str, run_id: str | None, log: Log = print) -> dict[str, Any]:
        svc = Services.from_settings(self.settings())
        try:
            if kind == "taxonomy":
                return runs.run_taxonomy(svc, resource_id, trigger="dagster", dagster_run_id=run_id, log_fn=log)
            return runs.run_cluster(svc, resource_id, trigger="dagster", dagster_run_id=run_id, log_fn=log)
        finally:
            svc.close()


EXECUTORS: dict[str, type[WarehouseResource]] = {"owner": OwnerWarehouse, "in_process": InProcessWarehouse}


def warehouse_resource(settings: Settings) -> WarehouseResource:
    """The resource the settings describe (``dagster_executor`` picks the implementation)."""
    return EXECUTORS[settings.dagster_executor](
        home=str(settings.home), index_owner_url=settings.owner_url)


@cache
def _catalog(url: str) -> Catalog:
    return Catalog(url)
