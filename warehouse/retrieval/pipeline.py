"""Executing a retriever: normalise its stages, fill ``{{INPUT.x}}`` templates, run each stage.

Stage shapes accepted: ``{stage_name, stage_type, config: {stage_id, parameters}}`` (canonical),
flat ``{stage_type, stage_id, parameters}`` and ``{stage_name, stage_id, parameters}``. Anything
else is refused with the key named. Every execution returns per-stage statistics.
"""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

from warehouse.retrieval.errors import ApiError
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.stages import (
    STAGES,
    AttributeFilterStage,
    FeatureSearchStage,
    LimitStage,
    StageContext,
)
from warehouse.retrieval.stages.mmr import MmrStage

_TEMPLATE = re.compile(r"\{\{\s*(INPUT|INPUTS)\.([A-Za-z0-9_.]+)\s*\}\}", re.IGNORECASE)
_STAGE_KEYS = {"stage_name", "stage_type", "config", "stage_id", "parameters", "batch_size", "description",
               "on_error", "output_alias"}


def normalize_stage(stage: Any, position: int) -> dict[str, Any]:
    """The canonical stage dict (with a top-level ``parameters`` copy, as the SDK expects)."""
    where = f"stages[{position}]"
    if not isinstance(stage, dict):
        raise ApiError(422, f"{where} must be an object", {"location": where})
    unknown = set(stage) - _STAGE_KEYS
    if unknown:
        raise ApiError(422, f"{where}: unknown key(s) {sorted(unknown)}; a stage is "
                       "{stage_name, stage_type, config: {stage_id, parameters}}", {"location": where})
    config = dict(stage.get("config") or {})
    stage_id = config.get("stage_id") or stage.get("stage_id")
    if not stage_id and stage.get("stage_type") in STAGES:
        stage_id = stage["stage_type"]
    if not stage_id:
        raise ApiError(422, f"{where}: missing config.stage_id (e.g. 'feature_search')", {"location": where})
    if stage_id not in STAGES:
        raise ApiError(422, f"{where}: unknown stage_id {stage_id!r}; available: {sorted(STAGES)}", {"location": where})
    parameters = config.get("parameters", stage.get("parameters", {})) or {}
    unknown_cfg = set(config) - {"stage_id", "parameters", "pre_filters", "post_filters"}
    if unknown_cfg:
        raise ApiError(422, f"{where}.config: unknown key(s) {sorted(unknown_cfg)}; stage options go under "
                       "config.parameters", {"location": f"{where}.config"})
    cls = STAGES[stage_id]
    name = stage.get("stage_name") or f"{stage_id}_{position}"
    cls(name, parameters)  # validate parameter names and types now (templates stay strings)
    return {"stage_name": name, "stage_type": cls.category,
            "config": {"stage_id": stage_id, "parameters": parameters}, "parameters": parameters}


def render(value: Any, inputs: dict[str, Any]) -> Any:
    """Fill ``{{INPUT.x}}`` templates; a whole-string template keeps the input's type."""
    if isinstance(value, str):
        whole = _TEMPLATE.fullmatch(value.strip())
        if whole:
            return _lookup(inputs, whole.group(2))
        return _TEMPLATE.sub(lambda m: "" if _lookup(inputs, m.group(2)) is None else str(_lookup(inputs, m.group(2))), value)
    if isinstance(value, dict):
        return {k: render(v, inputs) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, inputs) for v in value]
    return value


def _lookup(inputs: dict[str, Any], path: str) -> Any:
    cur: Any = inputs
    for part in path.split("."):
        if not isinstance(cur, dict):
            return None
        cur = cur.get(part)
    return cur


_TYPES = {"string": str, "text": str, "number": (int, float), "float": (int, float), "integer": int,
          "boolean": bool, "array": list, "object": dict}


def validate_inputs(schema: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    out = dict(inputs)
    for name, spec in (schema or {}).items():
        if name not in out or out[name] is None:
            if spec.get("default") is not None:
                out[name] = spec["default"]
            elif spec.get("required"):
                raise ApiError(422, f"missing required input {name!r} (send it in inputs)",
                               {"input": name, "input_schema": schema})
            continue
        expected = _TYPES.get(spec.get("type", ""))
        if expected and not isinstance(out[name], expected):
            raise ApiError(422, f"input {name!r} must be of type {spec.get('type')}, got {type(out[name]).__name__}",
                           {"input": name})
    return out


def execute(services, namespace_id: str, collections: list[Any], stages: list[dict[str, Any]],
            input_schema: dict[str, Any], inputs: dict[str, Any], limit: int | None = None, offset: int = 0,
            filters: dict[str, Any] | None = None, retriever_id: str | None = None) -> dict[str, Any]:
    started = time.perf_counter()
    inputs = validate_inputs(input_schema, inputs)
    built = []
    for s in stages:
        cls = STAGES[s["config"]["stage_id"]]
        built.append(cls(s["stage_name"], render(s["config"].get("parameters", {}), inputs)))
    ctx = StageContext(services=services, namespace_id=namespace_id, collections=collections, inputs=inputs)
    request_filter = compile_filter(filters, "filters")
    stats: dict[str, Any] = {}
    docs: list[dict[str, Any]] = []
    for i, stage in enumerate(built):
        nxt = built[i + 1] if i + 1 < len(built) else None
        ctx.pushed_filter = None
        ctx.limit_hint = None
        ctx.mmr = None
        if isinstance(stage, FeatureSearchStage):
            pushed = [f for f in (request_filter,) if f is not None]
            after = nxt
            if isinstance(nxt, AttributeFilterStage) and nxt.compiled.qdrant is not None:
                pushed.append(nxt.compiled)
                nxt.pushed_down = True
                after = built[i + 2] if i + 2 < len(built) else None
            if pushed:
                ctx.pushed_filter = pushed[0] if len(pushed) == 1 else _Merged(pushed)
            # feature_search → [pushed filter] → limit: the engine need not return more than the limit keeps,
            # as long as every filter runs inside the engine.
            engine_filters = all(f.qdrant is not None for f in pushed)
            if isinstance(after, LimitStage) and engine_filters:
                ctx.limit_hint = after.params.offset + after.params.limit
            # feature_search (one dense search) → [pushed filter] → mmr over the same feature: one engine query
            uri = stage.single_dense_uri()
            if isinstance(after, MmrStage) and engine_filters and uri and after.pushable_over(uri):
                ctx.mmr = after
                after.pushed_down = True
        t0 = time.perf_counter()
        before = len(docs)
        docs = stage.run(ctx, docs)
        ctx.metadata["stages_run"] = i + 1
        ms = (time.perf_counter() - t0) * 1000
        stats[stage.name] = {"stage_id": stage.stage_id, "input_count": before, "output_count": len(docs),
                             "duration_ms": round(ms, 3), "efficiency": round(len(docs) / before, 4) if before else 0,
                             "metadata": stage.metadata or None}
    if request_filter is not None:
        docs = [d for d in docs if request_filter.matches(d)]
    total = len(docs)
    page = docs[offset: offset + limit] if limit else docs[offset:]
    return {
        "execution_id": "exec_" + uuid.uuid4().hex[:12], "status": "completed", "retriever_id": retriever_id,
        "documents": page,
        "pagination": {"method": "offset", "page_number": offset // limit + 1 if limit else 1,
                       "page_size": limit or total, "returned": len(page), "total": total,
                       "has_next": offset + len(page) < total},
        "stage_statistics": {"stages": stats, "total_time_ms": round((time.perf_counter() - started) * 1000, 3),
                             "credits_used": 0.0},
        "warnings": [],
    }


class _Merged:
    """Several pushed filters ANDed together."""

    def __init__(self, parts) -> None:
        self.parts = parts
        pushable = all(p.qdrant is not None for p in parts)
        self.qdrant = {"must": [p.qdrant for p in parts]} if pushable else None

    def matches(self, payload) -> bool:
        return all(p.matches(payload) for p in self.parts)

