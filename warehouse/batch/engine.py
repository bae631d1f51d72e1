"""Running an extractor's steps over rows with Ray Data ``map_batches``.

Consecutive steps with the same resource type run in one ``map_batches``. The workers load the
plugin themselves, so a plugin's modules never need to be pickled. A step that raises on a batch
is retried row by row, so one bad object fails alone with its reason.

A step may *expand* its rows (``StepDefinition(expands=True)``: a PDF into pages, a recording into segments, a
video into scenes). Each row it returns names the input row it came from by keeping that row's ``document_id``;
the engine then numbers the parts, gives each a deterministic id of its own (the same input always yields the same
part ids, so a re-run upserts), and hands each part an exact fraction of its parent's share (``_share``), so the
runner knows when every part of an object is back — across any number of expanding steps and batch splits.

CPU and API steps run as Ray tasks whose worker processes keep the loaded steps (models included)
in a small per-process cache: Ray reuses idle workers, so the second batch of a collection finds
its model loaded instead of paying process start, imports and weight loading again (about 14 s
for MiniLM on a 2-core machine, more than the embedding of 150 abstracts). ``warm_workers``
fills that cache ahead of the first batch. GPU steps run in an actor pool instead, because Ray
retires a GPU task's worker after each call.
"""

from __future__ import annotations

import json
import logging
import math
import os
import socket
import threading
import time
import traceback
import uuid
from collections import OrderedDict
from collections.abc import Callable, Iterator
from fractions import Fraction
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from warehouse.extractors.loader import LoadedExtractor, load_plugin
from warehouse.extractors.models import configure_offline_models, configure_torch_threads
from warehouse.ids import document_id_from_uuid, uuid_from_document_id

log = logging.getLogger(__name__)
ERROR_COLUMN = "_error"
RETRY_COLUMN = "_batch_retry"
#: the exact fraction ("n/d") of its planned row that a part stands for; absent = the whole row
SHARE_COLUMN = "_share"
#: the planned row (document id) a part came from
ROOT_COLUMN = "_root_document_id"
#: the part's position under its planned row, "000003/000001/" for part 1 of part 3: sorts parts in order
PART_PATH_COLUMN = "_part_path"
#: why a part holds nothing to index (a page that could not be read): reported as skipped, the object goes on
SKIP_COLUMN = "_skip_reason"
_RAY_LOCK = threading.Lock()


def ensure_ray(address: str | None = None, num_cpus: int | None = None) -> None:
    """Connect to ``address`` or start a local Ray once per process (idempotent, any thread).

    A local Ray's head processes (GCS, raylet) are started with ``PR_SET_PDEATHSIG``, which the
    kernel ties to the *thread* that spawned them: started from a short-lived thread, they are
    killed when it ends, and the whole process with them. So the start happens in the main thread
    or in a dedicated thread that lives as long as the process.
    """
    # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
    import ray

    if ray.is_initialized():
        return
    if threading.current_thread() is threading.main_thread():
        _init_ray(address, num_cpus)
        return
    done: dict[str, Any] = {}
    ready = threading.Event()

    def owner() -> None:
        try:
            _init_ray(address, num_cpus)
        except BaseException as exc:  # noqa: BLE001 - re-raised in the caller's thread
            done["error"] = exc
        finally:
            ready.set()
        threading.Event().wait()  # never ends: Ray's head processes live as long as this thread

    threading.Thread(target=owner, name="ray-owner", daemon=True).start()
    ready.wait()
    if "error" in done:
        raise done["error"]


def _init_ray(address: str | None, num_cpus: int | None) -> None:
    # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
    import ray

    configure_offline_models()  # before the workers are forked: they inherit the HF environment
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
        else:
            # a new local Ray, never whatever cluster /tmp/ray/ray_current_cluster names (a head left by a killed
            # `ray start` would be joined, and refuse num_cpus)
            kwargs["address"] = "local"
            if num_cpus:
                kwargs["num_cpus"] = num_cpus
        ray.init(**kwargs)
        # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
        from ray.data import DataContext

        ctx = DataContext.get_current()
        ctx.enable_progress_bars = False
        ctx.print_on_execution_start = False


class StepGroup:
    """A group of a plugin's steps, loaded in the worker that runs them."""

    def __init__(self, plugin_path: str, builtin: bool, parameters: dict[str, Any],
                 step_indexes: list[int], vector_features: list[str], threads: int,
                 code_version: str | None = None, last: bool = True) -> None:
        configure_torch_threads(threads)
        ext = load_plugin(Path(plugin_path), builtin=builtin)
        if code_version is not None and ext.code_version != code_version:
            raise RuntimeError(
                f"extractor at {plugin_path} changed while the batch was starting (code version "
                f"{ext.code_version}, the batch planned {code_version}); submit the batch again"
            )
        steps, _ = ext.build_steps(parameters)
        self.steps = [steps[i] for i in step_indexes]
        self.vector_features = vector_features
        self.threads = threads
        self.last = last  # the last group drops the raw input; earlier groups pass it on

    def warm(self) -> None:
        for step in self.steps:
            step.warm()

    def _run_step(self, step, batch: pd.DataFrame) -> pd.DataFrame:
        n = len(batch)
        try:
            out = step(batch.copy())
            if getattr(step, "expands", False):
                return number_parts(step, batch, out)
            _check_rows(step, batch, out)
            return out
        except Exception as exc:  # noqa: BLE001 - isolated and reported per row below
            if n == 1:
                failed = batch.copy()
                failed[ERROR_COLUMN] = f"step {step.name} raised {type(exc).__name__}: {exc}"
                return failed
            log.info("step %s failed on a batch of %d rows (%s); retrying row by row", step.name, n, exc)
            parts = [self._run_step(step, batch.iloc[[i]].reset_index(drop=True)) for i in range(n)]
            out = pd.concat(parts, ignore_index=True)
            # Kept for the plugin test harness: a step that only works row by row is a bug.
            out[RETRY_COLUMN] = f"step {step.name} failed on a batch of {n} rows ({type(exc).__name__}: {exc})"
            return out

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
        return _arrow_friendly(batch, self.vector_features, drop_data=self.last)


def make_group(confined: bool = False, **kwargs: Any):
    """A :class:`StepGroup` in this process, or — for an uploaded plugin (``confined``) — the same steps in a
    child process that the kernel confines (:class:`warehouse.batch.confined.ConfinedSteps`)."""
    if confined:
        # lazy: warehouse.batch.confined imports this module
        from warehouse.batch.confined import ConfinedSteps

        return ConfinedSteps(**kwargs)
    return StepGroup(**kwargs)


class StepGroupActor:
    """The actor-pool form of a step group (GPU steps): set up once per actor."""

    def __init__(self, **kwargs: Any) -> None:
        self.group = make_group(**kwargs)
        self.group.warm()

    def __call__(self, batch: pd.DataFrame):
        return to_arrow(self.group(batch))


def to_arrow(frame: pd.DataFrame):
    """The result batch as an Arrow table, so Ray Data stores it as Arrow: its own pandas
    conversion gives up on list columns that mix vectors and None and pickles the block, which
    comes back malformed. A frame Arrow cannot hold (a plugin's custom objects) stays pandas."""

    try:
        return pa.Table.from_pandas(frame, preserve_index=False)
    except (pa.ArrowException, TypeError, ValueError):
        return frame


_GROUPS: OrderedDict[str, Any] = OrderedDict()
_GROUPS_LOCK = threading.Lock()
MAX_CACHED_GROUPS = 2  # per worker process; each may hold a model


def cached_group(**kwargs: Any):
    """This process's step group for ``kwargs`` (built and warmed on first use; see :func:`make_group`)."""

    key = json.dumps(kwargs, sort_keys=True, default=str)
    with _GROUPS_LOCK:
        group = _GROUPS.get(key)
        if group is None:
            group = make_group(**kwargs)
            group.warm()
            _GROUPS[key] = group
            while len(_GROUPS) > MAX_CACHED_GROUPS:
                _, evicted = _GROUPS.popitem(last=False)
                if hasattr(evicted, "close"):
                    evicted.close()
        _GROUPS.move_to_end(key)
    configure_torch_threads(group.threads)  # another group may have changed it in this process
    return group


def run_step_group(batch: pd.DataFrame, **kwargs: Any) -> pd.DataFrame:
    """Ray Data task UDF: run the cached step group of this worker process on ``batch``."""
    return to_arrow(cached_group(**kwargs)(batch))


WARM_HOLD_S = 1.0


def _warm_task(**kwargs: Any) -> int:
    cached_group(**kwargs)
    # Hold the worker a moment: a warm-up that returns at once frees its worker for the next warm-up
    # task, and the steps then land in one process while the batch runs on two.
    time.sleep(WARM_HOLD_S)
    return os.getpid()


def _check_rows(step, before: pd.DataFrame, after: Any) -> None:
    if not isinstance(after, pd.DataFrame):
        raise TypeError(f"returned {type(after).__name__}, expected a pandas DataFrame")
    if len(after) != len(before):
        raise ValueError(f"returned {len(after)} rows for {len(before)} input rows; a step must return the same rows")
    if "document_id" in after.columns and list(after["document_id"]) != list(before["document_id"]):
        raise ValueError("reordered or replaced rows (document_id changed); keep the input rows in order")


def number_parts(step, before: pd.DataFrame, after: Any) -> pd.DataFrame:
    """The rows an expanding step returned, each with its own deterministic ``document_id``, its part index, its
    share of the planned row and the planned row's id. Columns the step left out are copied from the input row.
    An input row the step returned nothing for comes back failed: an object must never vanish silently."""
    name = getattr(step, "name", type(step).__name__)
    if not isinstance(after, pd.DataFrame):
        raise TypeError(f"returned {type(after).__name__}, expected a pandas DataFrame")
    if "document_id" not in after.columns:
        raise ValueError("an expanding step must keep each part's input document_id (the column is missing)")
    position = {doc: i for i, doc in enumerate(before["document_id"])}
    parents = after["document_id"].map(position)
    if parents.isna().any():
        stray = after["document_id"][parents.isna()].iloc[0]
        raise ValueError(f"returned a row whose document_id {stray!r} is none of its input rows; an expanding step "
                         "keeps each part's input document_id, and the engine gives the part its own")
    after = after.assign(_parent=parents.astype(int).values).sort_values("_parent", kind="stable")
    after = after.reset_index(drop=True)
    for column in before.columns:
        if column not in after.columns:
            after[column] = before[column].iloc[after["_parent"]].values
    index = after.groupby("_parent").cumcount().to_numpy()
    counts = after["_parent"].map(after["_parent"].value_counts()).to_numpy()
    shares = list(before[SHARE_COLUMN]) if SHARE_COLUMN in before.columns else [None] * len(before)
    roots = list(before[ROOT_COLUMN]) if ROOT_COLUMN in before.columns else [None] * len(before)
    paths = list(before[PART_PATH_COLUMN]) if PART_PATH_COLUMN in before.columns else [None] * len(before)
    ids, part_shares, part_roots, part_paths = [], [], [], []
    for parent, k, n in zip(after["_parent"], index, counts, strict=True):
        parent_id = before["document_id"].iloc[parent]
        ids.append(document_id_from_uuid(uuid.uuid5(uuid_from_document_id(parent_id), f"part:{k}")))
        part_shares.append(str(share_of(shares[parent]) / int(n)))
        part_roots.append(roots[parent] if isinstance(roots[parent], str) else parent_id)
        part_paths.append(f"{paths[parent] if isinstance(paths[parent], str) else ''}{k:06d}/")
    after["document_id"] = ids
    after[SHARE_COLUMN], after[ROOT_COLUMN], after[PART_PATH_COLUMN] = part_shares, part_roots, part_paths
    after["part_index"] = index.astype(int)
    missing = sorted(set(range(len(before))) - set(after["_parent"]))
    after = after.drop(columns="_parent")
    if missing:
        lost = before.iloc[missing].copy()
        lost[ERROR_COLUMN] = (f"step {name} returned no rows for this input; an expanding step returns at least one "
                              "row per input (set _error on it to fail the object with a reason)")
        after = pd.concat([after, lost], ignore_index=True)
    return after


def share_of(value: Any) -> Fraction:
    """A row's share of its planned row (see :data:`SHARE_COLUMN`): 1 unless a step expanded it."""
    if isinstance(value, str) and value:
        return Fraction(value)
    return Fraction(1)


def _arrow_friendly(batch: pd.DataFrame, vector_features: list[str], drop_data: bool = True) -> pd.DataFrame:
    """Vectors as plain float lists (or None) so Arrow serialises any mix of present/missing."""
    if drop_data:
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


def _blocks(frame: pd.DataFrame, batch_size: int, concurrency: int) -> list[pd.DataFrame]:
    """Split ``frame`` into whole batches: several blocks let several actors work at once and let
    results stream back early, and a block that is a multiple of ``batch_size`` never leaves a
    small remainder batch behind each block."""
    batch_size = max(1, batch_size)
    n_batches = math.ceil(len(frame) / batch_size)
    per_block = math.ceil(n_batches / max(1, min(n_batches, concurrency * 8))) * batch_size
    return [frame.iloc[a:a + per_block] for a in range(0, len(frame), per_block)]


def _resources(kind: str, compute_profile: dict[str, Any] | None = None) -> dict[str, Any]:
    """The Ray resources one worker of a step group asks for: a GPU step a GPU (``num_gpus``, default 1) and a CPU,
    a CPU step a CPU, an API step a quarter of one (its work is waiting on I/O: four run per core); plus
    ``actor_memory_gb`` as Ray's ``memory`` when the manifest sets it."""
    profile = compute_profile or {}
    if kind == "gpu":
        out: dict[str, Any] = {"num_gpus": profile.get("num_gpus", 1), "num_cpus": 1}
    elif kind == "api":
        out = {"num_cpus": 0.25}
    else:
        out = {"num_cpus": 1}
    if profile.get("actor_memory_gb"):
        out["memory"] = int(float(profile["actor_memory_gb"]) * 2**30)
    return out


def step_kinds(ext: LoadedExtractor, steps: list[Any]) -> list[str]:
    """Each step's resource type: its own when the plugin set one (a StepDefinition), else the manifest's
    ``compute_profile.resource_type`` (a bare callable in a GPU plugin runs on a GPU)."""
    default = ext.spec.resource_type
    return [step.resource_type.value if getattr(step, "explicit", True) else default for step in steps]


def _threads(ext: LoadedExtractor) -> int:
    # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
    import ray

    cpus = int(ray.cluster_resources().get("CPU", os.cpu_count() or 1))
    return max(1, cpus // max(1, ext.spec.max_concurrency))


def _group_kwargs(ext: LoadedExtractor, parameters: dict[str, Any], indexes: list[int], kind: str,
                  threads: int, last: bool = True, models_dir: Path | None = None,
                  outbound: dict[str, Any] | None = None) -> dict[str, Any]:
    kwargs = {
        "plugin_path": str(ext.path),
        "builtin": ext.builtin,
        "parameters": parameters,
        "step_indexes": indexes,
        "vector_features": [f.feature_name for f in ext.spec.vector_features],
        "threads": 1 if kind == "api" else threads,
        "last": last,
        "code_version": ext.code_version,
    }
    if ext.confined:  # uploaded over the API: its code runs behind the wall, reaching only what it declared
        kwargs.update(confined=True, allowed_hosts=ext.spec.allowed_hosts, outbound=outbound,
                      models_dir=str(models_dir) if models_dir else None)
    return kwargs


def warm_workers(ext: LoadedExtractor, parameters: dict[str, Any] | None = None) -> list[int]:
    """Load ``ext``'s CPU/API steps into idle Ray workers ahead of its first batch.

    One warm-up task per worker the batch may use, all at once so they land on distinct
    processes. Returns the worker pids (empty when the extractor has only GPU steps).
    """
    # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
    import ray

    parameters = {**ext.spec.parameter_defaults, **(parameters or {})}
    groups, _ = step_groups(ext, parameters)
    threads = _threads(ext)
    cpus = int(ray.cluster_resources().get("CPU", 1))
    refs = []
    for position, (kind, indexes) in enumerate(groups):
        if kind == "gpu":
            continue
        task = ray.remote(_warm_task).options(**_resources(kind, ext.spec.compute_profile))
        kwargs = _group_kwargs(ext, parameters, indexes, kind, threads, last=position == len(groups) - 1)
        refs += [task.remote(**kwargs) for _ in range(max(1, cpus))]
    return sorted(set(ray.get(refs)))


def step_groups(ext: LoadedExtractor, parameters: dict[str, Any]) -> tuple[list[tuple[str, list[int]]], Any]:
    """Indexes of consecutive steps sharing a resource type, and the plugin's prepare hook. An uploaded plugin
    is asked in its sandbox (its code never runs here); its prepare hook must leave the dataset as it is."""
    if ext.confined:
        # lazy: warehouse.batch.confined imports this module
        from warehouse.batch.confined import describe

        described = describe(str(ext.path), parameters)
        if described["prepare"] == "custom":
            raise ValueError(f"{ext.spec.ref}: build_steps returns a prepare hook that changes the dataset; an "
                             "uploaded plugin's prepare would run outside its sandbox, so it must be None or "
                             "lambda ds: ds (do the work in a step)")
        kinds, prepare = described["kinds"], None
    else:
        steps, prepare = ext.build_steps(parameters)
        kinds = step_kinds(ext, steps)
    groups: list[tuple[str, list[int]]] = []
    for i, kind in enumerate(kinds):
        if groups and groups[-1][0] == kind:
            groups[-1][1].append(i)
        else:
            groups.append((kind, [i]))
    return groups, prepare


def map_stages(ext: LoadedExtractor, groups: list[tuple[str, list[int]]], parameters: dict[str, Any], threads: int,
               models_dir: Path | None = None, outbound: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The ``map_batches`` of each step group, as data: what ``compute_profile`` becomes in Ray.

    GPU groups run in an actor pool (``pool: "actors"``: the model stays on the device between batches) with
    ``num_gpus``; CPU and API groups run as tasks on warm workers, API ones at a quarter CPU each so I/O-bound
    calls overlap; ``max_concurrency`` sizes the pool, ``batch_size`` the batches, ``actor_memory_gb`` the memory.
    """
    spec = ext.spec
    stages = []
    for position, (kind, indexes) in enumerate(groups):
        group_kwargs = _group_kwargs(ext, parameters, indexes, kind, threads, last=position == len(groups) - 1,
                                     models_dir=models_dir, outbound=outbound)
        stage: dict[str, Any] = {"batch_size": spec.batch_size, "concurrency": max(1, spec.max_concurrency),
                                 **_resources(kind, spec.compute_profile)}
        if kind == "gpu":
            stage.update(fn=StepGroupActor, fn_constructor_kwargs=group_kwargs, pool="actors")
        else:
            stage.update(fn=run_step_group, fn_kwargs=group_kwargs, pool="tasks")
        stages.append(stage)
    return stages


def run_pipeline(
    ext: LoadedExtractor,
    frame: pd.DataFrame,
    parameters: dict[str, Any],
    cancelled: threading.Event | None = None,
    models_dir: Path | None = None,
    outbound: dict[str, Any] | None = None,
) -> Iterator[pd.DataFrame]:
    """Stream result batches of ``ext``'s steps over ``frame`` (a Ray Data job). ``models_dir``: the weights
    ``load_namespace_model`` reads, which a sandboxed (uploaded) plugin may read too.

    Yields DataFrames carrying every input column but ``data``, the feature columns, and
    ``_error`` (None, or why the row failed).
    """
    # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
    import ray

    if frame.empty:
        return
    spec = ext.spec
    batch_size = spec.batch_size
    concurrency = max(1, spec.max_concurrency)
    threads = _threads(ext)
    groups, prepare = step_groups(ext, parameters)
    blocks = _blocks(frame, batch_size, concurrency)
    ds = ray.data.from_pandas(blocks)
    if callable(prepare):
        ds = prepare(ds)
    for stage in map_stages(ext, groups, parameters, threads, models_dir, outbound):
        pool = stage.pop("pool")
        strategy = ray.data.ActorPoolStrategy if pool == "actors" else ray.data.TaskPoolStrategy
        ds = ds.map_batches(batch_format="pandas", compute=strategy(size=stage.pop("concurrency")), **stage)
    for out in ds.iter_batches(batch_size=None, batch_format="pandas"):
        if cancelled is not None and cancelled.is_set():
            break
        yield out


def describe_exception(exc: BaseException) -> str:
    return "".join(traceback.format_exception_only(type(exc), exc)).strip()


def watch_ray(on_dead: Callable[[str], None], stop: threading.Event, interval: float = 2.0) -> threading.Thread:
    """Call ``on_dead(reason)`` once if this driver's raylet is gone — a Ray Data job whose raylet died hangs
    instead of failing. The check connects to the raylet's unix socket every ``interval`` seconds until ``stop`` is
    set: no Ray RPC, which after a head restart can abort the process (Ray 2.60: ``WrongClusterID``)."""
    # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
    import ray

    path = ray._private.worker.global_worker.node.raylet_socket_name

    def gone() -> str | None:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as probe:
            probe.settimeout(5)
            try:
                probe.connect(path)
            except OSError as exc:
                return f"the Ray node this run used is gone (its raylet does not answer: {exc.strerror or exc})"
        return None

    def loop() -> None:
        while not stop.wait(interval):
            reason = gone()
            if reason is not None:
                on_dead(reason)
                return

    thread = threading.Thread(target=loop, name="ray-watchdog", daemon=True)
    thread.start()
    return thread
