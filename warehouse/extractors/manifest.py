"""Reading and validating an extractor's ``manifest.py`` into one normalised :class:`ExtractorSpec`.

Both documented manifest shapes are accepted: module variables (``feature_extractor_name``,
``version``, ``features`` …), a ``metadata`` dict with pydantic schemas, or a typed
``manifest = ExtractorManifest(...)``. Wrong keys are errors that name the right key — a
manifest never silently yields a collection without vector indexes.
"""

from __future__ import annotations

import ast
import re
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from warehouse.extractors.pysource import parse_python

_WRONG_FEATURE_KEYS = {
    "name": "feature_name",
    "type": "feature_type",
    "dimensions": "embedding_dim",
    "dimension": "embedding_dim",
    "dim": "embedding_dim",
    "distance": "distance_metric",
    "metric": "distance_metric",
}
_FEATURE_KEYS = {"feature_type", "feature_name", "embedding_dim", "distance_metric", "labels", "description"}
_DISTANCES = {"cosine", "euclid", "dot"}
_INFERENCE_TYPES = {"embedding", "rerank", "classify", "generate", "general"}
_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_HOST_RE = re.compile(r"^[A-Za-z0-9.-]{1,253}(:\d{1,5})?$")
_COMPUTE_RANGES: dict[str, tuple[float, float] | None] = {
    "resource_type": None, "batch_size": (1, 4096), "max_concurrency": (1, 64), "actor_memory_gb": (0.1, 1024),
    "num_gpus": (0.1, 8),
}
_FRACTIONAL = {"actor_memory_gb", "num_gpus"}


@dataclass
class ManifestIssue:
    file: str
    line: int
    severity: str  # error | warning
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: [{self.severity}] {self.message}"


class ManifestError(ValueError):
    """The manifest is invalid; ``issues`` lists each problem with its location and fix."""

    def __init__(self, issues: list[ManifestIssue]) -> None:
        self.issues = issues
        super().__init__("\n".join(str(i) for i in issues))


@dataclass
class FeatureSpec:
    feature_name: str
    feature_type: str = "embedding"
    embedding_dim: int | None = None
    distance_metric: str = "cosine"

    @property
    def is_vector(self) -> bool:
        return self.feature_type == "embedding"


@dataclass
class ExtractorSpec:
    """Everything the platform needs to know about one extractor ``name@version``."""

    name: str
    version: str
    description: str = ""
    features: list[FeatureSpec] = field(default_factory=list)
    inference_type: str | None = None
    compute_profile: dict[str, Any] = field(default_factory=dict)
    input_names: list[str] = field(default_factory=lambda: ["text"])
    supported_input_types: list[str] = field(default_factory=lambda: ["text"])
    parameter_defaults: dict[str, Any] = field(default_factory=dict)
    parameter_schema: dict[str, Any] = field(default_factory=dict)
    #: JSON schemas of the inputs (``input_schema``) and of the payload fields each document gets (``output_schema``)
    input_schema: dict[str, Any] = field(default_factory=dict)
    output_schema: dict[str, Any] = field(default_factory=dict)
    chunking: bool = False
    dependencies: list[str] = field(default_factory=list)
    #: hosts (``host`` or ``host:port``) the plugin's code may open TCP connections to when it runs sandboxed
    allowed_hosts: list[str] = field(default_factory=list)

    @property
    def allowed_ports(self) -> list[int]:
        """The TCP ports of ``allowed_hosts`` (443 where none is given): what the sandbox lets the code connect to."""
        return sorted({int(h.rsplit(":", 1)[1]) if ":" in h else 443 for h in self.allowed_hosts})

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready copy (how a confined child reports an uploaded plugin's spec to the host)."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExtractorSpec:
        """The spec :meth:`to_dict` wrote; unknown keys are a ValueError (a file written by another version)."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown extractor spec keys {unknown}")
        features = [FeatureSpec(**f) for f in data.get("features") or []]
        return cls(**{**data, "features": features})

    @property
    def extractor_id(self) -> str:
        """Mixpeek's ``feature_extractor_id``: ``{name}_{version}`` with dots as underscores."""
        return f"{self.name}_{self.version.replace('.', '_')}"

    @property
    def ref(self) -> str:
        return f"{self.name}@{self.version}"

    def feature_uri(self, feature: FeatureSpec) -> str:
        return f"mixpeek://{self.name}@{self.version}/{feature.feature_name}"

    def vector_name(self, feature: FeatureSpec) -> str:
        """The physical named vector in the index (shared by collections of this extractor)."""
        return f"{self.extractor_id}__{feature.feature_name}"

    @property
    def vector_features(self) -> list[FeatureSpec]:
        return [f for f in self.features if f.is_vector]

    @property
    def batch_size(self) -> int:
        return int(self.compute_profile.get("batch_size", 64))

    @property
    def max_concurrency(self) -> int:
        return int(self.compute_profile.get("max_concurrency", 1))

    @property
    def resource_type(self) -> str:
        return str(self.compute_profile.get("resource_type", "cpu"))


def normalize_version(version: Any, keep_v: bool = False) -> str:
    """``v1`` / ``1`` / ``1.0`` become ``1.0.0``; with ``keep_v`` (built-ins, Mixpeek's spelling of
    their URIs) ``v1`` stays ``v1``."""
    text = str(version).strip()
    if re.fullmatch(r"v\d+(\.\d+){0,2}", text):
        if keep_v and re.fullmatch(r"v\d+", text):
            return text
        text = text[1:]
    if re.fullmatch(r"\d+(\.\d+){0,2}", text):
        parts = text.split(".") + ["0"] * (3 - len(text.split(".")))
        return ".".join(parts[:3])
    return text


def assignment_lines(source: str) -> dict[str, int]:
    """Line numbers of top-level assignments, so issues point at the right line."""
    lines: dict[str, int] = {}
    try:
        tree = parse_python(source)
    except SyntaxError:
        return lines
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for t in targets:
            if isinstance(t, ast.Name):
                lines.setdefault(t.id, node.lineno)
    return lines


def _schema_of(model: Any) -> dict[str, Any]:
    if model is None:
        return {}
    if isinstance(model, dict):
        return model
    if hasattr(model, "model_json_schema"):
        return model.model_json_schema()
    return {}


def spec_from_namespace(ns: dict[str, Any], file: str = "manifest.py", source: str = "",
                        keep_v: bool = False) -> ExtractorSpec:
    """Validate the top-level names of an imported manifest module and build the spec.

    Raises:
        ManifestError: listing every problem found (not just the first).
    """
    lines = assignment_lines(source)
    issues: list[ManifestIssue] = []

    def err(key: str, message: str, severity: str = "error") -> None:
        issues.append(ManifestIssue(file, lines.get(key, 1), severity, message))

    values: dict[str, Any] = {}
    typed = ns.get("manifest")
    if typed is not None and hasattr(typed, "model_dump"):
        values.update(typed.model_dump())
        values["features"] = typed.features_as_dicts() if hasattr(typed, "features_as_dicts") else values.get("features")
    metadata = ns.get("metadata")
    if isinstance(metadata, dict):
        values.update({k: v for k, v in metadata.items() if v is not None})
    for key in (
        "feature_extractor_name", "version", "description", "features", "inference_type",
        "compute_profile", "input_mappings", "supported_input_types", "dependencies", "chunking", "allowed_hosts",
    ):
        if key in ns and key not in values:
            values[key] = ns[key]

    name = values.get("feature_extractor_name")
    if not name:
        err("feature_extractor_name", "missing 'feature_extractor_name': set feature_extractor_name = \"my_extractor\"")
    elif not _NAME_RE.match(str(name)):
        err("feature_extractor_name", f"feature_extractor_name {name!r} must be lowercase letters, digits and underscores")
    version = values.get("version")
    if version is None:
        err("version", "missing 'version': set version = \"1.0.0\" (or \"v1\")")

    features: list[FeatureSpec] = []
    raw_features = values.get("features")
    if raw_features is None:
        err("features", "missing 'features': declare at least one feature, e.g. "
            "{'feature_type': 'embedding', 'feature_name': 'my_embedding', 'embedding_dim': 384, 'distance_metric': 'cosine'}")
        raw_features = []
    elif not isinstance(raw_features, list | tuple):
        err("features", f"'features' must be a list of dicts, got {type(raw_features).__name__}")
        raw_features = []
    for i, feat in enumerate(raw_features):
        where = f"features[{i}]"
        if hasattr(feat, "as_dict"):
            feat = feat.as_dict()
        if not isinstance(feat, dict):
            err("features", f"{where} must be a dict, got {type(feat).__name__}")
            continue
        bad = False
        for key in feat:
            if key in _WRONG_FEATURE_KEYS:
                err("features", f"{where} uses key {key!r}; the key is {_WRONG_FEATURE_KEYS[key]!r} "
                    f"(rename {key!r} to {_WRONG_FEATURE_KEYS[key]!r})")
                bad = True
            elif key not in _FEATURE_KEYS:
                err("features", f"{where} has unknown key {key!r}; allowed keys: {sorted(_FEATURE_KEYS)}")
                bad = True
        if bad:
            continue
        ftype = feat.get("feature_type")
        fname = feat.get("feature_name")
        if ftype is None:
            err("features", f"{where} is missing 'feature_type' (use \"embedding\")")
            continue
        if not fname or not _NAME_RE.match(str(fname)):
            err("features", f"{where} needs 'feature_name' in lowercase_with_underscores, got {fname!r}")
            continue
        dim = feat.get("embedding_dim")
        distance = str(feat.get("distance_metric", "cosine")).lower()
        if ftype == "embedding":
            if not isinstance(dim, int) or isinstance(dim, bool) or dim <= 0:
                err("features", f"{where} ({fname}) needs a positive integer 'embedding_dim', got {dim!r}")
                continue
            if distance not in _DISTANCES:
                err("features", f"{where} ({fname}) has distance_metric {distance!r}; use one of {sorted(_DISTANCES)}")
                continue
        features.append(FeatureSpec(str(fname), str(ftype), dim, distance))
    if raw_features and not any(f.is_vector for f in features) and not issues:
        err("features", "no feature has feature_type 'embedding': the collection would have no vector index", "warning")

    inference_type = values.get("inference_type")
    if inference_type is not None and inference_type not in _INFERENCE_TYPES:
        err("inference_type", f"inference_type {inference_type!r} is not one of {sorted(_INFERENCE_TYPES)}")
    compute = values.get("compute_profile") or {}
    if not isinstance(compute, dict):
        err("compute_profile", "compute_profile must be a dict like {'resource_type': 'cpu', 'batch_size': 64}")
        compute = {}
    else:
        for key, value in compute.items():
            if key not in _COMPUTE_RANGES:
                err("compute_profile", f"compute_profile has unknown key {key!r}; allowed keys: {sorted(_COMPUTE_RANGES)}")
            elif key == "resource_type":
                if value not in {"cpu", "gpu", "api"}:
                    err("compute_profile", f"compute_profile.resource_type {value!r} must be cpu, gpu or api")
            else:
                low, high = _COMPUTE_RANGES[key]
                kinds = (int, float) if key in _FRACTIONAL else (int,)
                if not isinstance(value, kinds) or isinstance(value, bool) or not low <= value <= high:
                    what = "a number" if key in _FRACTIONAL else "an integer"
                    err("compute_profile", f"compute_profile.{key} must be {what} from {low:g} to {high:g}, got {value!r}")

    hosts = values.get("allowed_hosts") or []
    if not isinstance(hosts, list | tuple) or not all(isinstance(h, str) and _HOST_RE.match(h) for h in hosts):
        err("allowed_hosts", f"allowed_hosts must be a list of 'host' or 'host:port' strings (port 443 when left "
                             f"out), got {hosts!r}")
        hosts = []

    if any(i.severity == "error" for i in issues):
        raise ManifestError(issues)

    input_mappings = values.get("input_mappings") or {}
    input_schema = _schema_of(ns.get("input_schema"))
    input_names = list(input_mappings) or list(input_schema.get("properties", {})) or ["text"]
    parameter_schema = _schema_of(ns.get("parameter_schema"))
    defaults = {
        k: v["default"] for k, v in parameter_schema.get("properties", {}).items() if "default" in v
    }
    defaults.update(ns.get("default_parameters") or {})
    return ExtractorSpec(
        name=str(name),
        version=normalize_version(version, keep_v),
        description=str(values.get("description") or ""),
        features=features,
        inference_type=inference_type,
        compute_profile=compute,
        input_names=input_names,
        supported_input_types=list(values.get("supported_input_types") or input_names),
        parameter_defaults=defaults,
        parameter_schema=parameter_schema,
        input_schema=input_schema,
        output_schema=_schema_of(ns.get("output_schema")),
        chunking=bool(values.get("chunking", False)),
        dependencies=list(values.get("dependencies") or []),
        allowed_hosts=[h.lower() for h in hosts],
    )


def read_source(path: Path) -> str:
    return path.read_text(encoding="utf-8")
