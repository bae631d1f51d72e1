"""Discovery and health: extractor catalogue, ``/v1/health``."""

from __future__ import annotations

import uuid

from fastapi import APIRouter, Depends
from sqlalchemy import text

from warehouse import __version__
from warehouse.api.deps import services
from warehouse.catalog import Namespace
from warehouse.errors import WarehouseError
from warehouse.extractors import sandbox
from warehouse.services import Services

router = APIRouter(tags=["discovery"])


def extractor_view(ext) -> dict:
    spec = ext.spec
    return {
        "feature_extractor_name": spec.name, "version": spec.version, "feature_extractor_id": spec.extractor_id,
        "description": spec.description, "icon": "box", "category": "text" if "text" in spec.supported_input_types else "general",
        "source": "builtin" if ext.builtin else "custom", "inference_type": spec.inference_type,
        "input_schema": spec.input_schema or {"properties": {n: {"type": "string"} for n in spec.input_names}},
        "output_schema": {"type": "object", "properties": {
            **{f.feature_name: {"type": "array", "items": {"type": "number"}, "minItems": f.embedding_dim,
                                "maxItems": f.embedding_dim, "description": f"{f.embedding_dim}-d {f.distance_metric} "
                                "embedding (a named vector in the index)"} for f in spec.vector_features},
            **(spec.output_schema.get("properties") or {})}},
        "parameter_schema": spec.parameter_schema or None, "supported_input_types": spec.supported_input_types,
        "max_inputs": {n: 1 for n in spec.input_names}, "default_parameters": spec.parameter_defaults,
        "required_vector_indexes": [{
            "name": f.feature_name, "feature_uri": spec.feature_uri(f), "type": "single",
            "description": f"{f.embedding_dim}-d {f.distance_metric} embedding produced by {spec.ref}",
            "index": {"name": spec.vector_name(f), "description": f"{f.embedding_dim}-d {f.distance_metric} vectors of {spec.ref}",
                      "dimensions": f.embedding_dim, "distance": f.distance_metric, "type": "dense"},
        } for f in spec.vector_features],
        "required_payload_indexes": None, "capabilities": ["batch"] + (["realtime"] if (ext.path / "realtime.py").exists() else []),
        "code_version": ext.code_version,
    }


@router.get("/v1/collections/features/extractors", summary="Feature extractors available (no auth)")
def list_extractors(svc: Services = Depends(services)):
    return [extractor_view(e) for e in svc.registry.visible(None)]


@router.get("/v1/collections/features/extractors/{feature_extractor_id}", summary="One feature extractor")
def get_extractor(feature_extractor_id: str, svc: Services = Depends(services)):
    try:
        return extractor_view(svc.registry.by_id(feature_extractor_id))
    except LookupError as exc:
        raise WarehouseError(404, str(exc)) from exc


def _catalog_ok(svc: Services) -> str | None:
    try:
        with svc.catalog.session() as s:
            s.execute(text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 — a health check reports every failure, it never raises one
        return f"{type(exc).__name__}: {exc}"
    return None


@router.get("/v1/health", summary="Readiness: the catalog answers; models and batch workers' state")
def health(svc: Services = Depends(services)):
    error = _catalog_ok(svc)
    checks = {"catalog": "ok" if error is None else f"error: {error}", "extractors": len(svc.registry.all()),
              "query_models": "ready" if svc.inference.warmed.is_set() else "loading",
              "batch_workers": svc.runner.warm_state, "plugin_sandbox": _sandbox_state()}
    return {"status": "healthy" if error is None else "degraded", "version": __version__, "checks": checks}


def _sandbox_state() -> str:
    """How uploaded plugin code runs here: confined by Landlock, refused (no Landlock), or unconfined by choice."""
    abi = sandbox.abi_version()
    if abi:
        return f"landlock (ABI {abi})"
    if sandbox.unsandboxed_allowed():
        return "unconfined: no Landlock on this kernel, WAREHOUSE_ALLOW_UNSANDBOXED_PLUGINS is set"
    return "unavailable: no Landlock on this kernel, uploaded plugins are refused"


@router.get("/v1/health/liveness", summary="Liveness: the process answers (touches nothing else)")
def liveness():
    return {"status": "alive", "version": __version__}


@router.get("/v1/health/beat", summary="The background loop that delivers events (webhooks, alerts) is running")
def beat(svc: Services = Depends(services)):
    alive = svc.dispatcher is not None and svc.dispatcher.alive()
    return {"status": "healthy" if alive else "degraded", "dispatcher": "alive" if alive else "stopped",
            "orchestrator": svc.settings.orchestrator}


@router.get("/v1/health/deep", summary="Every dependency checked: catalog, index, object store, workers, models")
def deep(svc: Services = Depends(services)):
    errors: dict[str, str] = {}
    meta: dict[str, object] = {"version": __version__, "orchestrator": svc.settings.orchestrator,
                               "cache": "none: lookups are cached in-process for seconds"}
    if (error := _catalog_ok(svc)) is not None:
        errors["metadata"] = error
    try:
        with svc.catalog.session() as s:
            some = s.query(Namespace.namespace_id).limit(1).scalar()
        meta["vector_store_documents_in_a_namespace"] = svc.index.count(some) if some else None
    except Exception as exc:  # noqa: BLE001
        errors["vector_store"] = f"{type(exc).__name__}: {exc}"
    probe = f"_health/{uuid.uuid4().hex}"
    try:
        svc.objects.put(probe, b"ok", "text/plain")
        if svc.objects.get(probe) != b"ok":
            errors["object_storage"] = "a probe object read back different bytes"
        svc.objects.delete(probe)
    except Exception as exc:  # noqa: BLE001
        errors["object_storage"] = f"{type(exc).__name__}: {exc}"
    if svc.runner.warm_state.startswith("failed"):
        errors["task_queue"] = f"batch workers: {svc.runner.warm_state}"
    if svc.dispatcher is not None and not svc.dispatcher.alive():
        errors["task_queue"] = "the event dispatcher thread stopped"
    text_model = next((e for e in svc.registry.all() if e.builtin and "text" in e.spec.supported_input_types
                       and e.spec.vector_features), None)
    if text_model is not None:  # a real query embedding (loads the model on a cold process)
        try:
            svc.inference.embed_text(text_model, "health", text_model.spec.vector_features[0].feature_name)
            meta["inference_model"] = text_model.spec.ref
        except Exception as exc:  # noqa: BLE001
            errors["inference"] = f"{text_model.spec.ref}: {type(exc).__name__}: {exc}"
    inference = "inference" not in errors
    data = {"cache": True, "metadata": "metadata" not in errors, "vector_store": "vector_store" not in errors,
            "object_storage": "object_storage" not in errors, "task_queue": "task_queue" not in errors,
            "inference": inference}
    return {"status": "OK" if all(data.values()) else "DEGRADED", "data": data, "errors": errors or None,
            "meta": meta}
