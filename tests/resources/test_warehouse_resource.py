"""The warehouse resource: one interface, three implementations, chosen by the settings alone."""

from __future__ import annotations

import pytest

from warehouse.resources import (
    InProcessWarehouse,
    OwnerWarehouse,
    PartitionRunError,
    RayJobWarehouse,
    warehouse_resource,
)
from warehouse.settings import Settings


@pytest.mark.parametrize("executor, cls", [("owner", OwnerWarehouse), ("in_process", InProcessWarehouse),
                                           ("ray_job", RayJobWarehouse)])
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


@pytest.mark.parametrize("address, dashboard, url", [
    ("10.0.0.5:6379", None, "http://10.0.0.5:8265"),  # the dashboard's default port on the head
    ("10.0.0.5:6379", "http://ray-head:8265/", "http://ray-head:8265"),  # an explicit URL wins
    (None, None, None), ("ray://ray-head:10001", None, None)])  # no head to find a job server on
def test_the_ray_job_executor_finds_the_job_server(tmp_path, address, dashboard, url):
    settings = Settings(home=tmp_path, dagster_executor="ray_job", ray_address=address, ray_dashboard_url=dashboard)
    assert settings.ray_jobs_url == url
    assert warehouse_resource(settings).ray_dashboard_url == url


def test_the_ray_job_executor_says_what_it_needs(tmp_path):
    resource = RayJobWarehouse(home=str(tmp_path), index_owner_url=None)
    with pytest.raises(PartitionRunError, match="context"):  # outside an asset there is no run to stream into
        resource.run_partition("btch_x", "col_x", None, progress=lambda event: None)
    with pytest.raises(PartitionRunError, match="WAREHOUSE_RAY_DASHBOARD_URL"):
        resource.run_partition("btch_x", "col_x", None, progress=lambda event: None, context=object())


def test_the_ray_job_entry_point_says_how_to_call_it(capsys):
    from warehouse.resources.ray_job import main

    assert main(["{}"]) == 2
    assert "usage: python -m warehouse.resources.ray_job" in capsys.readouterr().err
