from shared.plugins.inference.serve import BaseInferenceService

from .textops import clean, embed


class InferenceService(BaseInferenceService):
    async def run_inference(self, inputs, parameters):
        vec = embed(clean([inputs.get("text", "")]))[0]
        if vec is None:
            raise ValueError("the query has no words to embed")
        return {"embedding": vec.tolist()}
