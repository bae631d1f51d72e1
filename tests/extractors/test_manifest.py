"""Manifest validation and plugin loading (both manifest shapes, Mixpeek import aliases)."""

from pathlib import Path

import pandas as pd
import pytest

from warehouse.extractors.loader import PluginLoadError, load_plugin
from warehouse.extractors.manifest import ManifestError, normalize_version, spec_from_namespace
from warehouse.extractors.registry import ExtractorRegistry

FIXTURES = Path(__file__).parent.parent / "fixtures" / "plugins"
EXAMPLES = Path(__file__).parent.parent.parent / "examples" / "extractors"


def test_wrong_feature_keys_name_the_right_ones():
    with pytest.raises(ManifestError) as info:
        load_plugin(FIXTURES / "wrong_keys")
    text = str(info.value)
    for wrong, right in [("name", "feature_name"), ("type", "feature_type"), ("dimensions", "embedding_dim"),
                         ("distance", "distance_metric")]:
        assert f"uses key '{wrong}'; the key is '{right}'" in text
    assert all(i.file.endswith("manifest.py") and i.line == 3 for i in info.value.issues)


def test_registry_reports_but_skips_a_broken_plugin(tmp_path):
    import shutil

    shutil.copytree(FIXTURES / "wrong_keys", tmp_path / "wrong_keys")
    shutil.copytree(EXAMPLES / "text_embed", tmp_path / "text_embed")
    reg = ExtractorRegistry([tmp_path])
    assert {e.spec.ref for e in reg.all()} == {
        "text_extractor@v1", "image_extractor@v1", "document_extractor@v1", "audio_extractor@v1",
        "video_extractor@v1", "text_embed@1.0.0"}
    assert "embedding_dim" in reg.errors[str(tmp_path / "wrong_keys")]


@pytest.mark.parametrize("raw,expected", [("v1", "1.0.0"), ("1", "1.0.0"), ("1.0", "1.0.0"), ("2.1.3", "2.1.3"),
                                          ("v2.1", "2.1.0")])
def test_version_normalisation(raw, expected):
    assert normalize_version(raw) == expected


def test_builtins_keep_their_v_spelling():
    assert normalize_version("v1", keep_v=True) == "v1"
    assert normalize_version("1.0", keep_v=True) == "1.0.0"


def test_bad_distance_and_dim():
    ns = {"feature_extractor_name": "x", "version": "1.0.0",
          "features": [{"feature_type": "embedding", "feature_name": "v", "embedding_dim": 0, "distance_metric": "cosine"},
                       {"feature_type": "embedding", "feature_name": "w", "embedding_dim": 4, "distance_metric": "hamming"}]}
    with pytest.raises(ManifestError) as info:
        spec_from_namespace(ns)
    assert "positive integer 'embedding_dim'" in str(info.value) and "hamming" in str(info.value)


def test_mixpeek_import_paths_load(tmp_path):
    plugin = tmp_path / "compat_plugin"
    (plugin / "processors").mkdir(parents=True)
    (plugin / "manifest.py").write_text(
        "from shared.extractors.sdk import ExtractorManifest, Feature\n"
        "metadata = {'feature_extractor_name': 'compat_plugin', 'version': 'v2', 'inference_type': 'embedding'}\n"
        "features = [Feature.embedding('compat_vec', dim=3).as_dict()]\n")
    (plugin / "processors" / "__init__.py").write_text("")
    (plugin / "processors" / "core.py").write_text(
        "from shared.plugins import BatchProcessor\n"
        "class Core(BatchProcessor):\n"
        "    def process(self, batch):\n"
        "        batch['compat_vec'] = [[1.0, 0.0, float(len(t))] for t in batch['data']]\n"
        "        return batch\n")
    (plugin / "pipeline.py").write_text(
        "from engine.plugins.extractors.pipeline import PipelineDefinition, StepDefinition, ResourceType, RowCondition, build_pipeline_steps\n"
        "from .processors.core import Core\n"
        "def build_steps(extractor_request, container=None, **kwargs):\n"
        "    p = PipelineDefinition(name='compat_plugin', version='v2', steps=[StepDefinition(service_class=Core, "
        "resource_type=ResourceType.CPU, condition=RowCondition.IS_TEXT)])\n"
        "    return {'steps': build_pipeline_steps(p)}\n")
    ext = load_plugin(plugin)
    assert ext.spec.ref == "compat_plugin@2.0.0" and ext.spec.vector_features[0].embedding_dim == 3
    steps, _ = ext.build_steps()
    out = steps[0](pd.DataFrame({"data": ["ab", "http://x"], "mime_type": ["text/plain", "image/png"], "blob_type": ["text", "image"]}))
    assert out["compat_vec"].tolist() == [[1.0, 0.0, 2.0], None]


def test_missing_pipeline_is_a_load_error(tmp_path):
    (tmp_path / "p").mkdir()
    (tmp_path / "p" / "manifest.py").write_text("feature_extractor_name='p'\nversion='1'\nfeatures=[]\n")
    with pytest.raises(PluginLoadError, match="no pipeline.py"):
        load_plugin(tmp_path / "p")
