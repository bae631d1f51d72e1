"""The batch engine on the session's Ray: warm workers are reused across batches."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest

from tests.conftest import FIXTURES
from warehouse.batch.engine import ERROR_COLUMN, run_pipeline, warm_workers
from warehouse.extractors.loader import load_plugin

pytestmark = pytest.mark.ray


def _frame(n: int) -> pd.DataFrame:
    return pd.DataFrame({"document_id": [f"d{i}" for i in range(n)], "object_id": [f"o{i}" for i in range(n)],
                         "data": [f"text {i}" for i in range(n)]})


def _run(ext, frame) -> pd.DataFrame:
    return pd.concat(list(run_pipeline(ext, frame, {})), ignore_index=True)


def test_warm_workers_hold_the_steps_for_later_batches(ray_session):
    ext = load_plugin(FIXTURES / "plugins" / "pid_probe")
    pids = warm_workers(ext)
    assert pids, "warming loads the steps into at least one worker"
    for _ in range(2):  # two separate Ray Data jobs
        out = _run(ext, _frame(10))
        assert len(out) == 10 and out[ERROR_COLUMN].isna().all()
        assert set(out["worker_pid"]) <= set(pids), "the batch ran on a worker that had not been warmed"
        assert set(out["setups_in_worker"]) == {1}, "setup ran again in a warm worker"


def test_edited_plugin_is_not_served_from_the_warm_cache(ray_session, tmp_path):
    folder = tmp_path / "pid_probe"
    shutil.copytree(FIXTURES / "plugins" / "pid_probe", folder)
    before = load_plugin(folder)
    warm_workers(before)
    source = (folder / "pipeline.py").read_text().replace("[1.0, 0.0, 0.0,", "[0.0, 1.0, 0.0,")
    (folder / "pipeline.py").write_text(source)
    after = load_plugin(folder)
    assert after.code_version != before.code_version
    out = _run(after, _frame(3))
    assert all(v[1] == 1.0 for v in out["probe_vec"]), "the old code ran after the plugin changed"
