"""Sampling a video with PyAV (FFmpeg inside the ``av`` wheel): one frame per ``interval`` seconds (the first frame
at or after each mark), the audio track as 16 kHz samples. Frames are decoded as a stream and only the sampled ones
are converted to images, so memory follows the number of samples, not the file's size."""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from pathlib import Path

from warehouse.extractors.media.audio import MediaError, Segment, decode_audio, no_stream


@dataclass
class VideoScene:
    start: float
    end: float
    frame: bytes  # the sampled frame as JPEG
    transcript: str = ""


@dataclass
class VideoContent:
    scenes: list[VideoScene]
    duration: float
    width: int
    height: int
    has_audio: bool
    segments: list[Segment] = field(default_factory=list)


def sample_frames(path: str | Path, interval: float = 5.0, max_scenes: int = 720) -> tuple[list[tuple[float, bytes]],
                                                                                           float, int, int]:
    """``[(time, jpeg)]`` every ``interval`` seconds, the duration, and the frame size. Raises MediaError."""
    # lazy: PyAV loads FFmpeg's libraries
    import av

    path = Path(path)
    if path.stat().st_size == 0:
        raise MediaError("the file is empty (0 bytes)")
    frames: list[tuple[float, bytes]] = []
    last = 0.0
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                no_stream("video", container)
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            width, height = stream.codec_context.width, stream.codec_context.height
            mark = 0.0
            for frame in container.decode(stream):
                if frame.time is None:
                    continue
                last = max(last, float(frame.time) + float(frame.duration * frame.time_base if frame.duration else 0))
                if frame.time + 1e-6 < mark or len(frames) >= max_scenes:
                    continue
                buf = io.BytesIO()
                frame.to_image().convert("RGB").save(buf, format="JPEG", quality=90)
                frames.append((round(float(frame.time), 3), buf.getvalue()))
                mark = (int(frame.time / interval) + 1) * interval
            if container.duration:
                last = max(last, container.duration / 1_000_000)
    except av.error.FFmpegError as exc:
        raise MediaError(f"the video could not be decoded ({type(exc).__name__}: {exc}); the file is truncated or "
                         "not a video") from None
    if not frames:
        raise MediaError("the video stream holds no decodable frames")
    return frames, round(last, 3), width, height


def read_video(path: str | Path, interval: float = 5.0, transcribe_audio=None) -> VideoContent:
    """The scenes of a video: a sampled frame per ``interval`` seconds, each with the transcript of the speech that
    overlaps it (``transcribe_audio(samples) -> [Segment]``; a video without an audio track has none)."""
    frames, duration, width, height = sample_frames(path, interval)
    samples = decode_audio(path)
    segments = transcribe_audio(samples) if samples is not None and transcribe_audio is not None else []
    scenes = []
    for i, (start, jpeg) in enumerate(frames):
        end = frames[i + 1][0] if i + 1 < len(frames) else max(duration, start)
        spoken = [s.text for s in segments if s.start < end and s.end > start]
        scenes.append(VideoScene(start=start, end=round(end, 3), frame=jpeg, transcript=" ".join(spoken)))
    return VideoContent(scenes=scenes, duration=duration, width=width, height=height, has_audio=samples is not None,
                        segments=segments)
