"""Stages that call an LLM: ``llm_filter``, ``llm_enrich``, ``summarize``, ``query_expand``.

They talk to the OpenAI-compatible endpoint of the settings (:mod:`warehouse.retrieval.llm`);
without one they fail with a 503 that says what to set. Per-document calls run concurrently;
structured answers are requested with a JSON schema (``response_format``) and parsed strictly.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from warehouse.errors import WarehouseError
from warehouse.retrieval.filters import get_path, set_path
from warehouse.retrieval.llm import ChatClient
from warehouse.retrieval.stages.apply import _cut, _Defaults, compile_template, count_tokens
from warehouse.retrieval.stages.base import Stage, StageContext, register
from warehouse.retrieval.stages.feature_search import FeatureSearchParams, FeatureSearchStage
from warehouse.retrieval.templates import TemplateInputs


class _LLMParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    provider: Literal["openai", "openai_compatible"] | None = Field(default=None, description="Only "
                                                                    "OpenAI-compatible endpoints (the settings' URL).")
    model_name: str | None = Field(default=None, description="Model to ask (default: WAREHOUSE_LLM_MODEL).")
    concurrency: int = Field(default=8, ge=1, le=64, description="Calls in flight at once.")


def _client(ctx: StageContext, stage: Stage) -> ChatClient:
    p = stage.params
    return ChatClient.for_stage(ctx.services.settings, f"{stage.name!r} ({stage.stage_id})", p.model_name,
                                p.provider, concurrency=p.concurrency)


def _content(d: dict[str, Any], field: str, limit: int) -> str:
    value = get_path(d, field)
    return (value if isinstance(value, str) else "" if value is None else str(value))[:limit]


# -- llm_filter ---------------------------------------------------------------------------------------
class LlmFilterParams(_LLMParams):
    criteria: str = Field(min_length=1, description="What a document must satisfy to stay.")
    content_field: str = "text"
    include_reasoning: bool = Field(default=False, description="Add the model's reason as `llm_reasoning`.")
    max_document_chars: int = Field(default=4000, ge=1)


_VERDICT = {"type": "object", "additionalProperties": False, "required": ["keep", "reason"],
            "properties": {"keep": {"type": "boolean"}, "reason": {"type": "string"}}}


@register
class LlmFilterStage(Stage):
    stage_id = "llm_filter"
    category = "filter"
    description = "Keep the documents an LLM judges to meet natural-language criteria."
    icon = "sparkles"
    Params = LlmFilterParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        llm = _client(ctx, self)
        system = ("You decide whether a document meets the given criteria. Answer with JSON "
                  '{"keep": true or false, "reason": "<one sentence>"}.')
        convs = [[{"role": "system", "content": system},
                  {"role": "user", "content": f"Criteria: {p.criteria}\n\nDocument:\n"
                                              f"{_content(d, p.content_field, p.max_document_chars)}"}] for d in docs]
        verdicts = llm.complete_many(convs, schema=_VERDICT, temperature=0)
        out = []
        for d, v in zip(docs, verdicts, strict=True):
            if not isinstance(v, dict) or not isinstance(v.get("keep"), bool):
                raise WarehouseError(502, f"stage {self.name!r} (llm_filter): the model's verdict on document "
                               f"{d.get('document_id')} has no boolean 'keep': {str(v)[:200]}", {"stage_name": self.name})
            if v["keep"]:
                out.append({**d, "llm_reasoning": v.get("reason")} if p.include_reasoning else d)
        self.metadata.update(model=llm.model, judged=len(docs), kept=len(out))
        return out


# -- llm_enrich ---------------------------------------------------------------------------------------
class LlmEnrichParams(_LLMParams):
    prompt: str = Field(min_length=1, description="Instruction; a Jinja2 template over DOC, INPUT and the "
                        "document's fields.")
    output_field: str = "summary"
    schema_: dict[str, Any] | None = Field(default=None, alias="schema", description="JSON schema of a structured "
                                           "answer (the parsed object is stored).")
    content_field: str | None = Field(default="text", description="Document text sent with the prompt (null: "
                                      "only the prompt).")
    max_document_chars: int = Field(default=4000, ge=1)
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.2, ge=0, le=2)
    batch_size: int | None = Field(default=None, ge=1, le=64, description="Alias of concurrency (Mixpeek's name).")
    when: dict[str, Any] | None = Field(default=None, description="Only enrich documents matching this filter.")
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


@register
class LlmEnrichStage(Stage):
    stage_id = "llm_enrich"
    category = "enrich"
    description = "Add an LLM-generated field (text, or an object following a JSON schema) to each document."
    icon = "wand-sparkles"
    Params = LlmEnrichParams
    template_parameters = frozenset({"prompt"})

    def __init__(self, name: str, parameters: dict[str, Any]) -> None:
        super().__init__(name, parameters)
        if self.params.batch_size:
            self.params.concurrency = self.params.batch_size
        self.template = compile_template(name, self.stage_id, self.params.prompt, strict=False)

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        llm = _client(ctx, self)
        chosen = self.selected(docs)
        convs = []
        for i in chosen:
            d = docs[i]
            text = self.template.render({**d, "DOC": d, "INPUT": TemplateInputs(ctx.inputs)})
            if p.content_field:
                text += f"\n\nDocument:\n{_content(d, p.content_field, p.max_document_chars)}"
            convs.append([{"role": "system", "content": "Follow the instruction about the document. Reply with the "
                                                        "result only."}, {"role": "user", "content": text}])
        replies = llm.complete_many(convs, schema=p.schema_, max_tokens=p.max_tokens, temperature=p.temperature)
        out = list(docs)
        for i, reply in zip(chosen, replies, strict=True):
            d = dict(docs[i])
            set_path(d, p.output_field, reply.strip() if isinstance(reply, str) else reply)
            out[i] = d
        self.metadata.update(model=llm.model, enriched=len(chosen), skipped_by_when=len(docs) - len(chosen))
        return out


# -- summarize ----------------------------------------------------------------------------------------
class SummarizeParams(_LLMParams):
    prompt: str = "Summarize these documents in a few sentences. Cite them by their [number]."
    content_field: str = "text"
    document_template: str = "[{index}] {content}"
    group_by: str | None = Field(default=None, description="One summary per value of this field.")
    output_field: str = "summary"
    max_input_tokens: int = Field(default=8000, ge=16, description="Documents past this budget are left out.")
    output_schema: dict[str, Any] | None = None
    max_tokens: int | None = Field(default=None, ge=1)
    temperature: float = Field(default=0.2, ge=0, le=2)


@register
class SummarizeStage(Stage):
    stage_id = "summarize"
    category = "reduce"
    description = "Reduce the documents (or each group) to one LLM-written summary that cites them."
    icon = "scroll-text"
    Params = SummarizeParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        llm = _client(ctx, self)  # a missing endpoint is an error even when there is nothing to summarize
        if not docs:
            return []
        groups: dict[Any, list[dict[str, Any]]] = {}
        for d in docs:
            groups.setdefault(get_path(d, p.group_by) if p.group_by else None, []).append(d)
        convs, used = [], []
        for members in groups.values():
            parts, ids, tokens = [], [], 0
            for d in members:
                content = _content(d, p.content_field, 1_000_000)
                if not content.strip():
                    continue
                values = _Defaults({k: v for k, v in d.items() if isinstance(v, str | int | float)})
                values.update(index=len(ids) + 1, content=content, document_id=d.get("document_id"))
                block = p.document_template.format_map(values)
                cost = count_tokens(block)
                if tokens + cost > p.max_input_tokens:
                    room = p.max_input_tokens - tokens
                    if room < 16:
                        break
                    block, cost = _cut(block, room), room
                parts.append(block)
                ids.append(d.get("document_id"))
                tokens += cost
            convs.append([{"role": "system", "content": p.prompt}, {"role": "user", "content": "\n\n".join(parts)}])
            used.append(ids)
        replies = llm.complete_many(convs, schema=p.output_schema, max_tokens=p.max_tokens, temperature=p.temperature)
        out = []
        for (key, members), ids, reply in zip(groups.items(), used, replies, strict=True):
            row = {"document_id": f"summary:{key}" if p.group_by else "summary",
                   p.output_field: reply.strip() if isinstance(reply, str) else reply,
                   "source_document_ids": ids, "document_count": len(members)}
            if p.group_by:
                row["group_key"] = key
            out.append(row)
        self.metadata.update(model=llm.model, groups=len(out), documents_in=len(docs))
        return out


# -- query_expand -------------------------------------------------------------------------------------
class QueryExpandParams(_LLMParams):
    feature_search_config: dict[str, Any] = Field(description="feature_search parameters; its text queries "
                                                  "are expanded.")
    num_expansions: int = Field(default=3, ge=1, le=10)
    include_original: bool = True
    rrf_k: int = Field(default=60, ge=1)
    fusion_strategy: Literal["rrf", "dbsf"] = "rrf"
    expansion_model: str | None = Field(default=None, description="Alias of model_name.")
    deduplicate: bool = Field(default=True, description="Drop expansions equal to the original or each other.")


def _expansions_schema(n: int) -> dict[str, Any]:
    return {"type": "object", "additionalProperties": False, "required": ["queries"],
            "properties": {"queries": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": n}}}


@register
class QueryExpandStage(Stage):
    stage_id = "query_expand"
    category = "filter"
    description = "Rewrite the query into several variants with an LLM and search them all, fused (rrf/dbsf)."
    icon = "git-fork"
    Params = QueryExpandParams

    def __init__(self, name: str, parameters: dict[str, Any]) -> None:
        super().__init__(name, parameters)
        if self.params.expansion_model and not self.params.model_name:
            self.params.model_name = self.params.expansion_model
        self.search = FeatureSearchStage(f"{name}.feature_search_config", self.params.feature_search_config)

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        base: FeatureSearchParams = self.search.params
        text_searches = [s for s in base.searches if isinstance(s.query, str) and s.query.strip()]
        if not text_searches:
            raise WarehouseError(422, f"stage {self.name!r} (query_expand): feature_search_config has no text query to "
                           "expand (vector and document queries cannot be rewritten)", {"stage_name": self.name})
        original = text_searches[0].query.strip()
        llm = _client(ctx, self)
        reply = llm.complete_many([[
            {"role": "system", "content": f"Write {p.num_expansions} alternative search queries that find documents "
                                          "relevant to the user's query: synonyms, related terms, more specific and "
                                          'more general phrasings. Answer with JSON {"queries": [...]}.'},
            {"role": "user", "content": original}]], schema=_expansions_schema(p.num_expansions), temperature=0.7)[0]
        variants = reply.get("queries") if isinstance(reply, dict) else None
        if not isinstance(variants, list) or not all(isinstance(v, str) for v in variants):
            raise WarehouseError(502, f"stage {self.name!r} (query_expand): the model returned no list of queries: "
                           f"{str(reply)[:200]}", {"stage_name": self.name})
        queries = ([original] if p.include_original else []) + [v.strip() for v in variants[: p.num_expansions]]
        if p.deduplicate:
            seen: set[str] = set()
            queries = [q for q in queries if q and not (q.lower() in seen or seen.add(q.lower()))]
        searches = []
        for s in base.searches:
            if s in text_searches:
                searches += [s.model_copy(update={"query": q}) for q in queries]
            else:
                searches.append(s)
        expanded = FeatureSearchStage(self.name, {
            **base.model_dump(exclude_none=True, exclude={"searches"}),
            "searches": [s.model_dump(exclude_none=True) for s in searches],
            "fusion": p.fusion_strategy, "rrf_k": p.rrf_k})
        out = expanded.run(ctx, docs)
        self.metadata.update(model=llm.model, queries=queries, **expanded.metadata)
        return out
