"""The built-in video_extractor on videos the test encodes with PyAV from real photos, with and without the
speech as their audio track: scenes every N seconds with frame features, labels, the transcript cut to each scene,
thumbnails and lineage to the video; through the API by text, by transcript and by an image given as the query."""

from __future__ import annotations

import base64

import pytest

from tests.conftest import wait_batch
from tests.extractors.media_files import (
    CAPTIONED,
    SPOKEN_WORDS,
    feature_uris,
    make_retriever,
    search,
    write_video,
)
from warehouse.extractors.media.audio import MediaError, transcribe
from warehouse.extractors.media.video import read_video, sample_frames

PHOTOS = [CAPTIONED / "rocket.jpg", CAPTIONED / "coffee.png", CAPTIONED / "chelsea.png"]


def test_scenes_are_sampled_every_interval_with_the_transcript_that_overlaps_them(tmp_path):
    video = read_video(write_video(tmp_path / "v.mp4", PHOTOS), interval=4.0, transcribe_audio=transcribe)
    assert [s.start for s in video.scenes] == [0.0, 4.0, 8.0] and 11.5 < video.duration < 12.5
    assert video.has_audio and video.width == 224
    assert all(s.frame.startswith(b"\xff\xd8") for s in video.scenes)  # JPEG
    spoken = video.scenes[0].transcript.lower()
    assert sum(w in spoken for w in SPOKEN_WORDS) >= 7  # the speech lasts 7.4 s: scenes 0 and 1 hear it
    assert video.scenes[1].transcript and not video.scenes[2].transcript
    silent = read_video(write_video(tmp_path / "s.mp4", PHOTOS[:1], speech=False), interval=2.0,
                        transcribe_audio=transcribe)
    assert not silent.has_audio and len(silent.scenes) == 2 and not any(s.transcript for s in silent.scenes)


def test_bad_video_is_refused_with_the_reason(tmp_path):
    good = write_video(tmp_path / "v.mp4", PHOTOS[:1], speech=False).read_bytes()
    (tmp_path / "empty.mp4").write_bytes(b"")
    (tmp_path / "cut.mp4").write_bytes(good[: len(good) // 3])
    (tmp_path / "notes.mp4").write_text("not a video at all")
    with pytest.raises(MediaError, match="empty"):
        sample_frames(tmp_path / "empty.mp4")
    for name in ("cut.mp4", "notes.mp4"):
        with pytest.raises(MediaError):
            sample_frames(tmp_path / name)


@pytest.mark.ray
@pytest.mark.slow
def test_videos_through_the_api_scenes_found_by_labels_transcript_and_example(live, tmp_path):
    _, c = live.new_namespace()
    files = {"talk": write_video(tmp_path / "talk.mp4", PHOTOS), "silent": write_video(
        tmp_path / "silent.mp4", list(reversed(PHOTOS)), speech=False)}
    with c:
        bucket = c.post("/v1/buckets", json={"bucket_name": "clips", "bucket_schema": {
            "properties": {"clip": {"type": "video"}}}}).json()["bucket_id"]
        ids = {k: c.post(f"/v1/buckets/{bucket}/objects", json={"blobs": [{
            "property": "clip", "type": "video", "data": base64.b64encode(p.read_bytes()).decode()}]}).json()[
            "object_id"] for k, p in files.items()}
        coll = c.post("/v1/collections", json={
            "collection_name": "clips", "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": "video_extractor", "version": "v1",
                                  "input_mappings": {"video": "clip"}, "parameters": {"interval_s": 4}}}).json()
        done = wait_batch(c, c.post(f"/v1/buckets/{bucket}/batches", json={},
                                    params={"auto_submit": True}).json()["batch_id"])
        assert done["status"] == "COMPLETED", done
        uris = feature_uris(coll)
        docs = c.post(f"/v1/collections/{coll['collection_id']}/documents/list", json={"page_size": 50}).json()[
            "results"]
        assert len(docs) == 6 and all(d["thumbnail"].startswith("data:image/jpeg") for d in docs)
        assert {d["_internal"]["lineage"]["source_object_id"] for d in docs} == set(ids.values())
        cat = search(c, make_retriever(c, coll["collection_id"], uris["label_embedding"]), "a photo of a cat")[0]
        assert cat["source_object_id"] == ids["talk"] and cat["start_time"] == 8.0 and cat["end_time"] > 11.5
        said = search(c, make_retriever(c, coll["collection_id"], uris["transcript_embedding"]),
                      "bring the sales figures")[0]
        assert said["source_object_id"] == ids["talk"] and said["start_time"] in (0.0, 4.0)
        assert said["_internal"]["lineage"]["start_time"] == said["start_time"]
        photo = base64.b64encode((CAPTIONED / "coffee.png").read_bytes()).decode()
        hits = search(c, make_retriever(c, coll["collection_id"], uris["image_embedding"], mode="content"), photo)
        assert {(h["source_object_id"], h["start_time"]) for h in hits[:2]} == {(ids["talk"], 4.0),
                                                                                 (ids["silent"], 4.0)}
