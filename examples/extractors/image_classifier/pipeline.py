from shared.extractors.sdk import (
    PipelineDefinition,
    ResourceType,
    RowCondition,
    StepDefinition,
    build_pipeline_steps,
)

from .processors.classifier import EfficientNetClassifier


def build_steps(extractor_request=None, container=None, **kwargs):
    pipeline = PipelineDefinition(name="image_classifier", version="1.0.0", steps=[
        StepDefinition(service_class=EfficientNetClassifier, resource_type=ResourceType.CPU,
                       condition=RowCondition.ALWAYS),
    ])
    return {"steps": build_pipeline_steps(pipeline)}
