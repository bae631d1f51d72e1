"""Query-time embedding for text_embed: the same hash, so queries land in the indexed space."""

from .embedding import embed_texts


class InferenceService:
    async def run_inference(self, inputs: dict, parameters: dict) -> dict:
        return {"embedding": embed_texts([inputs.get("text", "")])[0].tolist()}
