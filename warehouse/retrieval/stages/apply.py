"""Applying stages: ``unwind`` (one document per array element), ``rag_prepare`` (LLM context) and
``json_transform`` (reshape with a sandboxed Jinja2 template)."""

from __future__ import annotations

import json
import re
from typing import Any, Literal

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from pydantic import BaseModel, ConfigDict, Field

from warehouse.errors import WarehouseError
from warehouse.retrieval.filters import get_path
from warehouse.retrieval.stages.base import Stage, StageContext, register
from warehouse.retrieval.templates import TemplateInputs


class UnwindParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: str = Field(description="Array field to flatten; each element becomes its own document.")
    output_field: str | None = Field(default=None, description="Where the element goes (default: the same field).")
    include_index: bool = Field(default=True, description="Add `unwind_index` (position in the array).")
    preserve_empty: bool = Field(default=False, description="Keep documents whose field is missing or empty.")


@register
class UnwindStage(Stage):
    stage_id = "unwind"
    category = "apply"
    description = "Flatten an array field: one output document per element, in order."
    icon = "list-tree"
    Params = UnwindParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        out = []
        for d in docs:
            values = get_path(d, p.field)
            if not isinstance(values, list) or not values:
                if p.preserve_empty:
                    out.append(d)
                continue
            for i, value in enumerate(values):
                item = {**d, (p.output_field or p.field): value}
                if p.include_index:
                    item["unwind_index"] = i
                if len(values) > 1:
                    item["document_id"] = f"{d.get('document_id')}#{i}"
                out.append(item)
        return out


_TOKEN = re.compile(r"\w+|[^\w\s]")


def count_tokens(text: str) -> int:
    """Words and punctuation marks: close to (slightly under) a BPE count for English prose."""
    return len(_TOKEN.findall(text))


class RagPrepareParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    max_tokens: int = Field(default=8000, ge=1)
    content_field: str = "text"
    document_template: str = Field(default="[{index}] {content}", description="Placeholders: {index}, {content}, "
                                   "{document_id}, {score} and any top-level field name.")
    separator: str = "\n\n"
    truncation_strategy: Literal["drop", "truncate"] = Field(default="truncate", description="The document that "
                                                             "does not fit: cut it to the budget, or leave it out.")
    citation: bool = True
    output_mode: Literal["single", "documents"] = Field(default="single", description="single: one document "
                                                        "with the context and citations; documents: the inputs, each "
                                                        "with its `citation_index`, and the context in the metadata.")
    context_field: str = "context"
    citations_field: str = "citations"


class _Defaults(dict):
    def __missing__(self, key: str) -> str:
        return ""


@register
class RagPrepareStage(Stage):
    stage_id = "rag_prepare"
    category = "apply"
    description = "Build an LLM context from the documents within a token budget, with numbered citations."
    icon = "book-open-text"
    Params = RagPrepareParams

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        parts, citations, used = [], [], 0
        sep_tokens = count_tokens(p.separator)
        for d in docs:
            content = get_path(d, p.content_field)
            if not isinstance(content, str) or not content.strip():
                continue
            index = len(citations) + 1
            values = _Defaults({k: v for k, v in d.items() if isinstance(v, str | int | float)})
            values.update(index=index, content=content, document_id=d.get("document_id"), score=d.get("score"))
            block = p.document_template.format_map(values)
            cost = count_tokens(block) + (sep_tokens if parts else 0)
            if used + cost > p.max_tokens:
                room = p.max_tokens - used - (sep_tokens if parts else 0)
                if p.truncation_strategy == "drop" or room < 8:
                    break
                words = _TOKEN.findall(block)
                block = _cut(block, room)
                cost = min(room, len(words)) + (sep_tokens if parts else 0)
            parts.append(block)
            used += cost
            citations.append({"index": index, "document_id": d.get("document_id"), "score": d.get("score"),
                              "source_object_id": d.get("source_object_id")})
            if used >= p.max_tokens:
                break
        context = p.separator.join(parts)
        self.metadata.update(tokens=used, documents_used=len(citations), documents_in=len(docs))
        if p.output_mode == "documents":
            self.metadata["context"] = context
            cited = {c["document_id"]: c["index"] for c in citations}
            return [{**d, "citation_index": cited.get(d.get("document_id"))} for d in docs]
        out = {"document_id": "rag_context", p.context_field: context, "token_count": used}
        if p.citation:
            out[p.citations_field] = citations
        return [out]


def _cut(text: str, tokens: int) -> str:
    """The longest prefix of ``text`` with at most ``tokens`` tokens."""
    for i, m in enumerate(_TOKEN.finditer(text)):
        if i == tokens:
            return text[: m.start()].rstrip()
    return text


def compile_template(stage_name: str, stage_id: str, source: str, strict: bool = True):
    """A sandboxed Jinja2 template (no attribute tricks, no side effects); syntax errors are a 422."""

    env = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined if strict else jinja2.Undefined,
                                        autoescape=False)
    env.filters["tojson"] = lambda v: json.dumps(v, default=str)
    try:
        return env.from_string(source)
    except jinja2.TemplateSyntaxError as exc:
        raise WarehouseError(422, f"stage {stage_name!r} ({stage_id}): template syntax error on line {exc.lineno}: "
                       f"{exc.message}", {"stage_name": stage_name}) from None


class JsonTransformParams(BaseModel):
    model_config = ConfigDict(extra="forbid")
    template: str = Field(min_length=1, description="Jinja2 template that renders one JSON object per document. "
                          "Names: DOC (the document), INPUT (the execution inputs), and the document's top-level fields.")
    fail_on_error: bool = Field(default=False, description="Fail the execution on a render or JSON error "
                                "(otherwise the document passes through unchanged and the error is counted).")
    output_field: str | None = Field(default=None, description="Write the rendered object under this field "
                                     "instead of replacing the document.")


@register
class JsonTransformStage(Stage):
    stage_id = "json_transform"
    category = "apply"
    description = "Reshape each document with a Jinja2 template that renders JSON (sandboxed)."
    icon = "braces"
    Params = JsonTransformParams
    template_parameters = frozenset({"template"})

    def __init__(self, name: str, parameters: dict[str, Any]) -> None:
        super().__init__(name, parameters)
        self.template = compile_template(name, self.stage_id, self.params.template)

    def run(self, ctx: StageContext, docs: list[dict[str, Any]]) -> list[dict[str, Any]]:
        p = self.params
        out, errors = [], []
        for d in docs:
            try:
                rendered = self.template.render({**d, "DOC": d, "INPUT": TemplateInputs(ctx.inputs)})
                value = json.loads(rendered)
                if not isinstance(value, dict) and p.output_field is None:
                    raise ValueError(f"the template rendered {type(value).__name__}, not a JSON object")
            except Exception as exc:  # noqa: BLE001 - any render or parse error is reported per document
                message = f"document {d.get('document_id')}: {type(exc).__name__}: {exc}"
                if p.fail_on_error:
                    raise WarehouseError(422, f"stage {self.name!r} (json_transform): {message}",
                                   {"stage_name": self.name}) from None
                errors.append(message)
                out.append(d)
                continue
            if p.output_field:
                out.append({**d, p.output_field: value})
            else:  # keep identity and score unless the template sets them
                out.append({"document_id": d.get("document_id"), **({"score": d["score"]} if "score" in d else {}),
                            **value})
        self.metadata.update(transformed=len(docs) - len(errors), errors=errors[:10] or None)
        return out
