"""st_embed 1.0.0 — sentence-transformers embedder in the typed/pydantic manifest shape.

Loads the model by its hub id; offline, the warehouse resolves it from the packaged wheel.
"""

from pydantic import BaseModel, Field


class Inputs(BaseModel):
    text: str = Field(..., description="Text to embed")


class Params(BaseModel):
    model_id: str = Field(default="sentence-transformers/all-MiniLM-L6-v2", description="Hub id or local path")
    normalize: bool = Field(default=True, description="Unit-length vectors (cosine = dot)")


metadata = {
    "feature_extractor_name": "st_embed",
    "version": "1.0.0",
    "description": "Sentence-transformers embeddings (384-d) with a realtime query service",
    "features": [
        {"feature_type": "embedding", "feature_name": "st_embedding", "embedding_dim": 384, "distance_metric": "cosine"}
    ],
    "inference_type": "embedding",
    "compute_profile": {"resource_type": "cpu", "batch_size": 64, "max_concurrency": 1},
    "feature_uri": "mixpeek://st_embed@1.0.0/st_embedding",
}
input_schema = Inputs
parameter_schema = Params
