"""One batched encode per DataFrame; empty texts get no vector (recorded as skipped rows)."""

import numpy as np
from shared.extractors.sdk import (
    BatchProcessor,
    PipelineDefinition,
    ResourceType,
    RowCondition,
    StepDefinition,
    build_pipeline_steps,
    prefetch_hf_model,
)


class Embed(BatchProcessor):
    def setup(self):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(prefetch_hf_model(self.config["model_id"]), device="cpu")

    def process(self, batch):
        texts = batch["data"].fillna("").astype(str)
        keep = (texts.str.strip() != "").to_numpy()
        vectors = [None] * len(batch)
        if keep.any():
            encoded = self.model.encode(texts[keep].tolist(), batch_size=64,
                                        normalize_embeddings=self.config["normalize"])
            for pos, vec in zip(np.flatnonzero(keep), encoded, strict=True):
                vectors[pos] = vec.astype(np.float32)
        batch["st_embedding"] = vectors
        return batch


def build_steps(extractor_request, container=None, **kwargs):
    params = extractor_request.parameters
    config = {"model_id": params.get("model_id", "sentence-transformers/all-MiniLM-L6-v2"),
              "normalize": params.get("normalize", True)}
    pipeline = PipelineDefinition(name="st_embed", version="1.0.0", steps=[
        StepDefinition(service_class=Embed, resource_type=ResourceType.CPU, condition=RowCondition.IS_TEXT,
                       config=config),
    ])
    return {"steps": build_pipeline_steps(pipeline)}
