"""What a file is, from its first bytes: a blob's declared ``type`` is checked against its content, so an mp3
named ``.png`` fails at upload with the reason instead of deep inside an image model."""

from __future__ import annotations

#: how much of a file's start the checks read
SNIFF_BYTES = 4096

#: (offset, magic bytes, blob type, MIME type), most specific first
_SIGNATURES: list[tuple[int, bytes, str, str]] = [
    (0, b"\xff\xd8\xff", "image", "image/jpeg"),
    (0, b"\x89PNG\r\n\x1a\n", "image", "image/png"),
    (0, b"GIF87a", "image", "image/gif"),
    (0, b"GIF89a", "image", "image/gif"),
    (0, b"BM", "image", "image/bmp"),
    (0, b"II*\x00", "image", "image/tiff"),
    (0, b"MM\x00*", "image", "image/tiff"),
    (0, b"%PDF-", "pdf", "application/pdf"),
    (0, b"ID3", "audio", "audio/mpeg"),
    (0, b"OggS", "audio", "audio/ogg"),
    (0, b"fLaC", "audio", "audio/flac"),
    (0, b"\x1aE\xdf\xa3", "video", "video/webm"),
    (0, b"PK\x03\x04", "excel", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
    (0, b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "excel", "application/vnd.ms-excel"),
]
#: video containers that as often hold sound alone, and the MIME type of their audio-only form
AUDIO_CONTAINERS = {"video/mp4": "audio/mp4", "video/webm": "audio/webm"}
_FTYP_AUDIO = {b"M4A ", b"M4B ", b"M4P ", b"F4A ", b"F4B "}
_MP3_FRAME = {b"\xff\xfb", b"\xff\xf3", b"\xff\xf2", b"\xff\xfa"}


def sniff(head: bytes) -> tuple[str, str] | None:
    """``(blob type, MIME type)`` of a file from its first bytes (4 KiB is plenty), or None when unknown."""
    if head[:4] == b"RIFF" and len(head) >= 12:
        kind = head[8:12]
        return {b"WEBP": ("image", "image/webp"), b"WAVE": ("audio", "audio/wav"),
                b"AVI ": ("video", "video/x-msvideo")}.get(kind)
    if head[4:8] == b"ftyp":
        brand = head[8:12]
        if brand in _FTYP_AUDIO:
            return "audio", "audio/mp4"
        if brand in (b"heic", b"heix", b"mif1", b"avif"):
            return "image", "image/heic" if brand != b"avif" else "image/avif"
        return "video", "video/quicktime" if brand == b"qt  " else "video/mp4"
    for offset, magic, kind, mime in _SIGNATURES:
        if head[offset:offset + len(magic)] == magic:
            return kind, mime
    if head[:2] in _MP3_FRAME:
        return "audio", "audio/mpeg"
    return None


def check_content(blob_type: str, head: bytes, where: str) -> str | None:
    """The sniffed MIME type when ``head`` fits ``blob_type``; raises ValueError naming what the file is when it
    does not (an empty file, or another kind). Text blobs and content that cannot be recognised pass as None."""
    if not head:
        raise ValueError(f"{where}: the file is empty (0 bytes)")
    if blob_type in ("text", "string", "json"):
        return None
    found = sniff(head)
    if found is None:
        if blob_type in ("image", "audio", "video", "pdf"):
            raise ValueError(f"{where}: the content is not a recognised {blob_type} file (first bytes "
                             f"{head[:8].hex(' ')}); upload the file itself, or declare its real type")
        return None
    kind, mime = found
    if blob_type == "audio" and mime in AUDIO_CONTAINERS:  # an .m4a is often an ISO-brand MP4; a .weba is WebM
        return AUDIO_CONTAINERS[mime]
    if kind != blob_type:
        raise ValueError(f"{where}: the file is {mime} ({kind}) but the blob type is {blob_type!r}; declare "
                         f"type {kind!r} or upload a {blob_type} file")
    return mime
