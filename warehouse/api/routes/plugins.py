"""Custom extractors over HTTP: upload → PUT → confirm → deploy, on both API generations.

0.81 (the docs' ``plugins`` routes): ``/v1/plugins/uploads[/{id}/confirm]``, the multipart ``POST /v1/plugins``,
``/v1/plugins/{plugin_id}[/deploy|/undeploy|/status|/infer]``, ``GET /v1/plugins[/available]``.
0.82: the docs' ``/v1/extractors/uploads[/{id}/confirm]`` and ``/v1/extractors/{extractor_id}/deploy``, the SDK's
``/v1/extractors/submissions…``, and the unified listings ``GET /v1/extractors[/{id}]``.
Every route also answers under ``/v1/namespaces/{ns}/…`` (the namespace from the path). The archive itself is PUT
to ``/uploads/plugins/{upload_id}?token=…`` (this server's presigned URL; on S3, a presigned S3 URL instead).
The domain is :mod:`warehouse.extractors.uploads`.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, UploadFile
from starlette.concurrency import run_in_threadpool

from warehouse.api.deps import namespace, services
from warehouse.api.routes.common import fields
from warehouse.api.routes.discovery import extractor_view
from warehouse.api.schemas import ConfirmUploadRequest, InferRequest, PluginUploadRequest
from warehouse.api.views import _ts
from warehouse.catalog import Namespace, Plugin, PluginUpload
from warehouse.errors import WarehouseError
from warehouse.extractors import uploads
from warehouse.extractors.tools.lint import MAX_ARCHIVE_BYTES
from warehouse.services import Services

router = APIRouter(tags=["plugins"])


# -- views ------------------------------------------------------------------------------------------------------

def _ext(svc: Services, p: Plugin):
    try:
        return svc.registry.get(p.name, p.version, p.namespace_id)
    except LookupError:
        return None


def plugin_view(svc: Services, p: Plugin, detail: bool = False, users: list[str] | None = None) -> dict[str, Any]:
    """``users``: the collections using it, when a listing has read them for every plugin at once."""
    ext = _ext(svc, p)
    uris = [ext.spec.feature_uri(f) for f in ext.spec.vector_features] if ext else []
    out = {
        "plugin_id": p.plugin_id, "extractor_id": p.plugin_id, "feature_extractor_id": p.plugin_id,
        "namespace_id": p.namespace_id, "name": p.name, "feature_extractor_name": p.name, "version": p.version,
        "description": p.description, "code_hash": p.code_hash, "validation_status": "passed",
        "deployed": p.deployment_status == "DEPLOYED", "status": p.deployment_status,
        "deployment_status": p.deployment_status, "deployment_type": p.deployment_type,
        "realtime_enabled": p.deployment_type == "realtime", "has_realtime": bool(ext and (ext.path / "realtime.py").exists()),
        "feature_uri": uris[0] if uris else None, "feature_uris": uris, "upload_id": p.upload_id,
        "collections": uploads.collections_using(svc, p) if users is None else users, "created_at": _ts(p.created_at),
        "updated_at": _ts(p.updated_at), "deployed_at": _ts(p.deployed_at),
    }
    if detail:
        out["findings"] = p.findings or []
        out["extractor"] = extractor_view(ext) if ext else None
    return out


def status_view(svc: Services, p: Plugin) -> dict[str, Any]:
    ext = _ext(svc, p)
    uris = [ext.spec.feature_uri(f) for f in ext.spec.vector_features] if ext else []
    messages = {"NOT_DEPLOYED": "batch only: collections can use it; deploy with deployment_type=realtime to "
                                "embed queries", "QUEUED": "waiting to start its realtime service",
                "PENDING": "deployment triggered", "IN_PROGRESS": "starting its realtime service", "DEPLOYED": "ready for batches and realtime queries",
                "FAILED": "its realtime service did not start; see error"}
    return {"plugin_id": p.plugin_id, "namespace_id": p.namespace_id, "status": p.deployment_status,
            "name": p.name, "version": p.version, "realtime_enabled": p.deployment_type == "realtime",
            "message": messages.get(p.deployment_status), "queued_at": _ts(p.queued_at),
            "estimated_completion_seconds": 30 if p.deployment_status in ("QUEUED", "PENDING", "IN_PROGRESS") else None,
            "deployed": p.deployment_status == "DEPLOYED",
            "route_prefix": f"/v1/plugins/{p.plugin_id}/infer" if p.deployment_type == "realtime" else None,
            "feature_uri": uris[0] if uris else None, "deployed_at": _ts(p.deployed_at), "error": p.deployment_error}


def upload_view(svc: Services, u: PluginUpload, token: str, request: Request) -> dict[str, Any]:
    return {"upload_id": u.upload_id, "submission_id": u.upload_id,
            "presigned_url": uploads.upload_url(svc, u, token, str(request.base_url)), "method": "PUT",
            "s3_key": u.archive_key, "required_content_type": "application/zip", "expires_at": _ts(u.expires_at),
            "namespace_id": u.namespace_id, "name": u.name, "version": u.version, "description": u.description}


def confirmation_view(svc: Services, c: uploads.Confirmation) -> dict[str, Any]:
    p = c.plugin
    ext = _ext(svc, p)
    uris = [ext.spec.feature_uri(f) for f in ext.spec.vector_features] if ext else []
    notes = [f for f in c.findings if f["severity"] != "error"]
    return {"success": True, "upload_id": c.upload.upload_id, "submission_id": c.upload.upload_id,
            "plugin_id": p.plugin_id, "extractor_id": p.plugin_id, "status": c.upload.status,
            "validation_status": "passed", "validation_errors": [], "warnings": notes,
            "security_scan_passed": True, "security_violations": [], "manifest_valid": True,
            "deployment_status": p.deployment_status, "feature_uri": uris[0] if uris else None, "feature_uris": uris,
            "code_hash": p.code_hash, "s3_archive_url": svc.objects.url_for(p.archive_key),
            "replaced": c.replaced, "stale_collections": c.stale_collections or [],
            "message": f"{p.name}@{p.version} is installed: collections of this namespace can use it now"
                       + (f"; {c.stale_collections} now run the new code (stale until re-processed)"
                          if c.stale_collections else "")}


def submission_item(u: PluginUpload) -> dict[str, Any]:
    result = u.result or {}
    return {"submission_id": u.upload_id, "upload_id": u.upload_id, "extractor_name": u.name, "version": u.version,
            "description": u.description or "", "status": u.status,
            "security_scan_passed": None if u.status == "PENDING" else not any(
                f.get("code", "").startswith("SEC") for f in result.get("validation_errors", [])),
            "visibility": "private", "submitted_at": _ts(u.created_at),
            "reviewed_at": None, "plugin_id": result.get("plugin_id"),
            "validation_errors": result.get("validation_errors", [])}


# -- upload, PUT, confirm -----------------------------------------------------------------------------------------

@router.post("/v1/plugins/uploads", summary="Get a URL to PUT a plugin zip to (0.81)")
@router.post("/v1/extractors/uploads", summary="Get a URL to PUT an extractor zip to (0.82 docs)")
@router.post("/v1/extractors/submissions/uploads", summary="Get a URL to PUT an extractor zip to (0.82 SDK)")
def create_upload(body: PluginUploadRequest, request: Request, overwrite: bool = Query(False),
                  ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    if body.file_name is not None and not body.file_name.lower().endswith(".zip"):
        raise WarehouseError(422, f"file_name {body.file_name!r}: plugins are uploaded as .zip archives",
                             {"location": "file_name"})
    upload, token = uploads.create_upload(svc, ns.namespace_id, body.name, body.version, body.description,
                                          body.file_size_bytes, body.presigned_url_expiration, overwrite)
    return upload_view(svc, upload, token, request)


@router.put("/uploads/plugins/{upload_id}", summary="The presigned URL: PUT the zip here", tags=["plugins"])
async def put_archive(upload_id: str, request: Request, token: str = Query(""), svc: Services = Depends(services)):
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_ARCHIVE_BYTES:
        raise WarehouseError(413, f"the archive is {int(declared) / 2**20:.0f} MB; the limit is "
                             f"{MAX_ARCHIVE_BYTES // 2**20} MB (leave model weights out)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > MAX_ARCHIVE_BYTES:
            raise WarehouseError(413, f"the archive passed {MAX_ARCHIVE_BYTES // 2**20} MB; leave model weights and "
                                 "data out of the plugin")
        chunks.append(chunk)
    etag = await run_in_threadpool(uploads.receive, svc, upload_id, token, chunks)
    return {"upload_id": upload_id, "etag": etag, "size_bytes": size}


def _confirm(svc: Services, ns: Namespace, upload_id: str, body: ConfirmUploadRequest | None, overwrite: bool):
    given = fields(body)
    return uploads.confirm(svc, ns.namespace_id, upload_id, given.get("etag"), given.get("file_size_bytes"), overwrite)


@router.post("/v1/plugins/uploads/{upload_id}/confirm", summary="Check and install an uploaded plugin (0.81)")
@router.post("/v1/extractors/uploads/{upload_id}/confirm", summary="Check and install an uploaded extractor (0.82 docs)")
def confirm_upload(upload_id: str, body: ConfirmUploadRequest | None = None, overwrite: bool = Query(False),
                   ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return confirmation_view(svc, _confirm(svc, ns, upload_id, body, overwrite))


@router.post("/v1/extractors/submissions/uploads/{submission_id}/confirm",
             summary="Check and install an uploaded extractor (0.82 SDK)")
def confirm_submission(submission_id: str, body: ConfirmUploadRequest | None = None, overwrite: bool = Query(False),
                       ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return confirmation_view(svc, _confirm(svc, ns, submission_id, body, overwrite))


@router.post("/v1/plugins", summary="Upload, check and install a plugin in one multipart request (0.81)")
def upload_direct(file: UploadFile = File(...), name: str = Form(...), version: str = Form(...),
                  description: str | None = Form(None), overwrite: bool = Query(False),
                  ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    upload, token = uploads.create_upload(svc, ns.namespace_id, name, version, description, overwrite=overwrite)
    uploads.receive(svc, upload.upload_id, token, iter(lambda: file.file.read(1 << 20), b""))
    return confirmation_view(svc, uploads.confirm(svc, ns.namespace_id, upload.upload_id, overwrite=overwrite))


# -- listings -------------------------------------------------------------------------------------------------------

@router.get("/v1/plugins", summary="The namespace's plugin versions (0.81)")
def list_plugins(ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    users = uploads.collections_by_plugin(svc, ns.namespace_id)
    rows = [plugin_view(svc, p, users=users.get(p.plugin_id, [])) for p in uploads.list_plugins(svc, ns.namespace_id)]
    return {"results": rows, "plugins": rows, "total": len(rows), "total_count": len(rows)}


@router.get("/v1/extractors/submissions", summary="The namespace's extractor uploads (0.82 SDK)")
def list_submissions(status: str | None = Query(None), ns: Namespace = Depends(namespace),
                     svc: Services = Depends(services)):
    wanted = status.upper() if status else None
    if wanted is not None and wanted not in ("PENDING", "CONFIRMED", "REJECTED"):
        raise WarehouseError(422, f"status {status!r}: one of PENDING, CONFIRMED, REJECTED", {"location": "status"})
    rows = [submission_item(u) for u in uploads.list_uploads(svc, ns.namespace_id, wanted)]
    return {"success": True, "submissions": rows, "total": len(rows)}


@router.get("/v1/extractors/submissions/{submission_id}", summary="One extractor upload (0.82 SDK)")
def get_submission(submission_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return {"success": True, "submission": submission_item(uploads.get_upload(svc, ns.namespace_id, submission_id))}


def _unified(svc: Services, ns: Namespace) -> list[dict[str, Any]]:
    plugins = {p.plugin_id: p for p in uploads.list_plugins(svc, ns.namespace_id)}
    out = []
    for ext in svc.registry.visible(ns.namespace_id):
        view = extractor_view(ext)
        p = plugins.get(ext.spec.extractor_id) if ext.namespace_id else None
        if p is not None:
            view.update({"plugin_id": p.plugin_id, "deployed": p.deployment_status == "DEPLOYED",
                         "validation_status": "passed", "created_at": _ts(p.created_at),
                         "updated_at": _ts(p.updated_at), "deployment_status": p.deployment_status})
            view["realtime_available"] = p.deployment_status == "DEPLOYED"
        uris = [r["feature_uri"] for r in view["required_vector_indexes"]]
        view["feature_uri"] = uris[0] if uris else None
        out.append(view)
    return out


@router.get("/v1/plugins/available", summary="Extractors this namespace can use: built-in and its own (0.81)")
@router.get("/v1/extractors", summary="Extractors this namespace can use: built-in and its own (0.82)")
def list_extractors(ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    rows = _unified(svc, ns)
    builtin = sum(r["source"] == "builtin" for r in rows)
    return {"success": True, "extractors": rows, "results": rows, "total": len(rows), "namespace_id": ns.namespace_id,
            "builtin_count": builtin, "custom_count": len(rows) - builtin}


# -- one plugin -----------------------------------------------------------------------------------------------------

def _stop(svc: Services):
    def stop(p: Plugin) -> None:
        ext = _ext(svc, p)
        if ext is not None:
            svc.inference.stop(ext)
    return stop


def _start(svc: Services):
    def start(p: Plugin) -> None:
        svc.inference.start(svc.registry.get(p.name, p.version, p.namespace_id))
    return start


@router.get("/v1/plugins/{plugin_id}", summary="One plugin version, with its checks' findings")
def get_plugin(plugin_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return plugin_view(svc, uploads.find_plugin(svc, ns.namespace_id, plugin_id), detail=True)


@router.get("/v1/extractors/{plugin_id}", summary="One extractor this namespace can use (0.82; the id is its "
            "feature_extractor_id, e.g. text_extractor_v1 or my_plugin_1_0_0)")
def get_extractor(plugin_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    for row in _unified(svc, ns):
        if plugin_id in (row["feature_extractor_id"], f"{row['feature_extractor_name']}@{row['version']}"):
            return row
    raise WarehouseError(404, f"extractor {plugin_id!r} not found in this namespace (GET /v1/extractors lists "
                         "them)", {"resource": "extractor", "identifier": plugin_id})


@router.delete("/v1/plugins/{plugin_id}", summary="Delete a plugin version (refused while collections use it)")
@router.delete("/v1/extractors/{plugin_id}", summary="Delete an uploaded extractor version (0.82)")
def delete_plugin(plugin_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    p = uploads.delete(svc, ns.namespace_id, plugin_id, _stop(svc))
    return {"success": True, "plugin_id": p.plugin_id, "deleted": True}


@router.post("/v1/plugins/{plugin_id}/deploy", summary="Deploy: batch_only, or realtime (starts its query service)")
@router.post("/v1/extractors/{plugin_id}/deploy", summary="Deploy an uploaded extractor (0.82 docs)")
def deploy_plugin(plugin_id: str, deployment_type: str = Query("batch_only"), ns: Namespace = Depends(namespace),
                  svc: Services = Depends(services)):
    p = uploads.deploy(svc, ns.namespace_id, plugin_id, deployment_type, _start(svc))
    status = "batch_only" if deployment_type == "batch_only" else "queued"
    return {"success": True, "plugin_id": p.plugin_id, "status": status, "deployment_status": p.deployment_status,
            "deployment_type": deployment_type,
            "route_prefix": f"/v1/plugins/{p.plugin_id}/infer" if deployment_type == "realtime" else None,
            "message": "usable by batches" if status == "batch_only" else
                       f"starting; GET /v1/plugins/{p.plugin_id}/status until DEPLOYED"}


@router.post("/v1/plugins/{plugin_id}/undeploy", summary="Stop a plugin's realtime service (batches keep working)")
@router.post("/v1/extractors/{plugin_id}/undeploy", summary="Stop an uploaded extractor's realtime service (0.82)")
def undeploy_plugin(plugin_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    p = uploads.undeploy(svc, ns.namespace_id, plugin_id, _stop(svc))
    return {"success": True, "plugin_id": p.plugin_id, "status": p.deployment_status}


@router.get("/v1/plugins/{plugin_id}/status",
            summary="Deployment status (QUEUED → PENDING → IN_PROGRESS → DEPLOYED | FAILED; NOT_DEPLOYED: batch only)")
@router.get("/v1/extractors/{plugin_id}/status", summary="Deployment status of an uploaded extractor (0.82)")
def plugin_status(plugin_id: str, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    return status_view(svc, uploads.find_plugin(svc, ns.namespace_id, plugin_id))


@router.post("/v1/plugins/{plugin_id}/infer", summary="Call a deployed plugin's realtime service")
def infer(plugin_id: str, body: InferRequest, ns: Namespace = Depends(namespace), svc: Services = Depends(services)):
    p = uploads.find_plugin(svc, ns.namespace_id, plugin_id)
    ext = svc.registry.get(p.name, p.version, p.namespace_id)
    uploads.require_realtime(svc, ext)
    inputs = body.inputs if body.inputs is not None else body.input
    if inputs is None:
        raise WarehouseError(422, "inputs: an object such as {\"text\": \"…\"}", {"location": "inputs"})
    try:
        return {"plugin_id": p.plugin_id, "result": svc.inference.infer(ext, inputs, body.parameters or {})}
    except RuntimeError as exc:
        raise WarehouseError(502, str(exc), {"plugin_id": p.plugin_id}) from None
