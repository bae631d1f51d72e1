"""MiniLM (built-in batch service) then concurrent LLM calls, one per text, max 8 in flight."""

from shared.inference.registry import get_batch_service
from shared.plugins.sdk import (
    PipelineDefinition,
    ResourceType,
    RowCondition,
    StepDefinition,
    build_pipeline_steps,
    concurrent_api_calls,
)

LABELS = ["science", "business", "sports", "technology", "other"]
INSTRUCTION = "Classify the text into exactly one topic of: " + ", ".join(LABELS) + ". Reply with the topic only."


class LLMTopic:
    def __init__(self, config):
        self.llm = config["llm_service"]

    def __call__(self, batch):
        texts = batch["data"].fillna("").astype(str).tolist()

        async def ask(text):
            if not text.strip():
                return None
            reply = (await self.llm.generate(INSTRUCTION, text)).strip().lower()
            return reply if reply in LABELS else "other"

        batch["llm_topic"] = concurrent_api_calls(texts, ask, max_concurrent=8)
        return batch


def build_steps(extractor_request=None, container=None, **kwargs):
    pipeline = PipelineDefinition(name="llm_tagger", version="1.0.0", steps=[
        StepDefinition(service_class=get_batch_service("all-MiniLM-L6-v2"), resource_type=ResourceType.CPU,
                       config={"output_column": "minilm_embedding"}, condition=RowCondition.IS_TEXT),
        StepDefinition(service_class=LLMTopic, resource_type=ResourceType.API,
                       config={"llm_service": container.llm}, condition=RowCondition.IS_TEXT),
    ])
    return {"steps": build_pipeline_steps(pipeline)}
