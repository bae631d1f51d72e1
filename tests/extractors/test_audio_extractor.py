"""The built-in audio_extractor: the shipped speech (espeak-ng, tests/data/SOURCE.md) in five formats, decoded with
PyAV and transcribed by whisper tiny.en with the words checked; bad files refused with the reason; then through the
API — timed segments as documents, found by text and by a recording given as the query."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import wait_batch
from tests.extractors.media_files import (
    AUDIO_FORMATS,
    SPOKEN_WORDS,
    feature_uris,
    make_retriever,
    search,
    write_audio,
)
from warehouse.extractors.media.audio import MediaError, decode_audio, transcribe


def _heard(text: str) -> set[str]:
    return {w for w in SPOKEN_WORDS if w in text.lower()}


@pytest.mark.parametrize("fmt", sorted(AUDIO_FORMATS))
def test_each_format_decodes_and_its_speech_is_transcribed(tmp_path, fmt):
    samples = decode_audio(write_audio(tmp_path / f"speech.{fmt}", fmt))
    assert 7.0 < len(samples) / 16_000 < 7.8
    segments = transcribe(samples)
    assert segments and segments[0].start < 0.5 and 6.5 < segments[-1].end < 8.0
    assert len(_heard(" ".join(s.text for s in segments))) >= 7, segments


def test_bad_audio_is_refused_with_the_reason(tmp_path):
    (tmp_path / "empty.wav").write_bytes(b"")
    (tmp_path / "photo.mp3").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    good = write_audio(tmp_path / "speech.mp3", "mp3").read_bytes()
    (tmp_path / "cut.mp3").write_bytes(good[:40])
    with pytest.raises(MediaError, match="empty"):
        decode_audio(tmp_path / "empty.wav")
    with pytest.raises(MediaError, match="no audio stream .*png"):
        decode_audio(tmp_path / "photo.mp3")
    with pytest.raises(MediaError):
        decode_audio(tmp_path / "cut.mp3")
    assert transcribe(decode_audio(write_audio(tmp_path / "speech.wav", "wav"))[:800]) == []  # 50 ms: no speech


@pytest.mark.ray
@pytest.mark.slow
def test_recordings_through_the_api_segments_searchable_by_text_and_by_example(live, tmp_path):
    import numpy as np

    _, c = live.new_namespace()
    silence = tmp_path / "silence.wav"
    import wave

    with wave.open(str(silence), "wb") as w:
        w.setnchannels(1), w.setsampwidth(2), w.setframerate(16000)
        w.writeframes((np.zeros(16000 * 2)).astype(np.int16).tobytes())
    files = {"mp3": write_audio(tmp_path / "a.mp3", "mp3"), "m4a": write_audio(tmp_path / "a.m4a", "m4a"),
             "silence": silence}
    with c:
        bucket = c.post("/v1/buckets", json={"bucket_name": "calls", "bucket_schema": {
            "properties": {"recording": {"type": "audio"}}}}).json()["bucket_id"]
        ids = {k: c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [{
            "property": "recording", "type": "audio", "data": base64.b64encode(p.read_bytes()).decode()}]}).json()[
            "object_id"] for k, p in files.items()}
        coll = c.post("/v1/collections", json={
            "collection_name": "calls", "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": "audio_extractor", "version": "v1",
                                  "input_mappings": {"audio": "recording"}}}).json()
        batch = c.post(f"/v1/buckets/{bucket}/batches", json={}, params={"auto_submit": True}).json()
        done = wait_batch(c, batch["batch_id"])
        assert done["status"] == "COMPLETED_WITH_ERRORS", done
        [failure] = done["failed_objects"]
        assert failure["object_id"] == ids["silence"] and "no speech found in 2.0 s of audio" in failure["error"]
        uri = feature_uris(coll)["transcript_embedding"]
        hits = search(c, make_retriever(c, coll["collection_id"], uri), "when is the budget meeting")
        assert {h["source_object_id"] for h in hits[:2]} == {ids["mp3"], ids["m4a"]}
        top = hits[0]
        assert len(_heard(top["text"])) >= 7 and top["start_time"] < 0.5 and 6.5 < top["end_time"] < 8.0
        lineage = top["_internal"]["lineage"]
        assert lineage["start_time"] == top["start_time"] and lineage["end_time"] == top["end_time"]
        by_example = make_retriever(c, coll["collection_id"], uri, mode="content")
        spoken = base64.b64encode(write_audio(tmp_path / "q.flac", "flac").read_bytes()).decode()
        assert search(c, by_example, spoken)[0]["source_object_id"] in {ids["mp3"], ids["m4a"]}
