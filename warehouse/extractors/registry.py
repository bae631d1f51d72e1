"""The extractors a deployment knows: built-ins plus custom plugins installed under home."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

from warehouse.extractors.loader import LoadedExtractor, PluginLoadError, load_plugin
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

    def __init__(self, plugin_dirs: list[Path] | None = None) -> None:
        self.plugin_dirs = [Path(p) for p in (plugin_dirs or [])]
        self._lock = threading.Lock()
        self._extractors: dict[tuple[str, str], LoadedExtractor] = {}
        self.errors: dict[str, str] = {}
        self.refresh()

    def refresh(self) -> None:
        found: dict[tuple[str, str], LoadedExtractor] = {}
        errors: dict[str, str] = {}
        sources = [(d, True) for d in sorted(BUILTIN_DIR.iterdir()) if d.is_dir() and not d.name.startswith("_")]
        for root in self.plugin_dirs:
            if root.is_dir():
                sources += [(d, False) for d in sorted(root.iterdir()) if d.is_dir() and not d.name.startswith((".", "_"))]
        for folder, builtin in sources:
            try:
                ext = load_plugin(folder, builtin=builtin)
            except (PluginLoadError, ValueError) as exc:
                errors[str(folder)] = str(exc)
                continue
            found[(ext.spec.name, ext.spec.version)] = ext
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
            return sorted(self._extractors.values(), key=lambda e: (not e.builtin, e.spec.name, e.spec.version))

    def get(self, name: str, version: str | None = None) -> LoadedExtractor:
        with self._lock:
            candidates = [e for (n, _), e in self._extractors.items() if n == name]
        if not candidates:
            known = ", ".join(sorted({e.spec.ref for e in self.all()})) or "none"
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

    def by_id(self, extractor_id: str) -> LoadedExtractor:
        for ext in self.all():
            if ext.spec.extractor_id == extractor_id:
                return ext
        raise UnknownExtractorError(f"unknown feature extractor id {extractor_id!r}")
