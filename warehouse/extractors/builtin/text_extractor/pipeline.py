"""Batch pipeline of text_extractor: one batched ``encode`` call per DataFrame."""

import pandas as pd

from warehouse.extractors.models import encode_texts, load_sentence_transformer
from warehouse.extractors.sdk import (
    BatchProcessor,
    PipelineDefinition,
    ResourceType,
    RowCondition,
    StepDefinition,
    build_pipeline_steps,
)

OUTPUT = "all_minilm_l6_v2_v1"


class MiniLMEmbedder(BatchProcessor):
    """Embeds ``batch["data"]``; empty texts get no vector (the engine records them as skipped)."""

    def setup(self) -> None:
        self.model = load_sentence_transformer(self.config.get("embedding_model", "all-MiniLM-L6-v2"))

    def process(self, batch: pd.DataFrame) -> pd.DataFrame:
        batch[OUTPUT] = encode_texts(self.model, batch["data"])
        return batch


def build_steps(extractor_request=None, container=None, **kwargs):
    params = dict(getattr(extractor_request, "parameters", None) or {})
    pipeline = PipelineDefinition(
        name="text_extractor",
        version="v1",
        steps=[
            StepDefinition(
                service_class=MiniLMEmbedder,
                resource_type=ResourceType.CPU,
                config={"embedding_model": params.get("embedding_model", "all-MiniLM-L6-v2")},
                condition=RowCondition.ALWAYS,
            )
        ],
    )
    return {"steps": build_pipeline_steps(pipeline), "prepare": None}
