"""Dagster Definitions: merges the domains' assets, sensors, schedules and resources.

Today it provides the warehouse resource; assets and sensors arrive with the orchestration work
(the API server runs submitted batches itself until then).
"""

from dagster import Definitions, EnvVar

from warehouse.resources import WarehouseResource

defs = Definitions(
    resources={
        "warehouse": WarehouseResource(
            home=EnvVar("WAREHOUSE_HOME").get_value(".warehouse"),
            index_owner_url=EnvVar("WAREHOUSE_INDEX_OWNER_URL").get_value("http://127.0.0.1:8000"),
        )
    },
)
