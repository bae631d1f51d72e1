"""The kernel is the wall: an uploaded plugin that tries, at run time, to read the catalog, the API key secret,
another namespace's objects, ``/etc/shadow`` and the server's environment, to write outside its temporary folder,
and to connect to the API port or an undeclared host, fails at each — while ``requests`` to a declared host,
``torch.load`` of its own weights and ``load_namespace_model`` still work."""

from __future__ import annotations

import json
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
import torch

from tests.api.test_plugins import zip_folder
from tests.conftest import wait_batch
from warehouse.extractors import sandbox

pytestmark = pytest.mark.skipif(not sandbox.available(), reason="the kernel has no Landlock")

MANIFEST = '''
feature_extractor_name = "wall_probe"
version = "1.0.0"
description = "tries every wall at run time and reports what it reached"
features = [{"feature_type": "embedding", "feature_name": "wall_probe_embedding", "embedding_dim": 4,
             "distance_metric": "cosine"}]
compute_profile = {"resource_type": "cpu", "batch_size": 8, "max_concurrency": 1}
allowed_hosts = ["127.0.0.1:%(declared_port)d", "127.0.0.2:%(declared_port)d"]
'''

PIPELINE = '''
import json
import os
import pathlib
import tempfile

import pandas as pd
import requests
import torch

from shared.extractors.sdk import load_namespace_model

PROBES = %(probes)s


def _direct(url):
    session = requests.Session()
    session.trust_env = False  # around the egress proxy: straight at the port
    return session.get(url, timeout=5).status_code


def _try(fn):
    try:
        return "ok: " + str(fn())
    except Exception as exc:
        return "denied: " + type(exc).__name__ + ": " + str(exc)[:400]


class Probe:
    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        report = {}
        for path in PROBES["read"]:
            report["read " + path] = _try(lambda: len(pathlib.Path(path).read_bytes()))
        for path in PROBES["list"]:
            report["list " + path] = _try(lambda: len(list(pathlib.Path(path).iterdir())))
        for path in PROBES["write"]:
            report["write " + path] = _try(lambda: pathlib.Path(path).write_text("escaped"))
        for url in PROBES["connect"]:
            report["connect " + url] = _try(lambda: _direct(url))
            report["proxied " + url] = _try(lambda: requests.get(url, timeout=5).status_code)
        report["declared"] = _try(lambda: requests.get(PROBES["declared"], timeout=5).text)
        report["declared direct"] = _try(lambda: _direct(PROBES["declared"]))
        report["declared but loopback"] = _try(lambda: requests.get(PROBES["loopback"], timeout=5).text)
        report["scratch"] = _try(lambda: pathlib.Path(tempfile.mkstemp()[1]).write_text("fine"))
        report["own_weights"] = _try(lambda: float(torch.load(pathlib.Path(__file__).parent / "weights.pt",
                                                               weights_only=True)["w"].sum()))
        report["namespace_model"] = _try(lambda: float(load_namespace_model("probe_model")["w"].sum()))
        report["env"] = sorted(os.environ)
        report["env_home"] = os.environ.get("WAREHOUSE_HOME")
        batch["probe_report"] = json.dumps(report)
        batch["wall_probe_embedding"] = [[1.0, 0.0, 0.0, 0.0]] * len(batch)
        return batch


def build_steps(extractor_request=None, container=None, **kwargs):
    return {"steps": [Probe()], "prepare": lambda ds: ds}
'''


class _Hello(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - the handler's name is fixed by http.server
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"hello from a declared host")

    def log_message(self, *args):
        pass


def _http_server() -> tuple[ThreadingHTTPServer, int]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hello)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, server.server_address[1]


def test_an_uploaded_plugin_reaches_nothing_it_was_not_given(live, tmp_path):
    home = live.services.settings.home_dir
    declared, declared_port = _http_server()
    undeclared, undeclared_port = _http_server()
    other_ns, other = live.new_namespace()
    other.close()
    live.services.settings.resolved_internal_token()  # the secret the index owner and its writers share
    if not (home / "api_key").exists():  # the key file warehouse up writes for the CLI
        (home / "api_key").write_text("sk_probe_target")
    secret_blob = f"{other_ns}/secret/blob.bin"
    live.services.objects.put(secret_blob, b"another tenant's data")
    (home / "models").mkdir(exist_ok=True)
    torch.save({"w": torch.ones(3)}, home / "models" / "probe_model.pt")
    escape = tmp_path / "escaped.txt"
    probes = {
        "read": [str(home / "catalog.db"), str(home / "internal_token"), str(home / "api_key"), str(home / "objects" / secret_blob),
                 "/etc/shadow", f"/proc/{os.getpid()}/environ", str(home / "extractors" / "text_embed" / "manifest.py")],
        "list": [str(home), str(home / "plugins")],
        "write": [str(escape), "/etc/probe-was-here"],
        "connect": [f"{live.base_url}/v1/health", f"http://127.0.0.1:{undeclared_port}/"],
        "declared": f"http://127.0.0.1:{declared_port}/",
        "loopback": f"http://127.0.0.2:{declared_port}/",
    }
    folder = tmp_path / "wall_probe"
    folder.mkdir()
    (folder / "manifest.py").write_text(MANIFEST % {"declared_port": declared_port})
    (folder / "pipeline.py").write_text(PIPELINE % {"probes": repr(probes)})
    torch.save({"w": torch.full((2,), 2.0)}, folder / "weights.pt")
    ns, c = live.new_namespace()
    try:
        with c:
            up = c.post("/v1/plugins/uploads", json={"name": "wall_probe", "version": "1.0.0"}).json()
            assert httpx.put(up["presigned_url"], content=zip_folder(folder)).status_code == 200
            confirmed = c.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm")
            assert confirmed.status_code == 200, confirmed.text
            bucket = c.post("/v1/buckets", json={"bucket_name": "probe", "bucket_schema": {
                "properties": {"text": {"type": "text"}}}}).json()["bucket_id"]
            c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [{"property": "text", "type": "text", "data": "x"}]})
            coll = c.post("/v1/collections", json={
                "collection_name": "probe", "source": {"type": "bucket", "bucket_ids": [bucket]},
                "feature_extractor": {"feature_extractor_name": "wall_probe", "version": "1.0.0",
                                      "input_mappings": {"text": "text"}}}).json()
            batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
            assert wait_batch(c, batch["batch_id"])["status"] == "COMPLETED"
            doc = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={}).json()["results"][0]
            report = json.loads(doc["probe_report"])
    finally:
        declared.shutdown()
        undeclared.shutdown()
    for key in [*(f"read {p}" for p in probes["read"]), *(f"list {p}" for p in probes["list"]),
                *(f"write {p}" for p in probes["write"]), *(f"connect {u}" for u in probes["connect"])]:
        # the kernel said no (EACCES), not "no such file" or "connection refused"
        assert report[key].startswith("denied: ") and "Permission denied" in report[key], (key, report[key])
    assert not escape.exists() and not Path("/etc/probe-was-here").exists()
    for url in probes["connect"]:  # through the egress proxy: refused, it is not declared
        assert report[f"proxied {url}"] == "ok: 403", (url, report[f"proxied {url}"])
    assert report["declared"] == "ok: hello from a declared host", report["declared"]  # through the proxy
    assert "Permission denied" in report["declared direct"]  # the port itself stays shut: only the proxy is open
    # declared, but it resolves to loopback and the operator allowed only 127.0.0.1: the proxy refuses (SSRF)
    assert "blocked by the sandbox" in report["declared but loopback"] and "loopback" in report["declared but loopback"]
    assert report["scratch"].startswith("ok"), report["scratch"]
    assert report["own_weights"] == "ok: 4.0", report["own_weights"]
    assert report["namespace_model"] == "ok: 3.0", report["namespace_model"]
    leaked = [k for k in report["env"] if k not in sandbox.ENV_KEEP and k not in (
        "HOME", "TMPDIR", "PYTHONDONTWRITEBYTECODE", "PYTHONNOUSERSITE", "WAREHOUSE_HOME",
        "WAREHOUSE_NAMESPACE_MODELS", "LC_CTYPE", "OMP_NUM_THREADS", "MKL_NUM_THREADS",
        "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "no_proxy")]
    assert leaked == [], leaked
    assert str(home) not in report["env_home"]


def test_container_llm_works_behind_the_wall_and_the_key_stays_outside(monkeypatch):
    """The llm_tagger example, confined: its LLM calls go through the relay, which adds the operator's key."""
    import pandas as pd

    from tests.openai_compatible import FakeLLM
    from warehouse.batch.confined import ConfinedSteps

    def topic(body):
        return "sports" if "match" in body["messages"][-1]["content"].lower() else "other"

    with FakeLLM(api_key="sk-operator-only", answer=topic) as server:
        monkeypatch.setenv("WAREHOUSE_LLM_BASE_URL", server.base_url)
        monkeypatch.setenv("WAREHOUSE_LLM_API_KEY", "sk-operator-only")
        monkeypatch.setenv("WAREHOUSE_LLM_MODEL", "local-model")
        plugin = Path(__file__).resolve().parents[2] / "examples" / "extractors" / "llm_tagger"
        steps = ConfinedSteps(plugin_path=str(plugin), builtin=False, parameters={}, step_indexes=[0, 1],
                              vector_features=["minilm_embedding"], threads=1)
        try:
            frame = pd.DataFrame({"document_id": ["d0", "d1"], "blob_type": ["text"] * 2,
                                  "mime_type": ["text/plain"] * 2, "data": ["The match ended 2-2.", "Tuesday."]})
            out = steps(frame)
            env = Path(f"/proc/{steps._proc.pid}/environ").read_bytes().decode().split("\0")
        finally:
            steps.close()
        assert out["_error"].isna().all(), out["_error"].tolist()
        assert list(out["llm_topic"]) == ["sports", "other"]
        assert {r["auth"] for r in server.requests} == {"Bearer sk-operator-only"}  # added by the relay
        assert server.requests[0]["body"]["model"] == "local-model"
        assert not [v for v in env if "sk-operator-only" in v], env  # the child never held the key
        assert any(v.startswith("WAREHOUSE_LLM_BASE_URL=http://localhost:") for v in env)


def _one_step_plugin(tmp_path: Path, name: str, pipeline: str) -> Path:
    """A plugin folder ``name`` with one 2-d embedding feature ``<name's first word>_embedding`` and ``pipeline``."""
    folder = tmp_path / name
    folder.mkdir()
    feature = name.split("_")[0] + "_embedding"
    (folder / "manifest.py").write_text(f'''
feature_extractor_name = "{name}"
version = "1.0.0"
features = [{{"feature_type": "embedding", "feature_name": "{feature}", "embedding_dim": 2}}]
''')
    (folder / "pipeline.py").write_text(pipeline)
    return folder


def _confined(folder: Path, feature: str):
    from warehouse.batch.confined import ConfinedSteps

    return ConfinedSteps(plugin_path=str(folder), builtin=False, parameters={}, step_indexes=[0],
                         vector_features=[feature], threads=1)


def test_a_plugin_process_that_dies_fails_its_rows_and_the_next_batch_gets_a_new_one(tmp_path):
    import pandas as pd


    folder = _one_step_plugin(tmp_path, "quitter", '''
class Step:
    def __call__(self, batch):
        if (batch["data"] == "quit").any():
            raise SystemExit(3)  # not an Exception: it ends the process
        batch["quitter_embedding"] = [[1.0, 0.0]] * len(batch)
        return batch


def build_steps(extractor_request=None, container=None, **kwargs):
    return {"steps": [Step()], "prepare": None}
''')
    steps = _confined(folder, "quitter_embedding")
    try:
        bad = steps(pd.DataFrame({"document_id": ["d0"], "data": ["quit"]}))
        assert "sandboxed process" in bad["_error"][0] and "data" not in bad.columns
        good = steps(pd.DataFrame({"document_id": ["d1", "d2"], "data": ["a", "b"]}))
        assert good["_error"].isna().all() and [list(v) for v in good["quitter_embedding"]] == [[1.0, 0.0]] * 2
    finally:
        steps.close()


def test_binary_blobs_reach_the_plugin_as_copies_in_its_scratch_folder(tmp_path):
    """``data`` stays a URL the plugin opens with open_asset, but it names a copy behind the wall: the store's file
    itself, and a blob URL that cannot be fetched, are not the plugin's business."""
    import pandas as pd


    store = tmp_path / "store"
    store.mkdir()
    blob = store / "photo.jpg"
    blob.write_bytes(b"\xff\xd8\xff" + b"pixels" * 100)
    folder = _one_step_plugin(tmp_path, "blob_reader", f'''
import pathlib

from shared.extractors.sdk import open_asset


def _direct():
    try:
        return len(pathlib.Path({str(blob)!r}).read_bytes())
    except PermissionError:
        return -1


class Step:
    def __call__(self, batch):
        sizes = []
        for value in batch["data"]:
            with open_asset(value) as path:
                sizes.append(len(pathlib.Path(path).read_bytes()))
        batch["blob_size"] = sizes
        batch["direct_read"] = [_direct()] * len(batch)
        batch["blob_embedding"] = [[1.0, 0.0]] * len(batch)
        return batch


def build_steps(extractor_request=None, container=None, **kwargs):
    return {{"steps": [Step()], "prepare": None}}
''')
    steps = _confined(folder, "blob_embedding")
    try:
        out = steps(pd.DataFrame({"document_id": ["d0", "d1"],
                                  "data": [blob.as_uri(), (store / "missing.jpg").as_uri()]}))
    finally:
        steps.close()
    assert pd.isna(out["_error"][0]) and out["blob_size"][0] == 603 and out["direct_read"][0] == -1, out.to_dict("records")
    assert "could not be fetched" in out["_error"][1]
