"""Query inference on Ray Serve: same vectors as in-process, cached per text, visible to feature_search."""

from __future__ import annotations

import pytest

from tests.retrieval.corpus import run

pytestmark = [pytest.mark.ray, pytest.mark.slow]


@pytest.fixture
def serve_inference(live, monkeypatch, ray_session):
    from ray import serve

    from warehouse.retrieval.inference import QueryInference
    from warehouse.retrieval.serving import ServeBackend

    backend = ServeBackend()
    calls = []
    real = backend.infer
    monkeypatch.setattr(backend, "infer", lambda ext, inputs: calls.append(inputs) or real(ext, inputs))
    inference = QueryInference(live.services.registry, backend=backend)
    monkeypatch.setattr(live.services, "inference", inference)
    yield inference, backend, calls
    backend.shutdown()
    serve.shutdown()


def test_serve_embeds_like_in_process_and_caches(corpus, live, serve_inference):
    from ray import serve

    from warehouse.retrieval.inference import QueryInference
    from warehouse.retrieval.serving import app_name

    inference, backend, calls = serve_inference
    ext = live.services.registry.get("text_extractor", "v1")
    feature = ext.spec.vector_features[0].feature_name
    served = inference.embed_text(ext, "quantum computers", feature)
    local = QueryInference(live.services.registry).embed_text(ext, "quantum computers", feature)
    assert served == pytest.approx(local, abs=1e-5)
    assert backend.deployed() == [app_name(ext)] and ext.code_version[:12] in app_name(ext)
    assert serve.status().applications[app_name(ext)].status == "RUNNING"
    inference.embed_text(ext, "quantum computers", feature)
    assert len(calls) == 1  # the second request for the same text is a cache hit

    via_serve = run(corpus, query="honeybees in spring")["documents"]
    assert len(calls) == 2 and calls[-1] == {"text": "honeybees in spring"}
    assert via_serve[0]["text"].startswith("Honeybees")


def test_serve_refuses_an_extractor_without_realtime(live, serve_inference, tmp_path):
    import shutil

    from warehouse.extractors.loader import load_plugin
    from warehouse.retrieval.inference import InferenceUnavailable

    inference, backend, calls = serve_inference
    src = live.services.registry.get("text_extractor", "v1").path
    folder = tmp_path / "no_realtime"
    shutil.copytree(src, folder, ignore=shutil.ignore_patterns("realtime.py", "__pycache__"))
    ext = load_plugin(folder, builtin=True)
    with pytest.raises(InferenceUnavailable, match="has no realtime.py"):
        inference.embed_text(ext, "x", ext.spec.vector_features[0].feature_name)
    assert calls == [] and backend.deployed() == []


def test_an_uploaded_plugin_deployed_for_realtime_runs_on_serve_inside_its_sandbox(live, serve_inference, tmp_path):
    import time

    import httpx
    from ray import serve

    from tests.api.test_plugins import plugin_folder, zip_folder
    from warehouse.retrieval.serving import app_name

    inference, backend, calls = serve_inference
    _, c = live.new_namespace()
    with c:
        up = c.post("/v1/plugins/uploads", json={"name": "serve_embed", "version": "1.0.0"}).json()
        httpx.put(up["presigned_url"], content=zip_folder(plugin_folder(tmp_path, "serve_embed")))
        assert c.post(f"/v1/plugins/uploads/{up['upload_id']}/confirm").status_code == 200
        c.post("/v1/plugins/serve_embed_1_0_0/deploy", params={"deployment_type": "realtime"})
        for _ in range(300):
            status = c.get("/v1/plugins/serve_embed_1_0_0/status").json()
            if status["status"] in ("DEPLOYED", "FAILED"):
                break
            time.sleep(0.3)
        assert status["status"] == "DEPLOYED", status
        namespace_id = c.get("/v1/plugins/serve_embed_1_0_0").json()["namespace_id"]
        ext = live.services.registry.get("serve_embed", "1.0.0", namespace_id)
        assert ext.confined and serve.status().applications[app_name(ext)].status == "RUNNING"
        result = c.post("/v1/plugins/serve_embed_1_0_0/infer", json={"inputs": {"text": "tides"}}).json()
        assert len(result["result"]["embedding"]) == 128 and calls[-1] == {"text": "tides"}
        assert c.post("/v1/plugins/serve_embed_1_0_0/undeploy").json()["status"] == "NOT_DEPLOYED"
        assert app_name(ext) not in serve.status().applications
