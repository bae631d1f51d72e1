"""``warehouse up`` leaves nothing behind: killed outright (SIGKILL) or stopped (SIGTERM), every process it
started — Dagster's webserver, daemon and code server, Ray's — is gone within 15 s."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from warehouse.cli.up import claim_home
from warehouse.settings import Settings

pytestmark = [pytest.mark.slow, pytest.mark.dagster]


def _port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _descendants(root: int) -> set[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = set(), [root]
    while todo:
        for child in children.get(todo.pop(), []):
            if child not in found:
                found.add(child)
                todo.append(child)
    return found


def _alive(pids: set[int]) -> set[int]:
    alive = set()
    for pid in pids:
        try:
            state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            alive.add(pid)
    return alive


def _wait_up(api: int, ui: int, timeout: float = 180) -> None:
    """Until the API and the Dagster UI both answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if (httpx.get(f"http://127.0.0.1:{api}/v1/health", timeout=2).status_code == 200
                    and httpx.get(f"http://127.0.0.1:{ui}/server_info", timeout=2).status_code == 200):
                return
        except httpx.HTTPError:
            pass
        time.sleep(1)
    pytest.fail("warehouse up did not come up")


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM])
def test_nothing_survives_warehouse_up(tmp_path, how):
    api, ui = _port(), _port()
    started: set[int] = set()
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "up", "--home", str(tmp_path / "home"), "--api-port", str(api),
         "--ui-port", str(ui), "--no-demo"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True,
        env={**os.environ, "WAREHOUSE_WARM_BATCH_WORKERS": "false"})
    try:
        _wait_up(api, ui)
        started |= _descendants(proc.pid)
        assert len(started) >= 3  # dagster dev and its webserver and daemon at least
        os.kill(proc.pid, how)
        proc.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _alive(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        assert _alive(started) == set()
    finally:
        # whatever is left (the test failed): by the pids seen before the kill, which orphans lose as descendants
        for pid in _alive(started | _descendants(proc.pid)) | ({proc.pid} if proc.poll() is None else set()):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


def _up(home: Path, api: int, ui: int) -> tuple[int, str]:
    """Exit code and output (whitespace folded: the console wraps long lines) of ``warehouse up``."""
    out = subprocess.run([sys.executable, "-m", "warehouse.cli", "up", "--home", str(home), "--api-port", str(api),
                          "--ui-port", str(ui), "--no-demo"], capture_output=True, text=True, timeout=120)
    return out.returncode, " ".join((out.stdout + out.stderr).split())


def test_a_port_in_use_is_reported_before_anything_starts(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code, said = _up(tmp_path / "home", port, _port())
    assert code == 2 and f"port {port}" in said and "--api-port" in said
    assert not (tmp_path / "home" / "warehouse.pid").exists() and not (tmp_path / "home" / "dagster").exists()


def test_a_home_in_use_is_refused_and_a_stale_pid_file_replaced(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)  # warehouse stand-in"])
    try:
        (home / "warehouse.pid").write_text(str(sleeper.pid))
        code, said = _up(home, _port(), _port())
        assert code == 2 and f"already running from {home} (pid {sleeper.pid})" in said
    finally:
        sleeper.kill()
        sleeper.wait()
    (home / "warehouse.pid").write_text(str(sleeper.pid))  # that process is gone now
    claim_home(Settings(home=home), [_port()])  # the stale case, without starting a whole warehouse
    assert (home / "warehouse.pid").read_text() == str(os.getpid())


def _pids_named(root: int, name: str) -> list[int]:
    out = []
    for pid in _descendants(root):
        try:
            if (Path("/proc") / str(pid) / "comm").read_text().strip() == name:
                out.append(pid)
        except OSError:
            pass
    return out


def test_a_dead_ray_process_fails_the_batch_in_flight_not_the_api(tmp_path):
    """Batches run in Dagster run workers on a Ray head beside the API: killing the raylet mid-batch ends the batch
    FAILED with its reason, the API answers throughout, the head comes back and the next batch completes."""
    api, ui = _port(), _port()
    home = tmp_path / "home"
    proc = subprocess.Popen(
        [sys.executable, "-m", "warehouse.cli", "up", "--home", str(home), "--api-port", str(api), "--ui-port", str(ui),
         "--no-demo"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    base = f"http://127.0.0.1:{api}"
    try:
        _wait_up(api, ui)
        assert _pids_named(proc.pid, "raylet"), "the Ray head runs beside the API"
        c = httpx.Client(base_url=base, timeout=60, headers={
            "Authorization": f"Bearer {(home / 'api_key').read_text().strip()}", "X-Namespace": "default"})
        c.post("/v1/buckets", json={"bucket_name": "b", "bucket_schema": {"properties": {
            "content": {"type": "text"}}}}).raise_for_status()
        c.post("/v1/collections", json={"collection_name": "c", "source": {"type": "bucket", "bucket_ids": ["b"]},
                                        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                                                              "input_mappings": {"text": "content"}}}).raise_for_status()
        ids = [o["object_id"] for o in c.post("/v1/buckets/b/objects/batch", json={"objects": [
            {"blobs": [{"property": "content", "type": "text", "data": f"passage {i} " * 60}]} for i in range(600)]}
        ).json()["objects"]]
        batch = c.post("/v1/buckets/b/batches", params={"auto_submit": True}, json={}).json()["batch_id"]

        def status(batch_id: str) -> dict:
            return c.get(f"/v1/batches/{batch_id}").json()

        deadline = time.monotonic() + 180
        while status(batch)["status"] != "PROCESSING" and time.monotonic() < deadline:
            time.sleep(0.5)
        time.sleep(3)
        for pid in _pids_named(proc.pid, "raylet"):
            os.kill(pid, signal.SIGKILL)
        health, deadline = [], time.monotonic() + 180
        while (b := status(batch))["status"] not in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED") \
                and time.monotonic() < deadline:
            health.append(c.get("/v1/health").status_code)
            time.sleep(1)
        assert b["status"] == "FAILED" and "Ray" in (b.get("error") or ""), b
        assert health and set(health) == {200}
        small = c.post("/v1/buckets/b/batches", params={"auto_submit": True}, json={"object_ids": ids[:5]}).json()
        deadline = time.monotonic() + 240
        while (b := status(small["batch_id"]))["status"] not in ("COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED") \
                and time.monotonic() < deadline:
            time.sleep(1)
        assert b["status"] == "COMPLETED" and b["documents_written"] == 5, b
        assert proc.poll() is None and c.get("/v1/health").status_code == 200
    finally:
        started = _descendants(proc.pid)
        proc.terminate()
        proc.wait(timeout=60)
        deadline = time.monotonic() + 20
        while _alive(started) and time.monotonic() < deadline:
            time.sleep(0.5)
        for pid in _alive(started):
            os.kill(pid, signal.SIGKILL)
