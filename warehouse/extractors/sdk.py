"""The extractor SDK: what plugins import to declare features and build batch pipelines.

Built-in extractors use exactly this module (a facade over ``steps``, ``helpers`` and ``models``), and custom plugins written against Mixpeek's
documented import paths (``shared.extractors.sdk`` …) are pointed here by the plugin loader.

Example (a plugin's ``pipeline.py``)::

    from warehouse.extractors.sdk import (
        BatchProcessor, PipelineDefinition, ResourceType, StepDefinition, build_pipeline_steps)

    class Embed(BatchProcessor):
        def setup(self):
            self.model = load_model()
        def process(self, batch):
            batch["my_embedding"] = self.model.encode(batch["data"].fillna("").tolist()).tolist()
            return batch

    def build_steps(extractor_request=None, container=None, **kwargs):
        pipeline = PipelineDefinition(name="mine", version="1.0.0",
                                      steps=[StepDefinition(service_class=Embed)])
        return {"steps": build_pipeline_steps(pipeline)}
"""

from warehouse.extractors.helpers import (
    ALLOWED_TOOLS,
    LLMNotConfigured,
    PluginContainer,
    concurrent_api_calls,
    default_container,
    download_asset,
    open_asset,
    parallel_io,
    prefetch_hf_model,
    run_tool,
    upload_asset,
)
from warehouse.extractors.media.text import TextEmbedder
from warehouse.extractors.models import (
    LazyModelMixin,
    get_batch_service,
    lazy_model,
    load_hf_model,
    load_namespace_model,
)
from warehouse.extractors.steps import (
    CONTRACT_COLUMNS,
    BaseBatchInferenceService,
    BaseInferenceService,
    BatchProcessor,
    ExtractorManifest,
    Feature,
    InferenceService,
    PipelineDefinition,
    PipelineStep,
    ResourceType,
    RowCondition,
    StepDefinition,
    as_pipeline_step,
    build_pipeline_steps,
    call_inference,
    parts_frame,
)

__all__ = [
    "ALLOWED_TOOLS",
    "BaseBatchInferenceService",
    "BaseInferenceService",
    "BatchProcessor",
    "CONTRACT_COLUMNS",
    "ExtractorManifest",
    "Feature",
    "InferenceService",
    "LLMNotConfigured",
    "LazyModelMixin",
    "PipelineDefinition",
    "PipelineStep",
    "PluginContainer",
    "ResourceType",
    "RowCondition",
    "StepDefinition",
    "TextEmbedder",
    "as_pipeline_step",
    "build_pipeline_steps",
    "call_inference",
    "concurrent_api_calls",
    "default_container",
    "download_asset",
    "get_batch_service",
    "lazy_model",
    "load_hf_model",
    "load_namespace_model",
    "open_asset",
    "parallel_io",
    "parts_frame",
    "prefetch_hf_model",
    "run_tool",
    "upload_asset",
]
