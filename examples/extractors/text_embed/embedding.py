"""The hash embedding shared by the batch pipeline and the realtime service."""

import hashlib

import numpy as np

DIM = 128


def embed_texts(texts: list[str], dim: int = DIM) -> np.ndarray:
    """Unit vectors seeded by each text's SHA-256: equal texts give equal vectors."""
    out = np.empty((len(texts), dim), dtype=np.float32)
    for i, text in enumerate(texts):  # hashing is per text by nature; there is no batch form
        seed = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "big")
        vec = np.random.default_rng(seed).standard_normal(dim).astype(np.float32)
        out[i] = vec / np.linalg.norm(vec)
    return out
