"""The Dagster resource that hands assets and sensors the warehouse's components.

Dagster run workers never open the Edge shards themselves: with ``index_owner_url`` set they go
through the API server's internal endpoint (``RemoteIndexStore``), and by default they ask that
process to run the Ray Data job on its warm Ray workers (``executor="owner"``). With
``executor="in_process"`` the run worker itself is the Ray Data driver: it joins the cluster at
``WAREHOUSE_RAY_ADDRESS`` (or starts a local one) and writes through the configured index store.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from functools import cache
from typing import Any, Literal

import httpx
from dagster import ConfigurableResource

from warehouse.batch.runner import BatchRunner
from warehouse.catalog import Catalog
from warehouse.enrichment import runs
from warehouse.extractors.registry import ExtractorRegistry
from warehouse.index import IndexStore, make_index_store
from warehouse.services import Services
from warehouse.settings import Settings
from warehouse.storage import ObjectStore, make_object_store

Progress = Callable[[dict[str, Any]], None]


class PartitionRunError(RuntimeError):
    """The (collection, batch) partition could not run; the message says why."""


class WarehouseResource(ConfigurableResource):
    """One warehouse home, as Dagster config (the definitions fill it from ``WAREHOUSE_*``)."""

    home: str = ".warehouse"
    index_owner_url: str | None = "http://127.0.0.1:8000"
    executor: Literal["owner", "in_process"] = "owner"
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

    def objects(self) -> ObjectStore:
        return make_object_store(self.settings())

    def index(self) -> IndexStore:
        return make_index_store(self.settings())

    def registry(self):
        return ExtractorRegistry([self.settings().home_dir / "extractors"])

    # -- running one (collection, batch) partition ------------------------------------------------
    def run_partition(self, batch_id: str, collection_id: str, run_id: str | None, progress: Progress,
                      log: Callable[[str], None] = print) -> dict[str, Any]:
        """Process ``batch_id`` into ``collection_id``; ``progress`` receives events as rows come back."""
        if self.executor == "owner":
            if not self.index_owner_url:
                raise PartitionRunError("executor 'owner' needs index_owner_url (the API server's base URL)")
            return self._run_on_owner(batch_id, collection_id, run_id, progress, log)
        return self._run_in_process(batch_id, collection_id, run_id, progress)

    def _run_on_owner(self, batch_id, collection_id, run_id, progress, log) -> dict[str, Any]:
        headers = {"X-Internal-Token": self.settings().resolved_internal_token()}
        body = {"batch_id": batch_id, "collection_id": collection_id, "run_id": run_id}
        timeout = httpx.Timeout(30.0, read=300.0)
        finished = False
        try:
            with httpx.stream("POST", f"{self.index_owner_url}/internal/batches/run", json=body, headers=headers,
                              timeout=timeout) as resp:
                if resp.status_code != 200:
                    raise PartitionRunError(f"the index owner at {self.index_owner_url} refused the run: "
                                            f"HTTP {resp.status_code} {resp.read().decode(errors='replace')[:500]}")
                for line in resp.iter_lines():
                    if not line.strip():
                        continue
                    event = json.loads(line)
                    kind = event.pop("event")
                    if kind == "progress":
                        progress(event)
                    elif kind == "accepted":
                        log(f"the API server at {self.index_owner_url} accepted batch {batch_id}")
                    elif kind == "result":
                        finished = True
                        return event
                    elif kind == "error":
                        finished = True
                        raise PartitionRunError(event["error"])
        except httpx.HTTPError as exc:
            raise PartitionRunError(f"lost the index owner at {self.index_owner_url} while running batch "
                                    f"{batch_id}: {exc!r}; is `warehouse up` running?") from exc
        finally:
            if not finished:  # interrupted (run terminated) or the stream broke: stop the work there too
                try:
                    httpx.post(f"{self.index_owner_url}/internal/batches/cancel", json={"batch_id": batch_id},
                               headers=headers, timeout=10)
                except httpx.HTTPError:
                    pass
        raise PartitionRunError(f"the index owner closed the stream for batch {batch_id} without a result "
                                "(did the API server restart?)")

    def _run_in_process(self, batch_id, collection_id, run_id, progress) -> dict[str, Any]:
        settings = self.settings()
        runner = BatchRunner(self.catalog(), self.registry(), self.index(), settings)
        try:
            return runner.run_partition(batch_id, collection_id, run_id, threading.Event(), progress)
        finally:
            runner.shutdown()


    # -- running a taxonomy or cluster partition --------------------------------------------------
    def run_enrichment(self, kind: str, resource_id: str, run_id: str | None, log: Callable[[str], None] = print
                       ) -> dict[str, Any]:
        """Materialize a taxonomy (``kind="taxonomy"``) or run a cluster definition (``"cluster"``) where
        the index lives: on the index owner by default, else here."""
        if self.executor == "owner":
            if not self.index_owner_url:
                raise PartitionRunError("executor 'owner' needs index_owner_url (the API server's base URL)")
            headers = {"X-Internal-Token": self.settings().resolved_internal_token()}
            body = {"kind": kind, "resource_id": resource_id, "dagster_run_id": run_id}
            log(f"asking the API server at {self.index_owner_url} to run {kind} {resource_id}")
            try:
                resp = httpx.post(f"{self.index_owner_url}/internal/enrichment/run", json=body, headers=headers,
                                  timeout=httpx.Timeout(30.0, read=3600.0))
            except httpx.HTTPError as exc:
                raise PartitionRunError(f"lost the index owner at {self.index_owner_url} while running {kind} "
                                        f"{resource_id}: {exc!r}; is `warehouse up` running?") from exc
            if resp.status_code != 200:
                raise PartitionRunError(f"{kind} {resource_id} failed on the index owner: HTTP {resp.status_code} "
                                        f"{resp.text[:1000]}")
            return resp.json()

        svc = Services.from_settings(self.settings())
        try:
            if kind == "taxonomy":
                return runs.run_taxonomy(svc, resource_id, trigger="dagster", dagster_run_id=run_id, log_fn=log)
            return runs.run_cluster(svc, resource_id, trigger="dagster", dagster_run_id=run_id, log_fn=log)
        finally:
            svc.close()


@cache
def _catalog(url: str) -> Catalog:
    return Catalog(url)
