"""``warehouse plugins lint``: archive limits, security scan, manifest, realtime, batch linter.

A library (the server runs the same checks on every plugin it accepts); the CLI is a thin shell.
Order matters: the security scanner reads the source without running it, and the manifest is
imported only when the scan found no error — linting never executes blocked code.

Example:
    >>> report = lint_path(Path("examples/extractors/text_embed"))  # doctest: +SKIP
    >>> report.ok, [str(f) for f in report.findings]                # doctest: +SKIP
"""

from __future__ import annotations

import importlib
import shutil
import tarfile
import tempfile
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.extractors.loader import PluginLoadError, load_plugin
from warehouse.extractors.manifest import ManifestError, assignment_lines
from warehouse.extractors.tools.batchlint import lint_plugin_batches
from warehouse.extractors.tools.scanner import Finding, scan_plugin

MAX_ARCHIVE_BYTES = 500 * 1024 * 1024
MAX_FILES = 1000


@dataclass
class LintReport:
    path: str
    findings: list[Finding] = field(default_factory=list)
    extractor: str | None = None

    @property
    def errors(self) -> list[Finding]:
        return [f for f in self.findings if f.severity == "error"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def to_dict(self) -> dict:
        return {"path": self.path, "extractor": self.extractor, "ok": self.ok,
                "errors": len(self.errors), "findings": [f.to_dict() for f in self.findings]}


class ArchiveError(ValueError):
    pass


@contextmanager
def plugin_folder(path: Path):
    """The plugin folder for ``path``: a directory as is, or a .zip/.tar(.gz) extracted safely."""
    path = Path(path)
    if path.is_dir():
        yield path
        return
    if not path.exists():
        raise ArchiveError(f"{path}: no such file or directory")
    tmp = Path(tempfile.mkdtemp(prefix="wh-plugin-"))
    try:
        members = _archive_members(path)
        total = sum(size for _, size in members)
        if len(members) > MAX_FILES:
            raise ArchiveError(f"{path}: {len(members)} files; the limit is {MAX_FILES} (leave out data and weights)")
        if total > MAX_ARCHIVE_BYTES:
            raise ArchiveError(f"{path}: {total / 2**20:.1f} MB uncompressed; the limit is "
                               f"{MAX_ARCHIVE_BYTES / 2**20:g} MB "
                               "(don't bundle model weights: load them at setup with load_hf_model or "
                               "load_namespace_model)")
        for name, _ in members:
            target = (tmp / name).resolve()
            if not target.is_relative_to(tmp.resolve()):
                raise ArchiveError(f"{path}: member {name!r} would be written outside the plugin folder")
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                zf.extractall(tmp)
        else:
            with tarfile.open(path) as tf:
                tf.extractall(tmp, filter="data")
        roots = [p for p in tmp.iterdir() if p.name != "__MACOSX"]
        folder = roots[0] if len(roots) == 1 and roots[0].is_dir() else tmp
        yield folder
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _archive_members(path: Path) -> list[tuple[str, int]]:
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                bad = zf.testzip()
                if bad is not None:
                    raise ArchiveError(f"{path}: member {bad!r} is corrupt (CRC mismatch); rebuild the archive")
                return [(i.filename, i.file_size) for i in zf.infolist() if not i.is_dir()]
        if tarfile.is_tarfile(path):
            with tarfile.open(path) as tf:
                members = tf.getmembers()
                for m in members:
                    if m.issym() or m.islnk() or m.isdev():
                        raise ArchiveError(f"{path}: member {m.name!r} is a link or device; archives may hold "
                                           "only regular files and folders")
                return [(m.name, m.size) for m in members if m.isfile()]
    except (zipfile.BadZipFile, tarfile.TarError, EOFError, OSError) as exc:
        raise ArchiveError(f"{path}: broken archive ({type(exc).__name__}: {exc}); rebuild it with "
                           "zip -r plugin.zip my_extractor/ or tar czf plugin.tar.gz my_extractor/") from exc
    raise ArchiveError(f"{path}: not a plugin folder, .zip or .tar.gz archive")


def _folder_limits(folder: Path) -> list[Finding]:
    files = [p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts]
    findings = []
    if len(files) > MAX_FILES:
        findings.append(Finding(".", 1, "error", "ARC001", f"{len(files)} files; the limit is {MAX_FILES}",
                                "leave data, weights and caches out of the plugin"))
    size = sum(p.stat().st_size for p in files)
    if size > MAX_ARCHIVE_BYTES:
        findings.append(Finding(".", 1, "error", "ARC002",
                                f"{size / 2**20:.1f} MB; the limit is {MAX_ARCHIVE_BYTES / 2**20:g} MB",
                                "don't bundle model weights: load them in setup() with load_hf_model or "
                                "load_namespace_model"))
    for required in ("manifest.py", "pipeline.py"):
        if not (folder / required).is_file():
            findings.append(Finding(required, 1, "error", "PLG001", f"missing {required}",
                                    "an extractor folder holds manifest.py and pipeline.py (realtime.py optional)"))
    return findings


def _manifest_findings(folder: Path) -> tuple[list[Finding], str | None]:
    findings: list[Finding] = []
    try:
        ext = load_plugin(folder)
    except ManifestError as exc:
        for issue in exc.issues:
            findings.append(Finding(Path(issue.file).name, issue.line, issue.severity, "MAN001",
                                    issue.message, "see the message; keys are listed in docs/extractors.md"))
        return findings, None
    except PluginLoadError as exc:
        return [Finding("manifest.py", 1, "error", "PLG002", str(exc), "fix the import error shown")], None
    spec = ext.spec
    source = (folder / "manifest.py").read_text(encoding="utf-8")
    lines = assignment_lines(source)
    manifest = importlib.import_module(f"{ext.package}.manifest")
    raw_version = getattr(manifest, "version", None)
    if raw_version is None and isinstance(getattr(manifest, "metadata", None), dict):
        raw_version = manifest.metadata.get("version")
    if raw_version is not None and str(raw_version) != spec.version:
        line = lines.get("version", 1)
        findings.append(Finding("manifest.py", line, "info", "MAN002",
                                f"version {raw_version!r} is normalised to {spec.version!r}",
                                f"write version = \"{spec.version}\" to match what the API shows"))
    # feature_uri ⇔ realtime.py
    declared_uri = getattr(manifest, "feature_uri", None)
    if declared_uri is None and isinstance(getattr(manifest, "metadata", None), dict):
        declared_uri = manifest.metadata.get("feature_uri")
    has_realtime = (folder / "realtime.py").is_file()
    expected = {spec.feature_uri(f) for f in spec.vector_features}
    uri_line = lines.get("feature_uri", 1)
    if declared_uri and not has_realtime:
        findings.append(Finding("manifest.py", uri_line, "error", "RT001",
                                f"feature_uri {declared_uri!r} is declared but there is no realtime.py",
                                "add realtime.py with an InferenceService that embeds a query, or remove feature_uri"))
    if declared_uri and declared_uri not in expected:
        findings.append(Finding("manifest.py", uri_line, "error", "RT002",
                                f"feature_uri {declared_uri!r} names no embedding feature of {spec.ref}",
                                f"use one of {sorted(expected)}"))
    if has_realtime and not declared_uri and len(expected) > 1:
        findings.append(Finding("manifest.py", 1, "error", "RT003",
                                "realtime.py exists but the manifest does not say which feature it embeds",
                                f"set feature_uri to one of {sorted(expected)}"))
    if has_realtime:
        try:
            ext.realtime_service()
        except Exception as exc:  # noqa: BLE001 - reported as a finding
            findings.append(Finding("realtime.py", 1, "error", "RT004", f"realtime service unusable: {exc}",
                                    "define class InferenceService(BaseInferenceService) with "
                                    "async run_inference(self, inputs, parameters) -> {'embedding': [...]}"))
    try:
        ext.build_steps({})
    except Exception as exc:  # noqa: BLE001
        findings.append(Finding("pipeline.py", 1, "error", "PIP001", f"build_steps failed: {exc}",
                                "build_steps(extractor_request, container) must return {'steps': [...], 'prepare': fn}"))
    return findings, spec.ref


def lint_path(path: Path) -> LintReport:
    """Lint a plugin folder or archive; every problem is a finding, nothing raises."""
    report = LintReport(str(path))
    try:
        with plugin_folder(Path(path)) as folder:
            report.findings += _folder_limits(folder)
            report.findings += scan_plugin(folder)
            security_errors = [f for f in report.findings if f.severity == "error"]
            if not security_errors:
                found, ref = _manifest_findings(folder)
                report.findings += found
                report.extractor = ref
            else:
                report.findings.append(Finding("manifest.py", 1, "info", "LNT001",
                                               "manifest not imported: fix the errors above first",
                                               "the linter never runs code that fails the security scan"))
            report.findings += lint_plugin_batches(folder)
    except ArchiveError as exc:
        report.findings.append(Finding(Path(path).name, 1, "error", "ARC003", str(exc).split(": ", 1)[-1],
                                       "rebuild the archive within the limits"))
    order = {"error": 0, "warning": 1, "info": 2}
    report.findings.sort(key=lambda f: (f.file, f.line, order.get(f.severity, 3)))
    return report
