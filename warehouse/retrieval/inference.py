"""Query-time inference: embeds query text with the collection's extractor's realtime service,
and scores (query, document) pairs with a cross-encoder for the ``rerank`` stage.

Runs the service in-process with a per-text LRU cache; the same text is embedded once.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
from collections import OrderedDict
from typing import Any

from warehouse.extractors.loader import LoadedExtractor
from warehouse.extractors.models import load_cross_encoder
from warehouse.extractors.registry import ExtractorRegistry
from warehouse.extractors.sandbox import ConfinedRealtime
from warehouse.extractors.steps import call_inference


class InferenceUnavailable(RuntimeError):
    pass


class QueryModeError(ValueError):
    """The realtime service gave no vector for this feature from this kind of query (text for an image feature)."""

    def __init__(self, feature_name: str, mode: str, served: list[str]) -> None:
        self.feature_name, self.mode, self.served = feature_name, mode, served
        super().__init__(f"a {mode} query gives no {feature_name!r} vector (it gives {served or 'none'})")


class QueryInference:
    """Embeds query text with an extractor's realtime service: in this process (``in_process``), or
    on a Ray Serve deployment per extractor version (``ray_serve``); results are cached per text."""

    def __init__(self, registry: ExtractorRegistry, cache_size: int = 4096, backend: Any = None,
                 outbound: dict[str, Any] | None = None) -> None:
        self.registry = registry
        self.outbound = outbound  # the outbound policy an uploaded plugin's egress proxy applies
        self.backend = backend  # a ServeBackend, or None for in-process services
        self._services: dict[tuple[str, str], Any] = {}
        self._cache: OrderedDict[tuple[str, str, str], dict[str, Any]] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()
        self.warmed = threading.Event()

    def _service(self, ext: LoadedExtractor):
        key = (ext.spec.ref, ext.code_version)
        with self._lock:
            svc = self._services.get(key)
            if svc is None:
                _require_realtime(ext)
                # an uploaded plugin's service runs in a confined child; others in this process
                svc = (ConfinedRealtime(ext.path, ext.spec.allowed_hosts, self.outbound) if ext.confined
                       else ext.realtime_service())
                self._services[key] = svc
        return svc

    def start(self, ext: LoadedExtractor) -> None:
        """Start ``ext``'s realtime service and embed once, so a deployment fails here, not on a query."""
        self.embed_text(ext, "deployment check", ext.spec.vector_features[0].feature_name)

    def infer(self, ext: LoadedExtractor, inputs: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict:
        """One uncached call of ``ext``'s realtime service (``POST /v1/plugins/{id}/infer``)."""
        if self.backend is not None:
            _require_realtime(ext)
            return self.backend.infer(ext, inputs)
        return _run(call_inference(self._service(ext), inputs, parameters or {}))

    def stop(self, ext: LoadedExtractor) -> None:
        """Stop ``ext``'s realtime service (an uploaded plugin's child process ends) and forget its cached vectors."""
        with self._lock:
            svc = self._services.pop((ext.spec.ref, ext.code_version), None)
            for key in [k for k in self._cache if k[0] == ext.spec.ref]:
                del self._cache[key]
        if hasattr(svc, "close"):
            svc.close()
        if self.backend is not None:
            self.backend.undeploy(ext)

    def warm(self, extractors) -> None:
        """Load the realtime services of built-in extractors ahead of the first query.

        ``warmed`` is set when done; ``/v1/health`` reports it as ``checks.query_models``.
        """
        try:
            for ext in extractors:
                if ext.builtin:
                    try:
                        self.embed_text(ext, "warm-up", ext.spec.vector_features[0].feature_name)
                    except Exception:  # noqa: BLE001 - a failure resurfaces, with its message, on a real query
                        pass
        finally:
            self.warmed.set()

    def embed_text(self, ext: LoadedExtractor, text: str, feature_name: str) -> list[float]:
        """The query vector of ``text`` for ``feature_name`` (falls back to the ``embedding`` key)."""
        return self._vector(ext, {"text": text}, ("text", text), feature_name, "text")

    def embed_content(self, ext: LoadedExtractor, content: bytes, feature_name: str) -> list[float]:
        """The query vector of a file (an image to search by example) for ``feature_name``."""
        digest = hashlib.sha256(content).hexdigest()
        return self._vector(ext, {"content": content}, ("content", digest), feature_name, "content")

    def _vector(self, ext: LoadedExtractor, inputs: dict[str, Any], what: tuple[str, str], feature_name: str,
                mode: str) -> list[float]:
        key = (ext.spec.ref, ext.code_version, *what)
        with self._lock:
            result = self._cache.get(key)
            if result is not None:
                self._cache.move_to_end(key)
        if result is None:
            if self.backend is not None:
                _require_realtime(ext)
                result = self.backend.infer(ext, inputs)
            else:
                result = _run(call_inference(self._service(ext), inputs, {}))
            with self._lock:
                self._cache[key] = result
                if len(self._cache) > self._cache_size:
                    self._cache.popitem(last=False)
        vector = result.get(feature_name, result.get("embedding"))
        if vector is None:
            vectors = sorted(k for k, v in result.items() if isinstance(v, list) and v and isinstance(v[0], int | float))
            raise QueryModeError(feature_name, mode, vectors)
        return [float(x) for x in vector]

    def rerank(self, inference_name: str, query: str, texts: list[str], batch_size: int = 32) -> list[float]:
        """Cross-encoder relevance of each text to the query, in one batched ``predict``."""

        try:
            model = load_cross_encoder(inference_name)
        except RuntimeError as exc:
            raise InferenceUnavailable(str(exc)) from None
        if not texts:
            return []
        scores = model.predict([(query, t) for t in texts], batch_size=batch_size, show_progress_bar=False)
        return [float(x) for x in scores]


def _require_realtime(ext: LoadedExtractor) -> None:
    if not (ext.path / "realtime.py").exists():
        raise InferenceUnavailable(
            f"extractor {ext.spec.ref} has no realtime.py, so text queries cannot be embedded; "
            "query with {'input_mode': 'vector', 'value': [...]} or add realtime.py"
        )


def _run(coro):
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    # Called from inside an event loop thread: run on a private loop in a helper thread.
    box: dict[str, Any] = {}

    def target():
        box["value"] = asyncio.run(coro)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    return box["value"]
