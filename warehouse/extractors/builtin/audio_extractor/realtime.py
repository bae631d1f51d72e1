"""Query-time inference for audio_extractor: a text query — or a recording given by example, transcribed — embeds
with all-MiniLM-L6-v2 into the space of the transcript segments."""

import tempfile

from warehouse.extractors.media.audio import decode_audio, transcribe
from warehouse.extractors.media.text import embed_texts


def _spoken(content: bytes) -> str:
    with tempfile.NamedTemporaryFile() as tmp:
        tmp.write(content)
        tmp.flush()
        samples = decode_audio(tmp.name)
    if samples is None:
        raise ValueError("the query file has no audio stream")
    text = " ".join(s.text for s in transcribe(samples))
    if not text:
        raise ValueError("no speech found in the query recording")
    return text


class InferenceService:
    async def run_inference(self, inputs: dict, parameters: dict) -> dict:
        content = inputs.get("content")
        text = _spoken(content) if content is not None else inputs.get("text", "")
        vector = embed_texts([text])[0]
        return {"transcript_embedding": vector.tolist(), "embedding": vector.tolist()}
