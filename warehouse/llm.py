"""The OpenAI-compatible chat-completions protocol, shared by ``container.llm`` (plugins) and the
LLM retriever stages: the request body, the reply's text, and JSON out of a reply."""

from __future__ import annotations

import json
import re
from typing import Any

NOT_CONFIGURED = ("no LLM endpoint is configured: set WAREHOUSE_LLM_BASE_URL to an OpenAI-compatible endpoint (e.g. "
                  "http://127.0.0.1:11434/v1 for Ollama, http://127.0.0.1:8001/v1 for vLLM), WAREHOUSE_LLM_MODEL and, "
                  "if the endpoint needs one, WAREHOUSE_LLM_API_KEY")


def chat_body(model: str | None, messages: list[dict[str, Any]], schema: dict[str, Any] | None = None,
              max_tokens: int | None = None, temperature: float | None = None) -> dict[str, Any]:
    """A ``/chat/completions`` request; with ``schema`` the answer is asked for as that JSON."""
    body: dict[str, Any] = {"model": model, "messages": messages}
    if schema is not None:
        body["response_format"] = {"type": "json_schema", "json_schema": {"name": "reply", "schema": schema}}
    if max_tokens is not None:
        body["max_tokens"] = max_tokens
    if temperature is not None:
        body["temperature"] = temperature
    return body


def reply_text(payload: Any) -> str:
    """``choices[0].message.content`` of a response body.

    Raises:
        ValueError: the body is not a chat completion.
    """
    try:
        return payload["choices"][0]["message"]["content"] or ""
    except (KeyError, IndexError, TypeError):
        raise ValueError(f"not a chat completion: {str(payload)[:300]}") from None


def parse_json(content: str) -> Any:
    """The JSON in a reply, also when a model wraps it in a code fence or prose.

    Raises:
        ValueError: no JSON value in the reply.
    """
    text = content.strip()
    fenced = re.search(r"```(?:json)?\s*(.*?)```", text, re.DOTALL)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except ValueError:
        start = min((i for i in (text.find("{"), text.find("[")) if i >= 0), default=-1)
        if start >= 0:
            try:
                return json.JSONDecoder().raw_decode(text[start:])[0]
            except ValueError:
                pass
    raise ValueError(f"the LLM's reply is not the JSON asked for: {content[:200]!r}")
