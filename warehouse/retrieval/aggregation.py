"""Aggregations over a collection's documents or a bucket's objects (``…/documents/aggregate``,
``…/objects/aggregate``): the hosted API's aggregation request, run in one pass over the matching rows.

Per row, in order: ``unwind`` (one row per element of an array field; a row without the field, or with an empty
array, is left out), ``range_buckets`` (a number becomes the label of its ``[lower, upper)`` range, one outside
every range the ``default_bucket``), ``group_by`` (with ``date_trunc`` or ``date_part`` of an ISO time or epoch
seconds), then each group's accumulators. After the pass: ``having`` on the aggregation aliases,
``sort_by``/``sort_direction``, ``limit``. Memory grows with the groups (and the values ``push``/``add_to_set``
keep), not with the rows. The caller applies ``filters`` before (the index runs what it can).
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from warehouse.errors import WarehouseError
from warehouse.retrieval.filters import get_path, order_key, set_path, split_sorted

Function = Literal["count", "count_distinct", "sum", "avg", "min", "max", "first", "last", "push", "add_to_set"]
Truncation = Literal["year", "month", "week", "day", "hour", "minute", "second"]
Part = Literal["year", "month", "week", "day", "dayOfWeek", "dayOfYear", "hour", "minute", "second"]
_STRICT = ConfigDict(extra="forbid", strict=True)


class GroupByField(BaseModel):
    model_config = _STRICT
    field: str = Field(min_length=1, description="Dotted path of the field to group by.")
    alias: str | None = Field(default=None, min_length=1, description="Its name in each result's `group`.")
    date_trunc: Truncation | None = Field(default=None, description="Group a time by its year, month, ISO week "
                                          "(from Monday), day, hour, minute or second (an ISO time, UTC).")
    date_part: Part | None = Field(default=None, description="Group by one part of a time (an integer; "
                                   "`dayOfWeek` 1 = Sunday … 7 = Saturday, `week` the ISO week).")

    @property
    def name(self) -> str:
        return self.alias or self.field


class AggregationOperation(BaseModel):
    model_config = _STRICT
    function: Function
    field: str | None = Field(default=None, min_length=1, description="Dotted path; every function but count "
                              "needs one (count with a field counts the rows that have it).")
    alias: str = Field(min_length=1, description="Its name in each result's `metrics`.")
    distinct_field: str | None = Field(default=None, min_length=1, description="count_distinct: the field to "
                                       "count (default: `field`).")


class HavingCondition(BaseModel):
    model_config = _STRICT
    field: str = Field(min_length=1, description="An aggregation alias.")
    operator: Literal["gt", "gte", "lt", "lte", "eq", "ne"]
    value: int | float | str | bool | None


class RangeBucket(BaseModel):
    model_config = _STRICT
    field: str = Field(min_length=1, description="A numeric field; its value becomes the label of its range.")
    boundaries: list[int | float] = Field(min_length=2, description="Ascending; [0, 10, 20] makes 0-10 and "
                                          "10-20 (a boundary value starts the range above it).")
    default_bucket: str = Field(default="other", description="The label of numbers outside every range.")


class AggregationRequest(BaseModel):
    model_config = _STRICT
    group_by: list[GroupByField] | None = Field(default=None, description="One result per combination of "
                                                "values; leave it out to count all matching rows in one result.")
    aggregations: list[AggregationOperation] = Field(min_length=1)
    filters: dict[str, Any] | None = Field(default=None, description="The listing filter language; applied "
                                           "before grouping.")
    having: list[HavingCondition] | None = None
    unwind: str | None = Field(default=None, min_length=1, description="An array field: one row per element.")
    range_buckets: list[RangeBucket] | None = None
    sort_by: str | None = Field(default=None, min_length=1, description="A group name or aggregation alias "
                                "(default: groups in the order they were first seen).")
    sort_direction: Literal["asc", "desc"] = "desc"
    limit: int | None = Field(default=None, ge=1, le=100_000)


class Aggregator:
    """Feed rows with ``add``; ``result`` is the response body (``results``, ``total_groups``, ``query_info``)."""

    def __init__(self, request: AggregationRequest, *, group_by_required: bool = False) -> None:
        self.request = request
        self.groups: dict[str, tuple[dict[str, Any], list[_Accumulator]]] = {}
        self.rows = 0
        self.started = time.perf_counter()
        _check(request, group_by_required)

    def add(self, row: dict[str, Any]) -> None:
        for one in _unwound(row, self.request.unwind):
            self.rows += 1
            for bucket in self.request.range_buckets or []:
                one = _bucketed(one, bucket)
            group = {g.name: _group_value(get_path(one, g.field), g) for g in self.request.group_by or []}
            key = json.dumps(group, sort_keys=True, default=str)
            if key not in self.groups:
                self.groups[key] = (group, [_Accumulator(op) for op in self.request.aggregations])
            for acc in self.groups[key][1]:
                acc.add(one)

    def result(self, **info: Any) -> dict[str, Any]:
        req = self.request
        groups = list(self.groups.values())
        if not groups and not req.group_by:  # counting all matching rows: none is a count of 0
            groups = [({}, [_Accumulator(op) for op in req.aggregations])]
        rows = [{"group": group, "metrics": {a.op.alias: a.value() for a in accs}} for group, accs in groups]
        grouped = len(rows)
        rows = [r for r in rows if all(_holds(r["metrics"].get(h.field), h) for h in req.having or [])]
        if req.sort_by:
            place = "group" if req.sort_by in {g.name for g in req.group_by or []} else "metrics"
            present, missing = split_sorted(rows, lambda r: r[place].get(req.sort_by), req.sort_direction == "desc")
            rows = present + missing
        rows = rows[: req.limit] if req.limit else rows
        return {"results": rows, "total_groups": len(rows), "query_info": {
            **info, "rows_aggregated": self.rows, "groups": grouped,
            "elapsed_ms": round((time.perf_counter() - self.started) * 1000, 2)}}


def _check(req: AggregationRequest, group_by_required: bool) -> None:
    """What the models alone cannot say: a 422 naming the field."""
    def refuse(where: str, message: str) -> None:
        raise WarehouseError(422, f"{where}: {message}", {"location": where})

    groups = req.group_by or []
    if not groups and group_by_required:
        refuse("group_by", "name at least one field to group by")
    if not groups and any(op.function != "count" or op.field for op in req.aggregations):
        refuse("group_by", "without a group_by field only count (with no field) applies; group by a field for "
                           "the other functions")
    for i, g in enumerate(groups):
        if g.date_trunc and g.date_part:
            refuse(f"group_by[{i}]", "give date_trunc or date_part, not both")
    names = [g.name for g in groups]
    if len(set(names)) != len(names):
        refuse("group_by", f"two groups share the name {next(n for n in names if names.count(n) > 1)!r}; give "
                           "one an alias")
    aliases = [op.alias for op in req.aggregations]
    for i, op in enumerate(req.aggregations):
        if op.function != "count" and not (op.field or (op.function == "count_distinct" and op.distinct_field)):
            refuse(f"aggregations[{i}].field", f"{op.function} needs the field it aggregates")
        if op.alias in aliases[:i]:
            refuse(f"aggregations[{i}].alias", f"{op.alias!r} names two aggregations")
    for i, h in enumerate(req.having or []):
        if h.field not in aliases:
            refuse(f"having[{i}].field", f"{h.field!r} is not an aggregation alias ({aliases})")
    if req.sort_direction == "asc" and not req.sort_by:
        refuse("sort_direction", "it orders by sort_by: name the group or aggregation alias to sort by")
    if req.sort_by and req.sort_by not in aliases and req.sort_by not in names:
        refuse("sort_by", f"{req.sort_by!r} is neither a group ({names}) nor an aggregation alias ({aliases})")
    for i, b in enumerate(req.range_buckets or []):
        if any(lo >= hi for lo, hi in zip(b.boundaries, b.boundaries[1:], strict=False)):
            refuse(f"range_buckets[{i}].boundaries", f"must ascend, got {b.boundaries}")


def _unwound(row: dict[str, Any], path: str | None) -> list[dict[str, Any]]:
    if path is None:
        return [row]
    value = get_path(row, path)
    if value is None:
        return []
    if not isinstance(value, list):
        return [row]
    out = []
    for item in value:
        copy = dict(row)
        set_path(copy, path, item)
        out.append(copy)
    return out


def _bucketed(row: dict[str, Any], bucket: RangeBucket) -> dict[str, Any]:
    value = get_path(row, bucket.field)
    if not isinstance(value, int | float) or isinstance(value, bool):
        return row
    bounds = bucket.boundaries
    label = next((f"{lo}-{hi}" for lo, hi in zip(bounds, bounds[1:], strict=False) if lo <= value < hi),
                 bucket.default_bucket)
    copy = dict(row)
    set_path(copy, bucket.field, label)
    return copy


def _group_value(value: Any, g: GroupByField) -> Any:
    if not (g.date_trunc or g.date_part) or value is None:
        return value
    when = _as_time(value)
    if when is None:
        return None  # not a time: the group of rows without one
    if g.date_part:
        return {"year": when.year, "month": when.month, "week": when.isocalendar().week, "day": when.day,
                "dayOfWeek": when.isoweekday() % 7 + 1, "dayOfYear": when.timetuple().tm_yday,
                "hour": when.hour, "minute": when.minute, "second": when.second}[g.date_part]
    unit = g.date_trunc
    if unit == "week":
        start = (when - timedelta(days=when.weekday())).replace(hour=0, minute=0, second=0, microsecond=0)
    else:
        keep = ["year", "month", "day", "hour", "minute", "second"].index(unit) + 1
        fields = [when.year, when.month, when.day, when.hour, when.minute, when.second][:keep]
        start = datetime(*fields, *([1] * max(0, 3 - keep)), tzinfo=UTC)
    return start.isoformat().replace("+00:00", "Z")


def _as_time(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            when = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return None
        return when.astimezone(UTC) if when.tzinfo else when.replace(tzinfo=UTC)
    return None


def _holds(value: Any, h: HavingCondition) -> bool:
    if h.operator == "eq":
        return value == h.value
    if h.operator == "ne":
        return value != h.value
    if value is None or h.value is None:
        return False
    a, b = order_key(value), order_key(h.value)
    return {"gt": a > b, "gte": a >= b, "lt": a < b, "lte": a <= b}[h.operator]


class _Accumulator:
    """One aggregation's running state in one group."""

    _NONE = object()

    def __init__(self, op: AggregationOperation) -> None:
        self.op = op
        self.path = (op.distinct_field or op.field) if op.function == "count_distinct" else op.field
        self.count = 0
        self.total: int | float = 0
        self.best: Any = self._NONE
        self.values: dict[str, Any] = {}
        self.items: list[Any] = []

    def add(self, row: dict[str, Any]) -> None:
        fn = self.op.function
        if fn == "count" and self.path is None:
            self.count += 1
            return
        value = get_path(row, self.path)
        if value is None:
            return
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if fn == "count":
            self.count += 1
        elif fn in ("count_distinct", "add_to_set"):
            self.values.setdefault(json.dumps(value, sort_keys=True, default=str), value)
        elif fn in ("sum", "avg"):
            if number:
                self.total += value
                self.count += 1
        elif fn in ("min", "max"):
            if self.best is self._NONE:
                self.best = value
            elif (order_key(value) < order_key(self.best)) if fn == "min" else (order_key(value) > order_key(self.best)):
                self.best = value
        elif fn == "first":
            if self.best is self._NONE:
                self.best = value
        elif fn == "last":
            self.best = value
        elif fn == "push":
            self.items.append(value)

    def value(self) -> Any:
        fn = self.op.function
        if fn == "count":
            return self.count
        if fn == "count_distinct":
            return len(self.values)
        if fn == "add_to_set":
            return list(self.values.values())
        if fn == "sum":
            return self.total
        if fn == "avg":
            return self.total / self.count if self.count else None
        if fn == "push":
            return self.items
        return None if self.best is self._NONE else self.best
