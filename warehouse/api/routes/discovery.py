"""Discovery and health: extractor catalogue, ``/v1/health``."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from warehouse import __version__
from warehouse.api.deps import services
from warehouse.errors import WarehouseError
from warehouse.services import Services

router = APIRouter(tags=["discovery"])


def extractor_view(ext) -> dict:
    spec = ext.spec
    return {
        "feature_extractor_name": spec.name, "version": spec.version, "feature_extractor_id": spec.extractor_id,
        "description": spec.description, "icon": "box", "category": "text" if "text" in spec.supported_input_types else "general",
        "source": "builtin" if ext.builtin else "custom", "inference_type": spec.inference_type,
        "input_schema": {"properties": {n: {"type": "string"} for n in spec.input_names}},
        "output_schema": {"properties": {f.feature_name: {"type": "array", "items": {"type": "number"}}
                                         for f in spec.vector_features}},
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
    return [extractor_view(e) for e in svc.registry.all()]


@router.get("/v1/collections/features/extractors/{feature_extractor_id}", summary="One feature extractor")
def get_extractor(feature_extractor_id: str, svc: Services = Depends(services)):
    try:
        return extractor_view(svc.registry.by_id(feature_extractor_id))
    except LookupError as exc:
        raise WarehouseError(404, str(exc)) from exc


@router.get("/v1/health", summary="Liveness and readiness")
@router.get("/v1/health/liveness", include_in_schema=False)
def health(svc: Services = Depends(services)):
    checks = {}
    try:
        with svc.catalog.session() as s:
            s.execute(__import__("sqlalchemy").text("SELECT 1"))
        checks["catalog"] = "ok"
    except Exception as exc:  # noqa: BLE001
        checks["catalog"] = f"error: {exc}"
    checks["extractors"] = len(svc.registry.all())
    checks["query_models"] = "ready" if svc.inference.warmed.is_set() else "loading"
    checks["batch_workers"] = svc.runner.warm_state
    return {"status": "healthy" if checks["catalog"] == "ok" else "degraded", "version": __version__, "checks": checks}
