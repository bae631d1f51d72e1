"""Security scanner for plugin source: an AST pass that blocks the documented dangerous calls.

Blocked (Mixpeek's list): ``subprocess``, ``os.system``, ``os.popen``, ``os.exec*``, ``os.spawn*``,
``eval``, ``exec``, ``ctypes``, ``socket``, ``multiprocessing``, ``open``, ``setattr``, ``delattr``,
``__import__``. The scanner resolves what a name or attribute chain *refers to* rather than how it
is spelled, so the usual evasions are caught too: aliases (``import os as o``; ``f = os.system``),
from-imports and star imports, ``getattr`` with literal or computed names, ``importlib``, the
``builtins`` module, ``__builtins__``, ``globals()``/``locals()``/``vars()`` lookups, a module's
``__dict__``, ``sys.modules``, ``object.__setattr__``, dunder introspection
(``__subclasses__``, ``__globals__``), and chains through submodules (``os.path.os.system``,
``shutil.os.popen``).

Allowed: ``import os`` with ``os.environ`` / ``os.path``, ``getattr``/``hasattr`` with literal names
on ordinary objects, library-internal I/O (``torch.load``, ``pd.read_csv``, ``from_pretrained``),
attribute assignment, and methods that merely share a name (``cursor.execute``, ``Image.open``).

This is a speed bump, not a sandbox: Python is too dynamic for a static pass to be complete. The
known gaps are listed in ``KNOWN_GAPS`` and in docs/extractors.md.
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass
from pathlib import Path

from warehouse.extractors.pysource import parse_python

BLOCKED_MODULES = {
    "subprocess": "use run_tool(tool, args, timeout) from the SDK for whitelisted CLI tools",
    "ctypes": "native code is not allowed in plugins; use a library that ships the binding",
    "socket": "use requests/httpx for network calls",
    "multiprocessing": "parallelism comes from the batch engine (max_concurrency) or parallel_io",
    "pty": "use run_tool for whitelisted CLI tools",
    "_posixsubprocess": "use run_tool for whitelisted CLI tools",
    "_socket": "use requests/httpx for network calls",
    "_ctypes": "native code is not allowed in plugins",
    "_multiprocessing": "parallelism comes from the batch engine (max_concurrency) or parallel_io",
}
_OS_BLOCKED = re.compile(r"^(system|popen|exec\w*|spawn\w*|posix_spawn\w*|fork\w*|open|fdopen|kill\w*|_exit)$")
BLOCKED_BUILTINS = {
    "eval": "parse data with json.loads or ast.literal_eval instead",
    "exec": "write the code in the plugin instead of executing strings",
    "compile": "write the code in the plugin instead of compiling strings",
    "open": "read files with library I/O (pd.read_csv, torch.load, from_pretrained) or open_asset(url)",
    "setattr": "assign attributes directly (obj.name = value)",
    "delattr": "delete attributes directly (del obj.name)",
    "__import__": "use a plain import statement",
    "breakpoint": "remove debugging hooks from plugin code",
    "globals": "refer to names directly; dynamic namespace lookups are not allowed",
    "locals": "refer to names directly; dynamic namespace lookups are not allowed",
}
# Qualified names that are blocked wherever they are reached from.
BLOCKED_QUALIFIED = {
    "io.open": BLOCKED_BUILTINS["open"],
    "codecs.open": BLOCKED_BUILTINS["open"],
    "sys.modules": "import modules with import statements",
    "sys._getframe": "frame introspection is not allowed",
    "inspect.currentframe": "frame introspection is not allowed",
    "inspect.stack": "frame introspection is not allowed",
    "importlib.__import__": "use a plain import statement",
    "importlib.util": "load modules with import statements, not importlib machinery",
    "importlib.machinery": "load modules with import statements, not importlib machinery",
    "asyncio.create_subprocess_exec": "use run_tool for whitelisted CLI tools",
    "asyncio.create_subprocess_shell": "use run_tool for whitelisted CLI tools",
    "asyncio.subprocess": "use run_tool for whitelisted CLI tools",
    "concurrent.futures.ProcessPoolExecutor": "use parallel_io (threads) or the engine's max_concurrency",
    "os.environ.__class__": "use os.environ as a mapping",
    "object.__setattr__": BLOCKED_BUILTINS["setattr"],
    "object.__delattr__": BLOCKED_BUILTINS["delattr"],
    "type.__setattr__": BLOCKED_BUILTINS["setattr"],
    "type.__delattr__": BLOCKED_BUILTINS["delattr"],
    "operator.attrgetter": "use plain attribute access",
    "operator.methodcaller": "call methods directly",
}
# Attributes that reach interpreter internals from any object.
BLOCKED_DUNDERS = {
    "__dict__": None,  # only on modules; see _check_attribute
    "__subclasses__": "class-hierarchy walking is a sandbox escape; use the classes directly",
    "__globals__": "function globals are not accessible to plugins",
    "__builtins__": "refer to builtins directly",
    "__code__": "code objects are not accessible to plugins",
    "__closure__": "closures are not accessible to plugins",
    "__loader__": "module loaders are not accessible to plugins",
    "__spec__": "module specs are not accessible to plugins",
    "__getattribute__": "use plain attribute access",
    "__setattr__": BLOCKED_BUILTINS["setattr"],
    "__delattr__": BLOCKED_BUILTINS["delattr"],
    "__import__": BLOCKED_BUILTINS["__import__"],
    "f_globals": "frame introspection is not allowed",
    "f_locals": "frame introspection is not allowed",
    "f_back": "frame introspection is not allowed",
    "gi_frame": "frame introspection is not allowed",
    "cr_frame": "frame introspection is not allowed",
}
# super().__setattr__ in a class that overrides __setattr__ is blocked too: it is setattr by
# another name.

KNOWN_GAPS = [
    "pathlib.Path(...).read_text()/write_text()/open(): the receiver's type is not tracked",
    "pickle.loads / marshal.loads of attacker-controlled bytes (torch.load uses pickle and is allowed)",
    "attributes reached through objects returned by calls (a library function returning the os module)",
    "code in native extensions or in third-party packages the plugin imports",
    "string-built names passed to library functions that do their own lookups (e.g. pydoc.locate)",
]


@dataclass
class Finding:
    file: str
    line: int
    severity: str  # error | warning
    code: str
    message: str
    fix: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.severity}] {self.code} {self.message} — fix: {self.fix}"

    def to_dict(self) -> dict:
        return asdict(self)


def _blocked_reason(qualified: str) -> str | None:
    """Why the dotted name ``qualified`` is blocked, or None. Checks every suffix of the chain,
    so ``os.path.os.system`` and ``shutil.os.popen`` are caught like ``os.system``."""
    parts = qualified.split(".")
    for start in range(len(parts)):
        chain = parts[start:]
        head = chain[0]
        if head in BLOCKED_MODULES:
            return f"'{head}' is blocked in plugins; {BLOCKED_MODULES[head]}"
        if head == "os" and len(chain) >= 2 and _OS_BLOCKED.match(chain[1]):
            return f"'os.{chain[1]}' is blocked in plugins; use run_tool for CLI tools or library I/O for files"
        if head in ("builtins", "__builtins__") and len(chain) >= 2 and chain[1] in BLOCKED_BUILTINS:
            return f"'{chain[1]}' (via {head}) is blocked in plugins; {BLOCKED_BUILTINS[chain[1]]}"
        for length in range(len(chain), 0, -1):
            name = ".".join(chain[:length])
            if name in BLOCKED_QUALIFIED:
                return f"'{name}' is blocked in plugins; {BLOCKED_QUALIFIED[name]}"
    return None


def _fold_str(node: ast.AST) -> str | None:
    """The value of a string expression built from constants (``"sys" + "tem"``, f-strings, join)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left, right = _fold_str(node.left), _fold_str(node.right)
        return None if left is None or right is None else left + right
    if isinstance(node, ast.JoinedStr):
        parts = []
        for value in node.values:
            folded = _fold_str(value.value if isinstance(value, ast.FormattedValue) else value)
            if folded is None:
                return None
            parts.append(folded)
        return "".join(parts)
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "join"
            and isinstance(node.func.value, ast.Constant) and len(node.args) == 1
            and isinstance(node.args[0], ast.List | ast.Tuple)):
        items = [_fold_str(e) for e in node.args[0].elts]
        return None if any(i is None for i in items) else node.func.value.value.join(items)
    return None


class _Scanner(ast.NodeVisitor):
    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[Finding] = []
        # name -> qualified dotted name it refers to (modules and their attributes)
        self.aliases: dict[str, str] = {}
        self.local_defs: set[str] = set()  # names the plugin defines itself (shadowing builtins)

    # -- helpers ---------------------------------------------------------------------------------
    def report(self, node: ast.AST, message: str, fix: str, code: str = "SEC001", severity: str = "error") -> None:
        self.findings.append(Finding(self.file, getattr(node, "lineno", 1), severity, code, message, fix))

    def qualify(self, node: ast.AST) -> str | None:
        """The dotted name an expression refers to, when it is rooted at an import or builtin."""
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            if node.id in BLOCKED_BUILTINS or node.id in ("__builtins__", "getattr", "vars"):
                return None if node.id in self.local_defs else f"builtins.{node.id}"
            return None
        if isinstance(node, ast.Attribute):
            base = self.qualify(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute):
            func = self.qualify(node.func)
            if func in ("builtins.getattr",) and len(node.args) >= 2:
                base = self.qualify(node.args[0])
                name = _fold_str(node.args[1])
                if base and name:
                    return f"{base}.{name}"
            if func == "importlib.import_module" and node.args:
                name = _fold_str(node.args[0])
                return name
        return None

    def check_qualified(self, node: ast.AST, qualified: str | None) -> bool:
        if not qualified:
            return False
        bare = qualified[len("builtins."):] if qualified.startswith("builtins.") else qualified
        if bare in BLOCKED_BUILTINS and qualified.startswith("builtins."):
            self.report(node, f"'{bare}' is blocked in plugins", BLOCKED_BUILTINS[bare])
            return True
        reason = _blocked_reason(qualified)
        if reason:
            self.report(node, reason, reason.split("; ", 1)[-1])
            return True
        return False

    def _is_module_ref(self, node: ast.AST) -> bool:
        q = self.qualify(node)
        return bool(q) and (q.split(".")[0] in self._imported_roots or q.startswith("builtins"))

    @property
    def _imported_roots(self) -> set[str]:
        return {v.split(".")[0] for v in self.aliases.values()}

    # -- definitions -----------------------------------------------------------------------------
    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.local_defs.add(node.name)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        self.local_defs.add(node.name)
        self.generic_visit(node)

    # -- imports ---------------------------------------------------------------------------------
    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.check_qualified(node, alias.name)
            if alias.asname:
                self.aliases[alias.asname] = alias.name
            else:
                root = alias.name.split(".")[0]
                self.aliases[root] = root

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if node.level:  # relative imports of the plugin's own modules
            for alias in node.names:
                self.local_defs.add(alias.asname or alias.name)
            return
        if self.check_qualified(node, module):
            return
        for alias in node.names:
            if alias.name == "*":
                if module in ("os", "builtins", "importlib", "sys", "io", "codecs", "operator", "posix", "nt"):
                    self.report(node, f"'from {module} import *' brings blocked names into the plugin",
                                f"import only what you use: from {module} import <name>")
                continue
            qualified = f"{module}.{alias.name}"
            if not self.check_qualified(node, qualified):
                self.aliases[alias.asname or alias.name] = qualified

    # -- assignments propagate aliases (f = os.system; o = os) -------------------------------------
    def visit_Assign(self, node: ast.Assign) -> None:
        self.generic_visit(node)
        qualified = self.qualify(node.value)
        for target in node.targets:
            if isinstance(target, ast.Name):
                if qualified:
                    self.aliases[target.id] = qualified
                else:
                    self.aliases.pop(target.id, None)
                    self.local_defs.add(target.id)

    def visit_NamedExpr(self, node: ast.NamedExpr) -> None:
        self.generic_visit(node)
        qualified = self.qualify(node.value)
        if qualified and isinstance(node.target, ast.Name):
            self.aliases[node.target.id] = qualified

    # -- references ------------------------------------------------------------------------------
    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            if node.id == "__builtins__":
                self.report(node, "'__builtins__' is blocked in plugins", BLOCKED_DUNDERS["__builtins__"])
            elif node.id in BLOCKED_BUILTINS and node.id not in self.local_defs and node.id not in self.aliases:
                self.report(node, f"'{node.id}' is blocked in plugins", BLOCKED_BUILTINS[node.id])
            elif "." in self.aliases.get(node.id, ""):
                self.check_qualified(node, self.aliases[node.id])  # f = os.system; f("…")

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in BLOCKED_DUNDERS:
            reason = BLOCKED_DUNDERS[node.attr]
            if node.attr == "__dict__":
                if self._is_module_ref(node.value):
                    self.report(node, "a module's '__dict__' is blocked in plugins",
                                "use the module's attributes directly (module.name)")
                    return
            else:
                self.report(node, f"'{node.attr}' is blocked in plugins", reason)
                return
        qualified = self.qualify(node)
        if qualified and self.check_qualified(node, qualified):
            return  # one finding per chain
        self.generic_visit(node)

    def visit_Call(self, node: ast.Call) -> None:
        func = self.qualify(node.func) if isinstance(node.func, ast.Name | ast.Attribute) else None
        if func == "builtins.getattr" and len(node.args) >= 2:
            name = _fold_str(node.args[1])
            target = node.args[0]
            if name is None:
                if self._is_module_ref(target) or isinstance(target, ast.Call):
                    self.report(node, "getattr with a computed name on a module is blocked in plugins",
                                "use a literal attribute name: getattr(module, \"name\")")
                else:
                    self.report(node, "getattr with a computed name", "prefer a literal attribute name",
                                code="SEC002", severity="warning")
            else:
                base = self.qualify(target)
                if name in BLOCKED_DUNDERS and name != "__dict__":
                    self.report(node, f"getattr(..., {name!r}) is blocked in plugins", BLOCKED_DUNDERS[name] or "")
                elif base and self.check_qualified(node, f"{base}.{name}"):
                    pass
                elif name == "__dict__" and self._is_module_ref(target):
                    self.report(node, "a module's '__dict__' is blocked in plugins",
                                "use the module's attributes directly (module.name)")
            for arg in node.args:
                self.visit(arg)
            return
        if func == "builtins.vars" and node.args and self._is_module_ref(node.args[0]):
            self.report(node, "vars() of a module is blocked in plugins", "use the module's attributes directly")
        if func == "builtins.vars" and not node.args:
            self.report(node, "vars() without arguments is a dynamic namespace lookup", BLOCKED_BUILTINS["globals"])
        if func == "importlib.import_module":
            name = _fold_str(node.args[0]) if node.args else None
            if name is None:
                self.report(node, "importlib.import_module with a computed name is blocked in plugins",
                            "use a plain import statement")
            else:
                self.check_qualified(node, name)
        self.generic_visit(node)


def scan_source(source: str, file: str = "<plugin>") -> list[Finding]:
    """Findings for one Python source text (a syntax error is itself a finding)."""
    try:
        tree = parse_python(source, filename=file)
    except SyntaxError as exc:
        return [Finding(file, exc.lineno or 1, "error", "SYN001", f"syntax error: {exc.msg}",
                        "fix the syntax; the plugin cannot be imported")]
    scanner = _Scanner(file)
    # Pass 1 collects top-level definitions so a plugin's own `def open(...)` shadows the builtin.
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            scanner.local_defs.add(node.name)
    scanner.visit(tree)
    unique: dict[tuple, Finding] = {}
    for f in scanner.findings:
        unique.setdefault((f.line, f.code, f.message), f)
    return sorted(unique.values(), key=lambda f: (f.line, f.code))


def scan_plugin(folder: Path) -> list[Finding]:
    """Findings for every ``.py`` file under ``folder`` (paths relative to it)."""
    findings: list[Finding] = []
    for path in sorted(Path(folder).rglob("*.py")):
        if "__pycache__" in path.parts:
            continue
        rel = str(path.relative_to(folder))
        findings += scan_source(path.read_text(encoding="utf-8", errors="replace"), rel)
    return findings
