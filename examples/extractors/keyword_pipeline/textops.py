"""Vectorised text operations shared by the batch steps and the realtime service."""

import hashlib
import re

import numpy as np

DIM = 256
STOP = set("a an and are as at be by for from has have in is it its of on or that the this to was were will with".split())
_WORD = re.compile(r"[a-z0-9]+")


def clean(texts):
    return [re.sub(r"\s+", " ", t).strip().lower() if isinstance(t, str) else "" for t in texts]


def tokens(text):
    """Content words; a text of only stop words keeps them, and one without words is one token."""
    words = _WORD.findall(text)
    content = [w for w in words if w not in STOP]
    return content or words or ([text] if text.strip() else [])


def keywords(texts, k):
    out = []
    for words in map(tokens, texts):
        counts = {}
        for w in words:
            counts[w] = counts.get(w, 0) + 1
        out.append([w for w, _ in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:k]])
    return out


def _bucket(word):
    digest = hashlib.blake2b(word.encode(), digest_size=8).digest()
    return int.from_bytes(digest[:4], "little") % DIM, 1.0 if digest[4] & 1 else -1.0


def embed(texts):
    """One (n, DIM) matrix for all texts; rows of empty texts are None."""
    matrix = np.zeros((len(texts), DIM), dtype=np.float32)
    for row, text in enumerate(texts):
        for word in tokens(text):
            idx, sign = _bucket(word)
            matrix[row, idx] += sign
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    matrix = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return [vec if norm > 0 else None for vec, norm in zip(matrix, norms[:, 0], strict=True)]
