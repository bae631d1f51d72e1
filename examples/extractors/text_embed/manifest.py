"""text_embed 1.0.0 — a deterministic hash embedder (128-d), the custom-extractor example."""

feature_extractor_name = "text_embed"
version = "1.0.0"
description = "Deterministic 128-d text embedding from a SHA-256 seed (no model needed)"
dependencies = []

features = [
    {
        "feature_type": "embedding",
        "feature_name": "text_embed_v1_embedding",
        "embedding_dim": 128,
        "distance_metric": "cosine",
    }
]

inference_type = "embedding"
compute_profile = {"resource_type": "cpu", "batch_size": 256, "max_concurrency": 1}
feature_uri = "mixpeek://text_embed@1.0.0/text_embed_v1_embedding"
