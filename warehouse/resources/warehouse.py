"""A Dagster resource that hands assets the catalog and an index store that honours the owner rule.

Dagster run workers never open the Edge shards themselves: with ``index_owner_url`` set they go
through the API server's internal endpoint (``RemoteIndexStore``).
"""

from __future__ import annotations

from dagster import ConfigurableResource

from warehouse.catalog import Catalog
from warehouse.index import IndexStore, make_index_store
from warehouse.settings import Settings


class WarehouseResource(ConfigurableResource):
    """Settings for one warehouse home, as Dagster config (defaults from ``WAREHOUSE_*``)."""

    home: str = ".warehouse"
    index_owner_url: str = "http://127.0.0.1:8000"

    def settings(self) -> Settings:
        return Settings(home=self.home, index_store="remote", index_owner_url=self.index_owner_url)

    def catalog(self) -> Catalog:
        return Catalog(self.settings().catalog_url)

    def index(self) -> IndexStore:
        return make_index_store(self.settings())
