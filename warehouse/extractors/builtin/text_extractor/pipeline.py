"""Batch pipeline of text_extractor: one batched ``encode`` call per DataFrame."""

from warehouse.extractors.sdk import (
    PipelineDefinition,
    ResourceType,
    RowCondition,
    StepDefinition,
    TextEmbedder,
    build_pipeline_steps,
)

OUTPUT = "all_minilm_l6_v2_v1"


def build_steps(extractor_request=None, container=None, **kwargs):
    params = dict(getattr(extractor_request, "parameters", None) or {})
    pipeline = PipelineDefinition(
        name="text_extractor",
        version="v1",
        steps=[
            StepDefinition(
                service_class=TextEmbedder,
                resource_type=ResourceType.CPU,
                config={"output": OUTPUT, "embedding_model": params.get("embedding_model", "all-MiniLM-L6-v2")},
                condition=RowCondition.ALWAYS,
                name="MiniLMEmbedder",
            )
        ],
    )
    return {"steps": build_pipeline_steps(pipeline), "prepare": None}
