"""The extractors a deployment knows: built-ins, plugins an operator installed under ``home/extractors``
(every namespace sees them) and plugins uploaded over the API into one namespace (``home/plugins/<namespace
id>/<plugin row id>``, seen by that namespace alone)."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from warehouse.extractors.loader import LoadedExtractor, PluginLoadError, load_confined, load_plugin
from warehouse.extractors.manifest import normalize_version

BUILTIN_DIR = Path(__file__).parent / "builtin"


class UnknownExtractorError(LookupError):
    pass


class ExtractorRegistry:
    """Resolves ``name`` + ``version`` to a loaded extractor.

    Example:
        >>> reg = ExtractorRegistry(plugin_dirs=[])
        >>> reg.get("text_extractor", "v1").spec.ref
        'text_extractor@v1'
    """

    def __init__(self, plugin_dirs: list[Path] | None = None, namespace_root: Path | None = None) -> None:
        self.plugin_dirs = [Path(p) for p in (plugin_dirs or [])]
        self.namespace_root = Path(namespace_root) if namespace_root is not None else None
        self._lock = threading.Lock()
        self._extractors: dict[tuple[str, str], LoadedExtractor] = {}
        self.errors: dict[str, str] = {}
        self.refresh()

    @classmethod
    def for_home(cls, home_dir: Path) -> ExtractorRegistry:
        """The registry of a warehouse home: operator-installed plugins and every namespace's uploads."""
        return cls([Path(home_dir) / "extractors"], namespace_root=Path(home_dir) / "plugins")

    def refresh(self) -> None:
        found: dict[tuple[str | None, str, str], LoadedExtractor] = {}
        errors: dict[str, str] = {}
        sources: list[tuple[Path, bool, str | None]] = [
            (d, True, None) for d in sorted(BUILTIN_DIR.iterdir()) if d.is_dir() and not d.name.startswith("_")]
        for root in self.plugin_dirs:
            if root.is_dir():
                sources += [(d, False, None) for d in sorted(root.iterdir())
                            if d.is_dir() and not d.name.startswith((".", "_"))]
        if self.namespace_root is not None and self.namespace_root.is_dir():
            for ns_dir in sorted(self.namespace_root.iterdir()):
                if ns_dir.is_dir() and not ns_dir.name.startswith((".", "_")):
                    sources += [(d, False, ns_dir.name) for d in sorted(ns_dir.iterdir())
                                if d.is_dir() and not d.name.startswith((".", "_"))]
        for folder, builtin, namespace_id in sources:
            try:
                ext = load_plugin(folder, builtin=builtin) if namespace_id is None else load_confined(folder, namespace_id)
            except (PluginLoadError, ValueError) as exc:
                errors[str(folder)] = str(exc)
                continue
            found[(namespace_id, ext.spec.name, ext.spec.version)] = ext
        with self._lock:
            self._extractors = found
            self.errors = errors

    def install(self, folder: Path, target_root: Path) -> LoadedExtractor:
        """Validate ``folder`` and copy it under ``target_root`` so it loads on every start."""
        ext = load_plugin(folder)
        target = target_root / f"{ext.spec.name}_{ext.spec.version.replace('.', '_')}"
        if target.resolve() != Path(folder).resolve():
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(folder, target, ignore=shutil.ignore_patterns("__pycache__"))
        if target_root not in self.plugin_dirs:
            self.plugin_dirs.append(target_root)
        self.refresh()
        return self.get(ext.spec.name, ext.spec.version)

    def all(self) -> list[LoadedExtractor]:
        with self._lock:
            return sorted(self._extractors.values(),
                          key=lambda e: (not e.builtin, e.namespace_id or "", e.spec.name, e.spec.version))

    def visible(self, namespace_id: str | None = None) -> list[LoadedExtractor]:
        """The extractors a namespace may use: built-ins, operator-installed plugins and its own uploads."""
        return [e for e in self.all() if e.namespace_id is None or e.namespace_id == namespace_id]

    def get(self, name: str, version: str | None = None, namespace_id: str | None = None) -> LoadedExtractor:
        """``name`` at ``version`` (the newest without one) among what ``namespace_id`` may use."""
        visible = self.visible(namespace_id)
        candidates = [e for e in visible if e.spec.name == name]
        if not candidates:
            known = ", ".join(sorted({e.spec.ref for e in visible})) or "none"
            raise UnknownExtractorError(f"unknown feature extractor {name!r}; available: {known}")
        if version is None:
            return sorted(candidates, key=lambda e: e.spec.version)[-1]
        wanted = {str(version), normalize_version(version)}
        if str(version).startswith("v") and str(version)[1:].isdigit():
            wanted.add(f"{version[1:]}.0.0")
        for ext in candidates:
            if ext.spec.version in wanted or normalize_version(ext.spec.version) in wanted:
                return ext
        have = ", ".join(e.spec.ref for e in candidates)
        raise UnknownExtractorError(f"feature extractor {name!r} has no version {version!r}; available: {have}")

    def by_id(self, extractor_id: str, namespace_id: str | None = None) -> LoadedExtractor:
        for ext in self.visible(namespace_id):
            if ext.spec.extractor_id == extractor_id:
                return ext
        raise UnknownExtractorError(f"unknown feature extractor id {extractor_id!r}")
