"""warehouse plugins test: the examples pass; broken plugins fail with what to change."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from warehouse.batch.harness import run_plugin_test
from warehouse.cli.app import app

pytestmark = [pytest.mark.ray, pytest.mark.slow]
EXAMPLES = ROOT / "examples" / "extractors"
MANIFEST = ("feature_extractor_name = 'broken'\nversion = '1.0.0'\n"
            "features = [{'feature_type': 'embedding', 'feature_name': 'vec', 'embedding_dim': 4, 'distance_metric': 'cosine'}]\n")


def _checks(report):
    return {c.name: c for c in report.checks}


@pytest.mark.parametrize("name", ["text_embed", "st_embed", "keyword_pipeline", "image_classifier"])
def test_examples_pass(ray_session, name):
    report = run_plugin_test(EXAMPLES / name)
    assert report.ok, [(c.name, c.message) for c in report.checks if c.status == "fail"]
    checks = _checks(report)
    assert checks["rows"].status == "pass" and checks["arrow"].status == "pass"
    assert report.skipped_rows, "the empty and None inputs are reported as skipped rows"
    if (EXAMPLES / name / "realtime.py").exists():
        assert checks["realtime"].status == "pass", checks["realtime"].message


def test_llm_example_without_provider_fails_loudly(ray_session):
    report = run_plugin_test(EXAMPLES / "llm_tagger")
    failed = [c for c in report.checks if c.status == "fail"]
    assert {c.name for c in failed} == {"exceptions", "whole batches"}
    assert all("WAREHOUSE_LLM_BASE_URL" in c.message for c in failed)


def _broken(tmp_path, body: str, realtime: str | None = None):
    folder = tmp_path / "broken"
    folder.mkdir()
    (folder / "manifest.py").write_text(MANIFEST)
    (folder / "pipeline.py").write_text(
        "import numpy as np\n\nclass Step:\n    def __call__(self, batch):\n" + body +
        "\n\ndef build_steps(extractor_request=None, **kw):\n    return {'steps': [Step()]}\n")
    if realtime:
        (folder / "realtime.py").write_text(realtime)
    return folder


@pytest.mark.parametrize("body,check,fragment", [
    ("        batch['vec'] = [np.ones(3)] * len(batch)\n        return batch", "vectors vec", "expected (4,)"),
    ("        batch['vec'] = [np.full(4, np.nan)] * len(batch)\n        return batch", "vectors vec", "NaN"),
    ("        batch['vec'] = [None] * len(batch)\n        return batch", "vectors vec", "no vector for"),
    ("        return batch", "column vec", "missing feature column"),
    ("        raise RuntimeError('model exploded')", "exceptions", "model exploded"),
])
def test_broken_plugins_fail_with_the_fix(ray_session, tmp_path, body, check, fragment):
    report = run_plugin_test(_broken(tmp_path, body))
    result = _checks(report)[check]
    assert result.status == "fail" and fragment in result.message and result.fix, result


def test_dropped_rows_are_a_failure(ray_session, tmp_path):
    report = run_plugin_test(_broken(tmp_path, "        batch = batch.iloc[:1].copy()\n"
                                               "        batch['vec'] = [np.ones(4)]\n        return batch"))
    assert not report.ok
    assert any("rows" in c.message or "same rows" in c.message for c in report.checks if c.status == "fail")


def test_realtime_in_another_space_fails(ray_session, tmp_path):
    body = "        batch['vec'] = [np.array([1.0, 0, 0, 0])] * len(batch)\n        return batch"
    realtime = "class InferenceService:\n    async def run_inference(self, inputs, parameters):\n        return {'embedding': [0, 1.0, 0, 0]}\n"
    report = run_plugin_test(_broken(tmp_path, body, realtime))
    assert _checks(report)["realtime"].status == "fail"


def test_blocked_plugin_is_not_run(ray_session, tmp_path):
    folder = _broken(tmp_path, "        import os\n        os.system('touch ran')\n        return batch")
    report = run_plugin_test(folder)
    assert [c.name for c in report.checks] == ["security scan"] and not report.ok


def test_cli(ray_session):
    result = CliRunner().invoke(app, ["plugins", "test", str(EXAMPLES / "text_embed")])
    assert result.exit_code == 0, result.output
    assert "PASS realtime" in result.output
