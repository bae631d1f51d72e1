"""Dagster resources: the ``warehouse`` resource hands assets and sensors the warehouse's components.

One interface (:class:`WarehouseResource`) with two implementations, chosen by configuration:
:class:`OwnerWarehouse` runs work on the index owner, :class:`InProcessWarehouse` in the run worker.

May import: everything below the API (catalog … enrichment, services). Never ``warehouse.api``.
"""

from warehouse.resources.warehouse import (
    InProcessWarehouse,
    OwnerWarehouse,
    PartitionRunError,
    WarehouseResource,
    warehouse_resource,
)

__all__ = ["InProcessWarehouse", "OwnerWarehouse", "PartitionRunError", "WarehouseResource", "warehouse_resource"]
