"""Two steps: clean + keywords, then embed; plus a prepare hook on the Ray dataset."""

from engine.plugins.extractors.pipeline import (
    ResourceType,
    RowCondition,
    StepDefinition,
    build_pipeline_steps,
)
from shared.plugins import PipelineDefinition

from .textops import clean, embed, keywords


class CleanAndTag:
    def __init__(self, config):
        self.k = int(config.get("keywords", 5))

    def __call__(self, batch):
        cleaned = clean(batch["data"].tolist())
        batch["data"] = cleaned
        batch["keywords"] = keywords(cleaned, self.k)
        return batch


class BagOfWords:
    def __call__(self, batch):
        batch["bow_embedding"] = embed(batch["data"].tolist())
        return batch


def prepare(dataset):
    """Runs on the Ray dataset before the steps (here: nothing to drop, kept as the documented hook)."""
    return dataset


def build_steps(extractor_request=None, container=None, **kwargs):
    params = getattr(extractor_request, "parameters", {}) or {}
    pipeline = PipelineDefinition(name="keyword_pipeline", version="1.0.0", steps=[
        StepDefinition(service_class=CleanAndTag, resource_type=ResourceType.CPU, condition=RowCondition.ALWAYS,
                       config={"keywords": params.get("keywords", 5)}),
        StepDefinition(service_class=BagOfWords, resource_type=ResourceType.CPU, condition=RowCondition.ALWAYS),
    ])
    return {"steps": build_pipeline_steps(pipeline), "prepare": prepare}
