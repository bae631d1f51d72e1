"""Parsing plugin source holds while other threads parse too (python/cpython#106905 on 3.11 < 3.11.9).

The CI run that found it: a background batch logged its failure (``traceback`` parses each frame's line to
place its carets) while the next test's API loaded the built-in manifests, and the manifest parse failed with
``SystemError: AST constructor recursion depth mismatch``."""

from __future__ import annotations

import ast
import gc
import sys
import threading
import time

import pytest

from warehouse.extractors import pysource
from warehouse.extractors.pysource import parse_python

SOURCE = "\n".join(f"x{i} = [a + b * c for a in range(3) if f(a, b=c)]" for i in range(60))


class _Cycle:
    """Garbage whose collection runs Python code: the moment the GIL can pass to another thread."""

    def __del__(self):
        sum(range(50))


def test_parses_hold_while_another_thread_parses_and_collects():
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    stop = threading.Event()
    other_failures = []

    def other_thread():
        while not stop.is_set():
            junk = _Cycle()
            junk.self = junk
            del junk
            try:
                ast.parse("a.b(c)[d] + e")
            except SystemError as exc:  # the other side of the collision; traceback suppresses it
                other_failures.append(exc)

    thread = threading.Thread(target=other_thread, daemon=True)
    thread.start()
    try:
        trees = []
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline:
            trees.append(parse_python(SOURCE, "<race>"))
    finally:
        stop.set()
        thread.join()
        sys.setswitchinterval(interval)
    assert trees and all(len(t.body) == 60 for t in trees)
    print(f"{len(trees)} parses held; the other thread's bare ast.parse collided {len(other_failures)} times")


def test_only_the_collision_is_tried_again(monkeypatch):
    calls = []

    def parse(source, filename):
        assert not gc.isenabled()  # the collector is paused while the tree is built
        calls.append(source)
        if len(calls) < 3:
            raise SystemError("AST constructor recursion depth mismatch (before=168, after=34)")
        return ast.Module(body=[], type_ignores=[])

    monkeypatch.setattr(pysource.ast, "parse", parse)
    assert parse_python("x = 1").body == [] and len(calls) == 3

    calls.clear()
    monkeypatch.setattr(pysource.ast, "parse", lambda s, filename: (_ for _ in ()).throw(SystemError("other")))
    with pytest.raises(SystemError, match="other"):
        parse_python("x = 1")
    assert gc.isenabled()


def test_a_syntax_error_is_the_callers_to_report():
    with pytest.raises(SyntaxError) as info:
        parse_python("def broken(:\n", "manifest.py")
    assert info.value.filename == "manifest.py"
