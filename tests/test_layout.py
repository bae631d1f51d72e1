"""The package layout holds: imports point down the layer order, no module imports another in a circle,
project imports sit at the top of modules, and only ``warehouse.api`` speaks HTTP (FastAPI).

The order (docs/architecture.md): settings/errors/ids/llm/outbound → catalog, storage, index, orchestration →
extractors → batch → retrieval → enrichment → services, migrate → api, assets, sensors, resources, cli.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent / "warehouse"

LAYERS = [
    {"warehouse", "settings", "errors", "ids", "llm", "outbound"},
    {"catalog", "storage", "index", "orchestration"},
    {"extractors"},
    {"batch"},
    {"retrieval"},
    {"enrichment"},
    {"services", "migrate"},
    {"api", "assets", "sensors", "resources", "cli", "definitions"},
]
RANK = {name: i for i, layer in enumerate(LAYERS) for name in layer}
#: third-party packages that belong to one layer alone
HTTP_FRAMEWORKS = ("fastapi", "starlette")
#: the one composition root outside the API that may import it: ``warehouse up`` serves the app
SERVES_THE_API = {"warehouse.cli.up": "warehouse.api.app"}


def _modules() -> dict[str, Path]:
    out = {}
    for path in ROOT.rglob("*.py"):
        if "builtin" in path.relative_to(ROOT).parts:  # plugin folders are loaded as plugins, not imported
            continue
        parts = list(path.relative_to(ROOT.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        out[".".join(parts)] = path
    return out


MODULES = _modules()


def _type_checking_only(node: ast.AST, parents: dict[ast.AST, ast.AST]) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def _targets(module: str, node: ast.Import | ast.ImportFrom, is_package: bool) -> list[str]:
    if isinstance(node, ast.Import):
        return [a.name for a in node.names]
    base = module.split(".") if is_package else module.split(".")[:-1]
    if node.level:
        base = base[: len(base) - node.level + 1]
        source = ".".join([*base, node.module] if node.module else base)
    else:
        source = node.module or ""
    return [f"{source}.{a.name}" if f"{source}.{a.name}" in MODULES else source for a in node.names]


def _imports() -> tuple[dict[str, set[str]], list[str], list[str]]:
    """(module → project modules imported when it loads, imports inside functions without a reason,
    HTTP imports outside api)."""
    graph: dict[str, set[str]] = defaultdict(set)
    lazy, http = [], []
    for module, path in MODULES.items():
        source = path.read_text()
        tree = ast.parse(source)
        lines = source.splitlines()
        parents = {child: parent for parent in ast.walk(tree) for child in ast.iter_child_nodes(parent)}
        for node in ast.walk(tree):
            if not isinstance(node, ast.Import | ast.ImportFrom) or _type_checking_only(node, parents):
                continue
            targets = _targets(module, node, path.name == "__init__.py")
            if not module.startswith("warehouse.api") and any(t.split(".")[0] in HTTP_FRAMEWORKS for t in targets):
                http.append(f"{module}:{node.lineno}")
            in_function = any(isinstance(p, ast.FunctionDef | ast.AsyncFunctionDef)
                              for p in _ancestors(node, parents))
            if in_function:
                if not _says_why(lines, node.lineno):
                    lazy.append(f"{module}:{node.lineno} imports {targets}")
                continue
            graph[module].update(t for t in targets if t == "warehouse" or t.startswith("warehouse."))
    return graph, lazy, http


def _says_why(lines: list[str], lineno: int) -> bool:
    """A function-level import is fine when a ``# lazy: <why>`` comment heads its block of imports."""
    i = lineno - 1
    while i > 0 and lines[i - 1].strip().startswith(("import ", "from ", "# lazy:")):
        i -= 1
        if "# lazy:" in lines[i]:
            return True
    return "# lazy:" in lines[lineno - 1]


def _ancestors(node, parents):
    while node in parents:
        node = parents[node]
        yield node


GRAPH, LAZY, HTTP = _imports()


def _layer(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "warehouse"


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for v in list(graph):
        if v not in index:
            visit(v)
    return out


def test_every_package_has_a_layer():
    assert {_layer(m) for m in MODULES} <= set(RANK), {_layer(m) for m in MODULES} - set(RANK)


def test_imports_point_down_the_layers():
    upward = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
              if RANK[_layer(t)] > RANK[_layer(m)]]
    assert upward == []


def test_no_module_level_cycles():
    assert _cycles(GRAPH) == []


def test_no_package_level_cycles():
    packages: dict[str, set[str]] = defaultdict(set)
    for m, targets in GRAPH.items():
        packages[_layer(m)].update(_layer(t) for t in targets if _layer(t) != _layer(m))
    assert _cycles(packages) == []


def test_project_imports_are_at_the_top():
    assert LAZY == []


def test_only_the_api_speaks_http():
    assert HTTP == []
    outside = [f"{m} -> {t}" for m, targets in GRAPH.items() for t in targets
               if t.startswith("warehouse.api") and not m.startswith("warehouse.api") and SERVES_THE_API.get(m) != t]
    assert outside == []


@pytest.mark.parametrize("graph, expected", [
    ({"a": {"b"}, "b": {"c"}, "c": set()}, []),
    ({"a": {"b"}, "b": {"a"}}, [["a", "b"]]),
])
def test_cycle_finder_finds_cycles(graph, expected):
    """The checks above are only as good as the cycle finder: it must see a two-module circle."""
    assert _cycles(graph) == expected
