"""video_extractor batch steps: each video expands into its scenes (frames sampled and audio transcribed as a
stream), then one EfficientNet pass over every scene's frame and one MiniLM pass over the transcripts.

A file that does not decode fails its object with the reason; a video without an audio track has scenes without
transcripts (their ``transcript_embedding`` is absent, the frame features are there)."""

from warehouse.extractors.media.audio import MediaError, transcribe, whisper
from warehouse.extractors.media.imaging import ImageFeatures
from warehouse.extractors.media.video import read_video
from warehouse.extractors.sdk import (
    BatchProcessor,
    PipelineDefinition,
    StepDefinition,
    TextEmbedder,
    build_pipeline_steps,
    open_asset,
    parts_frame,
)


class Scenes(BatchProcessor):
    expands = True

    def setup(self) -> None:
        if self.config.get("transcribe", True):
            whisper()  # loaded in the worker before the first batch

    def process(self, batch):
        interval = float(self.config.get("interval_s", 5.0))
        speech = None
        if self.config.get("transcribe", True):
            size = int(self.config.get("batch_size", 8))

            def speech(samples):
                return transcribe(samples, size)

        parts = []
        for row in batch.to_dict("records"):
            try:
                with open_asset(row["data"]) as path:
                    video = read_video(path, interval, speech)
            except MediaError as exc:
                parts.append({**row, "_error": str(exc)})
                continue
            except Exception as exc:  # noqa: BLE001 - a blob that cannot be fetched fails its object, with the reason
                parts.append({**row, "_error": f"the video could not be read ({type(exc).__name__}: {exc})"})
                continue
            meta = {"duration_s": video.duration, "has_audio": video.has_audio}
            parts += [{**row, **meta, "data": scene.frame, "start_time": scene.start, "end_time": scene.end,
                       "transcript": scene.transcript or None, "text": scene.transcript or None}
                      for scene in video.scenes]
        return parts_frame(batch, parts)


def build_steps(extractor_request=None, container=None, **kwargs):
    params = dict(getattr(extractor_request, "parameters", None) or {})
    pipeline = PipelineDefinition(name="video_extractor", version="v1", steps=[
        StepDefinition(service_class=Scenes, config=params, expands=True),
        StepDefinition(service_class=ImageFeatures, config=params),
        StepDefinition(service_class=TextEmbedder, config={"column": "transcript", "output": "transcript_embedding"}),
    ])
    return {"steps": build_pipeline_steps(pipeline), "prepare": None}
