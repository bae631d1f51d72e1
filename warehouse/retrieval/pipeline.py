"""Executing a retriever: normalise its stages, fill ``{{INPUT.x}}`` templates, run each stage.

Stage shapes accepted: ``{stage_name, stage_type, config: {stage_id, parameters}}`` (canonical),
flat ``{stage_type, stage_id, parameters}`` and ``{stage_name, stage_id, parameters}``. Anything
else is refused with the key named. Every execution returns per-stage statistics.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from warehouse.errors import WarehouseError
from warehouse.retrieval.filters import compile_filter
from warehouse.retrieval.stages import (
    STAGES,
    AttributeFilterStage,
    FeatureSearchStage,
    LimitStage,
    StageContext,
)
from warehouse.retrieval.stages.mmr import MmrStage
from warehouse.retrieval.templates import render, template_references

_STAGE_KEYS = {"stage_name", "stage_type", "config", "stage_id", "parameters", "batch_size", "description",
               "on_error", "output_alias"}


def normalize_stage(stage: Any, position: int, validate: bool = True) -> dict[str, Any]:
    """The canonical stage dict (with a top-level ``parameters`` copy, as the SDK expects).

    ``validate`` checks the parameters now; an ad-hoc execution leaves that to building the stages
    with their rendered parameters a moment later, instead of constructing every stage twice."""
    where = f"stages[{position}]"
    if not isinstance(stage, dict):
        raise WarehouseError(422, f"{where} must be an object", {"location": where})
    unknown = set(stage) - _STAGE_KEYS
    if unknown:
        raise WarehouseError(422, f"{where}: unknown key(s) {sorted(unknown)}; a stage is "
                       "{stage_name, stage_type, config: {stage_id, parameters}}", {"location": where})
    config = dict(stage.get("config") or {})
    stage_id = config.get("stage_id") or stage.get("stage_id")
    if not stage_id and stage.get("stage_type") in STAGES:
        stage_id = stage["stage_type"]
    if not stage_id:
        raise WarehouseError(422, f"{where}: missing config.stage_id (e.g. 'feature_search')", {"location": where})
    if stage_id not in STAGES:
        raise WarehouseError(422, f"{where}: unknown stage_id {stage_id!r}; available: {sorted(STAGES)}", {"location": where})
    parameters = config.get("parameters", stage.get("parameters", {})) or {}
    unknown_cfg = set(config) - {"stage_id", "parameters", "pre_filters", "post_filters"}
    if unknown_cfg:
        raise WarehouseError(422, f"{where}.config: unknown key(s) {sorted(unknown_cfg)}; stage options go under "
                       "config.parameters", {"location": f"{where}.config"})
    cls = STAGES[stage_id]
    name = stage.get("stage_name") or f"{stage_id}_{position}"
    if validate:
        cls(name, parameters)  # validate parameter names and types now (templates stay strings)
    return {"stage_name": name, "stage_type": cls.category,
            "config": {"stage_id": stage_id, "parameters": parameters}, "parameters": parameters}


def check_templates(stages: list[dict[str, Any]], input_schema: dict[str, Any]) -> None:
    """With an ``input_schema``, every template must name a declared input (a typo fails at create time)."""
    if not input_schema:
        return
    for i, stage in enumerate(stages):
        for where, name in template_references(stage["config"].get("parameters", {}), f"stages[{i}].config.parameters"):
            if name not in input_schema:
                raise WarehouseError(422, f"{where} uses {{{{INPUT.{name}}}}} but input_schema declares no {name!r}; "
                               f"declared: {sorted(input_schema)}", {"location": where, "input": name})


_TYPES = {"string": str, "text": str, "number": (int, float), "float": (int, float), "integer": int,
          "boolean": bool, "array": list, "object": dict}


def validate_inputs(schema: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    out = dict(inputs)
    unknown = sorted(set(out) - set(schema or {}))
    if schema and unknown:
        raise WarehouseError(422, f"unknown input(s) {unknown}; this retriever's input_schema declares {sorted(schema)}",
                       {"inputs": unknown, "input_schema": schema})
    for name, spec in (schema or {}).items():
        if name not in out or out[name] is None:
            if spec.get("default") is not None:
                out[name] = spec["default"]
            elif spec.get("required"):
                raise WarehouseError(422, f"missing required input {name!r} (send it in inputs)",
                               {"input": name, "input_schema": schema})
            continue
        expected = _TYPES.get(spec.get("type", ""))
        if expected and not isinstance(out[name], expected):
            raise WarehouseError(422, f"input {name!r} must be of type {spec.get('type')}, got {type(out[name]).__name__}",
                           {"input": name})
    return out


@dataclass
class StagePlan:
    """How one stage runs: what it received from its neighbours, and where its work happens."""

    stage: Any
    pushed_filter: Any = None
    limit_hint: int | None = None
    mmr: Any = None
    notes: list[str] = field(default_factory=list)


def build_stages(stages: list[dict[str, Any]], inputs: dict[str, Any]) -> list[Any]:
    """The stages with their ``{{INPUT.x}}`` parameters filled — except Jinja sources, which get the inputs as
    variables when they render (an input value is data, never template code)."""
    built = []
    for s in stages:
        cls = STAGES[s["config"]["stage_id"]]
        params = s["config"].get("parameters", {})
        filled = {k: (v if k in cls.template_parameters else render(v, inputs)) for k, v in params.items()}
        built.append(cls(s["stage_name"], filled))
    return built


def plan(built: list[Any], request_filter: Any = None) -> list[StagePlan]:
    """Decide the push-downs: filters, a limit and MMR move into the ``feature_search`` engine query."""
    plans = [StagePlan(stage) for stage in built]
    for i, (stage, sp) in enumerate(zip(built, plans, strict=True)):
        if not isinstance(stage, FeatureSearchStage):
            continue
        nxt = built[i + 1] if i + 1 < len(built) else None
        pushed = [f for f in (request_filter,) if f is not None]
        if request_filter is not None:
            sp.notes.append("the request's filters run in the engine query" if request_filter.qdrant is not None
                            else "the request's filters run in Python after the search")
        after = nxt
        if isinstance(nxt, AttributeFilterStage) and nxt.compiled.qdrant is not None:
            pushed.append(nxt.compiled)
            nxt.pushed_down = True
            plans[i + 1].notes.append(f"pushed into {stage.name!r}: runs as the engine query's filter")
            after = built[i + 2] if i + 2 < len(built) else None
        if pushed:
            sp.pushed_filter = pushed[0] if len(pushed) == 1 else _Merged(pushed)
        # feature_search → [pushed filter] → limit: the engine need not return more than the limit keeps,
        # as long as every filter runs inside the engine.
        engine_filters = all(f.qdrant is not None for f in pushed)
        if isinstance(after, LimitStage) and engine_filters:
            sp.limit_hint = after.params.offset + after.params.limit
            sp.notes.append(f"the engine returns at most {sp.limit_hint} documents (the limit that follows)")
        # feature_search (one dense search) → [pushed filter] → mmr over the same feature: one engine query
        uri = stage.single_dense_uri()
        if isinstance(after, MmrStage) and engine_filters and uri and after.pushable_over(uri):
            sp.mmr = after
            after.pushed_down = True
            plans[built.index(after)].notes.append(f"runs inside {stage.name!r}'s engine query (Nearest + MMR)")
    return plans


def explain(stages: list[dict[str, Any]], input_schema: dict[str, Any], inputs: dict[str, Any],
            filters: dict[str, Any] | None = None) -> dict[str, Any]:
    """The execution plan, without running it: each stage's rendered parameters and push-downs."""
    inputs = validate_inputs(input_schema, inputs)
    return describe(plan(build_stages(stages, inputs), compile_filter(filters, "filters")), inputs)


def describe(plans: list[StagePlan], inputs: dict[str, Any]) -> dict[str, Any]:
    out = []
    for sp in plans:
        stage = sp.stage
        entry = {"stage_name": stage.name, "stage_id": stage.stage_id, "category": stage.category,
                 "parameters": stage.params.model_dump(mode="json", by_alias=True, exclude_none=True),
                 "runs_in": "engine" if getattr(stage, "pushed_down", False) or isinstance(stage, FeatureSearchStage)
                 else "python", "notes": sp.notes}
        if isinstance(stage, FeatureSearchStage):
            p = stage.params
            entry["engine_query"] = {
                "searches": [{"feature_uri": s.feature_uri, "top_k": s.top_k, "weight": s.weight,
                              "lexical": s.lexical or s.feature_uri.endswith("/bm25")} for s in p.searches],
                "fusion": None if len(p.searches) == 1 else
                {"method": p.fusion, **({"k": p.rrf_k} if p.fusion == "rrf" else {}),
                 "in_engine": p.fusion in ("rrf", "dbsf")},
                "filter": sp.pushed_filter.qdrant if sp.pushed_filter is not None else None,
                "limit": min(p.final_top_k, sp.limit_hint or p.final_top_k) if sp.mmr is None else sp.mmr.params.top_k,
                "mmr": {"lambda": sp.mmr.params.lambda_} if sp.mmr is not None else None}
        out.append(entry)
    return {"stages": out, "inputs": inputs}


def execute(services, namespace_id: str, collections: list[Any], stages: list[dict[str, Any]],
            input_schema: dict[str, Any], inputs: dict[str, Any], limit: int | None = None, offset: int = 0,
            filters: dict[str, Any] | None = None, retriever_id: str | None = None,
            with_plan: bool = False, retriever_version: int | None = None, budget: dict[str, Any] | None = None,
            on_event: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:
    """Run the stages and page the result. ``budget``'s ``max_time_ms`` stops the run after the stage that
    crosses it (status ``budget_exceeded``, the stages not run named in ``warnings``); ``on_event`` receives
    ``stage_start`` / ``stage_complete`` events as the stages run (the streaming response sends them)."""
    started = time.perf_counter()
    inputs = validate_inputs(input_schema, inputs)
    built = build_stages(stages, inputs)
    ctx = StageContext(services=services, namespace_id=namespace_id, collections=collections, inputs=inputs)
    request_filter = compile_filter(filters, "filters")
    plans = plan(built, request_filter)
    execution_id = "exec_" + uuid.uuid4().hex[:12]
    max_ms = (budget or {}).get("max_time_ms")
    stats: dict[str, Any] = {}
    docs: list[dict[str, Any]] = []
    warnings: list[str] = []
    status = "completed"
    for i, (stage, sp) in enumerate(zip(built, plans, strict=True)):
        if max_ms is not None and i and (time.perf_counter() - started) * 1000 > max_ms:
            status = "budget_exceeded"
            warnings.append(f"budget_limits.max_time_ms ({max_ms}) reached after {i} stage(s); not run: "
                            f"{[st.name for st in built[i:]]}")
            break
        ctx.pushed_filter, ctx.limit_hint, ctx.mmr = sp.pushed_filter, sp.limit_hint, sp.mmr
        if on_event is not None:
            on_event({"event_type": "stage_start", "execution_id": execution_id, "stage_name": stage.name,
                      "stage_id": stage.stage_id, "stage_index": i, "total_stages": len(built)})
        t0 = time.perf_counter()
        before = len(docs)
        docs = stage.run(ctx, docs)
        ctx.metadata["stages_run"] = i + 1
        ms = (time.perf_counter() - t0) * 1000
        stats[stage.name] = {"stage_id": stage.stage_id, "input_count": before, "output_count": len(docs),
                             "duration_ms": round(ms, 3), "efficiency": round(len(docs) / before, 4) if before else 0,
                             "metadata": stage.metadata or None}
        if on_event is not None:
            on_event({"event_type": "stage_complete", "execution_id": execution_id, "stage_name": stage.name,
                      "stage_id": stage.stage_id, "stage_index": i, "total_stages": len(built),
                      "documents": docs, "statistics": stats[stage.name]})
    if request_filter is not None:
        docs = [d for d in docs if request_filter.matches(d)]
    total = len(docs)
    page = docs[offset: offset + limit] if limit else docs[offset:]
    elapsed_ms = round((time.perf_counter() - started) * 1000, 3)
    result = {
        "execution_id": execution_id, "status": status, "retriever_id": retriever_id,
        "retriever_version": retriever_version,
        "documents": page,
        "pagination": {"method": "offset", "page_number": offset // limit + 1 if limit else 1,
                       "page_size": limit or total, "returned": len(page), "total": total,
                       "has_next": offset + len(page) < total},
        "stage_statistics": {"stages": stats, "total_time_ms": elapsed_ms, "credits_used": 0.0},
        "budget": {"credits_used": 0.0, "time_used_ms": elapsed_ms, **({"limits": budget} if budget else {})},
        "consistency_mode": "strong",
        "warnings": warnings,
    }
    if with_plan:
        result["explain_plan"] = describe(plans, inputs)
    return result


class _Merged:
    """Several pushed filters ANDed together."""

    def __init__(self, parts) -> None:
        self.parts = parts
        pushable = all(p.qdrant is not None for p in parts)
        self.qdrant = {"must": [p.qdrant for p in parts]} if pushable else None

    def matches(self, payload) -> bool:
        return all(p.matches(payload) for p in self.parts)

