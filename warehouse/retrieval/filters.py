"""Mixpeek filter expressions → Qdrant filter JSON (pushed into the engine) or a Python predicate.

Accepted shapes: ``{"AND"|"OR"|"NOT": [...]}`` (any case), a bare ``{field, operator, value}``, and
a plain ``{field: value}`` equality map. Operators Qdrant evaluates natively are pushed down;
``ends_with`` and ``regex`` (which it cannot) make the whole expression run in Python.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import lru_cache
from typing import Any

import re2

from warehouse.errors import WarehouseError

OPERATORS = {
    "eq", "ne", "gt", "lt", "gte", "lte", "in", "nin", "contains", "starts_with", "ends_with",
    "regex", "exists", "is_null", "text",
}
_PUSHABLE = OPERATORS - {"ends_with", "regex", "starts_with", "contains"}


def get_path(payload: dict[str, Any], path: str) -> Any:
    """The value at a dotted path (``metadata.year``), or None."""
    cur: Any = payload
    for part in path.split("."):
        if not isinstance(cur, dict) or part not in cur:
            return None
        cur = cur[part]
    return cur


def order_key(value: Any) -> tuple[int, Any]:
    """A sort key for any payload value: numbers (and booleans) before everything else, which compares as text,
    so a field holding mixed types sorts deterministically instead of raising."""
    if isinstance(value, bool):
        return (0, int(value))
    if isinstance(value, int | float):
        return (0, value)
    return (1, value if isinstance(value, str) else json.dumps(value, sort_keys=True, default=str))


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` at a dotted path, creating (or copying) the intermediate objects."""
    parts = path.split(".")
    cur = doc
    for part in parts[:-1]:
        nxt = cur.get(part)
        nxt = dict(nxt) if isinstance(nxt, dict) else {}
        cur[part] = nxt
        cur = nxt
    cur[parts[-1]] = value


def split_sorted(items: list, value_of: Callable[[Any], Any], descending: bool = False) -> tuple[list, list]:
    """(the items that have a value, stably sorted by it with ``order_key``; those without one, in their order) —
    callers put the second list last, or first."""
    present = [item for item in items if value_of(item) is not None]
    missing = [item for item in items if value_of(item) is None]
    return sorted(present, key=lambda item: order_key(value_of(item)), reverse=descending), missing


def project(row: dict, paths: list[str], always: tuple[str, ...]) -> dict:
    """The fields of ``row`` at dotted ``paths`` (those it has) and the ``always`` ones."""
    out = {k: row[k] for k in always}
    for path in paths:
        cur: Any = row
        for part in path.split("."):
            if not isinstance(cur, dict) or part not in cur:
                break
            cur = cur[part]
        else:
            set_path(out, path, cur)
    return out


MAX_REGEX_LENGTH = 1000


@lru_cache(maxsize=512)
def _compiled(pattern: str):
    return re2.compile(pattern)


def user_regex(pattern: Any, where: str):
    """A caller's regular expression, compiled by RE2: matching takes time linear in the text, so no pattern
    (``^(a+)+$`` and friends) can stall the server; RE2 has no backreferences or lookaround. 422 naming ``where``
    for anything else."""
    if not isinstance(pattern, str) or not pattern or len(pattern) > MAX_REGEX_LENGTH:
        raise WarehouseError(422, f"{where}: a regex is a non-empty string of at most {MAX_REGEX_LENGTH} characters",
                             {"location": where})
    try:
        return _compiled(pattern)
    except re2.error as exc:
        raise WarehouseError(422, f"{where}: invalid regex {pattern[:80]!r} ({exc}); RE2 syntax, without "
                             "backreferences or lookaround", {"location": where}) from None


def _normalize(expr: Any, where: str = "filters") -> dict[str, Any]:
    """A tree of ``{"op": and|or|not, "items": [...]}`` and ``{"field", "operator", "value"}`` leaves."""
    if not isinstance(expr, dict):
        raise WarehouseError(422, f"{where} must be an object, got {type(expr).__name__}", {"location": where})
    upper = {k.upper(): v for k, v in expr.items() if k.upper() in ("AND", "OR", "NOT")}
    if upper:
        if len(upper) != len(expr):
            extra = [k for k in expr if k.upper() not in ("AND", "OR", "NOT", "CASE_SENSITIVE")]
            if extra:
                raise WarehouseError(422, f"{where}: unexpected key(s) {extra} beside AND/OR/NOT", {"location": where})
        if len(upper) > 1:
            return {"op": "and", "items": [_normalize({k: v}, where) for k, v in upper.items()]}
        (op, items), = upper.items()
        items = items if isinstance(items, list) else [items]
        return {"op": op.lower(), "items": [_normalize(i, f"{where}.{op}[{n}]") for n, i in enumerate(items)]}
    if "field" in expr:
        operator = str(expr.get("operator", "eq")).lower()
        if operator not in OPERATORS:
            raise WarehouseError(422, f"{where}: unknown operator {operator!r}; use one of {sorted(OPERATORS)}",
                           {"location": where})
        unknown = set(expr) - {"field", "operator", "value", "case_sensitive"}
        if unknown:
            raise WarehouseError(422, f"{where}: unknown key(s) {sorted(unknown)} in a condition {{field, operator, value}}",
                           {"location": where})
        if operator in ("in", "nin") and not isinstance(expr.get("value"), list):
            raise WarehouseError(422, f"{where}: operator {operator!r} needs a list value", {"location": where})
        if operator == "regex":
            user_regex(expr.get("value"), f"{where}.value")
        return {"field": str(expr["field"]), "operator": operator, "value": expr.get("value")}
    return {"op": "and", "items": [{"field": k, "operator": "eq", "value": v} for k, v in expr.items()]}


def _pushable(node: dict[str, Any]) -> bool:
    if "op" in node:
        return all(_pushable(i) for i in node["items"])
    if isinstance(node["value"], list) and any(isinstance(v, bool) for v in node["value"]):
        return False  # booleans: see eq below
    if node["operator"] in ("gt", "lt", "gte", "lte"):
        return isinstance(node["value"], int | float) and not isinstance(node["value"], bool)
    if node["operator"] in ("eq", "ne"):
        # booleans are matched here, not by the engine: Qdrant Edge's MatchValue(True) matches no point, indexed
        # or not (tests/retrieval/test_filters.py::test_booleans_are_matched_here_not_by_the_engine)
        return (isinstance(node["value"], str | int) and not isinstance(node["value"], bool)) or node["value"] is None
    return node["operator"] in _PUSHABLE


def _leaf_to_qdrant(node: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(clause, condition): the clause is must or must_not."""
    field, op, value = node["field"], node["operator"], node["value"]
    if op == "eq":
        if value is None:
            return "must", {"is_null": {"key": field}}
        return "must", {"key": field, "match": {"value": value}}
    if op == "ne":
        if value is None:
            return "must_not", {"is_null": {"key": field}}
        return "must_not", {"key": field, "match": {"value": value}}
    if op in ("gt", "lt", "gte", "lte"):
        return "must", {"key": field, "range": {op: value}}
    if op == "in":
        return "must", {"key": field, "match": {"any": list(value)}}
    if op == "nin":
        return "must_not", {"key": field, "match": {"any": list(value)}}
    if op == "exists":
        clause = "must_not" if value is not False else "must"
        return clause, {"is_empty": {"key": field}}
    if op == "is_null":
        return ("must" if value is not False else "must_not"), {"is_null": {"key": field}}
    if op == "text":
        return "must", {"key": field, "match": {"text": str(value)}}
    raise AssertionError(op)


def _to_qdrant(node: dict[str, Any]) -> dict[str, Any]:
    if "op" not in node:
        clause, cond = _leaf_to_qdrant(node)
        return {clause: [cond]}
    parts = [_to_qdrant(i) for i in node["items"]]
    if node["op"] == "and":
        return {"must": parts}
    if node["op"] == "or":
        return {"should": parts}
    return {"must_not": parts}


def _match_leaf(node: dict[str, Any], payload: dict[str, Any]) -> bool:
    value = get_path(payload, node["field"])
    op, target = node["operator"], node["value"]
    if op == "exists":
        return (value is not None) == (target is not False)
    if op == "is_null":
        return (value is None) == (target is not False)
    values = value if isinstance(value, list) else [value]
    try:
        if op == "eq":
            return any(v == target for v in values)
        if op == "ne":
            return all(v != target for v in values)
        if op == "in":
            return any(v in target for v in values)
        if op == "nin":
            return all(v not in target for v in values)
        if op in ("gt", "lt", "gte", "lte"):
            if value is None:
                return False
            return {"gt": value > target, "lt": value < target, "gte": value >= target, "lte": value <= target}[op]
        text = "" if value is None else str(value) if not isinstance(value, list) else None
        if op == "contains":
            return target in value if isinstance(value, list) else str(target).lower() in (text or "").lower()
        if op == "starts_with":
            return (text or "").startswith(str(target))
        if op == "ends_with":
            return (text or "").endswith(str(target))
        if op == "regex":
            return user_regex(target, "filter").search(text or "") is not None
        if op == "text":
            words = str(target).lower().split()
            return all(w in (text or "").lower() for w in words)
    except TypeError:
        return False
    return False


def _match(node: dict[str, Any], payload: dict[str, Any]) -> bool:
    if "op" not in node:
        return _match_leaf(node, payload)
    results = (_match(i, payload) for i in node["items"])
    if node["op"] == "and":
        return all(results)
    if node["op"] == "or":
        return any(results)
    return not any(results)


class CompiledFilter:
    """A filter ready to run: ``qdrant`` when the engine can evaluate it, and always ``matches``."""

    def __init__(self, expr: Any, where: str = "filters") -> None:
        self.tree = _normalize(expr, where)
        self.qdrant: dict[str, Any] | None = _to_qdrant(self.tree) if _pushable(self.tree) else None

    def matches(self, payload: dict[str, Any]) -> bool:
        return _match(self.tree, payload)


def compile_filter(expr: Any, where: str = "filters") -> CompiledFilter | None:
    return CompiledFilter(expr, where) if expr else None
