"""Query-time inference for document_extractor: a text query, or a PDF given by example (the text of its first
pages), embeds with all-MiniLM-L6-v2 into the space of the chunks."""

from warehouse.extractors.media.pdf import pdf_bytes_text
from warehouse.extractors.media.text import embed_texts


class InferenceService:
    async def run_inference(self, inputs: dict, parameters: dict) -> dict:
        content = inputs.get("content")
        text = pdf_bytes_text(content) if content is not None else inputs.get("text", "")
        vector = embed_texts([text])[0]
        return {"text_embedding": vector.tolist(), "embedding": vector.tolist()}
