"""Batch steps of uploaded plugins, run in a confined child process (:mod:`warehouse.extractors.sandbox`).

A Ray worker that runs an uploaded plugin's step group does not import the plugin: it starts ``python -m
warehouse.batch.confined``, which confines itself (Landlock) before it loads the plugin, and talks to it over a
pipe — a JSON command frame, then Arrow IPC frames for the rows in and the rows out. Pickle never crosses the
wall: unpickling what plugin code wrote would run code in the unconfined worker. The child lives as long as the
worker keeps the step group cached, so models load once per worker, as for built-ins.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Any

from warehouse.batch.engine import ERROR_COLUMN, StepGroup, step_kinds, to_arrow
from warehouse.extractors.helpers import download_asset
from warehouse.extractors.loader import load_plugin
from warehouse.extractors.sandbox import (
    ConfinedChild,
    Policy,
    SandboxError,
    arrow_to_frame,
    enter,
    frame_to_arrow,
    last_frame,
    read_frame,
    start_child,
    stderr_tail,
    write_frame,
)


class ConfinedSteps(ConfinedChild):
    """A step group of an uploaded plugin, run by a confined child that lives as long as this object;
    ``__call__(batch)`` returns what :class:`StepGroup` would, computed behind the wall."""

    def __init__(self, allowed_hosts: list[str] | None = None, outbound: dict[str, Any] | None = None,
                 models_dir: str | None = None, **group_kwargs: Any) -> None:
        # TCP leaves only through the egress proxy (its declared hosts) and the LLM relay (which holds the key)
        super().__init__(allowed_hosts, outbound)
        self._policy = Policy.for_plugin(Path(group_kwargs["plugin_path"]), self.scratch, self._gates.ports,
                                         models_dir)
        self._group = group_kwargs
        self.threads = int(group_kwargs.get("threads") or 1)
        self._spawn()

    def _spawn(self) -> None:
        self._proc = start_child("warehouse.batch.confined", {"policy": asdict(self._policy), "group": self._group},
                                 self.scratch, threads=self.threads, extra_env=self._gates.env)
        self._ready()

    def warm(self) -> None:
        with self._lock:
            write_frame(self._proc.stdin, json.dumps({"op": "warm"}).encode())
            answer = self._receive()
        if answer.get("error"):
            raise SandboxError(answer["error"])

    def _stage_blobs(self, batch):
        """Binary blobs cross the wall as files: the host fetches each blob URL (the object store, or an https URL
        that passes the outbound check) into the child's scratch folder and the row's ``data`` names that copy, so
        plugins keep reading ``data`` as a URL (``open_asset``) while the store itself stays out of reach. A blob
        that cannot be fetched fails its row with the reason."""
        if "data" not in batch.columns:
            return batch, [], {}
        inbox = self.scratch / "blobs"
        inbox.mkdir(exist_ok=True)
        staged, failed, data = [], {}, list(batch["data"])
        for i, value in enumerate(data):
            if not isinstance(value, str) or not value.startswith(("file://", "s3://", "http://", "https://")):
                continue
            try:
                local, temporary = download_asset(value)
            except Exception as exc:  # noqa: BLE001 - that row fails with the reason, the batch goes on
                failed[i] = f"the blob {value} could not be fetched for the sandboxed plugin: {exc}"
                continue
            target = inbox / f"{len(staged)}-{Path(local).name}"
            if temporary:
                shutil.move(local, target)
            else:  # a copy, never a link: the child may write its scratch folder, and must not reach the store's file
                shutil.copyfile(local, target)
            staged.append(target)
            data[i] = target.as_uri()
        batch = batch.copy()
        batch["data"] = data
        return batch, staged, failed

    def __call__(self, batch):
        with self._lock:
            if self._proc.poll() is not None:  # the last batch killed it: a fresh child for this one
                self._spawn()
            batch, staged, unfetched = self._stage_blobs(batch)
            try:
                return self._run(batch, unfetched)
            finally:
                for path in staged:
                    path.unlink(missing_ok=True)

    def _run(self, batch, unfetched: dict[int, str]):
        if unfetched:
            batch = batch.copy()
            errors = list(batch[ERROR_COLUMN]) if ERROR_COLUMN in batch.columns else [None] * len(batch)
            for i, reason in unfetched.items():
                errors[i] = reason
            batch[ERROR_COLUMN] = errors
        try:
            write_frame(self._proc.stdin, json.dumps({"op": "run"}).encode())
            write_frame(self._proc.stdin, frame_to_arrow(batch))
            answer = self._receive()
            data = None if answer.get("error") else read_frame(self._proc.stdout)
        except (SandboxError, OSError) as exc:
            # the plugin's process died on this batch (os._exit, a crash, the OOM killer): these rows fail
            # with the reason, the batch goes on, and the next call starts a new child
            self._proc.kill()
            return self._failed(batch, f"the plugin's sandboxed process died on this batch: {exc}")
        if answer.get("error"):
            raise RuntimeError(answer["error"])
        if data is None:
            return self._failed(batch, "the plugin's sandboxed process exited mid-batch")
        return arrow_to_frame(data)

    def _failed(self, batch, reason: str):
        failed = batch.copy()
        failed[ERROR_COLUMN] = reason
        return failed.drop(columns=["data"]) if self._group.get("last", True) else failed


_DESCRIBED: dict[tuple[str, str], dict[str, Any]] = {}


def describe(plugin_path: str, parameters: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    """What the host needs to plan an uploaded plugin's batch without running its code: the resource type of
    each step (``{"kinds": [...]}``) and whether its ``prepare`` hook leaves the dataset as it is.

    Asked once per plugin folder and parameters in this process (a folder holds one code version: its name carries
    the code hash), not once per batch: each answer costs a sandboxed child's start."""
    key = (plugin_path, json.dumps(parameters, sort_keys=True, default=str))
    if key in _DESCRIBED:
        return _DESCRIBED[key]
    with tempfile.TemporaryDirectory(prefix="wh-sbx-") as tmp:
        scratch = Path(tmp)
        policy = Policy.for_plugin(Path(plugin_path), scratch)
        proc = start_child("warehouse.batch.confined", {"policy": asdict(policy), "describe": {
            "plugin_path": plugin_path, "parameters": parameters}}, scratch)
        try:
            out, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.communicate()
            raise SandboxError(f"build_steps of {plugin_path} did not return in {timeout:g} s") from None
        try:
            answer = json.loads(last_frame(out))
        except (ValueError, SandboxError):
            raise SandboxError(f"the confined plugin process exited ({proc.returncode}): "
                               f"{stderr_tail(scratch)}") from None
    if answer.get("error"):
        raise SandboxError(f"build_steps failed in the sandbox: {answer['error']}")
    _DESCRIBED[key] = answer
    return answer


class _Probe:
    """Stands in for the Ray Dataset a ``prepare`` hook receives: it tells whether the hook returns it as is."""


def _describe(request: dict[str, Any]) -> dict[str, Any]:
    ext = load_plugin(Path(request["plugin_path"]))
    steps, prepare = ext.build_steps(request["parameters"])
    outcome = "none"
    if callable(prepare):
        probe = _Probe()
        try:
            outcome = "identity" if prepare(probe) is probe else "custom"
        except Exception:  # noqa: BLE001 - it used the dataset: it transforms it
            outcome = "custom"
    return {"kinds": step_kinds(ext, steps), "prepare": outcome}


def _error(exc: BaseException) -> bytes:
    return json.dumps({"error": f"{type(exc).__name__}: {exc}"}).encode()


def serve() -> None:
    """The child: confine, load the step group, then answer ``warm`` and ``run`` commands until stdin closes."""
    request, stdin, stdout = enter()
    if "describe" in request:
        try:
            write_frame(stdout, json.dumps(_describe(request["describe"])).encode())
        except Exception as exc:  # noqa: BLE001 - reported to the host
            write_frame(stdout, _error(exc))
        return
    try:
        group = StepGroup(**request["group"])
    except Exception as exc:  # noqa: BLE001 - reported to the host, which fails the batch with it
        write_frame(stdout, _error(exc))
        return
    write_frame(stdout, json.dumps({"ready": True}).encode())
    while (command := read_frame(stdin)) is not None:
        if json.loads(command)["op"] == "warm":
            try:
                group.warm()
            except Exception as exc:  # noqa: BLE001
                write_frame(stdout, _error(exc))
                continue
            write_frame(stdout, json.dumps({"ok": True}).encode())
            continue
        batch = arrow_to_frame(read_frame(stdin))
        try:
            result = frame_to_arrow(to_arrow(group(batch)))
        except Exception as exc:  # noqa: BLE001 - the host fails the rows with this message
            write_frame(stdout, _error(exc))
            continue
        write_frame(stdout, json.dumps({"ok": True}).encode())
        write_frame(stdout, result)


if __name__ == "__main__":
    serve()
