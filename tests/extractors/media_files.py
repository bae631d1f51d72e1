"""Media the extractor tests make for themselves with PyAV: the shipped speech transcoded to other formats, and
short videos encoded from real photos, with or without the speech as their audio track."""

from __future__ import annotations

from pathlib import Path

import numpy as np

TESTS_DATA = Path(__file__).resolve().parents[1] / "data"
SPEECH = TESTS_DATA / "meeting.ogg"  # espeak-ng, see tests/data/SOURCE.md
SPOKEN_WORDS = ("quarterly", "budget", "meeting", "thursday", "afternoon", "sales", "figures", "northern")
SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
PDFS = SHARED / "pdfs"
CAPTIONED = SHARED / "images" / "skimage_clip_captions"

#: container format, codec, sample rate of each audio format the tests encode
AUDIO_FORMATS = {"wav": ("wav", "pcm_s16le", 16000), "mp3": ("mp3", "libmp3lame", 22050),
                 "m4a": ("mp4", "aac", 16000), "flac": ("flac", "flac", 16000), "ogg": ("ogg", "libopus", 48000)}


def speech_samples() -> np.ndarray:
    from warehouse.extractors.media.audio import decode_audio

    return decode_audio(SPEECH)


def _encode_audio(container, stream, samples: np.ndarray, rate: int) -> None:
    import av

    frame = av.AudioFrame.from_ndarray(samples.reshape(1, -1).astype(np.float32), format="flt", layout="mono")
    frame.sample_rate = 16000
    resampler = av.AudioResampler(format=stream.codec_context.codec.audio_formats[0].name, layout="mono", rate=rate)
    for chunk in resampler.resample(frame) + resampler.resample(None):
        for packet in stream.encode(chunk):
            container.mux(packet)
    for packet in stream.encode():
        container.mux(packet)


def write_audio(path: Path, fmt: str) -> Path:
    """The shipped speech as ``fmt`` (a key of AUDIO_FORMATS)."""
    import av

    container_format, codec, rate = AUDIO_FORMATS[fmt]
    with av.open(str(path), "w", format=container_format) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.layout = "mono"
        _encode_audio(container, stream, speech_samples(), rate)
    return path


def write_video(path: Path, photos: list[Path], seconds_each: float = 4.0, fps: int = 5, speech: bool = True,
                size: tuple[int, int] = (224, 224)) -> Path:
    """An MPEG-4 video showing each photo for ``seconds_each`` seconds, with the speech as its AAC audio track."""
    import av
    from PIL import Image

    with av.open(str(path), "w", format="mp4") as container:
        video = container.add_stream("mpeg4", rate=fps)
        video.width, video.height = size
        video.pix_fmt = "yuv420p"
        audio = None
        if speech:
            audio = container.add_stream("aac", rate=16000)
            audio.layout = "mono"
        for photo in photos:
            frame = av.VideoFrame.from_image(Image.open(photo).convert("RGB").resize(size))
            for _ in range(int(seconds_each * fps)):
                for packet in video.encode(frame):
                    container.mux(packet)
        for packet in video.encode():
            container.mux(packet)
        if audio is not None:
            _encode_audio(container, audio, speech_samples(), 16000)
    return path


def make_retriever(client, collection_id: str, feature_uri: str, mode: str = "text", top_k: int = 5) -> str:
    """A one-stage feature_search retriever over ``feature_uri`` whose input ``q`` is read as ``mode``."""
    query = "{{INPUT.q}}" if mode == "text" else {"input_mode": mode, "value": "{{INPUT.q}}"}
    resp = client.post("/v1/retrievers", json={
        "retriever_name": f"{feature_uri.rsplit('/', 1)[1]}-{mode}-{collection_id}",
        "collection_identifiers": [collection_id], "input_schema": {"q": {"type": "string"}},
        "stages": [{"stage_name": "s", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": feature_uri, "query": query, "top_k": top_k}], "final_top_k": top_k}}}]})
    assert resp.status_code == 200, resp.text
    return resp.json()["retriever_id"]


def search(client, retriever_id: str, query) -> list[dict]:
    resp = client.post(f"/v1/retrievers/{retriever_id}/execute", json={"inputs": {"q": query}})
    assert resp.status_code == 200, resp.text
    return resp.json()["documents"]


def feature_uris(collection: dict) -> dict[str, str]:
    """feature name → feature_uri of a collection's vector indexes."""
    return {v["feature_uri"].rsplit("/", 1)[1]: v["feature_uri"] for v in collection["vector_indexes"]}
