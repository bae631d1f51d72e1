"""Splitting text into chunks by characters, words, sentences or paragraphs."""

from __future__ import annotations

import re
from dataclasses import dataclass

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")
_PARAGRAPH = re.compile(r"\n\s*\n")
_WORD = re.compile(r"\S+")


@dataclass(frozen=True)
class Chunk:
    text: str
    start: int  # character offsets into the original text
    end: int


def _units(text: str, split_by: str) -> list[tuple[int, int]]:
    """Character spans of the units the text is measured in."""
    if split_by == "characters":
        return [(i, i + 1) for i in range(len(text))]
    if split_by == "words":
        return [m.span() for m in _WORD.finditer(text)]
    pattern = _SENTENCE_END if split_by == "sentences" else _PARAGRAPH
    spans, pos = [], 0
    for m in pattern.finditer(text):
        if text[pos : m.start()].strip():
            spans.append((pos, m.start()))
        pos = m.end()
    if text[pos:].strip():
        spans.append((pos, len(text)))
    return spans


def split_text(text: str, split_by: str = "none", chunk_size: int = 1000, chunk_overlap: int = 0) -> list[Chunk]:
    """Chunks of ``chunk_size`` units, consecutive chunks sharing ``chunk_overlap`` units.

    Example:
        >>> [c.text for c in split_text("a b c d e", "words", 2, 1)]
        ['a b', 'b c', 'c d', 'd e']
    """
    if split_by in (None, "", "none") or not text:
        return [Chunk(text, 0, len(text))]
    if split_by not in {"characters", "words", "sentences", "paragraphs"}:
        raise ValueError(f"split_by must be none, characters, words, sentences or paragraphs, not {split_by!r}")
    if chunk_size <= 0:
        raise ValueError("chunk_size must be positive")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"chunk_overlap ({chunk_overlap}) must be >= 0 and smaller than chunk_size ({chunk_size})")
    if split_by == "characters":
        step = chunk_size - chunk_overlap
        return [
            Chunk(text[i : i + chunk_size], i, min(i + chunk_size, len(text)))
            for i in range(0, max(len(text) - chunk_overlap, 1), step)
        ]
    units = _units(text, split_by)
    if not units:
        return [Chunk(text, 0, len(text))]
    chunks, step = [], chunk_size - chunk_overlap
    for i in range(0, len(units), step):
        group = units[i : i + chunk_size]
        start, end = group[0][0], group[-1][1]
        chunks.append(Chunk(text[start:end], start, end))
        if i + chunk_size >= len(units):
            break
    return chunks
