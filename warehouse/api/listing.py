"""A listing's ``sort``/``sorts`` and ``select``: read from the request, applied to the rows as shown.

A listing that sorts in its database reads the same ``(field, descending)`` pairs; the rows it cannot sort there
(a field inside a JSON document) are sorted here, stably, those without the field last in either direction.
"""

from __future__ import annotations

from typing import Any

from warehouse.errors import WarehouseError
from warehouse.retrieval.filters import get_path, split_sorted


def sort_keys(sort: Any, sorts: Any) -> list[tuple[str, bool]]:
    """``(field, descending)`` pairs from ``sort`` (one ``{field, direction}`` or a list of them) or ``sorts``."""
    if sort is not None and sorts is not None:
        raise WarehouseError(422, "sorts: give sort or sorts, not both", {"location": "sorts"})
    name, given = ("sort", sort) if sort is not None else ("sorts", sorts)
    if given is None:
        return []
    out = []
    for i, item in enumerate(given if isinstance(given, list) else [given]):
        where = f"{name}[{i}]" if isinstance(given, list) else name
        if not isinstance(item, dict) or set(item) - {"field", "direction"} or \
                not isinstance(item.get("field"), str) or not item["field"].strip():
            raise WarehouseError(422, f"{where}: a sort is {{\"field\": \"<name, dots for nested fields>\", "
                                 f"\"direction\": \"asc\"|\"desc\"}}, got {str(item)[:120]}", {"location": where})
        direction = str(item.get("direction") or "asc").lower()
        if direction not in ("asc", "desc"):
            raise WarehouseError(422, f"{where}.direction: {item['direction']!r} is not asc or desc",
                                 {"location": f"{where}.direction"})
        out.append((item["field"].strip(), direction == "desc"))
    return out


def sort_rows(rows: list[dict], keys: list[tuple[str, bool]]) -> list[dict]:
    """``rows`` sorted by each dotted field of ``keys`` in turn (the first decides; ``order_key`` orders mixed
    types)."""
    for field, desc in reversed(keys):  # stable sorts, the last key first
        present, missing = split_sorted(rows, lambda r, f=field: get_path(r, f), desc)
        rows = present + missing
    return rows


def selection(select: Any) -> list[str] | None:
    """The dotted field paths of ``select``, or None when every field is wanted."""
    if select is None:
        return None
    if not isinstance(select, list) or not select or not all(
            isinstance(p, str) and all(part.strip() for part in p.strip().split(".")) for p in select):
        raise WarehouseError(422, "select: a non-empty list of field names (dots for nested fields: "
                             f"'metadata.title'), got {str(select)[:120]}", {"location": "select"})
    return [p.strip() for p in select]
