"""Query-time inference for image_extractor: a text query embeds into the label space (text → image); an image
query (``content``: bytes, base64 or a data URI) gets both its image features and its labels' embedding."""

from warehouse.extractors.media.imaging import embed_texts, image_query


class InferenceService:
    async def run_inference(self, inputs: dict, parameters: dict) -> dict:
        content = inputs.get("content", inputs.get("image"))
        if content is not None:
            return image_query(content, int((parameters or {}).get("top_k_labels", 5)))
        return {"label_embedding": embed_texts([inputs.get("text", "")])[0].tolist()}
