"""The Dagster instance on PostgreSQL (WAREHOUSE_DAGSTER_DATABASE_URL, dagster-postgres) beside a catalog on
PostgreSQL: the whole orchestrated path — sensor, run, materialization, batch status — with every run, event and
sensor tick stored in the real Postgres server the session started on loopback."""

from __future__ import annotations

import psycopg
import pytest

from tests.conftest import DagsterLive, _serve, new_postgres_database
from tests.dagster_helpers import corpus, run_partition, submit, tick
from warehouse.cli.dagster import dagster_postgres_url, prepare_home
from warehouse.sensors import queued_batches
from warehouse.settings import Settings

pytestmark = [pytest.mark.dagster, pytest.mark.ray, pytest.mark.postgres]


def test_prepare_home_writes_postgres_storage_readable_by_its_owner_only(tmp_path):
    home = prepare_home(Settings(home=tmp_path, dagster_database_url="postgresql+psycopg://u:pw@db:5432/dagster"))
    text = (home / "dagster.yaml").read_text()
    assert 'postgres_url: "postgresql+psycopg2://u:pw@db:5432/dagster"' in text
    assert (home / "dagster.yaml").stat().st_mode & 0o077 == 0
    assert "storage:" not in (prepare_home(Settings(home=tmp_path / "plain")) / "dagster.yaml").read_text()
    with pytest.raises(ValueError, match="must be a postgresql:// URL"):
        dagster_postgres_url("mysql://u@db/x")


def test_batches_run_under_dagster_with_the_instance_and_catalog_on_postgres(tmp_path, monkeypatch, postgres_server,
                                                                           ray_session):
    from dagster import DagsterInstance
    from dagster_postgres import (
        PostgresEventLogStorage,
        PostgresRunStorage,
        PostgresScheduleStorage,
    )

    from warehouse.resources import OwnerWarehouse

    dagster_db, catalog_db = new_postgres_database(postgres_server), new_postgres_database(postgres_server)
    monkeypatch.setenv("WAREHOUSE_DAGSTER_DATABASE_URL", dagster_db)
    monkeypatch.setenv("WAREHOUSE_DATABASE_URL", catalog_db)  # the run's resource reads the same settings
    served, server, thread = _serve(tmp_path, orchestrator="dagster", warm_batch_workers=False)
    instance = DagsterInstance.from_config(str(served.services.settings.dagster_home))
    try:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        dl = DagsterLive(served, instance, OwnerWarehouse(home=str(tmp_path), index_owner_url=served.base_url))
        _, client = served.new_namespace()
        c = corpus(client, ["Glaciers carve valleys.", "Bees pollinate flowers."])
        batch_id = submit(client, c)
        result, _ = tick(dl, queued_batches)
        [request] = [r for r in result.run_requests if r.tags["warehouse/batch_id"] == batch_id]
        outcome = run_partition(dl, request)
        assert outcome.success
        assert client.get(f"/v1/batches/{batch_id}").json()["status"] == "COMPLETED"
        with psycopg.connect(dagster_db.replace("postgresql+psycopg", "postgresql")) as conn:
            runs = conn.execute("SELECT run_id, status FROM runs").fetchall()
            events = conn.execute("SELECT count(*) FROM event_logs WHERE run_id = %s", (outcome.run_id,)).fetchone()
        assert (outcome.run_id, "SUCCESS") in runs and events[0] > 10
        with psycopg.connect(catalog_db.replace("postgresql+psycopg", "postgresql")) as conn:
            [(status,)] = conn.execute("SELECT status FROM batches WHERE batch_id = %s", (batch_id,)).fetchall()
        assert status == "COMPLETED"  # the catalog the API and the run share is the Postgres one
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        served.services.close()
        instance.dispose()
