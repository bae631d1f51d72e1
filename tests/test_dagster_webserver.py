"""A backfill launched through a running Dagster webserver's GraphQL API re-writes a collection's documents.

Starts ``dagster dev`` (webserver + daemon + code server, as ``warehouse up`` does) on the test
warehouse's home; the daemon runs the backfill's runs in their own processes, which ask the test's
API server (the index owner) to run each partition.
"""

from __future__ import annotations

import time

import httpx
import pytest

from tests.conftest import free_port
from tests.dagster_helpers import corpus, submit, tick
from warehouse.cli.dagster import start_dagster, stop_dagster, wait_for_ui
from warehouse.sensors import queued_batches

pytestmark = [pytest.mark.dagster, pytest.mark.ray, pytest.mark.slow]

LAUNCH = """
mutation Launch($params: LaunchBackfillParams!) {
  launchPartitionBackfill(backfillParams: $params) {
    __typename
    ... on LaunchBackfillSuccess { backfillId }
    ... on PythonError { message }
  }
}"""
STATUS = """
query Backfill($id: String!) {
  partitionBackfillOrError(backfillId: $id) {
    __typename
    ... on PartitionBackfill { status numPartitions }
    ... on PythonError { message }
  }
}"""


def _gql(ui: str, query: str, **variables) -> dict:
    resp = httpx.post(f"{ui}/graphql", json={"query": query, "variables": variables}, timeout=60)
    resp.raise_for_status()
    body = resp.json()
    assert "errors" not in body, body["errors"]
    return body["data"]


def test_backfill_of_a_collection_through_graphql_rewrites_its_documents(dagster_live):
    _, client = dagster_live.api.new_namespace()
    c = corpus(client, ["Glaciers carve valleys.", "Coral reefs shelter fish.", "Deserts get little rain."])
    cid = c["collection"]["collection_id"]
    first = submit(client, {**c, "object_ids": c["object_ids"][:2]})
    second = submit(client, {**c, "object_ids": c["object_ids"][2:]})
    # The two batches run here first (the sensor's requests, materialized in-process).
    from tests.dagster_helpers import run_partition

    requests = [r for r in tick(dagster_live, queued_batches)[0].run_requests
                if r.tags["warehouse/batch_id"] in (first, second)]
    assert len(requests) == 2 and all(run_partition(dagster_live, r).success for r in requests)
    before = {d["document_id"]: d for d in client.get(f"/v1/collections/{cid}/documents?limit=100").json()["results"]}
    assert len(before) == 3
    old_runs = {client.get(f"/v1/documents/{d}/lineage").json()["dagster_run_id"] for d in before}

    port = free_port()
    ui = f"http://127.0.0.1:{port}"
    proc = start_dagster(dagster_live.settings, dagster_live.api.base_url, port)
    try:
        wait_for_ui(ui, timeout=180, proc=proc)
        keys = [f"{first}|{cid}", f"{second}|{cid}"]  # every batch of the collection: dimensions by name
        launched = _gql(ui, LAUNCH, params={"assetSelection": [{"path": ["collection_documents"]}],
                                            "partitionNames": keys})["launchPartitionBackfill"]
        assert launched["__typename"] == "LaunchBackfillSuccess", launched
        deadline, status = time.time() + 300, None
        while time.time() < deadline:
            status = _gql(ui, STATUS, id=launched["backfillId"])["partitionBackfillOrError"]
            if status.get("status") in ("COMPLETED", "COMPLETED_SUCCESS", "FAILED", "CANCELED", "COMPLETED_FAILED"):
                break
            time.sleep(2)
        assert status["status"] in ("COMPLETED", "COMPLETED_SUCCESS"), status
    finally:
        stop_dagster(proc)
    after = {d["document_id"]: d for d in client.get(f"/v1/collections/{cid}/documents?limit=100").json()["results"]}
    assert set(after) == set(before)  # re-written in place: same ids, no duplicates
    lineages = [client.get(f"/v1/documents/{d}/lineage").json() for d in after]
    new_runs = {lin["dagster_run_id"] for lin in lineages}
    assert len(new_runs) == 2 and not new_runs & old_runs  # one backfill run per partition wrote them
    for batch_id in (first, second):
        batch = client.get(f"/v1/batches/{batch_id}").json()
        assert batch["status"] == "COMPLETED"
        assert batch["stats"]["collections"][cid]["dagster_run_id"] in new_runs
        assert batch["documents_replaced"] == batch["documents_written"] > 0
