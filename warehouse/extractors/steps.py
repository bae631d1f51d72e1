"""The batch-pipeline building blocks of the SDK: features and manifests, batch processors, inference
services, step and pipeline definitions. Plugins import them through ``warehouse.extractors.sdk``."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from warehouse.extractors.manifest import normalize_version

#: Columns every batch DataFrame carries (the batch contract).
CONTRACT_COLUMNS = (
    "data",
    "document_id",
    "object_id",
    "blob_id",
    "blob_property",
    "blob_type",
    "collection_id",
    "feature_extractor_id",
    "mime_type",
    "size_bytes",
)


class ResourceType(StrEnum):
    CPU = "cpu"
    GPU = "gpu"
    API = "api"


class RowCondition(StrEnum):
    """Which rows a step processes; the rest pass through unchanged."""

    ALWAYS = "always"
    IS_TEXT = "is_text"
    IS_IMAGE = "is_image"
    IS_VIDEO = "is_video"
    IS_AUDIO = "is_audio"
    IS_PDF = "is_pdf"

    def mask(self, batch: pd.DataFrame) -> pd.Series:
        if self is RowCondition.ALWAYS:
            return pd.Series(True, index=batch.index)
        mime = batch.get("mime_type", pd.Series("", index=batch.index)).fillna("").astype(str)
        kind = batch.get("blob_type", pd.Series("", index=batch.index)).fillna("").astype(str)
        if self is RowCondition.IS_PDF:
            return (mime == "application/pdf") | (kind == "pdf")
        prefix = self.value[3:]
        return mime.str.startswith(prefix + "/") | (kind == prefix)


# -- manifest --------------------------------------------------------------------------------
class Feature(BaseModel):
    """One output of an extractor; embeddings become named vectors in the index."""

    model_config = ConfigDict(extra="forbid")

    feature_type: str = "embedding"
    feature_name: str
    embedding_dim: int | None = None
    distance_metric: str = "cosine"
    labels: list[str] | None = None

    @classmethod
    def embedding(cls, name: str, dim: int, distance: str = "cosine") -> Feature:
        return cls(feature_type="embedding", feature_name=name, embedding_dim=dim, distance_metric=distance)

    @classmethod
    def classification(cls, name: str, labels: list[str] | None = None) -> Feature:
        return cls(feature_type="classification", feature_name=name, labels=labels)

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class ExtractorManifest(BaseModel):
    """The typed form of ``manifest.py`` (the module-variable form is equivalent)."""

    model_config = ConfigDict(extra="allow")

    feature_extractor_name: str
    version: str
    description: str = ""
    dependencies: list[str] = Field(default_factory=list)
    system_packages: list[str] = Field(default_factory=list)
    features: list[Feature] = Field(default_factory=list)
    inference_type: str | None = None
    compute_profile: dict[str, Any] = Field(default_factory=dict)
    input_mappings: dict[str, str] = Field(default_factory=dict)

    def features_as_dicts(self) -> list[dict[str, Any]]:
        return [f.as_dict() for f in self.features]

    @property
    def feature_uri(self) -> str | None:
        emb = [f for f in self.features if f.feature_type == "embedding"]
        if not emb:
            return None

        version = normalize_version(self.version, keep_v=True)
        return f"mixpeek://{self.feature_extractor_name}@{version}/{emb[0].feature_name}"


# -- processors --------------------------------------------------------------------------------
class BatchProcessor:
    """A batch step with lazy set-up: ``setup()`` once on the first batch, ``process()`` per batch."""

    def __init__(self, config: dict[str, Any] | None = None, **kwargs: Any) -> None:
        self.config = dict(config or {}, **kwargs)
        self._ready = False

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load models here, not in ``__init__``: it runs inside the worker that uses them."""

    def process(self, batch: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if not self._ready:
            self.setup()
            self._ready = True
        return self.process(batch)


def _run_coroutine(value: Any) -> Any:
    if inspect.isawaitable(value):
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(_await(value))
        raise RuntimeError("call the async inference API from a running event loop with 'await'")
    return value


async def _await(value):
    return await value


class BaseInferenceService:
    """Query-time inference (``realtime.py``): ``await service(inputs, parameters)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._ready = False

    def setup(self) -> None:  # noqa: B027 - optional hook
        """Load models lazily, on the first request."""

    async def run_inference(self, inputs: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def __call__(self, inputs: dict[str, Any], parameters: dict[str, Any] | None = None) -> dict[str, Any]:
        if not self._ready:
            self.setup()
            self._ready = True
        return await self.run_inference(inputs, parameters or {})


class InferenceService(BaseInferenceService):
    """Typed form: implement ``setup()`` and ``infer()``."""

    async def infer(self, inputs: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    async def run_inference(self, inputs: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
        result = self.infer(inputs, parameters)  # sync or async infer() both work
        return await result if inspect.isawaitable(result) else result


async def call_inference(service: Any, inputs: dict[str, Any], parameters: dict[str, Any]) -> dict[str, Any]:
    """Call any of the documented realtime service shapes and return its dict."""
    if isinstance(service, BaseInferenceService):
        result = service(inputs, parameters)
    elif hasattr(service, "run_inference"):
        result = service.run_inference(inputs, parameters)
    elif hasattr(service, "infer"):
        result = service.infer(inputs, parameters)
    elif callable(service):
        result = service(inputs, parameters)
    else:
        raise TypeError(f"{type(service).__name__} has no run_inference/infer/__call__")
    if inspect.isawaitable(result):
        result = await result
    if not isinstance(result, dict):
        raise TypeError(f"inference service returned {type(result).__name__}, expected a dict")
    return result


class BaseBatchInferenceService:
    """Mixpeek's batch-service base (``shared.plugins.inference.batch``): implement
    ``_process_batch(batch)``; the instance is the step."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def _process_batch(self, batch: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        return self._process_batch(batch)


# -- pipelines ----------------------------------------------------------------------------------
@dataclass
class StepDefinition:
    """One step: a processor class, its resources, its configuration and its row condition.

    ``expands=True``: the step may return several rows per input row (a PDF's pages, a recording's segments), each
    keeping its input row's ``document_id``; the engine gives every part an id of its own (see
    :func:`warehouse.batch.engine.number_parts`). Other steps return exactly their input rows, in order."""

    service_class: type | Callable[..., Any]
    resource_type: ResourceType = ResourceType.CPU
    config: dict[str, Any] = field(default_factory=dict)
    condition: RowCondition = RowCondition.ALWAYS
    batch_size: int | None = None
    name: str | None = None
    expands: bool = False


@dataclass
class PipelineDefinition:
    name: str
    version: str
    steps: list[StepDefinition] = field(default_factory=list)


class PipelineStep:
    """A runnable step: instantiates its processor lazily and applies it to matching rows."""

    def __init__(self, definition: StepDefinition) -> None:
        self.definition = definition
        self.resource_type = ResourceType(definition.resource_type)
        self.condition = RowCondition(definition.condition)
        self.batch_size = definition.batch_size
        self.name = definition.name or getattr(definition.service_class, "__name__", "step")
        self.expands = bool(definition.expands or getattr(definition.service_class, "expands", False))
        self._instance: Any = None
        #: the plugin chose the resource type (a StepDefinition); a bare callable takes the manifest's compute_profile
        self.explicit = True

    def _processor(self):
        if self._instance is None:
            cls = self.definition.service_class
            try:
                self._instance = cls(self.definition.config) if self.definition.config else cls()
            except TypeError:
                self._instance = cls(config=self.definition.config)
        return self._instance

    def warm(self) -> None:
        """Instantiate the processor and run its ``setup()`` now rather than on the first batch."""
        processor = self._processor()
        if isinstance(processor, BatchProcessor) and not processor._ready:
            processor.setup()
            processor._ready = True

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        if self.condition is RowCondition.ALWAYS:
            return self._processor()(batch)
        mask = self.condition.mask(batch)
        if not mask.any():
            return batch
        selected = batch[mask].reset_index(drop=True)
        result = self._processor()(selected)
        if self.expands:  # parts of the matching rows, then the other rows as they were
            return pd.concat([result, batch[~mask.values]], ignore_index=True)
        out = batch.copy()
        for column in result.columns:
            if column not in out.columns:
                out[column] = None
            out.loc[mask.values, column] = pd.Series(list(result[column]), index=out.index[mask.values])
        return out


def parts_frame(batch: pd.DataFrame, parts: list[dict[str, Any]]) -> pd.DataFrame:
    """What an expanding step returns: its ``parts`` (dicts that keep their input row's ``document_id``) as a
    DataFrame with the input's columns first, even when there are no parts."""
    return pd.DataFrame(parts, columns=list(dict.fromkeys([*batch.columns, *(k for p in parts for k in p)])))


def build_pipeline_steps(pipeline: PipelineDefinition) -> list[PipelineStep]:
    """Turn a :class:`PipelineDefinition` into the runnable steps ``build_steps`` returns."""
    return [PipelineStep(step) for step in pipeline.steps]


def as_pipeline_step(step: Any) -> PipelineStep:
    """Normalise anything a plugin may put in ``steps`` into a :class:`PipelineStep`."""
    if isinstance(step, PipelineStep):
        return step
    if isinstance(step, StepDefinition):
        return PipelineStep(step)
    if callable(step):
        wrapped = PipelineStep(StepDefinition(service_class=type(step)))
        wrapped._instance = step
        wrapped.name = type(step).__name__
        wrapped.expands = bool(getattr(step, "expands", False))
        wrapped.explicit = False
        return wrapped
    raise TypeError(f"pipeline step {step!r} is neither callable nor a StepDefinition")
