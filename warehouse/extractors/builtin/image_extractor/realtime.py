"""Query-time inference for image_extractor: a text query embeds into the label space (text → image); an image
query (``content``: bytes, base64 or a data URI) gets both its image features and its labels' embedding."""

import numpy as np

from .imaging import embed_texts, forward, label_text, load_image, preprocess, top_labels


class InferenceService:
    async def run_inference(self, inputs: dict, parameters: dict) -> dict:
        content = inputs.get("content", inputs.get("image"))
        if content is not None:
            image = load_image(content)
            pooled, probs = forward([preprocess(image)])
            top = top_labels(probs[0], int((parameters or {}).get("top_k_labels", 5)))
            vec = pooled[0] / max(np.linalg.norm(pooled[0]), 1e-12)
            return {"image_embedding": vec.tolist(), "label_embedding": embed_texts([label_text(top)])[0].tolist(),
                    "labels": top}
        text = inputs.get("text", "")
        return {"label_embedding": embed_texts([text])[0].tolist()}
