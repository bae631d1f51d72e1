"""Dagster resources: the ``warehouse`` resource hands assets and sensors the warehouse's components.

One interface (:class:`WarehouseResource`) with three implementations, chosen by configuration:
:class:`OwnerWarehouse` runs work on the index owner, :class:`InProcessWarehouse` in the run worker,
:class:`RayJobWarehouse` as a Ray job on the cluster (``warehouse.resources.ray_job`` is that job's entry point).

May import: everything below the API (catalog … enrichment, services). Never ``warehouse.api``.
"""

from warehouse.resources.warehouse import (
    InProcessWarehouse,
    OwnerWarehouse,
    PartitionRunError,
    RayJobWarehouse,
    WarehouseResource,
    throttled_progress,
    warehouse_resource,
)

__all__ = ["InProcessWarehouse", "OwnerWarehouse", "PartitionRunError", "RayJobWarehouse", "WarehouseResource",
           "throttled_progress", "warehouse_resource"]
