"""warehouse plugins lint: manifest rules, feature_uri vs realtime.py, archives, exit status, JSON."""

from __future__ import annotations

import io
import json
import shutil
import tarfile
import zipfile

import pytest
from typer.testing import CliRunner

from tests.conftest import ROOT
from warehouse.cli.app import app
from warehouse.extractors.tools.lint import lint_path

EXAMPLES = ROOT / "examples" / "extractors"
EXAMPLE_NAMES = ["text_embed", "st_embed", "keyword_pipeline", "image_classifier", "llm_tagger"]


def _plugin(tmp_path, manifest: str, pipeline: str | None = None, realtime: str | None = None):
    folder = tmp_path / "p"
    folder.mkdir()
    (folder / "manifest.py").write_text(manifest)
    (folder / "pipeline.py").write_text(pipeline or (
        "def build_steps(extractor_request=None, **kw):\n"
        "    def step(batch):\n        batch['vec'] = [[1.0, 0.0]] * len(batch)\n        return batch\n"
        "    return {'steps': [step]}\n"))
    if realtime:
        (folder / "realtime.py").write_text(realtime)
    return folder


GOOD = ("feature_extractor_name = 'p'\nversion = '1.0'\n"
        "features = [{'feature_type': 'embedding', 'feature_name': 'vec', 'embedding_dim': 2, 'distance_metric': 'cosine'}]\n")
REALTIME = "class InferenceService:\n    async def run_inference(self, inputs, parameters):\n        return {'embedding': [1.0, 0.0]}\n"


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_examples_lint_clean(name):
    report = lint_path(EXAMPLES / name)
    assert report.ok, [str(f) for f in report.findings]


@pytest.mark.parametrize("wrong,right", [("name", "feature_name"), ("type", "feature_type"),
                                         ("dimensions", "embedding_dim"), ("distance", "distance_metric")])
def test_wrong_feature_keys_name_the_right_key(tmp_path, wrong, right):
    feature = {"feature_type": "embedding", "feature_name": "vec", "embedding_dim": 2, "distance_metric": "cosine"}
    feature[wrong] = feature.pop(right)
    report = lint_path(_plugin(tmp_path, f"feature_extractor_name = 'p'\nversion = '1'\nfeatures = [{feature!r}]\n"))
    messages = [f.message for f in report.errors]
    assert not report.ok and any(repr(right) in m and repr(wrong) in m for m in messages), messages
    assert report.errors[0].line == 3


@pytest.mark.parametrize("field,value,fragment", [
    ("distance_metric", "manhattan", "distance_metric"), ("embedding_dim", 0, "embedding_dim")])
def test_feature_values(tmp_path, field, value, fragment):
    feature = {"feature_type": "embedding", "feature_name": "vec", "embedding_dim": 2, "distance_metric": "cosine"}
    feature[field] = value
    report = lint_path(_plugin(tmp_path, f"feature_extractor_name = 'p'\nversion = '1'\nfeatures = [{feature!r}]\n"))
    assert any(fragment in f.message for f in report.errors)


@pytest.mark.parametrize("line,fragment", [
    ("inference_type = 'vibes'", "inference_type"),
    ("compute_profile = {'resource_type': 'tpu'}", "resource_type"),
    ("compute_profile = {'batch_size': 0}", "batch_size"),
    ("compute_profile = {'max_concurrency': 1000}", "max_concurrency"),
    ("compute_profile = {'batch_sise': 64}", "unknown key 'batch_sise'"),
])
def test_manifest_fields(tmp_path, line, fragment):
    report = lint_path(_plugin(tmp_path, GOOD + line + "\n"))
    assert any(fragment in f.message for f in report.errors), [str(f) for f in report.findings]


def test_version_is_normalised(tmp_path):
    report = lint_path(_plugin(tmp_path, GOOD))
    assert report.ok and report.extractor == "p@1.0.0"
    assert any(f.code == "MAN002" and "'1.0.0'" in f.message for f in report.findings)


def test_feature_uri_needs_realtime(tmp_path):
    report = lint_path(_plugin(tmp_path, GOOD + "feature_uri = 'mixpeek://p@1.0.0/vec'\n"))
    assert {f.code for f in report.errors} == {"RT001"}


def test_feature_uri_must_name_a_feature(tmp_path):
    report = lint_path(_plugin(tmp_path, GOOD + "feature_uri = 'mixpeek://p@1.0.0/other'\n", realtime=REALTIME))
    assert "RT002" in {f.code for f in report.errors}


def test_feature_uri_with_realtime_is_clean(tmp_path):
    report = lint_path(_plugin(tmp_path, GOOD + "feature_uri = 'mixpeek://p@1.0.0/vec'\n", realtime=REALTIME))
    assert report.ok, [str(f) for f in report.findings]


def test_blocked_code_is_never_imported(tmp_path):
    marker = tmp_path / "ran"
    manifest = GOOD + f"import os\nos.system('touch {marker}')\n"
    report = lint_path(_plugin(tmp_path, manifest))
    assert not report.ok and not marker.exists()
    assert any(f.code == "LNT001" for f in report.findings)


def _zip(folder, target, extra=None):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for path in folder.rglob("*.py"):
            zf.write(path, f"{folder.name}/{path.relative_to(folder)}")
        for name, data in (extra or {}).items():
            zf.writestr(name, data)
    target.write_bytes(buf.getvalue())
    return target


def test_zip_archive_lints_like_the_folder(tmp_path):
    report = lint_path(_zip(EXAMPLES / "text_embed", tmp_path / "p.zip"))
    assert report.ok and report.extractor == "text_embed@1.0.0"


def test_broken_archive(tmp_path):
    good = _zip(EXAMPLES / "text_embed", tmp_path / "p.zip").read_bytes()
    broken = tmp_path / "broken.zip"
    broken.write_bytes(good[: len(good) // 2])
    report = lint_path(broken)
    assert not report.ok and "archive" in report.errors[0].message


def test_archive_file_limit(tmp_path):
    extra = {f"text_embed/data/{i}.txt": "x" for i in range(1001)}
    report = lint_path(_zip(EXAMPLES / "text_embed", tmp_path / "many.zip", extra))
    assert not report.ok and "limit is 1000" in report.errors[0].message


def test_archive_path_escape(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        data = b"x = 1\n"
        info = tarfile.TarInfo("../escape.py")
        info.size = len(data)
        tf.addfile(info, io.BytesIO(data))
    target = tmp_path / "evil.tar.gz"
    target.write_bytes(buf.getvalue())
    report = lint_path(target)
    assert not report.ok and "outside" in report.errors[0].message


def test_cli_exit_status_and_json(tmp_path):
    runner = CliRunner()
    ok = runner.invoke(app, ["plugins", "lint", str(EXAMPLES / "text_embed")])
    assert ok.exit_code == 0, ok.output
    bad_folder = tmp_path / "bad"
    shutil.copytree(EXAMPLES / "text_embed", bad_folder)
    (bad_folder / "pipeline.py").write_text("import subprocess\n" + (bad_folder / "pipeline.py").read_text())
    bad = runner.invoke(app, ["plugins", "lint", str(bad_folder)])
    assert bad.exit_code == 1
    assert "pipeline.py:1: [error] SEC001" in bad.output
    as_json = runner.invoke(app, ["plugins", "lint", str(bad_folder), "--json"])
    doc = json.loads(as_json.output)
    assert doc["ok"] is False and any(f["file"] == "pipeline.py" and f["code"] == "SEC001" for f in doc["findings"])


def test_archive_size_limit(tmp_path, monkeypatch):
    import warehouse.extractors.tools.lint as lint

    archive = _zip(EXAMPLES / "text_embed", tmp_path / "big.zip", {"text_embed/weights.bin": b"\0" * 4096})
    assert lint.MAX_ARCHIVE_BYTES == 500 * 1024 * 1024
    monkeypatch.setattr(lint, "MAX_ARCHIVE_BYTES", 4096)  # the rule, not 500 MB of test data
    report = lint_path(archive)
    assert not report.ok and "uncompressed; the limit is" in report.errors[0].message
    assert lint.MAX_ARCHIVE_BYTES == 4096 and "500 MB" not in report.errors[0].message
    assert "load_hf_model" in report.errors[0].message


def test_folder_file_limit(tmp_path):
    folder = tmp_path / "text_embed"
    shutil.copytree(EXAMPLES / "text_embed", folder)
    (folder / "data").mkdir()
    for i in range(1001):
        (folder / "data" / f"{i}.txt").write_text("x")
    report = lint_path(folder)
    assert "ARC001" in {f.code for f in report.errors}
