"""keyword_pipeline 1.0.0 — a two-step pipeline in the module-variable manifest shape.

Step 1 (CPU) cleans the text and extracts keywords into a payload column; step 2 embeds the
cleaned text with a hashed bag-of-words (256-d), so texts sharing words land close together.
"""

feature_extractor_name = "keyword_pipeline"
version = "v1"  # normalised to 1.0.0
description = "Text clean-up and keywords, then a 256-d hashed bag-of-words embedding"
features = [
    {"feature_type": "embedding", "feature_name": "bow_embedding", "embedding_dim": 256, "distance_metric": "cosine"},
]
inference_type = "embedding"
compute_profile = {"resource_type": "cpu", "batch_size": 128, "max_concurrency": 1}
feature_uri = "mixpeek://keyword_pipeline@1.0.0/bow_embedding"
default_parameters = {"keywords": 5}
