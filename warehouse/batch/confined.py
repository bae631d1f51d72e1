"""Batch steps of uploaded plugins, run in a confined child process (:mod:`warehouse.extractors.sandbox`).

A Ray worker that runs an uploaded plugin's step group does not import the plugin: it starts ``python -m
warehouse.batch.confined``, which confines itself (Landlock) before it loads the plugin, and talks to it over a
pipe — a JSON command frame, then Arrow IPC frames for the rows in and the rows out. Pickle never crosses the
wall: unpickling what plugin code wrote would run code in the unconfined worker. The child lives as long as the
worker keeps the step group cached, so models load once per worker, as for built-ins.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
import threading
from dataclasses import asdict
from pathlib import Path
from typing import Any

from warehouse.batch.engine import StepGroup, step_kinds, to_arrow
from warehouse.extractors.loader import load_plugin
from warehouse.settings import Settings
from warehouse.extractors.sandbox import (
    Policy,
    SandboxError,
    arrow_to_frame,
    enter,
    llm_relay,
    frame_to_arrow,
    read_frame,
    start_child,
    stderr_tail,
    write_frame,
)


class ConfinedSteps:
    """A step group of an uploaded plugin, run by a confined child that lives as long as this object;
    ``__call__(batch)`` returns what :class:`StepGroup` would, computed behind the wall."""

    def __init__(self, connect_ports: list[int] | None = None, models_dir: str | None = None,
                 **group_kwargs: Any) -> None:
        self._scratch = tempfile.TemporaryDirectory(prefix="wh-sbx-")
        scratch = Path(self._scratch.name)
        # container.llm reaches the operator's endpoint through a relay that holds the key
        self._relay, llm_env = llm_relay(Settings())
        ports = [*(connect_ports or []), *([self._relay.port] if self._relay else [])]
        policy = Policy.for_plugin(Path(group_kwargs["plugin_path"]), scratch, ports, models_dir)
        self._lock = threading.Lock()
        self.threads = int(group_kwargs.get("threads") or 1)
        self._proc = start_child("warehouse.batch.confined", {"policy": asdict(policy), "group": group_kwargs}, scratch,
                                 threads=self.threads, extra_env=llm_env)
        ready = self._receive()
        if ready.get("error"):
            self.close()
            raise SandboxError(f"the plugin could not start in its sandbox: {ready['error']}")

    def _receive(self) -> dict[str, Any]:
        frame = read_frame(self._proc.stdout)
        if frame is None:
            self._proc.wait(timeout=5)
            tail = stderr_tail(Path(self._scratch.name))
            raise SandboxError(f"the confined plugin process exited ({self._proc.returncode}): {tail}")
        return json.loads(frame)

    def warm(self) -> None:
        with self._lock:
            write_frame(self._proc.stdin, json.dumps({"op": "warm"}).encode())
            answer = self._receive()
        if answer.get("error"):
            raise SandboxError(answer["error"])

    def __call__(self, batch):
        with self._lock:
            write_frame(self._proc.stdin, json.dumps({"op": "run"}).encode())
            write_frame(self._proc.stdin, frame_to_arrow(batch))
            answer = self._receive()
            if answer.get("error"):
                raise RuntimeError(answer["error"])
            data = read_frame(self._proc.stdout)
        if data is None:
            raise SandboxError("the confined plugin process exited mid-batch")
        return arrow_to_frame(data)

    def close(self) -> None:
        proc = getattr(self, "_proc", None)
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        scratch = getattr(self, "_scratch", None)
        if scratch is not None:
            scratch.cleanup()
        relay = getattr(self, "_relay", None)
        if relay is not None:
            relay.close()
            self._relay = None

    def __del__(self) -> None:
        self.close()


def describe(plugin_path: str, parameters: dict[str, Any], timeout: float = 300) -> dict[str, Any]:
    """What the host needs to plan an uploaded plugin's batch without running its code: the resource type of
    each step (``{"kinds": [...]}``) and whether its ``prepare`` hook leaves the dataset as it is."""
    with tempfile.TemporaryDirectory(prefix="wh-sbx-") as tmp:
        scratch = Path(tmp)
        policy = Policy.for_plugin(Path(plugin_path), scratch)
        proc = start_child("warehouse.batch.confined", {"policy": asdict(policy), "describe": {
            "plugin_path": plugin_path, "parameters": parameters}}, scratch)
        try:
            frame = read_frame(proc.stdout)
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            raise SandboxError(f"build_steps of {plugin_path} did not return in {timeout:g} s") from None
        if frame is None:
            raise SandboxError(f"the confined plugin process exited ({proc.returncode}): {stderr_tail(scratch)}")
    answer = json.loads(frame)
    if answer.get("error"):
        raise SandboxError(f"build_steps failed in the sandbox: {answer['error']}")
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
