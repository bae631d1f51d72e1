"""Query-time embedding for text_extractor, in the same space as the batch vectors."""

from warehouse.extractors.models import load_sentence_transformer
from warehouse.extractors.sdk import InferenceService as _Base


class InferenceService(_Base):
    def setup(self) -> None:
        self.model = load_sentence_transformer("all-MiniLM-L6-v2")

    async def infer(self, inputs, parameters):
        texts = inputs.get("texts")
        if texts is None:
            texts = [inputs.get("text", "")]
        vectors = self.model.encode(list(texts), batch_size=64, convert_to_numpy=True, normalize_embeddings=True)
        if "texts" in inputs:
            return {"embeddings": vectors.tolist()}
        return {"embedding": vectors[0].tolist(), "all_minilm_l6_v2_v1": vectors[0].tolist()}
