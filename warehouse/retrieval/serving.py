"""Query inference on Ray Serve: one deployment per extractor version, called through a handle.

With ``WAREHOUSE_QUERY_INFERENCE=ray_serve`` the API server deploys each extractor's realtime
service as a Ray Serve application on the warehouse's Ray (no HTTP proxy: calls go through
deployment handles) the first time a query needs it; replicas load the plugin folder themselves,
so a GPU node or an autoscaled replica set can serve query embeddings apart from the API process. An uploaded
plugin's replica runs its service in a Landlock-confined child (:class:`ConfinedRealtime`).
The application name carries the plugin's code hash: an edited plugin gets a fresh deployment.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from warehouse.batch.engine import ensure_ray
from warehouse.extractors.loader import LoadedExtractor, load_plugin
from warehouse.extractors.sandbox import ConfinedRealtime
from warehouse.extractors.steps import call_inference

APP_PREFIX = "warehouse-realtime-"


def app_name(ext: LoadedExtractor) -> str:
    return f"{APP_PREFIX}{ext.spec.name}-{ext.spec.version}-{ext.code_version[:12]}".replace(".", "_")


class RealtimeReplica:
    """A Serve replica holding one extractor's realtime service; for an uploaded plugin, the replica holds the
    confined child process that runs it (the replica itself never imports the plugin)."""

    def __init__(self, folder: str, builtin: bool, confined: bool = False,
                 allowed_hosts: list[str] | None = None, outbound: dict[str, Any] | None = None) -> None:
        self.confined = confined
        if confined:
            self.service = ConfinedRealtime(Path(folder), allowed_hosts, outbound)
        else:
            self.service = load_plugin(folder, builtin=builtin).realtime_service()

    async def __call__(self, inputs: dict[str, Any]) -> dict[str, Any]:
        if self.confined:  # a blocking pipe round trip: off the replica's event loop
            return await asyncio.to_thread(self.service.run_inference, inputs, {})
        return await call_inference(self.service, inputs, {})


class ServeBackend:
    """Deploys (once) and calls realtime services on Ray Serve."""

    def __init__(self, ray_address: str | None = None, ray_num_cpus: int | None = None, replicas: int = 1,
                 timeout_s: float = 60, outbound: dict[str, Any] | None = None) -> None:
        self.outbound = outbound
        self.ray_address = ray_address
        self.ray_num_cpus = ray_num_cpus
        self.replicas = replicas
        self.timeout_s = timeout_s
        self._handles: dict[str, Any] = {}
        self._lock = threading.Lock()

    def handle(self, ext: LoadedExtractor):
        name = app_name(ext)
        with self._lock:
            handle = self._handles.get(name)
            if handle is None:
                handle = self._deploy(ext, name)
                self._handles[name] = handle
        return handle

    def _deploy(self, ext: LoadedExtractor, name: str):
        # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
        from ray import serve

        ensure_ray(self.ray_address, self.ray_num_cpus)
        serve.start(proxy_location="Disabled")
        if name in serve.status().applications:
            return serve.get_app_handle(name)
        # num_cpus=0: a replica is placed even while the batch workers hold every CPU slot; torch still
        # uses the machine's cores for the forward pass.
        deployment = serve.deployment(RealtimeReplica, name="realtime", num_replicas=self.replicas,
                                      ray_actor_options={"num_cpus": 0}, max_ongoing_requests=64)
        return serve.run(deployment.bind(str(ext.path), ext.builtin, ext.confined, ext.spec.allowed_hosts,
                                         self.outbound), name=name, route_prefix=None)

    def infer(self, ext: LoadedExtractor, inputs: dict[str, Any]) -> dict[str, Any]:
        return self.handle(ext).remote(inputs).result(timeout_s=self.timeout_s)

    def undeploy(self, ext: LoadedExtractor) -> None:
        """Delete ``ext``'s application (an uploaded plugin undeployed or deleted)."""
        # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
        from ray import serve

        name = app_name(ext)
        with self._lock:
            known = self._handles.pop(name, None)
        if known is not None:
            serve.delete(name)

    def deployed(self) -> list[str]:
        with self._lock:
            return sorted(self._handles)

    def shutdown(self) -> None:
        """Delete this server's applications (the Serve controller stays for other clients)."""
        # lazy: Ray is started or joined only where batches run; importing it costs ~1 s
        from ray import serve

        with self._lock:
            names, self._handles = list(self._handles), {}
        for name in names:
            serve.delete(name)
