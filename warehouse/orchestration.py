"""The API server's link to the Dagster instance (``WAREHOUSE_ORCHESTRATOR=dagster``).

Creating or deleting a bucket or collection through the API adds or removes its Dagster partition
at once, and cancelling a batch terminates the Dagster runs working on it. The ``catalog_sync``
sensor reconciles anything this link missed (say, a bucket created while Dagster was down).
"""

from __future__ import annotations

import logging
from functools import cached_property

from warehouse.settings import Settings

log = logging.getLogger(__name__)


class DagsterLink:
    """Partitions and run cancellation on the instance under ``settings.dagster_home``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.enabled = settings.orchestrator == "dagster"

    @cached_property
    def instance(self):
        # lazy: Dagster costs ~2 s of imports; the API server needs it only when it orchestrates with Dagster
        from dagster import DagsterInstance

        home = self.settings.dagster_home
        return DagsterInstance.from_config(str(home))

    def add_partition(self, partitions: str, key: str) -> None:
        if self.enabled:
            self._quietly("add", lambda: self.instance.add_dynamic_partitions(partitions, [key]))

    def delete_partition(self, partitions: str, key: str) -> None:
        if self.enabled:
            self._quietly("delete", lambda: self.instance.delete_dynamic_partition(partitions, key))

    def cancel_runs(self, batch_id: str) -> list[str]:
        """Terminate the Dagster runs that work on ``batch_id`` (queued or started)."""
        if not self.enabled:
            return []
        # lazy: Dagster costs ~2 s of imports; the API server needs it only when it orchestrates with Dagster
        from dagster import DagsterRunStatus, RunsFilter

        cancelled = []
        active = [DagsterRunStatus.QUEUED, DagsterRunStatus.NOT_STARTED, DagsterRunStatus.STARTING,
                  DagsterRunStatus.STARTED]
        records = self.instance.get_run_records(RunsFilter(tags={"warehouse/batch_id": batch_id}, statuses=active))
        for record in records:
            run_id = record.dagster_run.run_id
            try:
                self.instance.run_coordinator.cancel_run(run_id)
                cancelled.append(run_id)
            except Exception as exc:  # noqa: BLE001 - the batch is cancelled in the catalog either way
                log.warning("could not terminate Dagster run %s of batch %s: %s", run_id, batch_id, exc)
        return cancelled

    def _quietly(self, what: str, action) -> None:
        try:
            action()
        except Exception as exc:  # noqa: BLE001 - the catalog_sync sensor reconciles later
            log.warning("Dagster partition %s failed (the catalog_sync sensor will retry): %s", what, exc)
