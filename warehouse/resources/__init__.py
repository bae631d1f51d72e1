"""Dagster ConfigurableResources over the warehouse's components."""

from warehouse.resources.warehouse import WarehouseResource

__all__ = ["WarehouseResource"]
