"""Loading an extractor plugin folder (``manifest.py``, ``pipeline.py``, ``realtime.py``, …).

Each plugin is imported as a private package ``_warehouse_plugins.<name>_<code hash>`` so its
relative imports (``from .processors.core import X``) work and two versions never collide.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import json
import sys
import types
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from warehouse.errors import WarehouseError
from warehouse.extractors.chunking import split_text
from warehouse.extractors.compat import install_aliases
from warehouse.extractors.helpers import default_container
from warehouse.extractors.manifest import (
    ExtractorSpec,
    ManifestError,
    ManifestIssue,
    spec_from_namespace,
)
from warehouse.extractors.models import configure_offline_models
from warehouse.extractors.steps import BaseInferenceService, as_pipeline_step

_PACKAGE_ROOT = "_warehouse_plugins"


class PluginLoadError(RuntimeError):
    """A plugin folder could not be loaded; the message names the file and the fix."""


def code_version(folder: Path) -> str:
    """Hash of every ``.py`` file of the plugin: changes whenever its code or manifest does."""
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        digest.update(path.relative_to(folder).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


@dataclass
class ExtractorRequest:
    """What ``build_steps(extractor_request=…)`` receives (Mixpeek's shape, attribute access)."""

    parameters: dict[str, Any] = field(default_factory=dict)
    collection_id: str | None = None
    input_mappings: dict[str, Any] = field(default_factory=dict)

    @property
    def extractor_config(self) -> ExtractorRequest:
        return self

    def get(self, key: str, default: Any = None) -> Any:
        return getattr(self, key, default)


@dataclass
class LoadedExtractor:
    spec: ExtractorSpec
    path: Path
    code_version: str
    package: str
    builtin: bool = False
    #: the namespace whose upload this is; None: built-in or installed by the operator (every namespace sees it)
    namespace_id: str | None = None
    #: uploaded over the API: its code runs only in confined child processes, never imported here
    confined: bool = False

    def _module(self, name: str) -> types.ModuleType | None:
        if self.confined:
            raise PluginLoadError(f"{self.spec.ref} was uploaded over the API: its code runs only in its sandbox "
                                  "(warehouse.extractors.sandbox), never in this process")
        full = f"{self.package}.{name}"
        if full in sys.modules:
            return sys.modules[full]
        if not (self.path / f"{name}.py").exists():
            return None
        try:
            return importlib.import_module(full)
        except Exception as exc:  # noqa: BLE001 - reported with the file name
            raise PluginLoadError(f"{self.path / (name + '.py')}: import failed: {type(exc).__name__}: {exc}") from exc

    def validate_parameters(self, parameters: dict[str, Any]) -> dict[str, Any]:
        """``parameters`` if this extractor accepts them; else a 422 naming the unknown key or the bad option.

        Example:
            >>> ext.validate_parameters({"split_by": "sentences", "chunk_size": 3})  # doctest: +SKIP
        """
        params = {k: v for k, v in parameters.items() if k != "extractor_type"}
        declared = self.spec.parameter_schema.get("properties")
        if declared:
            unknown = sorted(set(params) - set(declared))
            if unknown:
                raise WarehouseError(422, f"unknown parameter(s) {unknown} for {self.spec.ref}; allowed: {sorted(declared)}",
                                     {"location": "feature_extractor.parameters"})
        if self.spec.chunking:
            try:
                split_text("probe text", params.get("split_by", self.spec.parameter_defaults.get("split_by", "none")),
                           int(params.get("chunk_size", 1000)), int(params.get("chunk_overlap", 0)))
            except (TypeError, ValueError) as exc:  # int({...}) is a TypeError
                raise WarehouseError(422, f"feature_extractor.parameters: {exc}",
                                     {"location": "feature_extractor.parameters"}) from exc
        if not self.spec.vector_features:
            raise WarehouseError(422, f"extractor {self.spec.ref} declares no embedding feature, so the collection "
                                 "would have no vector index", {"location": "feature_extractor"})
        return params

    def build_steps(self, parameters: dict[str, Any] | None = None, container: Any = None, **kwargs: Any):
        """Call the plugin's ``build_steps``/``extract`` and return ``(steps, prepare)``."""
        pipeline = self._module("pipeline")
        if pipeline is None:
            raise PluginLoadError(f"{self.path}: no pipeline.py")
        params = {**self.spec.parameter_defaults, **(parameters or {})}
        request = ExtractorRequest(parameters=params, **kwargs)
        if container is None:
            container = default_container()
        fn = getattr(pipeline, "build_steps", None) or getattr(pipeline, "extract", None)
        if fn is None:
            raise PluginLoadError(f"{self.path / 'pipeline.py'}: define build_steps(extractor_request, container, ...) or extract(...)")
        accepted = inspect.signature(fn).parameters
        call: dict[str, Any] = {}
        for name, value in (("extractor_request", request), ("container", container),
                            ("base_steps", []), ("dataset_size", None), ("content_flags", None)):
            if name in accepted or any(p.kind is p.VAR_KEYWORD for p in accepted.values()):
                call[name] = value
        result = fn(**call)
        if isinstance(result, dict):
            steps, prepare = result.get("steps"), result.get("prepare")
        else:
            steps, prepare = getattr(result, "steps", None), getattr(result, "prepare", None)
        if not isinstance(steps, list | tuple) or not steps:
            raise PluginLoadError(
                f"{self.path / 'pipeline.py'}: build_steps must return {{'steps': [...], 'prepare': fn}} "
                f"with at least one step, got {type(result).__name__}"
            )
        return [as_pipeline_step(s) for s in steps], prepare

    def realtime_service(self) -> Any | None:
        """An instance of the plugin's realtime inference service, or None without realtime.py."""
        module = self._module("realtime")
        if module is None:
            return None

        candidates = [
            obj for obj in vars(module).values()
            if inspect.isclass(obj) and obj.__module__ == module.__name__
            and (issubclass(obj, BaseInferenceService) or hasattr(obj, "run_inference") or hasattr(obj, "infer"))
        ]
        if not candidates:
            raise PluginLoadError(f"{self.path / 'realtime.py'}: define a class with run_inference(inputs, parameters) or infer()")
        preferred = [c for c in candidates if c.__name__ == "InferenceService"] or candidates
        return preferred[0]()


SPEC_SUFFIX = ".spec.json"


def load_confined(folder: str | Path, namespace_id: str) -> LoadedExtractor:
    """An uploaded plugin, known from the spec its sandboxed check wrote beside the folder
    (``<folder>.spec.json``): nothing of it is imported into this process."""
    folder = Path(folder).resolve()
    spec_path = folder.with_name(folder.name + SPEC_SUFFIX)
    try:
        spec = ExtractorSpec.from_dict(json.loads(spec_path.read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError) as exc:
        raise PluginLoadError(f"{spec_path}: unreadable plugin spec ({exc}); upload the plugin again") from exc
    return LoadedExtractor(spec=spec, path=folder, code_version=code_version(folder), package="",
                           namespace_id=namespace_id, confined=True)


def load_plugin(folder: str | Path, builtin: bool = False) -> LoadedExtractor:
    """Load and validate a plugin folder.

    Raises:
        PluginLoadError: missing files or an import error.
        ManifestError: the manifest is invalid (each issue with file, line and fix).
    """
    install_aliases()

    configure_offline_models()
    folder = Path(folder).resolve()
    if not folder.is_dir():
        raise PluginLoadError(f"{folder}: not a directory")
    manifest_path = folder / "manifest.py"
    if not manifest_path.exists():
        raise PluginLoadError(f"{folder}: no manifest.py (an extractor needs manifest.py and pipeline.py)")
    if not (folder / "pipeline.py").exists():
        raise PluginLoadError(f"{folder}: no pipeline.py (an extractor needs manifest.py and pipeline.py)")
    version = code_version(folder)
    if _PACKAGE_ROOT not in sys.modules:
        root = types.ModuleType(_PACKAGE_ROOT)
        root.__path__ = []
        sys.modules[_PACKAGE_ROOT] = root
    package = f"{_PACKAGE_ROOT}.{folder.name}_{version}"
    if package not in sys.modules:
        spec = importlib.util.spec_from_file_location(
            package, folder / "__init__.py", submodule_search_locations=[str(folder)]
        )
        module = importlib.util.module_from_spec(spec)
        sys.modules[package] = module
        if (folder / "__init__.py").exists():
            spec.loader.exec_module(module)
    source = manifest_path.read_text(encoding="utf-8")
    try:
        manifest = importlib.import_module(f"{package}.manifest")
    except SyntaxError as exc:
        raise ManifestError([ManifestIssue(str(manifest_path), exc.lineno or 1, "error", f"syntax error: {exc.msg}")]) from exc
    except Exception as exc:  # noqa: BLE001
        raise PluginLoadError(f"{manifest_path}: import failed: {type(exc).__name__}: {exc}") from exc
    spec_ = spec_from_namespace(vars(manifest), str(manifest_path), source, keep_v=builtin)
    return LoadedExtractor(spec=spec_, path=folder, code_version=version, package=package, builtin=builtin)
