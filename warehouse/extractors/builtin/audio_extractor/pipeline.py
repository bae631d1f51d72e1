"""audio_extractor batch steps: each recording expands into its transcript segments (decoded in threads, whisper
batched over each recording's speech windows), then one MiniLM pass embeds every segment of the batch.

A file that does not decode fails its object with the reason; a recording without speech fails as empty."""

from warehouse.extractors.media.audio import MediaError, decode_audio, transcribe, whisper
from warehouse.extractors.sdk import (
    BatchProcessor,
    PipelineDefinition,
    StepDefinition,
    TextEmbedder,
    build_pipeline_steps,
    open_asset,
    parallel_io,
    parts_frame,
)

OUTPUT = "transcript_embedding"


def _decode(url):
    try:
        with open_asset(url) as path:
            samples = decode_audio(path)
        return samples if samples is not None else "the video has no audio track: nothing to transcribe"
    except MediaError as exc:
        return str(exc)
    except Exception as exc:  # noqa: BLE001 - a blob that cannot be fetched fails its object, with the reason
        return f"the audio could not be read ({type(exc).__name__}: {exc})"


def segment_rows(row: dict, segments, duration: float) -> list[dict]:
    """The parts of one recording: a row per transcript segment, or one skipped part when nobody speaks."""
    if not segments:
        return [{**row, "data": None, "text": None, "start_time": 0.0, "end_time": duration,
                 "_skip_reason": f"no speech found in {duration:.1f} s of audio"}]
    return [{**row, "data": s.text, "text": s.text, "start_time": s.start, "end_time": s.end,
             "duration_s": duration} for s in segments]


class Transcribe(BatchProcessor):
    expands = True

    def setup(self) -> None:
        whisper()  # loaded in the worker before the first batch

    def process(self, batch):
        decoded = parallel_io(list(batch["data"]), _decode, max_workers=4)
        parts = []
        for row, samples in zip(batch.to_dict("records"), decoded, strict=True):
            if isinstance(samples, str):
                parts.append({**row, "_error": samples})
                continue
            segments = transcribe(samples, int(self.config.get("batch_size", 8)), self.config.get("language", "en"))
            parts += segment_rows(row, segments, round(len(samples) / 16_000, 2))
        return parts_frame(batch, parts)


def build_steps(extractor_request=None, container=None, **kwargs):
    params = dict(getattr(extractor_request, "parameters", None) or {})
    pipeline = PipelineDefinition(name="audio_extractor", version="v1", steps=[
        StepDefinition(service_class=Transcribe, config=params, expands=True),
        StepDefinition(service_class=TextEmbedder, config={"output": OUTPUT}),
    ])
    return {"steps": build_pipeline_steps(pipeline), "prepare": None}
