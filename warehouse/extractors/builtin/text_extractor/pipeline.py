"""Batch pipeline of text_extractor: one batched ``encode`` call per DataFrame."""

import numpy as np
import pandas as pd

from warehouse.extractors.models import load_sentence_transformer
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
        texts = batch["data"].fillna("").astype(str)
        present = texts.str.strip() != ""
        vectors = [None] * len(batch)
        if present.any():
            encoded = self.model.encode(
                texts[present].tolist(), batch_size=64, convert_to_numpy=True, normalize_embeddings=True
            ).astype(np.float32)
            for pos, vec in zip(np.flatnonzero(present.to_numpy()), encoded, strict=True):
                vectors[pos] = vec
        batch[OUTPUT] = vectors
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
