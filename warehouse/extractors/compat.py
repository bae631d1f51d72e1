"""Import aliases for plugins written against Mixpeek's documented module paths.

A meta-path finder, appended last to ``sys.meta_path`` (so a real installed package of the same
name always wins), maps ``shared.extractors.sdk``, ``engine.plugins.extractors.pipeline`` and
friends onto :mod:`warehouse.extractors.sdk`. The project itself owns no top-level ``shared`` or
``engine`` package.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import types

_SDK = "warehouse.extractors.sdk"
ALIASES: dict[str, str | None] = {
    "shared": None,
    "shared.extractors": _SDK,
    "shared.extractors.sdk": _SDK,
    "shared.extractors.inference": None,
    "shared.extractors.inference.serve": _SDK,
    "shared.plugins": _SDK,
    "shared.plugins.sdk": _SDK,
    "shared.plugins.inference": None,
    "shared.plugins.inference.serve": _SDK,
    "shared.plugins.inference.batch": _SDK,
    "shared.extractors.inference.batch": _SDK,
    "shared.inference": None,
    "shared.inference.registry": "warehouse.extractors.models",
    "engine": None,
    "engine.models": "warehouse.extractors.models",
    "engine.plugins": None,
    "engine.plugins.extractors": None,
    "engine.plugins.extractors.pipeline": _SDK,
    "engine.extractors": None,
}


class _AliasLoader(importlib.abc.Loader):
    def __init__(self, fullname: str, target: str | None) -> None:
        self.fullname = fullname
        self.target = target

    def create_module(self, spec):
        has_children = any(name.startswith(self.fullname + ".") for name in ALIASES)
        if self.target is None or has_children:
            module = types.ModuleType(self.fullname)
            if self.target is not None:
                # e.g. shared.extractors: the SDK's names *and* a package holding .sdk, .inference
                target = importlib.import_module(self.target)
                module.__dict__.update({k: v for k, v in vars(target).items() if not k.startswith("__")})
            module.__path__ = []  # a package, so its children resolve through the finder too
            return module
        return importlib.import_module(self.target)

    def exec_module(self, module) -> None:
        return None


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, fullname, path=None, target=None):
        if fullname in ALIASES:
            target_name = ALIASES[fullname]
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(fullname, target_name))
        # engine.extractors.<name>.pipeline — the docs' per-extractor spelling of the SDK.
        parts = fullname.split(".")
        if fullname.startswith("engine.extractors.") and len(parts) in (3, 4):
            target_name = _SDK if len(parts) == 4 and parts[3] == "pipeline" else None
            return importlib.machinery.ModuleSpec(fullname, _AliasLoader(fullname, target_name))
        return None


_FINDER = _AliasFinder()


def install_aliases() -> None:
    """Idempotently register the alias finder (last, below real packages)."""
    if _FINDER not in sys.meta_path:
        sys.meta_path.append(_FINDER)
