"""The security scanner: every documented blocked call and every evasion, and the allowed usages."""

from __future__ import annotations

import pytest

from warehouse.extractors.tools.scanner import KNOWN_GAPS, scan_source

BLOCKED = {
    "subprocess": "import subprocess",
    "subprocess alias": "import subprocess as sp\nsp.run(['ls'])",
    "subprocess from-import": "from subprocess import run as go",
    "os.system": "import os\nos.system('ls')",
    "os.popen via alias": "import os as o\no.popen('ls')",
    "os.exec*": "import os\nos.execv('/bin/ls', [])",
    "os.spawn*": "import os\nos.spawnl(os.P_WAIT, '/bin/ls')",
    "from os import system": "from os import system\nsystem('ls')",
    "star import": "from os import *",
    "assigned alias": "import os\nrun = os.system\nrun('ls')",
    "eval": "eval('1 + 1')",
    "exec": "exec('x = 1')",
    "ctypes": "import ctypes",
    "socket": "import socket",
    "multiprocessing": "from multiprocessing import Pool",
    "process pool": "from concurrent.futures import ProcessPoolExecutor",
    "open": "open('/etc/passwd')",
    "open as a value": "reader = open\nreader('x')",
    "io.open": "import io\nio.open('x')",
    "setattr": "setattr(obj, 'x', 1)",
    "delattr": "delattr(obj, 'x')",
    "__import__": "__import__('os').system('ls')",
    "getattr literal": "import os\ngetattr(os, 'system')('ls')",
    "getattr folded": "import os\ngetattr(os, 'sys' + 'tem')('ls')",
    "getattr f-string": "import os\ngetattr(os, f'po{\"pen\"}')('ls')",
    "getattr join": "import os\ngetattr(os, ''.join(['sys', 'tem']))",
    "getattr computed": "import os\nname = input()\ngetattr(os, name)('ls')",
    "getattr renamed": "import os\ng = getattr\ng(os, 'system')",
    "importlib constant": "import importlib\nimportlib.import_module('subprocess')",
    "importlib result": "import importlib\nm = importlib.import_module('os')\nm.system('ls')",
    "importlib computed": "import importlib\nimportlib.import_module(name)",
    "importlib util": "import importlib.util\nimportlib.util.spec_from_file_location('x', 'y')",
    "builtins module": "import builtins\nbuiltins.exec('x')",
    "builtins getattr": "import builtins\ngetattr(builtins, 'ev' + 'al')('1')",
    "__builtins__": "__builtins__['eval']('1')",
    "globals lookup": "globals()['__builtins__']",
    "locals lookup": "locals()['x']",
    "vars()": "vars()['os']",
    "vars(module)": "import os\nvars(os)['system']('ls')",
    "module __dict__": "import os\nos.__dict__['system']('ls')",
    "getattr __dict__": "import os\ngetattr(os, '__dict__')['system']",
    "sys.modules": "import sys\nsys.modules['os'].system('ls')",
    "object.__setattr__": "object.__setattr__(obj, 'x', 1)",
    "__subclasses__": "().__class__.__base__.__subclasses__()",
    "__globals__": "f.__globals__['os']",
    "submodule chain": "import os\nos.path.os.system('ls')",
    "other module's os": "import shutil\nshutil.os.popen('ls')",
    "from submodule": "from os.path import os as o\no.system('ls')",
    "attrgetter": "import operator\noperator.attrgetter('system')(os)",
    "frame": "import sys\nsys._getframe(0).f_globals",
    "asyncio subprocess": "import asyncio\nasyncio.create_subprocess_exec('ls')",
}

ALLOWED = {
    "os.environ and os.path": "import os\nos.environ['TOKENIZERS_PARALLELISM'] = 'false'\np = os.path.join('a', 'b')",
    "getattr/hasattr literal": "name = getattr(config, 'model_name', 'x')\nif hasattr(self, '_model'):\n    pass",
    "library I/O": "import torch\nimport pandas as pd\nw = torch.load('w.pt')\ndf = pd.read_csv('a.csv')",
    "from_pretrained": "from transformers import AutoModel\nm = AutoModel.from_pretrained('bert-base-uncased')",
    "attribute assignment": "self.model = None\nconfig.value = 3",
    "methods named like blocked calls": "cursor.execute('select 1')\nself.executor.submit(f)\nplan.exec_plan()",
    "Image.open": "from PIL import Image\nimg = Image.open(path)",
    "literal_eval and re.compile": "import ast, re\nast.literal_eval('[1]')\nre.compile('x')",
    "a plugin's own open()": "def open(x):\n    return x\nopen(1)",
    "vars(obj)": "fields = vars(config)",
    "json": "import json\njson.loads('{}')",
}


@pytest.mark.parametrize("name", sorted(BLOCKED))
def test_blocked(name):
    errors = [f for f in scan_source(BLOCKED[name], "pipeline.py") if f.severity == "error"]
    assert errors, f"{name} passed the scanner"
    assert all(f.file == "pipeline.py" and f.line >= 1 and f.fix for f in errors)


@pytest.mark.parametrize("name", sorted(ALLOWED))
def test_allowed(name):
    errors = [str(f) for f in scan_source(ALLOWED[name]) if f.severity == "error"]
    assert not errors, errors


def test_findings_name_line_and_fix():
    (finding,) = scan_source("import json\n\nimport subprocess\n", "processors/x.py")
    assert (finding.file, finding.line, finding.severity) == ("processors/x.py", 3, "error")
    assert "run_tool" in finding.fix
    assert str(finding).startswith("processors/x.py:3: [error]")


def test_syntax_error_is_a_finding():
    (finding,) = scan_source("def f(:\n", "pipeline.py")
    assert finding.code == "SYN001" and finding.severity == "error"


def test_computed_getattr_on_an_object_is_only_a_warning():
    findings = scan_source("value = getattr(config, key)")
    assert [f.severity for f in findings] == ["warning"]


def test_known_gaps_are_documented():
    assert len(KNOWN_GAPS) >= 3
