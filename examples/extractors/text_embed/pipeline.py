"""Batch pipeline of text_embed: embeds every non-empty ``data`` value."""

import pandas as pd

from .embedding import embed_texts

OUTPUT = "text_embed_v1_embedding"


class TextEmbedProcessor:
    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        texts = batch["data"].fillna("").astype(str)
        present = (texts.str.strip() != "").to_numpy()
        vectors = [None] * len(batch)
        if present.any():
            for pos, vec in zip(present.nonzero()[0], embed_texts(texts[present].tolist()), strict=True):
                vectors[pos] = vec
        batch[OUTPUT] = vectors
        return batch


def build_steps(extractor_request=None, container=None, base_steps=None, dataset_size=None, content_flags=None):
    steps = list(base_steps or [])
    steps.append(TextEmbedProcessor())
    return {"steps": steps, "prepare": lambda ds: ds}
