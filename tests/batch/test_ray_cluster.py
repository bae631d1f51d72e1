"""Batches on a real two-node Ray cluster that the tests start on loopback with Ray's token authentication on (as a
real cluster runs it): ``ray start --head`` with its job server (the keeper ``warehouse up`` uses) and a second
``ray start --address`` with a custom resource of its own.

- A Dagster run with the ``ray_job`` executor submits its batch as a Ray job (dagster-ray's Pipes client): the job's
  log lines and result come back into the run, its tasks run on both nodes, and cancelling the run stops the job.
- The API server joins the cluster as the driver through ``WAREHOUSE_RAY_ADDRESS`` and the token in the environment;
  one batch's tasks run on both nodes, a driver without the token is refused, and a node killed mid-batch ends in
  retried tasks or a batch that says it failed — never a silent COMPLETED.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from tests.conftest import (
    FIXTURES,
    ROOT,
    free_port,
    start_serve,
    stop_process,
    wait_alive,
    wait_batch,
)
from warehouse.cli.dagster import prepare_home
from warehouse.cli.ray_head import ray_temp, ray_token, start_ray_head, stop_ray_head
from warehouse.settings import Settings

pytestmark = [pytest.mark.slow]


def _wait_port(port: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as s:
            s.settimeout(1)
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    pytest.fail(f"the Ray head did not listen on {port}")


def _nodes(address: str, env: dict[str, str]) -> list[dict]:
    """The cluster's live nodes, asked by a short-lived driver (this test process has its own Ray)."""
    code = (f"import json, ray; ray.init(address={address!r}, logging_level='ERROR'); "
            "print(json.dumps([{'id': n['NodeID'], 'resources': n['Resources']} for n in ray.nodes() if n['Alive']]))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    if done.returncode:
        raise RuntimeError(done.stderr[-1500:])
    return json.loads(done.stdout.strip().splitlines()[-1])


@dataclass
class Cluster:
    address: str
    jobs_url: str
    token: str
    env: dict[str, str]
    temp_dir: Path
    nodes: list[dict] = field(default_factory=list)
    worker: subprocess.Popen | None = None

    def start_worker(self) -> None:
        """The second node (again, after a test killed it): ``ray start --address`` with a resource of its own."""
        self.worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("ray")), "start", f"--address={self.address}", "--block",
             "--node-ip-address=127.0.0.1", "--num-cpus=1", '--resources={"second_node": 1}',
             f"--dashboard-agent-listen-port={free_port()}", "--disable-usage-stats", f"--temp-dir={self.temp_dir}"],
            env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        deadline = time.monotonic() + 90
        while len(nodes := _nodes(self.address, self.env)) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(nodes) == 2 and any("second_node" in n["resources"] for n in nodes), nodes
        self.nodes = nodes

    def ensure_two_nodes(self) -> None:
        if self.worker is None or self.worker.poll() is not None:
            self.start_worker()

    def kill_worker(self) -> None:
        """SIGKILL the second node's whole process group (raylet, its workers), as a lost machine."""
        os.killpg(self.worker.pid, signal.SIGKILL)
        self.worker.wait(timeout=20)

    def stop_worker(self) -> None:
        if self.worker is not None and self.worker.poll() is None:
            try:
                os.killpg(self.worker.pid, signal.SIGTERM)
                self.worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    head_settings = Settings(home=tmp_path_factory.mktemp("ray") / "ray-home", ray_num_cpus=1)
    head_settings.home_dir.mkdir(parents=True, exist_ok=True)
    port, dashboard_port = free_port(), free_port()
    token = ray_token(head_settings)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    head = start_ray_head(head_settings, port, dashboard_port)
    c = Cluster(f"127.0.0.1:{port}", f"http://127.0.0.1:{dashboard_port}", token, env, ray_temp(head_settings))
    try:
        _wait_port(port)
        c.start_worker()
        _wait_port(dashboard_port)
        yield c
    finally:
        c.stop_worker()
        stop_ray_head(head)


def _bucket_and_collection(c: httpx.Client, n: int) -> tuple[str, str]:
    bucket = c.post("/v1/buckets", json={"bucket_name": "b", "bucket_schema": {
        "properties": {"content": {"type": "text"}}}}).json()["bucket_id"]
    for i in range(n):
        c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
            {"property": "content", "type": "text", "data": f"row {i} " * (i % 7 + 1)}]}).raise_for_status()
    coll = c.post("/v1/collections", json={
        "collection_name": "c", "source": {"type": "bucket", "bucket_ids": [bucket]},
        "feature_extractor": {"feature_extractor_name": "node_probe", "version": "1.0.0",
                              "input_mappings": {"text": "content"}}})
    assert coll.status_code == 200, coll.text
    return bucket, coll.json()["collection_id"]


def _api(tmp_path: Path, env: dict[str, str]) -> tuple[subprocess.Popen, httpx.Client]:
    home = tmp_path / "api-home"
    (home / "extractors").mkdir(parents=True)
    shutil.copytree(FIXTURES / "plugins" / "node_probe", home / "extractors" / "node_probe")
    if env.get("WAREHOUSE_ORCHESTRATOR") == "dagster":  # the instance the API adds partitions to and runs use
        prepare_home(Settings(home=home))
    port = free_port()
    api = start_serve(home, port, {"WAREHOUSE_API_KEY": "sk_ray_cluster_test", **env})
    base = f"http://127.0.0.1:{port}"
    wait_alive(base, api)
    return api, httpx.Client(base_url=base, timeout=60, headers={
        "Authorization": "Bearer sk_ray_cluster_test", "X-Namespace": "default"})


# A Dagster run in a process of its own (as a run worker is), materializing one partition with the ray_job executor.
RUN = """
import json, sys
from dagster import DagsterInstance, materialize
from warehouse.assets import collection_documents
from warehouse.assets.partitions import collection_batch_key
from warehouse.resources import RayJobWarehouse
home, owner, jobs_url, collection_id, batch_id = sys.argv[1:]
instance = DagsterInstance.from_config(home + "/dagster")
instance.add_dynamic_partitions("collections", [collection_id])
instance.add_dynamic_partitions("batches", [batch_id])
try:
    materialize([collection_documents], partition_key=collection_batch_key(collection_id, batch_id), instance=instance,
                resources={"warehouse": RayJobWarehouse(home=home, index_owner_url=owner, ray_dashboard_url=jobs_url)},
                raise_on_error=False)
finally:
    run = instance.get_runs(limit=1)[0]
    logs = [e.user_message for e in instance.all_logs(run.run_id)]
    materialized = [e.asset_materialization.metadata for e in instance.all_logs(run.run_id)
                    if e.asset_materialization is not None]
    print("RESULT " + json.dumps({"run_id": run.run_id, "status": run.status.value, "logs": logs,
                                  "metadata": {k: getattr(v, "value", str(v)) for k, v in
                                               (materialized[0].items() if materialized else [])}}), flush=True)
"""


def _start_run(cluster: Cluster, home: Path, base: str, collection_id: str, batch_id: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", RUN, str(home), base, cluster.jobs_url, collection_id, batch_id],
                            cwd=ROOT, env={**os.environ, "RAY_AUTH_TOKEN": cluster.token},
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def _run_result(proc: subprocess.Popen, timeout: float = 300) -> dict:
    out, _ = proc.communicate(timeout=timeout)
    lines = [line for line in out.splitlines() if line.startswith("RESULT ")]
    assert lines, out[-3000:]
    result = json.loads(lines[-1][len("RESULT "):])
    result["output"] = out[-4000:]
    return result


def test_a_dagster_run_submits_its_batch_as_a_ray_job(cluster, tmp_path):
    from ray.job_submission import JobStatus, JobSubmissionClient

    cluster.ensure_two_nodes()
    api, c = _api(tmp_path, {"WAREHOUSE_ORCHESTRATOR": "dagster"})
    home, base = tmp_path / "api-home", str(c.base_url).rstrip("/")
    jobs = JobSubmissionClient(cluster.jobs_url, headers={"Authorization": f"Bearer {cluster.token}"})
    try:
        bucket, collection_id = _bucket_and_collection(c, 24)
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        assert c.get(f"/v1/batches/{batch['batch_id']}").json()["status"] == "QUEUED"  # left to Dagster
        run = _run_result(_start_run(cluster, home, base, collection_id, batch["batch_id"]))
        assert run["status"] == "SUCCESS", "\n".join(run["logs"]) + run["output"]
        job_id = run["metadata"]["ray_job_id"]
        assert run["metadata"]["documents_written"] == 24, run["metadata"]
        # the job's own log lines (Pipes messages from the driver on the cluster) are in the run's log
        assert any("on the Ray cluster at" in m and batch["batch_id"] in m for m in run["logs"]), run["logs"]
        assert any(m.startswith("24/24 rows, 24 documents written") for m in run["logs"]), run["logs"]
        assert jobs.get_job_status(job_id) == JobStatus.SUCCEEDED
        assert jobs.get_job_info(job_id).metadata["dagster_run_id"] == run["run_id"]
        done = c.get(f"/v1/batches/{batch['batch_id']}").json()
        assert done["status"] == "COMPLETED", done
        docs = c.post("/v1/collections/c/documents/list", json={"page_size": 100}).json()["results"]
        assert len(docs) == 24
        assert {d["ray_node_id"] for d in docs} == {n["id"] for n in cluster.nodes}  # both nodes ran its tasks

        # Cancelling the run (Dagster interrupts its process, as the UI's Terminate does) stops the Ray job; the part
        # ends CANCELED, not PROCESSING or COMPLETED.
        for i in range(160):
            c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
                {"property": "content", "type": "text", "data": f"more {i}"}]}).raise_for_status()
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        proc = _start_run(cluster, home, base, collection_id, batch["batch_id"])
        _wait_processing(c, proc, batch["batch_id"], collection_id)
        running = [j for j in jobs.list_jobs() if (j.metadata or {}).get("batch_id") == batch["batch_id"]]
        assert len(running) == 1 and running[0].status == JobStatus.RUNNING, running
        time.sleep(2)
        proc.send_signal(signal.SIGINT)
        run = _run_result(proc, timeout=120)
        assert run["status"] in ("CANCELED", "FAILURE"), run
        assert jobs.get_job_status(running[0].submission_id) == JobStatus.STOPPED
        done = wait_batch(c, batch["batch_id"], timeout=60)
        assert done["status"] == "CANCELED", done
        assert c.get("/v1/collections/c/documents/count").json()["count"] < 24 + 160

        # The second node dies while a Ray job runs on it: the job's tasks are retried on the head, or the run and
        # the batch fail saying why — never a successful run with documents missing.
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        proc = _start_run(cluster, home, base, collection_id, batch["batch_id"])
        _wait_processing(c, proc, batch["batch_id"], collection_id)
        time.sleep(1.0)
        cluster.kill_worker()
        run = _run_result(proc)
        done = c.get(f"/v1/batches/{batch['batch_id']}").json()
        if run["status"] == "SUCCESS":
            assert done["status"] == "COMPLETED" and done["documents_written"] == 184, done
            assert c.get("/v1/collections/c/documents/count").json()["count"] == 184
        else:
            assert done["status"] in ("FAILED", "COMPLETED_WITH_ERRORS") and (
                done.get("error") or done.get("failed_objects")), done
    finally:
        stop_process(api)


def _wait_processing(c: httpx.Client, proc: subprocess.Popen, batch_id: str, collection_id: str) -> None:
    """Until the run's job has started on the batch's part (fails with the run's output if the run ends first)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        part = (c.get(f"/v1/batches/{batch_id}").json().get("stats") or {}).get("collections", {})
        if (part.get(collection_id) or {}).get("status") == "PROCESSING":
            return
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        time.sleep(0.3)
    pytest.fail(f"batch {batch_id} did not start processing")


def test_one_batch_runs_on_both_nodes_of_a_token_protected_cluster(cluster, tmp_path):
    cluster.ensure_two_nodes()
    refused = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address='{cluster.address}')"],
                             env={**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "wrong" * 8},
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode != 0  # a driver without the cluster's token does not join

    api, c = _api(tmp_path, {"WAREHOUSE_RAY_ADDRESS": cluster.address, "RAY_AUTH_MODE": "token",
                             "RAY_AUTH_TOKEN": cluster.token, "WAREHOUSE_WARM_BATCH_WORKERS": "false"})
    try:
        bucket, _ = _bucket_and_collection(c, 24)
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        done = wait_batch(c, batch["batch_id"], timeout=300)
        assert done["status"] == "COMPLETED", done
        docs = c.post("/v1/collections/c/documents/list", json={"page_size": 100}).json()["results"]
        assert len(docs) == 24
        assert {d["ray_node_id"] for d in docs} == {n["id"] for n in cluster.nodes}  # both nodes ran its tasks

        # The second node dies mid-batch: its tasks are retried on the head, or the batch fails saying why —
        # never a COMPLETED batch with documents missing.
        for i in range(24, 60):
            c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
                {"property": "content", "type": "text", "data": f"row {i}"}]}).raise_for_status()
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        while c.get(f"/v1/batches/{batch['batch_id']}").json()["status"] in ("DRAFT", "QUEUED"):
            time.sleep(0.2)
        time.sleep(1.0)
        cluster.kill_worker()
        done = wait_batch(c, batch["batch_id"], timeout=300)
        count = c.get("/v1/collections/c/documents/count").json()["count"]
        if done["status"] == "COMPLETED":
            assert count == 60 and done["documents_written"] == 60, (done, count)
        else:
            assert done["status"] in ("FAILED", "COMPLETED_WITH_ERRORS") and (done.get("error") or done.get(
                "failed_objects")), done
    finally:
        stop_process(api)
