"""The warehouse resource: one interface, two implementations, chosen by the settings alone."""

from __future__ import annotations

import pytest

from warehouse.resources import (
    InProcessWarehouse,
    OwnerWarehouse,
    PartitionRunError,
    warehouse_resource,
)
from warehouse.settings import Settings


@pytest.mark.parametrize("executor, cls", [("owner", OwnerWarehouse), ("in_process", InProcessWarehouse)])
def test_the_executor_setting_picks_the_implementation(tmp_path, executor, cls):
    resource = warehouse_resource(Settings(home=tmp_path, dagster_executor=executor,
                                           index_owner_url="http://127.0.0.1:8123"))
    assert type(resource) is cls
    assert resource.home == str(tmp_path) and resource.index_owner_url == "http://127.0.0.1:8123"


def test_without_an_owner_url_the_local_api_server_is_the_owner(tmp_path):
    resource = warehouse_resource(Settings(home=tmp_path, api_port=8765))
    assert resource.index_owner_url == "http://127.0.0.1:8765"


def test_the_definitions_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("WAREHOUSE_DAGSTER_EXECUTOR", "in_process")
    monkeypatch.setenv("WAREHOUSE_HOME", str(tmp_path))
    assert type(warehouse_resource(Settings())) is InProcessWarehouse


def test_the_owner_executor_without_an_owner_says_what_to_set(tmp_path):
    resource = OwnerWarehouse(home=str(tmp_path), index_owner_url=None)
    with pytest.raises(PartitionRunError, match="index_owner_url"):
        resource.run_partition("btch_x", "col_x", None, progress=lambda event: None)
