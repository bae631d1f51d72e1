"""A batch on a real two-node Ray cluster that the test starts on loopback with Ray's token authentication on (as a
real cluster runs it): ``ray start --head`` (the keeper ``warehouse up`` uses) and a second ``ray start --address``
with a custom resource of its own. The API server joins it as the driver through ``WAREHOUSE_RAY_ADDRESS`` and the
token in the environment; one batch's tasks run on both nodes, a driver without the token is refused, and a node
killed mid-batch ends in retried tasks or a batch that says it failed — never a silent COMPLETED."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import FIXTURES, free_port, start_serve, stop_process, wait_alive, wait_batch
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


def test_one_batch_runs_on_both_nodes_of_a_token_protected_cluster(tmp_path):
    head_settings = Settings(home=tmp_path / "ray-home", ray_num_cpus=1)
    head_settings.home_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    token = ray_token(head_settings)
    env = {**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token}
    head = start_ray_head(head_settings, port)
    worker = None
    api = None
    try:
        _wait_port(port)
        worker = subprocess.Popen(
            [str(Path(sys.executable).with_name("ray")), "start", f"--address=127.0.0.1:{port}", "--block",
             "--node-ip-address=127.0.0.1", "--num-cpus=1", '--resources={"second_node": 1}',
             "--disable-usage-stats", f"--temp-dir={ray_temp(head_settings)}"],
            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        address = f"127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while len(nodes := _nodes(address, env)) < 2 and time.monotonic() < deadline:
            time.sleep(1)
        assert len(nodes) == 2 and any("second_node" in n["resources"] for n in nodes), nodes
        refused = subprocess.run([sys.executable, "-c", f"import ray; ray.init(address='{address}')"],
                                 env={**os.environ, "RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": "wrong" * 8},
                                 capture_output=True, text=True, timeout=120)
        assert refused.returncode != 0  # a driver without the cluster's token does not join

        home = tmp_path / "api-home"
        (home / "extractors").mkdir(parents=True)
        shutil.copytree(FIXTURES / "plugins" / "node_probe", home / "extractors" / "node_probe")
        api_port = free_port()
        api = start_serve(home, api_port, {"WAREHOUSE_RAY_ADDRESS": address, "RAY_AUTH_MODE": "token",
                                      "RAY_AUTH_TOKEN": token, "WAREHOUSE_API_KEY": "sk_ray_cluster_test",
                                      "WAREHOUSE_WARM_BATCH_WORKERS": "false"})
        base = f"http://127.0.0.1:{api_port}"
        wait_alive(base, api)
        c = httpx.Client(base_url=base, timeout=60,
                         headers={"Authorization": "Bearer sk_ray_cluster_test", "X-Namespace": "default"})
        bucket = c.post("/v1/buckets", json={"bucket_name": "b", "bucket_schema": {
            "properties": {"content": {"type": "text"}}}}).json()["bucket_id"]
        for i in range(24):
            c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
                {"property": "content", "type": "text", "data": f"row {i} " * (i + 1)}]}).raise_for_status()
        coll = c.post("/v1/collections", json={
            "collection_name": "c", "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": "node_probe", "version": "1.0.0",
                                  "input_mappings": {"text": "content"}}})
        assert coll.status_code == 200, coll.text
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        done = wait_batch(c, batch["batch_id"], timeout=300)
        assert done["status"] == "COMPLETED", done
        docs = c.post("/v1/collections/c/documents/list", json={"page_size": 100}).json()["results"]
        assert len(docs) == 24
        assert {d["ray_node_id"] for d in docs} == {n["id"] for n in nodes}  # both nodes ran the batch's tasks

        # The second node dies mid-batch: its tasks are retried on the head, or the batch fails saying why —
        # never a COMPLETED batch with documents missing.
        for i in range(24, 60):
            c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [
                {"property": "content", "type": "text", "data": f"row {i}"}]}).raise_for_status()
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        while c.get(f"/v1/batches/{batch['batch_id']}").json()["status"] in ("DRAFT", "QUEUED"):
            time.sleep(0.2)
        time.sleep(1.0)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=20)
        done = wait_batch(c, batch["batch_id"], timeout=300)
        count = c.get("/v1/collections/c/documents/count").json()["count"]
        if done["status"] == "COMPLETED":
            assert count == 60 and done["documents_written"] == 60, (done, count)
        else:
            assert done["status"] in ("FAILED", "COMPLETED_WITH_ERRORS") and (done.get("error") or done.get(
                "failed_objects")), done
    finally:
        if api is not None:
            stop_process(api)
        if worker is not None and worker.poll() is None:
            try:
                os.killpg(worker.pid, signal.SIGTERM)
                worker.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        stop_ray_head(head)
