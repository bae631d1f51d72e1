"""SDK helpers and the plugin container: real threads, event loops, S3 (moto), tools, models."""

from __future__ import annotations

import asyncio
import threading
import time

import boto3
import numpy as np
import pandas as pd
import pytest

from tests.conftest import ROOT
from warehouse.extractors.helpers import (
    LLMAccessor,
    LLMNotConfigured,
    SecretsAccessor,
    concurrent_api_calls,
    download_asset,
    open_asset,
    parallel_io,
    run_tool,
)


def test_parallel_io_keeps_order_and_runs_concurrently():
    active, peak = [0], [0]
    lock = threading.Lock()

    def work(x):
        with lock:
            active[0] += 1
            peak[0] = max(peak[0], active[0])
        time.sleep(0.05)
        with lock:
            active[0] -= 1
        return x * 2

    assert parallel_io(range(16), work, max_workers=4) == [x * 2 for x in range(16)]
    assert 1 < peak[0] <= 4


def test_concurrent_api_calls_bounds_concurrency_inside_a_running_loop():
    in_flight, peak = [0], [0]

    async def call(x):
        in_flight[0] += 1
        peak[0] = max(peak[0], in_flight[0])
        await asyncio.sleep(0.01)
        in_flight[0] -= 1
        return -x

    assert concurrent_api_calls(range(30), call, max_concurrent=5) == [-x for x in range(30)]
    assert peak[0] == 5

    async def inside():  # the same call from code that already runs an event loop
        return concurrent_api_calls([1, 2], call, max_concurrent=2)

    assert asyncio.run(inside()) == [-1, -2]


def test_assets_local_and_s3(tmp_path, s3_endpoint, monkeypatch):
    local = tmp_path / "a.txt"
    local.write_text("hello")
    assert download_asset(str(local)) == (str(local), False)
    with open_asset(f"file://{local}") as path:
        assert path == str(local)
    monkeypatch.setenv("WAREHOUSE_S3_ENDPOINT_URL", s3_endpoint)
    monkeypatch.setenv("WAREHOUSE_S3_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("WAREHOUSE_S3_SECRET_ACCESS_KEY", "test")
    s3 = boto3.client("s3", endpoint_url=s3_endpoint, aws_access_key_id="test", aws_secret_access_key="test",
                      region_name="us-east-1")
    s3.create_bucket(Bucket="assets")
    s3.put_object(Bucket="assets", Key="dir/clip.bin", Body=b"\x00\x01binary")
    with open_asset("s3://assets/dir/clip.bin", suffix=".bin") as path:
        assert path.endswith(".bin") and open(path, "rb").read() == b"\x00\x01binary"  # noqa: SIM115
    import os

    assert not os.path.exists(path), "open_asset must remove its temporary copy"
    with pytest.raises(FileNotFoundError):
        download_asset(str(tmp_path / "missing"))
    with pytest.raises(ValueError, match="unsupported scheme"):
        download_asset("ftp://host/x")


def test_run_tool_whitelist_timeout_and_errors(monkeypatch):
    with pytest.raises(PermissionError, match="not whitelisted"):
        run_tool("bash", ["-c", "echo hi"])
    with pytest.raises(TypeError):
        run_tool("ffmpeg", [1])  # type: ignore[list-item]
    monkeypatch.setenv("WAREHOUSE_PLUGIN_TOOLS", "echo,sleep,false")
    assert run_tool("echo", ["hello"]).stdout.strip() == "hello"
    with pytest.raises(TimeoutError, match="did not finish"):
        run_tool("sleep", ["5"], timeout=0.3)
    with pytest.raises(RuntimeError, match="exited with 1"):
        run_tool("false", [])


def test_secrets_from_environment(monkeypatch):
    monkeypatch.setenv("WAREHOUSE_SECRET_EXTERNAL_API_KEY", "s3cret")
    secrets = SecretsAccessor()
    assert asyncio.run(secrets.get("EXTERNAL_API_KEY")) == "s3cret"
    assert "EXTERNAL_API_KEY" in asyncio.run(secrets.list())
    with pytest.raises(KeyError, match="WAREHOUSE_SECRET_NOPE"):
        asyncio.run(secrets.get("NOPE"))


def test_llm_without_provider_fails_clearly():
    with pytest.raises(LLMNotConfigured, match="WAREHOUSE_LLM_BASE_URL"):
        asyncio.run(LLMAccessor(None, None, None).generate("classify", "text"))


@pytest.fixture
def chat_endpoint():
    """An OpenAI-compatible endpoint on loopback that answers by keyword (tests/openai_compatible.py)."""
    from tests.openai_compatible import FakeLLM

    def topic(body):
        text = body["messages"][-1]["content"].lower()
        return "sports" if "match" in text else "science" if "cell" in text else "other"

    with FakeLLM(api_key="k", answer=topic) as server:
        yield server.base_url, server.requests


def test_llm_tagger_example_with_a_chat_endpoint(chat_endpoint, monkeypatch):
    from warehouse.batch.engine import StepGroup
    from warehouse.extractors.loader import load_plugin

    url, seen = chat_endpoint
    monkeypatch.setenv("WAREHOUSE_LLM_BASE_URL", url)
    monkeypatch.setenv("WAREHOUSE_LLM_API_KEY", "k")
    monkeypatch.setenv("WAREHOUSE_LLM_MODEL", "local-model")
    ext = load_plugin(ROOT / "examples" / "extractors" / "llm_tagger")
    frame = pd.DataFrame({"document_id": ["d0", "d1", "d2"], "blob_type": ["text"] * 3, "mime_type": ["text/plain"] * 3,
                          "data": ["The match ended in a draw.", "A cell divides in two.", "Tuesday."]})
    out = StepGroup(plugin_path=str(ext.path), builtin=False, parameters={}, step_indexes=[0, 1],
                    vector_features=["minilm_embedding"], threads=1)(frame)
    assert out["_error"].isna().all(), out["_error"].tolist()
    assert dict(zip(out["document_id"], out["llm_topic"], strict=True)) == {"d0": "sports", "d1": "science", "d2": "other"}
    assert all(len(v) == 384 for v in out["minilm_embedding"])
    assert {r["path"] for r in seen} == {"/v1/chat/completions"} and seen[0]["auth"] == "Bearer k"
    assert seen[0]["body"]["model"] == "local-model"


def test_hub_ids_resolve_offline_and_unknown_ids_say_how_to_provide_them():
    from warehouse.extractors.models import lazy_model, resolve_hf_model

    path = resolve_hf_model("sentence-transformers/all-MiniLM-L6-v2")
    assert (ROOT / path).exists() or __import__("pathlib").Path(path).exists()
    with pytest.raises(RuntimeError, match="not available offline"):
        resolve_hf_model("someone/unknown-model-xyz")

    class Pooler:
        _model = None

        @lazy_model("sentence-transformers/all-MiniLM-L6-v2")
        def __call__(self, texts):
            encoded = self._tokenizer(texts, padding=True, return_tensors="pt")
            return self._model(**encoded).last_hidden_state.mean(dim=1).detach().numpy()

    vecs = Pooler()(["a cat", "a dog"])
    assert vecs.shape == (2, 384) and np.isfinite(vecs).all()


def test_sentence_transformer_by_hub_id_inside_a_plugin_process():
    """A plugin that writes SentenceTransformer("all-MiniLM-L6-v2") loads offline (HF cache seeded)."""
    import subprocess
    import sys

    code = ("from warehouse.extractors.models import configure_offline_models; configure_offline_models();"
            "from sentence_transformers import SentenceTransformer;"
            "print(SentenceTransformer('all-MiniLM-L6-v2').encode(['x']).shape)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240, cwd=ROOT)
    assert "(1, 384)" in out.stdout, out.stderr[-2000:]


def test_namespace_model_weights(tmp_path, monkeypatch):
    import torch

    from warehouse.extractors.models import load_namespace_model

    monkeypatch.setenv("WAREHOUSE_HOME", str(tmp_path))
    (tmp_path / "models").mkdir()
    torch.save(torch.nn.Linear(4, 2).state_dict(), tmp_path / "models" / "tiny_1_0_0.pt")
    weights = load_namespace_model("tiny_1_0_0")
    assert set(weights) == {"weight", "bias"}
    with pytest.raises(FileNotFoundError, match="models/absent.pt"):
        load_namespace_model("absent")
