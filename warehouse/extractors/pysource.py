"""Parsing Python source for the manifest reader, the linter and the scanner.

CPython 3.11 before 3.11.9 keeps the AST constructor's recursion depth in one per-interpreter counter
(python/cpython#106905): when another thread parses while this one builds its tree (a collection that
runs a finalizer hands the GIL over mid-build; the other thread is often ``traceback`` placing its carets
under a logged error), this parse fails with ``SystemError: AST constructor recursion depth mismatch``.
The tree is built with the collector paused, so no finalizer can hand the GIL over mid-build (building it
runs no other Python code); should a collision still happen (another thread resumed the collector first),
nothing was wrong with the source and the next attempt starts from a fresh counter, so it is tried again.
"""

from __future__ import annotations

import ast
import gc

#: attempts before the interpreter's error is let through
ATTEMPTS = 50
_RACE = "AST constructor recursion depth mismatch"


def parse_python(source: str, filename: str = "<unknown>") -> ast.Module:
    """``ast.parse``, tried again when another thread's parse collided with this one (see above)."""
    for attempt in range(ATTEMPTS):
        collecting = gc.isenabled()
        gc.disable()
        try:
            return ast.parse(source, filename=filename)
        except SystemError as exc:
            if _RACE not in str(exc) or attempt == ATTEMPTS - 1:
                raise
        finally:
            if collecting:
                gc.enable()
    raise AssertionError("unreachable")
