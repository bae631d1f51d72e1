"""What a manifest's ``compute_profile`` becomes in Ray: the pool, the resources and the sizes of each
``map_batches`` (``map_stages``), for CPU, GPU and API plugins and for steps that choose their own type."""

from __future__ import annotations

from pathlib import Path

import pytest

from warehouse.batch.engine import StepGroupActor, map_stages, run_step_group, step_groups
from warehouse.extractors.loader import load_plugin
from warehouse.extractors.manifest import ManifestError

PIPELINE = '''
import pandas as pd
from shared.extractors.sdk import ResourceType, StepDefinition


class Embed:
    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        batch["probe_embedding"] = [[1.0, 0.0]] * len(batch)
        return batch


class Fetch:
    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return batch


def build_steps(extractor_request=None, container=None, **kwargs):
    steps = [Embed()]
    if extractor_request.parameters.get("fetch_first"):
        steps.insert(0, StepDefinition(service_class=Fetch, resource_type=ResourceType.API))
    return {"steps": steps, "prepare": None}
'''


def _plugin(tmp_path: Path, name: str, profile: dict) -> Path:
    folder = tmp_path / name
    folder.mkdir()
    (folder / "manifest.py").write_text(f'''
feature_extractor_name = "{name}"
version = "1.0.0"
features = [{{"feature_type": "embedding", "feature_name": "probe_embedding", "embedding_dim": 2}}]
compute_profile = {profile!r}
''')
    (folder / "pipeline.py").write_text(PIPELINE)
    return folder


def _stages(tmp_path, name, profile, parameters=None):
    ext = load_plugin(_plugin(tmp_path, name, profile))
    groups, _ = step_groups(ext, parameters or {})
    return map_stages(ext, groups, parameters or {}, threads=2)


def _resources(stage: dict) -> dict:
    return {k: stage[k] for k in ("num_cpus", "num_gpus", "memory") if k in stage}


def test_a_cpu_profile_runs_tasks_of_one_cpu_sized_by_the_profile(tmp_path):
    [stage] = _stages(tmp_path, "cpu_probe", {"resource_type": "cpu", "batch_size": 32, "max_concurrency": 3})
    assert stage["pool"] == "tasks" and stage["fn"] is run_step_group
    assert _resources(stage) == {"num_cpus": 1}
    assert (stage["batch_size"], stage["concurrency"]) == (32, 3)


def test_a_gpu_profile_runs_an_actor_pool_with_gpus_and_memory(tmp_path):
    [stage] = _stages(tmp_path, "gpu_probe", {"resource_type": "gpu", "batch_size": 16, "max_concurrency": 2,
                                              "actor_memory_gb": 4})
    assert stage["pool"] == "actors" and stage["fn"] is StepGroupActor
    assert _resources(stage) == {"num_gpus": 1, "num_cpus": 1, "memory": 4 * 2**30}
    assert stage["concurrency"] == 2 and stage["fn_constructor_kwargs"]["step_indexes"] == [0]
    [half] = _stages(tmp_path, "half_gpu", {"resource_type": "gpu", "num_gpus": 0.5})
    assert half["num_gpus"] == 0.5


def test_an_api_profile_overlaps_io_at_a_quarter_cpu(tmp_path):
    [stage] = _stages(tmp_path, "api_probe", {"resource_type": "api", "max_concurrency": 8})
    assert stage["pool"] == "tasks" and _resources(stage) == {"num_cpus": 0.25} and stage["concurrency"] == 8


def test_a_step_that_names_its_type_keeps_it_and_groups_split_where_types_change(tmp_path):
    api, gpu = _stages(tmp_path, "mixed_probe", {"resource_type": "gpu"}, {"fetch_first": True})
    assert (api["pool"], _resources(api)) == ("tasks", {"num_cpus": 0.25})
    assert (gpu["pool"], gpu["num_gpus"]) == ("actors", 1)
    assert api["fn_kwargs"]["last"] is False and gpu["fn_constructor_kwargs"]["last"] is True


@pytest.mark.parametrize("profile, message", [
    ({"resource_type": "tpu"}, "must be cpu, gpu or api"),
    ({"actor_memory_gb": "lots"}, "actor_memory_gb must be a number"),
    ({"gpus": 1}, "unknown key 'gpus'"),
])
def test_a_wrong_compute_profile_is_named(tmp_path, profile, message):
    with pytest.raises(ManifestError, match=message):
        load_plugin(_plugin(tmp_path, "bad_probe", profile))
