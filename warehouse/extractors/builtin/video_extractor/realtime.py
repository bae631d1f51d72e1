"""Query-time inference for video_extractor: a text query embeds with MiniLM for both the frame labels and the
transcripts (text → scene); an image given by example gets frame features and labels (image → scene)."""

from warehouse.extractors.media.imaging import image_query
from warehouse.extractors.media.text import embed_texts


class InferenceService:
    async def run_inference(self, inputs: dict, parameters: dict) -> dict:
        content = inputs.get("content")
        if content is not None:
            return image_query(content, int((parameters or {}).get("top_k_labels", 5)))
        vector = embed_texts([inputs.get("text", "")])[0].tolist()
        return {"label_embedding": vector, "transcript_embedding": vector}
