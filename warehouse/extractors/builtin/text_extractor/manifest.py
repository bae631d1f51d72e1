"""text_extractor v1: dense text embeddings with all-MiniLM-L6-v2 (384-d, cosine), with chunking."""

from typing import Literal

from pydantic import BaseModel, Field

from warehouse.extractors.sdk import ExtractorManifest, Feature


class TextInput(BaseModel):
    text: str = Field(..., description="The text to embed.")


class TextExtractorParams(BaseModel):
    split_by: Literal["none", "characters", "words", "sentences", "paragraphs"] = Field(
        default="none", description="How to chunk the text before embedding; 'none' embeds it whole."
    )
    chunk_size: int = Field(default=1000, gt=0, description="Chunk length in units of split_by.")
    chunk_overlap: int = Field(default=0, ge=0, description="Units shared by consecutive chunks.")
    embedding_model: str = Field(
        default="all-MiniLM-L6-v2",
        description="Hub id or local path of a sentence-transformers model producing 384-d vectors.",
    )


class TextOutput(BaseModel):
    text: str = Field(..., description="The text (or chunk) embedded; chunk offsets are in the lineage.")

manifest = ExtractorManifest(
    feature_extractor_name="text_extractor",
    version="v1",
    description="Embeds text with all-MiniLM-L6-v2 (384-d, cosine); optional chunking.",
    features=[Feature.embedding("all_minilm_l6_v2_v1", dim=384, distance="cosine")],
    inference_type="embedding",
    compute_profile={"resource_type": "cpu", "batch_size": 128, "max_concurrency": 1},
    input_mappings={"text": "text"},
)

feature_extractor_name = manifest.feature_extractor_name
version = manifest.version
description = manifest.description
features = manifest.features_as_dicts()
feature_uri = manifest.feature_uri
input_schema = TextInput
parameter_schema = TextExtractorParams
supported_input_types = ["text", "string"]
chunking = True
output_schema = TextOutput
