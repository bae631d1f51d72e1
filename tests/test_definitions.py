"""The Dagster definitions load and validate, and the resource reaches the index through the owner."""

import subprocess
import sys

from dagster import AssetKey, Definitions

from tests.conftest import ROOT
from warehouse.cli.dagster import DAGSTER_YAML
from warehouse.definitions import defs
from warehouse.index.remote import RemoteIndexStore


def test_definitions_load():
    assert isinstance(defs, Definitions)
    resource = defs.resources["warehouse"]
    assert isinstance(resource.index(), RemoteIndexStore)
    graph = defs.resolve_asset_graph()
    assert set(graph.get_all_asset_keys()) == {AssetKey("bucket_objects"), AssetKey("collection_documents"),
                                               AssetKey("tier_documents"), AssetKey("extractor_code"),
                                               AssetKey("taxonomy_assignments"), AssetKey("cluster_groups")}
    # lineage: bucket → collection, and the extractor's code version feeds staleness
    assert graph.get(AssetKey("collection_documents")).parent_keys == {AssetKey("bucket_objects"),
                                                                       AssetKey("extractor_code")}
    assert {s.name for s in defs.sensors} == {"queued_batches", "batch_run_succeeded", "batch_run_failed",
                                              "batch_run_canceled", "local_new_objects", "s3_new_objects",
                                              "catalog_sync", "enrichment_after_batches", "collection_schedules"}
    # lineage: a multi-tier collection's documents come from another collection's
    assert graph.get(AssetKey("tier_documents")).parent_keys == {AssetKey("collection_documents"),
                                                                 AssetKey("extractor_code")}
    # lineage: collection (either tier) → taxonomy / cluster; each runs on a schedule too
    for key in ("taxonomy_assignments", "cluster_groups"):
        assert graph.get(AssetKey(key)).parent_keys == {AssetKey("collection_documents"), AssetKey("tier_documents")}
    assert {s.name for s in defs.schedules} == {"taxonomies_hourly", "clusters_daily"}


def test_repo_dagster_yaml_is_what_warehouse_up_writes():
    assert (ROOT / "dagster.yaml").read_text() == DAGSTER_YAML


def test_dagster_definitions_validate_from_the_repo_root(tmp_path):
    out = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                         cwd=ROOT, env={"DAGSTER_HOME": str(tmp_path), "PATH": "/usr/bin:/bin"},
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "Validation successful" in out.stdout + out.stderr
