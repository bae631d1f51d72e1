"""Content sniffing: a blob's declared type is checked against its first bytes."""

from __future__ import annotations

import pytest

from tests.extractors.media_files import PDFS, write_audio, write_video
from warehouse.catalog.media import check_content


def test_real_files_pass_as_their_type_and_other_kinds_are_named(tmp_path):
    pdf = (PDFS / "minimal-document.pdf").read_bytes()[:4096]
    assert check_content("pdf", pdf, "blobs[0]") == "application/pdf"
    m4a = write_audio(tmp_path / "a.m4a", "m4a").read_bytes()[:4096]  # an ISO-brand MP4 holding sound alone
    assert check_content("audio", m4a, "blobs[0]") == "audio/mp4"
    mp4 = write_video(tmp_path / "v.mp4", [PDFS.parent / "images" / "skimage_clip_captions" / "coffee.png"],
                      seconds_each=1, speech=False).read_bytes()[:4096]
    assert check_content("video", mp4, "blobs[0]") == "video/mp4"
    with pytest.raises(ValueError, match=r"is application/pdf \(pdf\) but the blob type is 'image'"):
        check_content("image", pdf, "blobs[0]")
    with pytest.raises(ValueError, match="empty"):
        check_content("audio", b"", "blobs[0]")
    with pytest.raises(ValueError, match="not a recognised pdf file"):
        check_content("pdf", b"<html></html>", "blobs[0]")
