"""Batch linter: finds the sequential anti-patterns that make a batch step slow.

SEQ001  row iteration without parallelism (``iterrows``, ``itertuples``, ``range(len(batch))``,
        ``apply(..., axis=1)``) — a warning: it works, one row at a time.
SEQ002  a model or API call inside a loop over rows — an error: one call per row instead of one
        batched call (or concurrent calls) per batch.
SEQ003  per-item tokenisation inside a loop over rows — an error: tokenise the list once.

A loop that already hands its work to ``parallel_io`` or ``concurrent_api_calls`` is not flagged.
"""

from __future__ import annotations

import ast
from pathlib import Path

from warehouse.extractors.pysource import parse_python
from warehouse.extractors.tools.scanner import Finding

_ROW_METHODS = {"iterrows", "itertuples", "items"}
_MODEL_METHODS = {
    "encode", "predict", "predict_proba", "generate", "infer", "embed", "embed_query", "embed_documents",
    "forward", "classify", "transcribe", "invoke", "ainvoke", "create", "complete", "chat", "completion",
    "run_inference", "pipeline",
}
_HTTP_ROOTS = {"requests", "httpx", "aiohttp", "urllib", "openai", "anthropic", "client", "session"}
_HTTP_METHODS = {"get", "post", "put", "patch", "request", "urlopen"}
_MODEL_NAMES = {"model", "_model", "pipe", "pipeline", "classifier", "embedder", "encoder", "llm", "client"}
_PARALLEL_HELPERS = {"parallel_io", "concurrent_api_calls"}


def _name_of(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _root_name(node: ast.AST) -> str:
    while isinstance(node, ast.Attribute | ast.Call | ast.Subscript):
        node = node.value if not isinstance(node, ast.Call) else node.func
    return node.id if isinstance(node, ast.Name) else ""


class _Linter(ast.NodeVisitor):
    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[Finding] = []
        self.row_vars: set[str] = set()

    def _rowish(self, node: ast.AST) -> str | None:
        """'explicit' for iterrows/itertuples/range(len(..)); 'column' for a batch column or list."""
        if isinstance(node, ast.Call):
            func = node.func
            if isinstance(func, ast.Attribute) and func.attr in ("iterrows", "itertuples"):
                return "explicit"
            if isinstance(func, ast.Name) and func.id == "range" and node.args and isinstance(node.args[-1], ast.Call) \
                    and _name_of(node.args[-1].func) == "len":
                return "explicit"
            if isinstance(func, ast.Name) and func.id in ("zip", "enumerate"):
                kinds = [self._rowish(a) for a in node.args]
                return "explicit" if "explicit" in kinds else ("column" if "column" in kinds else None)
            if isinstance(func, ast.Attribute) and func.attr in ("tolist", "to_list", "to_numpy"):
                return self._rowish(func.value) or "column"
        if isinstance(node, ast.Subscript) and _root_name(node) in ("batch", "df", "frame", "data", "rows"):
            return "column"
        if isinstance(node, ast.Attribute) and node.attr in ("values", "index"):
            return self._rowish(node.value)
        if isinstance(node, ast.Name):
            if node.id in self.row_vars:
                return "column"
            if node.id in ("batch", "df", "rows"):
                return "column"
        return None

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        saved = self.row_vars
        self.row_vars = set()
        self.generic_visit(node)
        self.row_vars = saved

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Assign(self, node: ast.Assign) -> None:
        if self._rowish(node.value):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self.row_vars.add(target.id)
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if isinstance(func, ast.Attribute) and func.attr == "apply" and any(
            k.arg == "axis" and isinstance(k.value, ast.Constant) and k.value.value in (1, "columns") for k in node.keywords
        ):
            self._report_loop(node, [node.args[0]] if node.args else [], "explicit")
        self.generic_visit(node)

    def _loop(self, node: ast.AST, iterable: ast.AST, body: list[ast.AST]) -> None:
        kind = self._rowish(iterable)
        if kind:
            self._report_loop(node, body, kind)

    def visit_For(self, node: ast.For) -> None:
        self._loop(node, node.iter, node.body)
        self.generic_visit(node)

    visit_AsyncFor = visit_For

    def _comprehension(self, node) -> None:
        for gen in node.generators:
            elements = [node.elt] if hasattr(node, "elt") else [node.key, node.value]
            self._loop(node, gen.iter, elements)
        self.generic_visit(node)

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def _report_loop(self, node: ast.AST, body: list[ast.AST], kind: str) -> None:
        calls = [n for b in body for n in ast.walk(b) if isinstance(n, ast.Call)]
        if any(_name_of(c.func) in _PARALLEL_HELPERS for c in calls):
            return
        for call in calls:
            code = _classify(call)
            if code == "SEQ003":
                self._add(call, "error", "SEQ003", "per-item tokenisation inside a loop over rows",
                          "tokenise the whole list once: tokenizer(texts, padding=True, truncation=True, "
                          "return_tensors='pt'), then run the model on the batch")
                return
            if code == "SEQ002":
                self._add(call, "error", "SEQ002", f"model or API call '{_describe(call)}' inside a loop over rows",
                          "collect the inputs and make one batched call (model.encode(texts, batch_size=64)); "
                          "for network APIs use concurrent_api_calls(items, async_fn, max_concurrent=10)")
                return
            if any(isinstance(n, ast.Await) for b in body for n in ast.walk(b)):
                self._add(node, "error", "SEQ002", "awaited call inside a loop over rows",
                          "use concurrent_api_calls(items, async_fn, max_concurrent=10)")
                return
        if kind == "explicit":
            self._add(node, "warning", "SEQ001", "row-by-row iteration without parallelism",
                      "use vectorised pandas operations on whole columns; for file or network I/O per row "
                      "use parallel_io(items, fn, max_workers=8)")

    def _add(self, node, severity, code, message, fix) -> None:
        self.findings.append(Finding(self.file, getattr(node, "lineno", 1), severity, code, message, fix))


def _describe(call: ast.Call) -> str:
    try:
        return ast.unparse(call.func)
    except Exception:  # noqa: BLE001
        return _name_of(call.func)


def _classify(call: ast.Call) -> str | None:
    func = call.func
    name = _name_of(func)
    receiver = _name_of(func.value) if isinstance(func, ast.Attribute) else ""
    lowered = (receiver + "." + name).lower()
    if "token" in name.lower() or (receiver and "token" in receiver.lower() and name in ("encode", "encode_plus", "__call__")):
        return "SEQ003"
    if isinstance(func, ast.Name) and "token" in func.id.lower():
        return "SEQ003"
    if isinstance(func, ast.Attribute):
        if name in _MODEL_METHODS:
            return "SEQ002"
        if name in _HTTP_METHODS and (_root_name(func) in _HTTP_ROOTS or "client" in lowered or "session" in lowered):
            return "SEQ002"
        if name in _MODEL_NAMES:  # self.model(x)
            return "SEQ002"
    if isinstance(func, ast.Name) and func.id in _MODEL_NAMES:
        return "SEQ002"
    return None


def lint_source(source: str, file: str = "<plugin>") -> list[Finding]:
    try:
        tree = parse_python(source, filename=file)
    except SyntaxError:
        return []  # the scanner reports syntax errors
    linter = _Linter(file)
    linter.visit(tree)
    unique: dict[tuple, Finding] = {}
    for f in linter.findings:
        unique.setdefault((f.line, f.code), f)
    return sorted(unique.values(), key=lambda f: (f.line, f.code))


def lint_plugin_batches(folder: Path) -> list[Finding]:
    """Batch-lint ``pipeline.py`` and ``processors/`` (where batch steps live)."""
    folder = Path(folder)
    paths = [folder / "pipeline.py", *sorted((folder / "processors").rglob("*.py"))]
    findings: list[Finding] = []
    for path in paths:
        if path.is_file():
            findings += lint_source(path.read_text(encoding="utf-8", errors="replace"), str(path.relative_to(folder)))
    return findings
