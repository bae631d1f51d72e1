"""Query embedding with the same model and normalisation as the batch step."""

from shared.extractors.inference.serve import InferenceService as _Base
from shared.extractors.sdk import prefetch_hf_model


class InferenceService(_Base):
    def setup(self):
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(prefetch_hf_model("sentence-transformers/all-MiniLM-L6-v2"), device="cpu")

    def infer(self, inputs, parameters):
        vec = self.model.encode([inputs["text"]], normalize_embeddings=parameters.get("normalize", True))[0]
        return {"embedding": vec.tolist()}
