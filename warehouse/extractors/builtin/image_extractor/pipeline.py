"""image_extractor batch step: decode in threads, one EfficientNet pass and one MiniLM pass per batch.

An image that cannot be decoded fails its own row with the reason; the others go on."""

import numpy as np

from warehouse.extractors.sdk import BatchProcessor, parallel_io

from .imaging import (
    describe,
    embed_texts,
    forward,
    label_text,
    load_image,
    preprocess,
    thumbnail,
    top_labels,
)


def _decode(value):
    try:
        image = load_image(value)
        return image, preprocess(image), None
    except ValueError as exc:
        return None, None, str(exc)
    except Exception as exc:  # noqa: BLE001 - a URL that cannot be read fails its row, with the reason
        return None, None, f"the image could not be read ({type(exc).__name__}: {exc})"


class ImageFeatures(BatchProcessor):
    def process(self, batch):
        top_k = int(self.config.get("top_k_labels", 5))
        thumb = int(self.config.get("thumbnail_size", 128))
        decoded = parallel_io(batch["data"].tolist(), _decode, max_workers=8)
        errors = list(batch["_error"]) if "_error" in batch.columns else [None] * len(batch)
        image_vecs, label_vecs = [None] * len(batch), [None] * len(batch)
        labels, meta, thumbs = [None] * len(batch), [None] * len(batch), [None] * len(batch)
        keep = []
        for i, (image, array, error) in enumerate(decoded):
            if error is not None:
                errors[i] = error
            elif array is not None:
                keep.append(i)
                meta[i], thumbs[i] = describe(image), thumbnail(image, thumb)
        if keep:
            pooled, probs = forward([decoded[i][1] for i in keep])
            tops = [top_labels(p, top_k) for p in probs]
            texts = embed_texts([label_text(t) for t in tops])
            for row, vec, top, text_vec in zip(keep, pooled, tops, texts, strict=True):
                image_vecs[row] = (vec / max(np.linalg.norm(vec), 1e-12)).astype(np.float32)
                label_vecs[row], labels[row] = text_vec.astype(np.float32), top
        batch["image_embedding"], batch["label_embedding"] = image_vecs, label_vecs
        batch["labels"] = labels
        batch["image"] = meta
        batch["thumbnail"] = thumbs
        batch["_error"] = errors
        return batch


def build_steps(extractor_request=None, container=None, **kwargs):
    params = dict(getattr(extractor_request, "parameters", None) or {})
    return {"steps": [ImageFeatures(config=params)], "prepare": None}
