"""Running an extractor's steps over rows with Ray Data ``map_batches``.

Consecutive steps with the same resource type run in one actor pool (one ``map_batches``); the
actors load the plugin themselves, so a plugin's modules never need to be pickled. A step that
raises on a batch is retried row by row, so one bad object fails alone with its reason.
"""

from __future__ import annotations

import logging
import math
import os
import threading
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from warehouse.extractors.loader import LoadedExtractor, load_plugin

log = logging.getLogger(__name__)
ERROR_COLUMN = "_error"
_RAY_LOCK = threading.Lock()


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to ``address`` or start a local Ray once per process (idempotent)."""
    import ray

    with _RAY_LOCK:
        if ray.is_initialized():
            return
        kwargs: dict[str, Any] = {
            "include_dashboard": False,
            "ignore_reinit_error": True,
            "logging_level": logging.WARNING,
            "log_to_driver": True,
        }
        if address:
            kwargs["address"] = address
        elif num_cpus:
            kwargs["num_cpus"] = num_cpus
        ray.init(**kwargs)
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False


class StepGroupActor:
    """A Ray Data actor running a group of a plugin's steps on each batch."""

    def __init__(self, plugin_path: str, builtin: bool, parameters: dict[str, Any],
                 step_indexes: list[int], vector_features: list[str], threads: int) -> None:
        from warehouse.extractors.models import configure_torch_threads

        configure_torch_threads(threads)
        ext = load_plugin(Path(plugin_path), builtin=builtin)
        steps, _ = ext.build_steps(parameters)
        self.steps = [steps[i] for i in step_indexes]
        self.vector_features = vector_features

    def _run_step(self, step, batch: pd.DataFrame) -> pd.DataFrame:
        n = len(batch)
        try:
            out = step(batch.copy())
            _check_rows(step, batch, out)
            return out
        except Exception as exc:  # noqa: BLE001 - isolated and reported per row below
            if n == 1:
                failed = batch.copy()
                failed[ERROR_COLUMN] = f"step {step.name} raised {type(exc).__name__}: {exc}"
                return failed
            log.info("step %s failed on a batch of %d rows (%s); retrying row by row", step.name, n, exc)
            parts = [self._run_step(step, batch.iloc[[i]].reset_index(drop=True)) for i in range(n)]
            return pd.concat(parts, ignore_index=True)

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if ERROR_COLUMN not in batch.columns:
            batch[ERROR_COLUMN] = None
        for step in self.steps:
            ok = batch[ERROR_COLUMN].isna()
            if not ok.any():
                break
            good = batch[ok].reset_index(drop=True)
            done = self._run_step(step, good)
            batch = pd.concat([done, batch[~ok]], ignore_index=True)
        return _arrow_friendly(batch, self.vector_features)


def _check_rows(step, before: pd.DataFrame, after: Any) -> None:
    if not isinstance(after, pd.DataFrame):
        raise TypeError(f"returned {type(after).__name__}, expected a pandas DataFrame")
    if len(after) != len(before):
        raise ValueError(f"returned {len(after)} rows for {len(before)} input rows; a step must return the same rows")
    if "document_id" in after.columns and list(after["document_id"]) != list(before["document_id"]):
        raise ValueError("reordered or replaced rows (document_id changed); keep the input rows in order")


def _arrow_friendly(batch: pd.DataFrame, vector_features: list[str]) -> pd.DataFrame:
    """Vectors as plain float lists (or None) so Arrow serialises any mix of present/missing."""
    batch = batch.drop(columns=["data"], errors="ignore")
    for name in vector_features:
        if name in batch.columns:
            batch[name] = [_as_list(v) for v in batch[name]]
    return batch


def _as_list(value: Any) -> list[float] | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    if isinstance(value, np.ndarray):
        return value.astype(np.float32).tolist()
    if isinstance(value, list | tuple):
        return [float(x) for x in value]
    return value


def step_groups(ext: LoadedExtractor, parameters: dict[str, Any]) -> tuple[list[tuple[str, list[int]]], Any]:
    """Indexes of consecutive steps sharing a resource type, and the plugin's prepare hook."""
    steps, prepare = ext.build_steps(parameters)
    groups: list[tuple[str, list[int]]] = []
    for i, step in enumerate(steps):
        kind = step.resource_type.value
        if groups and groups[-1][0] == kind:
            groups[-1][1].append(i)
        else:
            groups.append((kind, [i]))
    return groups, prepare


def run_pipeline(
    ext: LoadedExtractor,
    frame: pd.DataFrame,
    parameters: dict[str, Any],
    cancelled: threading.Event | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream result batches of ``ext``'s steps over ``frame`` (a Ray Data job).

    Yields DataFrames carrying every input column but ``data``, the feature columns, and
    ``_error`` (None, or why the row failed).
    """
    import ray

    if frame.empty:
        return
    spec = ext.spec
    batch_size = spec.batch_size
    concurrency = max(1, spec.max_concurrency)
    cpus = int(ray.cluster_resources().get("CPU", os.cpu_count() or 1))
    threads = max(1, cpus // concurrency)
    groups, prepare = step_groups(ext, parameters)
    # Several blocks let several actors work at once, and let results stream back early.
    n_blocks = max(1, min(len(frame) // max(batch_size, 1), concurrency * 8))
    bounds = np.linspace(0, len(frame), n_blocks + 1).astype(int)
    blocks = [frame.iloc[a:b] for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]
    ds = ray.data.from_pandas(blocks)
    if callable(prepare):
        ds = prepare(ds)
    vector_features = [f.feature_name for f in spec.vector_features]
    for kind, indexes in groups:
        resources: dict[str, Any] = {"num_cpus": 1}
        if kind == "gpu":
            resources = {"num_gpus": 1, "num_cpus": 1}
        elif kind == "api":
            resources = {"num_cpus": 0.25}
        ds = ds.map_batches(
            StepGroupActor,
            fn_constructor_kwargs={
                "plugin_path": str(ext.path),
                "builtin": ext.builtin,
                "parameters": parameters,
                "step_indexes": indexes,
                "vector_features": vector_features,
                "threads": 1 if kind == "api" else threads,
            },
            batch_size=batch_size,
            batch_format="pandas",
            compute=ray.data.ActorPoolStrategy(size=concurrency),
            **resources,
        )
    for out in ds.iter_batches(batch_size=None, batch_format="pandas"):
        if cancelled is not None and cancelled.is_set():
            break
        yield out


def describe_exception(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()
