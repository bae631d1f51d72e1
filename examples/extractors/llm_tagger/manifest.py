"""llm_tagger 1.0.0 — MiniLM embeddings plus an LLM-assigned topic per text.

Step 1 embeds with the built-in MiniLM batch service (CPU); step 2 asks the configured
OpenAI-compatible LLM (container.llm) for a topic, concurrently, on an API worker. With no LLM
configured the second step fails every row with a message saying how to configure one.
"""

feature_extractor_name = "llm_tagger"
version = "1.0.0"
description = "MiniLM embedding and an LLM topic label"
features = [
    {"feature_type": "embedding", "feature_name": "minilm_embedding", "embedding_dim": 384, "distance_metric": "cosine"},
    {"feature_type": "classification", "feature_name": "llm_topic", "labels": ["science", "business", "sports", "technology", "other"]},
]
inference_type = "classify"
compute_profile = {"resource_type": "api", "batch_size": 32, "max_concurrency": 1}
