"""Custom extractors uploaded over the API: upload URL → PUT of the zip → confirm → deploy, per namespace.

The lifecycle (both API generations serve it):

1. :func:`create_upload` records a :class:`PluginUpload` and a one-time upload URL: a presigned S3 ``PUT`` on the
   S3 store, else ``/uploads/plugins/{upload_id}?token=…`` on this server (the token's hash is stored).
2. The client ``PUT``s the zip; :func:`receive` stores it under ``{namespace}/_plugins/{upload_id}.zip``.
3. :func:`confirm` is the gate. The archive is checked (size, member count, absolute or ``..`` paths, links,
   compression ratio), unpacked into a scratch folder, and linted — security scan, manifest, realtime contract,
   batch linter — in a child process confined by the kernel (:mod:`warehouse.extractors.sandbox`), because the
   manifest and ``build_steps`` are plugin code. Only a clean plugin whose manifest names the upload's name and
   version becomes a :class:`Plugin` version, unpacked under ``home/plugins/<namespace id>/<row id>_<code
   hash>`` (ids only: no user string becomes a path) where every process's registry finds it: usable by the
   namespace's collections at once, no restart. A rejected upload keeps nothing but its record.
4. :func:`deploy` with ``batch_only`` keeps it batch-only (``NOT_DEPLOYED``); ``realtime`` starts its query
   service (the caller passes the starter) and moves ``QUEUED → PENDING → IN_PROGRESS → DEPLOYED | FAILED``.

Versions sit side by side; the same name and version with different code is refused unless ``overwrite``
(the collections using it then show a new code version: Dagster marks them stale); a version a collection uses
cannot be deleted.
"""

from __future__ import annotations

import hashlib
import io
import json
import secrets
import shutil
import stat
import tempfile
import threading
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from warehouse.catalog import Collection, Plugin, PluginUpload
from warehouse.catalog.uploads import check_url_grant, presigned_put_url, token_hash
from warehouse.errors import WarehouseError, not_found
from warehouse.extractors.loader import SPEC_SUFFIX, code_version
from warehouse.extractors.manifest import _NAME_RE, ExtractorSpec, normalize_version
from warehouse.extractors.sandbox import SandboxError, lint_confined
from warehouse.extractors.tools.lint import MAX_ARCHIVE_BYTES, MAX_FILES
from warehouse.ids import new_id

#: a zip member may expand at most this many times its compressed size (a zip bomb expands thousands of times)
MAX_COMPRESSION_RATIO = 200
DEFAULT_EXPIRY_SECONDS = 3600
MAX_EXPIRY_SECONDS = 7 * 24 * 3600
DEPLOYMENT_TYPES = ("batch_only", "realtime")
_DEPLOY_LOCK = threading.Lock()


def plugin_id_of(name: str, version: str) -> str:
    """``text_embed`` + ``1.0.0`` → ``text_embed_1_0_0`` (the docs' plugin id)."""
    return f"{name}_{version.replace('.', '_')}"


def _now() -> datetime:
    return datetime.now(UTC)


def _aware(ts: datetime) -> datetime:
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def check_name_version(name: Any, version: Any) -> tuple[str, str]:
    """The upload's name and normalised version, or a 422 naming the field."""
    if not isinstance(name, str) or not _NAME_RE.match(name) or not 3 <= len(name) <= 64:
        raise WarehouseError(422, f"name {name!r}: 3–64 lowercase letters, digits and underscores, starting with a "
                             "letter (the manifest's feature_extractor_name)", {"location": "name"})
    if not isinstance(version, str) or not version.strip():
        raise WarehouseError(422, f"version {version!r}: a version string such as \"1.0.0\" or \"v1\"",
                             {"location": "version"})
    normal = normalize_version(version)
    if not all(part.isdigit() for part in normal.split(".")) or len(normal) > 32:
        raise WarehouseError(422, f"version {version!r}: use digits and dots (\"1.0.0\") or \"v1\"",
                             {"location": "version"})
    return name, normal


def create_upload(svc, namespace_id: str, name: Any, version: Any, description: str | None = None,
                  file_size_bytes: int | None = None, expires_in: int | None = None,
                  overwrite: bool = False) -> tuple[PluginUpload, str]:
    """Record an upload and return it with its one-time token (only its hash is kept)."""
    name, version = check_name_version(name, version)
    if file_size_bytes is not None and not 0 < file_size_bytes <= MAX_ARCHIVE_BYTES:
        raise WarehouseError(422, f"file_size_bytes {file_size_bytes}: an archive holds 1 byte to "
                             f"{MAX_ARCHIVE_BYTES // 2**20} MB (leave model weights out)", {"location": "file_size_bytes"})
    expires_in = DEFAULT_EXPIRY_SECONDS if expires_in is None else expires_in
    if not 60 <= expires_in <= MAX_EXPIRY_SECONDS:
        raise WarehouseError(422, f"presigned_url_expiration {expires_in}: 60 to {MAX_EXPIRY_SECONDS} seconds",
                             {"location": "presigned_url_expiration"})
    shared = [e for e in svc.registry.visible(None) if e.spec.name == name]
    if shared:
        raise WarehouseError(409, f"{name!r} is the name of a {'built-in' if shared[0].builtin else 'server-installed'} "
                             "extractor every namespace shares; choose another name", {"location": "name"})
    token = secrets.token_urlsafe(32)
    upload_id = new_id("upl")
    upload = PluginUpload(upload_id=upload_id, namespace_id=namespace_id, name=name, version=version,
                          description=description, token_hash=token_hash(token), overwrite=int(bool(overwrite)),
                          archive_key=f"{namespace_id}/_plugins/{upload_id}.zip",
                          expires_at=_now() + timedelta(seconds=expires_in))
    with svc.catalog.session() as s:
        s.add(upload)
    return upload, token


def upload_url(svc, upload: PluginUpload, token: str, base_url: str) -> str:
    """Where the client PUTs the zip: a presigned URL of the S3 store, or this server's upload route."""
    return presigned_put_url(svc.objects, upload.archive_key, int((_aware(upload.expires_at) - _now()).total_seconds()),
                             f"{base_url.rstrip('/')}/uploads/plugins/{upload.upload_id}?token={token}")


def receive(svc, upload_id: str, token: str, chunks: Iterable[bytes]) -> str:
    """Store the PUT body of an upload (``token`` must match; the URL must not have expired); returns its ETag."""
    with svc.catalog.session() as s:
        upload = s.get(PluginUpload, upload_id)
        check_url_grant(upload, upload_id, token, "POST …/plugins/uploads")
        if upload.status != "PENDING":
            raise WarehouseError(409, f"upload {upload_id} is already {upload.status.lower()}; request a new upload "
                                 "URL for new code")
        key = upload.archive_key
    data, size = bytearray(), 0
    for chunk in chunks:
        size += len(chunk)
        if size > MAX_ARCHIVE_BYTES:
            raise WarehouseError(413, f"the archive passed {MAX_ARCHIVE_BYTES // 2**20} MB; leave model weights and "
                                 "data out of the plugin (load weights in setup())")
        data += chunk
    if not data:
        raise WarehouseError(422, "empty body: PUT the zip archive (curl -X PUT --data-binary @plugin.zip URL)")
    svc.objects.put(key, bytes(data), "application/zip")
    etag = hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag of a single-part upload, not security
    with svc.catalog.session() as s:
        upload = s.get(PluginUpload, upload_id)
        upload.received_bytes, upload.etag = size, etag
    return etag


@dataclass
class Confirmation:
    upload: PluginUpload
    plugin: Plugin
    findings: list[dict[str, Any]]
    replaced: bool = False
    stale_collections: list[str] | None = None


def get_upload(svc, namespace_id: str, upload_id: str) -> PluginUpload:
    with svc.catalog.session() as s:
        upload = s.get(PluginUpload, upload_id)
        if upload is None or upload.namespace_id != namespace_id:
            raise not_found("upload", upload_id)
        return upload


def confirm(svc, namespace_id: str, upload_id: str, etag: str | None = None, file_size_bytes: int | None = None,
            overwrite: bool = False) -> Confirmation:
    """Check and install an uploaded archive; a 422 lists every violation (file and line) and installs nothing."""
    upload = get_upload(svc, namespace_id, upload_id)
    if upload.status == "CONFIRMED":
        plugin = find_plugin(svc, namespace_id, plugin_id_of(upload.name, upload.version))
        return Confirmation(upload, plugin, (upload.result or {}).get("findings", []))
    if upload.status == "REJECTED":
        raise WarehouseError(422, f"upload {upload_id} was rejected; fix the plugin and upload it again",
                             {"validation_status": "failed", **(upload.result or {})})
    if _aware(upload.expires_at) < _now():
        raise WarehouseError(410, f"upload {upload_id} expired at {upload.expires_at.isoformat()} before it was "
                             "confirmed; request a new upload URL")
    try:
        data = svc.objects.get(upload.archive_key)
    except Exception:  # noqa: BLE001 - any store's "not there"
        raise WarehouseError(409, f"nothing was uploaded for {upload_id} yet: PUT the zip to the presigned_url first",
                             {"location": "upload_id"}) from None
    if file_size_bytes is not None and file_size_bytes != len(data):
        raise WarehouseError(422, f"file_size_bytes {file_size_bytes} but {len(data)} bytes were uploaded",
                             {"location": "file_size_bytes"})
    actual_etag = hashlib.md5(data).hexdigest()  # noqa: S324 - S3's ETag, an integrity check, not security
    if etag is not None and etag.strip('"') != actual_etag:
        raise WarehouseError(422, f"etag {etag!r} does not match the uploaded archive ({actual_etag!r})",
                             {"location": "etag"})
    overwrite = overwrite or bool(upload.overwrite)
    with tempfile.TemporaryDirectory(prefix="wh-upload-") as scratch:
        folder = Path(scratch) / "plugin"
        try:
            unpack(data, folder)
        except ArchiveRejected as exc:
            _reject(svc, upload, [{"file": "archive", "line": 1, "severity": "error", "code": "ARC004",
                                   "message": str(exc), "fix": exc.fix}])
        try:
            report = lint_confined(folder)
        except SandboxError as exc:  # no Landlock here (and no opt-out), or the checker itself broke
            raise WarehouseError(503, f"upload {upload_id} cannot be checked: {exc}",
                                 {"location": "upload_id"}) from None
        findings = report["findings"]
        errors = [f for f in findings if f["severity"] == "error"]
        ref = report.get("extractor")
        if not errors and ref != f"{upload.name}@{upload.version}":
            errors.append({"file": "manifest.py", "line": 1, "severity": "error", "code": "UPL001",
                           "message": f"the manifest declares {ref}, but this upload is for {upload.name}@{upload.version}",
                           "fix": "upload with the manifest's feature_extractor_name and version, or change the manifest"})
            findings.append(errors[-1])
        own = _own_ports(svc.settings) & set(ExtractorSpec.from_dict(report["spec"]).allowed_ports if report.get("spec") else [])
        if own:
            errors.append({"file": "manifest.py", "line": 1, "severity": "error", "code": "UPL002",
                           "message": f"allowed_hosts opens port(s) {sorted(own)}, which this warehouse's own services "
                                      "listen on (API, index owner); a plugin may not reach them",
                           "fix": "declare only the external hosts the plugin calls"})
            findings.append(errors[-1])
        if errors:
            _reject(svc, upload, findings)
        return _install(svc, upload, folder, report["spec"], findings, overwrite)


def _own_ports(settings) -> set[int]:
    ports = {int(settings.api_port)}
    owner = urlsplit(settings.owner_url)
    if owner.port:
        ports.add(owner.port)
    return ports


class ArchiveRejected(ValueError):
    def __init__(self, message: str, fix: str = "rebuild the archive: zip -r plugin.zip my_extractor/") -> None:
        super().__init__(message)
        self.fix = fix


def unpack(data: bytes, target: Path) -> None:
    """Unpack a plugin zip into ``target`` after checking every member; the single top folder is unwrapped."""
    try:
        zf = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ArchiveRejected("not a zip archive (plugins are uploaded as .zip)") from None
    with zf:
        infos = [i for i in zf.infolist() if not i.filename.startswith("__MACOSX/")]
        files = [i for i in infos if not i.is_dir()]
        if len(files) > MAX_FILES:
            raise ArchiveRejected(f"{len(files)} files; the limit is {MAX_FILES}",
                                  "leave data, weights and caches out of the plugin")
        total = sum(i.file_size for i in files)
        if total > MAX_ARCHIVE_BYTES:
            raise ArchiveRejected(f"{total / 2**20:.1f} MB unpacked; the limit is {MAX_ARCHIVE_BYTES // 2**20} MB",
                                  "don't bundle model weights: load them in setup()")
        for info in infos:
            name = info.filename
            if name.startswith("/") or "\\" in name or (len(name) > 1 and name[1] == ":"):
                raise ArchiveRejected(f"member {name!r} has an absolute path", "zip the folder with relative paths")
            if ".." in name.split("/"):
                raise ArchiveRejected(f"member {name!r} climbs out of the plugin folder ('..')",
                                      "zip the folder with relative paths")
            mode = info.external_attr >> 16
            if stat.S_ISLNK(mode):
                raise ArchiveRejected(f"member {name!r} is a symbolic link; archives may hold only files and folders",
                                      "copy the file the link points to into the plugin")
            if info.file_size > 1024 and info.compress_size and info.file_size / info.compress_size > MAX_COMPRESSION_RATIO:
                raise ArchiveRejected(f"member {name!r} expands {info.file_size / info.compress_size:.0f}× "
                                      f"({info.file_size} bytes from {info.compress_size}); the limit is "
                                      f"{MAX_COMPRESSION_RATIO}× (a zip bomb)", "leave generated or padded data out")
        bad = zf.testzip()
        if bad is not None:
            raise ArchiveRejected(f"member {bad!r} is corrupt (CRC mismatch)")
        staging = target.parent / "unpacked"
        staging.mkdir()
        for info in infos:
            out = (staging / info.filename).resolve()
            if not out.is_relative_to(staging.resolve()):
                raise ArchiveRejected(f"member {info.filename!r} would be written outside the plugin folder")
            if info.is_dir():
                out.mkdir(parents=True, exist_ok=True)
                continue
            out.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(out, "wb") as dst:
                shutil.copyfileobj(src, dst)
    roots = list(staging.iterdir())
    source = roots[0] if len(roots) == 1 and roots[0].is_dir() else staging
    shutil.move(str(source), target)


def _reject(svc, upload: PluginUpload, findings: list[dict[str, Any]]) -> None:
    errors = [f for f in findings if f["severity"] == "error"]
    result = {"validation_errors": [_violation(f) for f in errors], "findings": findings}
    with svc.catalog.session() as s:
        row = s.get(PluginUpload, upload.upload_id)
        row.status, row.result = "REJECTED", result
    try:
        svc.objects.delete(upload.archive_key)
    except Exception:  # noqa: BLE001 - the record says rejected either way
        pass
    first = errors[0]
    raise WarehouseError(422, f"upload {upload.upload_id} rejected: {len(errors)} error(s), first "
                         f"{first['file']}:{first['line']}: {first['message']} (fix: {first['fix']})",
                         {"validation_status": "failed", **result})


def _violation(f: dict[str, Any]) -> dict[str, Any]:
    return {"file": f["file"], "line": f["line"], "code": f["code"], "message": f["message"], "fix": f["fix"]}


def _install(svc, upload: PluginUpload, folder: Path, spec: dict[str, Any], findings: list[dict[str, Any]],
             overwrite: bool) -> Confirmation:
    code_hash = code_version(folder)
    plugin_id = plugin_id_of(upload.name, upload.version)
    root = svc.settings.home_dir / "plugins" / upload.namespace_id
    with _DEPLOY_LOCK, svc.catalog.session() as s:
        plugin = (s.query(Plugin).filter(Plugin.namespace_id == upload.namespace_id, Plugin.plugin_id == plugin_id)
                  .one_or_none())
        replaced, stale, old_dir = False, None, None
        if plugin is not None and plugin.code_hash != code_hash:
            if not overwrite:
                raise WarehouseError(409, f"{upload.name}@{upload.version} is already installed with other code "
                                     f"(code hash {plugin.code_hash}, this upload {code_hash}); bump the version, or "
                                     "confirm with ?overwrite=true to replace it (its collections are then stale)",
                                     {"location": "version", "plugin_id": plugin_id})
            replaced, old_dir = True, root / f"{plugin.row_id}_{plugin.code_hash}"
            stale = [c.collection_name for c in _users(s, plugin)]
        if plugin is None:
            plugin = Plugin(row_id=new_id("plg"), namespace_id=upload.namespace_id, plugin_id=plugin_id,
                            name=upload.name, version=upload.version, deployment_status="NOT_DEPLOYED",
                            deployment_type="batch_only")
            s.add(plugin)
        target = root / f"{plugin.row_id}_{code_hash}"
        if not target.exists():
            root.mkdir(parents=True, exist_ok=True)
            # the spec the sandboxed check reported, beside the folder: hosts know the plugin without importing it
            target.with_name(target.name + SPEC_SUFFIX).write_text(json.dumps(spec), encoding="utf-8")
            staged = root / f".{plugin.row_id}_{code_hash}.tmp"
            shutil.rmtree(staged, ignore_errors=True)
            shutil.copytree(folder, staged, ignore=shutil.ignore_patterns("__pycache__"))
            staged.rename(target)  # appears whole, or not at all, to the registries that scan the folder
        plugin.description = upload.description
        plugin.code_hash, plugin.archive_key, plugin.upload_id = code_hash, upload.archive_key, upload.upload_id
        plugin.findings = findings
        row = s.get(PluginUpload, upload.upload_id)
        row.status, row.result = "CONFIRMED", {"findings": findings, "plugin_id": plugin_id}
        s.flush()
        s.expunge(plugin)
        s.expunge(row)
    if old_dir is not None and old_dir != target:
        _remove_folder(old_dir)
    svc.registry.refresh()
    return Confirmation(row, plugin, findings, replaced, stale)


def _remove_folder(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)
    folder.with_name(folder.name + SPEC_SUFFIX).unlink(missing_ok=True)


def _users(s, plugin: Plugin) -> list[Collection]:
    out = []
    for c in s.query(Collection).filter(Collection.namespace_id == plugin.namespace_id):
        fe = c.feature_extractor or {}
        if fe.get("feature_extractor_name") == plugin.name and normalize_version(fe.get("version")) == plugin.version:
            out.append(c)
    return out


def find_plugin(svc, namespace_id: str, plugin_id: str) -> Plugin:
    """A namespace's plugin version by ``plugin_id`` (``name_1_0_0``) or ``name@version``; 404 otherwise."""
    with svc.catalog.session() as s:
        q = s.query(Plugin).filter(Plugin.namespace_id == namespace_id)
        plugin = q.filter(Plugin.plugin_id == plugin_id).one_or_none()
        if plugin is None and "@" in plugin_id:
            name, _, version = plugin_id.partition("@")
            plugin = q.filter(Plugin.plugin_id == plugin_id_of(name, normalize_version(version))).one_or_none()
        if plugin is None:
            pending = (s.query(PluginUpload).filter(PluginUpload.namespace_id == namespace_id,
                                                    PluginUpload.upload_id == plugin_id).one_or_none())
            if pending is not None:
                raise WarehouseError(409, f"upload {plugin_id} is {pending.status.lower()}, not an installed plugin: "
                                     "confirm it first (POST …/uploads/{upload_id}/confirm), then use the plugin_id "
                                     "the confirmation returns")
            raise not_found("plugin", plugin_id)
        s.expunge(plugin)
        return plugin


def list_plugins(svc, namespace_id: str) -> list[Plugin]:
    with svc.catalog.session() as s:
        rows = (s.query(Plugin).filter(Plugin.namespace_id == namespace_id)
                .order_by(Plugin.name, Plugin.version).all())
        for r in rows:
            s.expunge(r)
        return rows


def list_uploads(svc, namespace_id: str, status: str | None = None) -> list[PluginUpload]:
    with svc.catalog.session() as s:
        q = s.query(PluginUpload).filter(PluginUpload.namespace_id == namespace_id)
        if status:
            q = q.filter(PluginUpload.status == status)
        rows = q.order_by(PluginUpload.created_at.desc()).all()
        for r in rows:
            s.expunge(r)
        return rows


def collections_using(svc, plugin: Plugin) -> list[str]:
    with svc.catalog.session() as s:
        return [c.collection_name for c in _users(s, plugin)]


def collections_by_plugin(svc, namespace_id: str) -> dict[str, list[str]]:
    """``{plugin_id: [collection names]}`` for a namespace, from one read of its collections (a listing's)."""
    out: dict[str, list[str]] = {}
    with svc.catalog.session() as s:
        for c in s.query(Collection).filter(Collection.namespace_id == namespace_id):
            fe = c.feature_extractor or {}
            if fe.get("feature_extractor_name"):
                pid = plugin_id_of(fe["feature_extractor_name"], normalize_version(fe.get("version")))
                out.setdefault(pid, []).append(c.collection_name)
    return out


def set_status(svc, plugin: Plugin, **changes: Any) -> Plugin:
    with svc.catalog.session() as s:
        row = s.get(Plugin, plugin.row_id)
        for key, value in changes.items():
            setattr(row, key, value)
        s.flush()
        s.expunge(row)
        return row


def deploy(svc, namespace_id: str, plugin_id: str, deployment_type: str,
           start_realtime: Callable[[Plugin], None]) -> Plugin:
    """Batch-only: the plugin is usable by batches (it already is, from confirmation). Realtime: queue the start
    of its query service; a thread runs ``start_realtime`` and records DEPLOYED or FAILED with the error."""
    if deployment_type not in DEPLOYMENT_TYPES:
        raise WarehouseError(422, f"deployment_type {deployment_type!r}: one of {list(DEPLOYMENT_TYPES)}",
                             {"location": "deployment_type"})
    plugin = find_plugin(svc, namespace_id, plugin_id)
    if deployment_type == "batch_only":
        return set_status(svc, plugin, deployment_type="batch_only", deployment_status="NOT_DEPLOYED",
                          deployment_error=None)
    ext = svc.registry.get(plugin.name, plugin.version, namespace_id)
    if not (ext.path / "realtime.py").exists():
        raise WarehouseError(422, f"{plugin.plugin_id} has no realtime.py, so it cannot serve queries; deploy it "
                             "with deployment_type=batch_only, or add realtime.py and upload a new version",
                             {"location": "deployment_type"})
    plugin = set_status(svc, plugin, deployment_type="realtime", deployment_status="QUEUED", deployment_error=None,
                        queued_at=_now())

    def work() -> None:
        current = set_status(svc, plugin, deployment_status="PENDING")  # triggered: the deployment has begun
        try:
            current = set_status(svc, current, deployment_status="IN_PROGRESS")
            start_realtime(current)
        except Exception as exc:  # noqa: BLE001 - recorded on the plugin, shown by …/status
            set_status(svc, current, deployment_status="FAILED", deployment_error=f"{type(exc).__name__}: {exc}")
            return
        set_status(svc, current, deployment_status="DEPLOYED", deployed_at=_now())

    threading.Thread(target=work, name=f"deploy-{plugin.plugin_id}", daemon=True).start()
    return plugin


def undeploy(svc, namespace_id: str, plugin_id: str, stop_realtime: Callable[[Plugin], None]) -> Plugin:
    plugin = find_plugin(svc, namespace_id, plugin_id)
    if plugin.deployment_type == "realtime":
        stop_realtime(plugin)
    return set_status(svc, plugin, deployment_type="batch_only", deployment_status="NOT_DEPLOYED",
                      deployment_error=None, deployed_at=None)


def delete(svc, namespace_id: str, plugin_id: str, stop_realtime: Callable[[Plugin], None]) -> Plugin:
    """Remove a version (refused, naming them, while collections use it): its row, folder and archive."""
    plugin = find_plugin(svc, namespace_id, plugin_id)
    users = collections_using(svc, plugin)
    if users:
        raise WarehouseError(409, f"{plugin.plugin_id} is used by collection(s) {users}; delete them first, or keep "
                             "this version and upload a new one", {"collections": users})
    if plugin.deployment_type == "realtime":
        stop_realtime(plugin)
    with svc.catalog.session() as s:
        row = s.get(Plugin, plugin.row_id)
        if row is not None:
            s.delete(row)
    _remove_folder(svc.settings.home_dir / "plugins" / namespace_id / f"{plugin.row_id}_{plugin.code_hash}")
    try:
        svc.objects.delete(plugin.archive_key)
    except Exception:  # noqa: BLE001 - the archive is only a record once the row is gone
        pass
    svc.registry.refresh()
    return plugin


def require_realtime(svc, ext) -> None:
    """A query through an uploaded plugin's realtime service needs it deployed for realtime; a clear 409 if not."""
    if ext.namespace_id is None:
        return
    with svc.catalog.session() as s:
        plugin = (s.query(Plugin).filter(Plugin.namespace_id == ext.namespace_id,
                                         Plugin.plugin_id == plugin_id_of(ext.spec.name, ext.spec.version))
                  .one_or_none())
        status = plugin.deployment_status if plugin is not None else None
    if status != "DEPLOYED":
        pid = plugin_id_of(ext.spec.name, ext.spec.version)
        raise WarehouseError(409, f"{ext.spec.ref}'s realtime service is not deployed (status {status}), so text "
                             f"queries cannot be embedded; POST /v1/namespaces/{{ns}}/plugins/{pid}/deploy"
                             "?deployment_type=realtime, or query with {'input_mode': 'vector', 'value': [...]}",
                             {"plugin_id": pid, "deployment_status": status})
