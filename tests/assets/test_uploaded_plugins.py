"""An extractor uploaded over the API is usable by Dagster at once — no restart of the code location — and
replacing its code (``?overwrite=true``) marks its collection's partitions stale until they are re-run."""

from __future__ import annotations

import httpx
import pytest
from dagster import AssetKey
from dagster._utils.test.data_versions import get_stale_status_resolver

from tests.api.test_plugins import plugin_folder, zip_folder
from tests.dagster_helpers import corpus, run_partition, submit, tick
from warehouse.assets import bucket_objects, collection_documents, extractor_code
from warehouse.sensors import catalog_sync, queued_batches

pytestmark = [pytest.mark.dagster, pytest.mark.ray]
TEXTS = ["Quantum computers use qubits.", "Bees pollinate flowers in spring.", "Rivers carve canyons over ages."]


def _push(client: httpx.Client, folder, overwrite: bool = False) -> dict:
    params = {"overwrite": "true"} if overwrite else {}
    up = client.post("/v1/plugins/uploads", json={"name": "dag_embed", "version": "1.0.0"}, params=params).json()
    assert httpx.put(up["presigned_url"], content=zip_folder(folder)).status_code == 200
    confirmed = client.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm", params=params)
    assert confirmed.status_code == 200, confirmed.text
    return confirmed.json()


def test_an_uploaded_extractor_runs_in_dagster_and_an_overwrite_makes_it_stale(dagster_live, tmp_path):
    _, client = dagster_live.api.new_namespace()
    first = _push(client, plugin_folder(tmp_path / "v1", "dag_embed"))
    c = corpus(client, TEXTS, extractor="dag_embed")
    cid = c["collection"]["collection_id"]
    batch_id = submit(client, c)
    request = next(r for r in tick(dagster_live, queued_batches)[0].run_requests
                   if r.tags["warehouse/batch_id"] == batch_id)
    outcome = run_partition(dagster_live, request)
    assert outcome.success
    batch = client.get(f"/v1/batches/{batch_id}").json()
    assert batch["status"] == "COMPLETED" and batch["documents_written"] == 3, batch
    _, ctx = tick(dagster_live, catalog_sync)
    assets = [bucket_objects, collection_documents, extractor_code]
    key, pk = AssetKey("collection_documents"), request.partition_key
    assert get_stale_status_resolver(dagster_live.instance, assets).get_status(key, pk).value == "FRESH"

    second = _push(client, plugin_folder(tmp_path / "v2", "dag_embed", extra={"release.py": "NOTES = 'v1.0.0b'\n"}),
                   overwrite=True)
    assert second["replaced"] is True and second["stale_collections"] == [c["collection"]["collection_name"]]
    assert second["code_hash"] != first["code_hash"]
    tick(dagster_live, catalog_sync, cursor=ctx.cursor)
    resolver = get_stale_status_resolver(dagster_live.instance, assets)
    assert resolver.get_status(key, pk).value == "STALE"
    assert resolver.get_stale_causes(key, pk)[0].dependency.asset_key == AssetKey("extractor_code")
    assert client.get(f"/v1/collections/{cid}").json()["index_status"]["stale"] is True
    assert run_partition(dagster_live, request).success  # the backfill of the stale partition
    assert get_stale_status_resolver(dagster_live.instance, assets).get_status(key, pk).value == "FRESH"
