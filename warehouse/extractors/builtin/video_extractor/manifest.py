"""video_extractor v1: a video into scenes — a frame sampled every ``interval_s`` seconds with PyAV (FFmpeg inside
the ``av`` wheel) gets EfficientNet-Lite0 image features (1,280-d) and its ImageNet labels embedded with MiniLM
(384-d); the audio track's whisper tiny.en transcript, cut to each scene, is embedded with MiniLM (384-d). Each
scene is a document with ``start_time``, ``end_time`` and a thumbnail, its lineage pointing at the video object."""

from pydantic import BaseModel, Field

from warehouse.extractors.sdk import ExtractorManifest, Feature


class VideoInput(BaseModel):
    video: str = Field(..., description="The video: an object-store URL or https URL.")


class VideoExtractorParams(BaseModel):
    interval_s: float = Field(default=5.0, gt=0, le=3600, description="Seconds between sampled frames (scenes).")
    transcribe: bool = Field(default=True, description="Transcribe the audio track (whisper tiny.en).")
    top_k_labels: int = Field(default=5, ge=1, le=20, description="ImageNet labels kept per scene.")
    thumbnail_size: int = Field(default=128, ge=0, le=512, description="Longest side of each scene's thumbnail.")
    batch_size: int = Field(default=8, ge=1, le=64, description="Speech windows per whisper forward pass.")


class VideoOutput(BaseModel):
    start_time: float = Field(..., description="Seconds: the scene's sampled frame (also in the lineage).")
    end_time: float = Field(..., description="Seconds: the next scene's start, or the end of the video.")
    transcript: str | None = Field(None, description="Speech overlapping the scene (whisper tiny.en).")
    text: str | None = Field(None, description="The transcript again, for BM25 and display.")
    labels: list[dict] = Field(..., description="[{label, score}]: the frame's top ImageNet classes.")
    image: dict = Field(..., description="{width, height, format} of the sampled frame.")
    thumbnail: str | None = Field(None, description="The frame as a JPEG data URI.")
    duration_s: float = Field(..., description="Length of the video.")
    has_audio: bool = Field(..., description="Whether the video has a sound track.")
    part_index: int = Field(..., description="Position of the scene in the video.")

manifest = ExtractorManifest(
    feature_extractor_name="video_extractor",
    version="v1",
    description="Scenes every N seconds: EfficientNet-Lite0 frame features (1280-d), frame labels and the audio "
                "transcript embedded with all-MiniLM-L6-v2 (384-d each)",
    features=[Feature.embedding("image_embedding", dim=1280, distance="cosine"),
              Feature.embedding("label_embedding", dim=384, distance="cosine"),
              Feature.embedding("transcript_embedding", dim=384, distance="cosine")],
    inference_type="embedding",
    compute_profile={"resource_type": "cpu", "batch_size": 2, "max_concurrency": 1},
    input_mappings={"video": "video"},
)

feature_extractor_name = manifest.feature_extractor_name
version = manifest.version
description = manifest.description
features = manifest.features_as_dicts()
feature_uri = manifest.feature_uri
supported_input_types = ["video"]
input_schema = VideoInput
parameter_schema = VideoExtractorParams
output_schema = VideoOutput
