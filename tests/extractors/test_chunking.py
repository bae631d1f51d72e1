"""Chunking by characters, words, sentences and paragraphs, with overlap."""

import pytest

from warehouse.extractors.chunking import split_text


def test_none_keeps_the_whole_text():
    assert [c.text for c in split_text("a b c", "none")] == ["a b c"]


def test_words_with_overlap_and_offsets():
    text = "one two three four five"
    chunks = split_text(text, "words", 2, 1)
    assert [c.text for c in chunks] == ["one two", "two three", "three four", "four five"]
    assert all(text[c.start:c.end] == c.text for c in chunks)


def test_characters():
    assert [c.text for c in split_text("abcdefg", "characters", 3, 1)] == ["abc", "cde", "efg"]


def test_sentences_and_paragraphs():
    assert [c.text for c in split_text("A b. C d! E f?", "sentences", 2)] == ["A b. C d!", "E f?"]
    assert [c.text for c in split_text("p1 line\n\np2\n\n\np3", "paragraphs", 1)] == ["p1 line", "p2", "p3"]


@pytest.mark.parametrize("size,overlap", [(0, 0), (3, 3), (3, -1)])
def test_bad_sizes_are_refused(size, overlap):
    with pytest.raises(ValueError):
        split_text("a b c d", "words", size, overlap)


def test_unknown_split_by():
    with pytest.raises(ValueError, match="split_by"):
        split_text("x", "pages", 1)
