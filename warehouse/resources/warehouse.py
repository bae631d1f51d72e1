"""The Dagster resource that hands assets and sensors the warehouse's components.

One interface, :class:`WarehouseResource`, with two implementations chosen by configuration
(``WAREHOUSE_DAGSTER_EXECUTOR``), never by an ``if`` in an asset:

* :class:`OwnerWarehouse` (``owner``, the default): Dagster run workers never open the Edge shards;
  they ask the API server (the index owner) to run the Ray Data job on its warm Ray workers and
  stream its progress back, and read the index through its internal endpoint.
* :class:`InProcessWarehouse` (``in_process``): the run worker itself is the Ray Data driver. It joins
  the cluster at ``WAREHOUSE_RAY_ADDRESS`` (or starts a local one) and writes through the configured
  index store (the owner's endpoint, or a Qdrant server in a scale-out deployment).
* :class:`RayJobWarehouse` (``ray_job``): the run submits the batch as a Ray job to the cluster's job server
  (dagster-ray's Pipes Ray job client). The job's driver runs :class:`InProcessWarehouse` on the cluster
  (``warehouse.resources.ray_job``); its log lines and result come back into the run through Dagster Pipes, and
  cancelling the run stops the job.
"""

from __future__ import annotations

import json
import logging
import os
import shlex
import threading
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache, cached_property
from typing import Any

import httpx
from dagster import ConfigurableResource

from warehouse.batch.engine import ensure_ray, watch_ray
from warehouse.batch.runner import BatchRunner, record_part
from warehouse.catalog import Batch, Catalog
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
                      log: Log = print, context: Any = None) -> dict[str, Any]:
        """Process ``batch_id`` into ``collection_id``; ``progress`` receives events as rows come back. ``context`` is
        the Dagster asset's execution context where the run has one (the ``ray_job`` executor needs it)."""
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
                      log: Log = print, context: Any = None) -> dict[str, Any]:
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
                      log: Log = print, context: Any = None, cancelled: threading.Event | None = None) -> dict[str, Any]:
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
            return runner.run_partition(batch_id, collection_id, run_id, cancelled or threading.Event(), progress)
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


class RayJobWarehouse(WarehouseResource):
    """Submits each batch as a Ray job to the cluster's job server; the job runs :class:`InProcessWarehouse` there.

    The job's Pipes messages (its log lines, its result) come back into the run while it runs; its other output goes
    to the run's stdout. A run cancelled in Dagster stops the job, and a job that ends without a result (stopped,
    crashed, its node lost) leaves its part FAILED or CANCELED with the reason — never PROCESSING.
    """

    ray_dashboard_url: str | None = None

    def run_partition(self, batch_id: str, collection_id: str, run_id: str | None, progress: Progress,
                      log: Log = print, context: Any = None) -> dict[str, Any]:
        # lazy: the Pipes Ray job client loads Ray's job SDK; only this executor needs it
        from dagster._core.errors import DagsterExecutionInterruptedError
        from dagster_ray.core.pipes import PipesRayJobClient

        if context is None:
            raise PartitionRunError("the ray_job executor runs inside a Dagster asset: it needs the asset's context")
        address = self.ray_dashboard_url or self.settings().ray_jobs_url
        if not address:
            raise PartitionRunError("the ray_job executor needs the cluster's job server: set WAREHOUSE_RAY_DASHBOARD_URL "
                                    "(http://HEAD:8265) or WAREHOUSE_RAY_ADDRESS")
        token = os.environ.get("RAY_AUTH_TOKEN")
        client = _job_client(PipesRayJobClient)(
            address=address, headers={"Authorization": f"Bearer {token}"} if token else None, poll_interval=0.5)
        job_id = f"warehouse-{batch_id}-{collection_id}-{uuid.uuid4().hex[:8]}"
        config = {name: getattr(self, name) for name in WarehouseResource.model_fields}
        entrypoint = shlex.join(["python", "-m", "warehouse.resources.ray_job", json.dumps(config), batch_id,
                                 collection_id, run_id or ""])
        log(f"submitting batch {batch_id} to the Ray cluster at {address} as job {job_id}")
        try:
            invocation = client.run(context=context, submit_job_params={
                "entrypoint": entrypoint, "submission_id": job_id,
                "metadata": {"batch_id": batch_id, "collection_id": collection_id, "dagster_run_id": run_id or ""}})
        except DagsterExecutionInterruptedError:
            self._close_part(client, job_id, batch_id, collection_id, run_id, BatchStatus.CANCELED,
                             f"the Dagster run was cancelled; Ray job {job_id} was stopped")
            raise
        except Exception as exc:
            reason = f"Ray job {job_id} ended without a result: {exc}"
            log(reason)
            self._close_part(client, job_id, batch_id, collection_id, run_id, BatchStatus.FAILED, reason)
            raise PartitionRunError(reason) from exc
        results = [m["result"] for m in invocation.get_custom_messages() if isinstance(m, dict) and "result" in m]
        if not results:
            reason = f"Ray job {job_id} succeeded but reported no result (was it the warehouse's job entrypoint?)"
            self._close_part(client, job_id, batch_id, collection_id, run_id, BatchStatus.FAILED, reason)
            raise PartitionRunError(reason)
        return {**results[-1], "ray_job_id": job_id}

    def _close_part(self, client, job_id: str, batch_id: str, collection_id: str, run_id: str | None,
                    status: BatchStatus, reason: str) -> None:
        """Record the part ``status`` with ``reason`` once the job has ended, unless the job recorded its own end."""
        deadline = time.monotonic() + 30
        try:
            while not client.client.get_job_status(job_id).is_terminal() and time.monotonic() < deadline:
                time.sleep(0.5)
        except Exception:  # noqa: BLE001 - the job server is gone: what the catalog says decides
            log.warning("could not follow Ray job %s to its end", job_id, exc_info=True)
        with self.catalog().session() as s:
            batch = s.get(Batch, batch_id)
            part = ((batch.stats or {}).get("collections") or {}).get(collection_id) if batch is not None else None
        if batch is None or (part or {}).get("status") not in (None, BatchStatus.PROCESSING.value):
            return
        record_part(self.catalog(), batch_id, collection_id, {
            "status": status.value, "error": reason, "dagster_run_id": run_id, "ray_job_id": job_id,
            "finished_at": datetime.now(UTC).isoformat()})


@cache
def _job_client(pipes_client: type) -> type:
    """dagster-ray's Pipes Ray job client whose job server client retries a submission the server turns away for
    want of a ready agent ("No available agent to submit job, please try again later": a head just started, or a
    node replaced) for up to ``SUBMIT_RETRY_S``; any other refusal is final."""
    # lazy: Ray's job SDK is only this executor's
    from ray.job_submission import JobSubmissionClient

    class Retrying(JobSubmissionClient):
        def submit_job(self, **kwargs):
            deadline = time.monotonic() + SUBMIT_RETRY_S
            while True:
                try:
                    return super().submit_job(**kwargs)
                except RuntimeError as exc:
                    if "No available agent" not in str(exc) or time.monotonic() > deadline:
                        raise
                    log.info("the Ray job server has no agent ready yet; submitting again in 1 s")
                    time.sleep(1)

    class Client(pipes_client):
        @cached_property
        def client(self) -> JobSubmissionClient:
            return Retrying(address=self._address, headers=self._headers, verify=self._verify, cookies=self._cookies,
                            metadata=self._metadata)

    return Client


SUBMIT_RETRY_S = 60.0

EXECUTORS: dict[str, type[WarehouseResource]] = {
    "owner": OwnerWarehouse, "in_process": InProcessWarehouse, "ray_job": RayJobWarehouse}


def warehouse_resource(settings: Settings) -> WarehouseResource:
    """The resource the settings describe (``dagster_executor`` picks the implementation)."""
    if settings.dagster_executor == "ray_job":
        return RayJobWarehouse(home=str(settings.home), index_owner_url=settings.owner_url,
                               ray_dashboard_url=settings.ray_jobs_url)
    return EXECUTORS[settings.dagster_executor](
        home=str(settings.home), index_owner_url=settings.owner_url)


def throttled_progress(log: Log, every_s: float = 2.0) -> Progress:
    """A progress callback that logs one line per ``every_s`` seconds, and the last one."""
    last = [0.0]

    def progress(event: dict[str, Any]) -> None:
        if time.monotonic() - last[0] >= every_s or event.get("rows_done") == event.get("rows_total"):
            last[0] = time.monotonic()
            log(f"{event.get('rows_done')}/{event.get('rows_total')} rows, {event.get('documents_written')} documents "
                f"written, {event.get('objects_failed')} objects failed, {event.get('rows_per_second')} rows/s")

    return progress


@cache
def _catalog(url: str) -> Catalog:
    return Catalog(url)
