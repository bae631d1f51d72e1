"""A batch step that embeds a text column with a sentence-transformers model (all-MiniLM-L6-v2 by default)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from warehouse.extractors.models import encode_texts, load_sentence_transformer
from warehouse.extractors.steps import BatchProcessor


class TextEmbedder(BatchProcessor):
    """One batched, normalised ``encode`` of ``batch[column]`` (default ``data``) into ``batch[output]``.

    Config: ``output`` (the feature column, required), ``column``, ``embedding_model`` (hub id or local path of a
    384-d model; the packaged all-MiniLM-L6-v2 by default). Empty or missing texts get None: the engine records
    them as skipped, not failed."""

    def setup(self) -> None:
        self.model = load_sentence_transformer(self.config.get("embedding_model", "all-MiniLM-L6-v2"))

    def process(self, batch: pd.DataFrame) -> pd.DataFrame:
        column = self.config.get("column", "data")
        texts = batch[column] if column in batch.columns else pd.Series([None] * len(batch), dtype=object)
        batch[self.config["output"]] = encode_texts(self.model, texts)
        return batch


def embed_texts(texts: list[str]) -> np.ndarray:
    """Normalised all-MiniLM-L6-v2 vectors of ``texts`` in one batched call (queries, labels)."""
    return load_sentence_transformer("all-MiniLM-L6-v2").encode(list(texts), batch_size=64, normalize_embeddings=True,
                                                                show_progress_bar=False)
