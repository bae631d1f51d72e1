"""The LLM the retriever stages talk to: any OpenAI-compatible ``/chat/completions`` endpoint.

Configured once in the settings (``WAREHOUSE_LLM_BASE_URL``, ``WAREHOUSE_LLM_MODEL``,
``WAREHOUSE_LLM_API_KEY``) — vLLM, Ollama, llama.cpp's server, LiteLLM or OpenAI itself. Calls for
many documents go out concurrently over one connection pool.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from warehouse.errors import WarehouseError
from warehouse.llm import NOT_CONFIGURED, chat_body, parse_json, reply_text


class ChatClient:
    """Chat completions against the configured endpoint.

    Example:
        >>> llm = ChatClient.for_stage(settings, "llm_filter", model_name=None)   # doctest: +SKIP
        >>> llm.complete_many([[{"role": "user", "content": "hi"}]])              # doctest: +SKIP
    """

    def __init__(self, base_url: str, model: str | None, api_key: str | None = None, timeout: float = 120,
                 concurrency: int = 8) -> None:
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key = api_key
        self.timeout = timeout
        self.concurrency = concurrency

    @classmethod
    def for_stage(cls, settings, stage: str, model_name: str | None = None, provider: str | None = None,
                  concurrency: int = 8) -> ChatClient:
        if provider not in (None, "openai", "openai_compatible"):
            raise WarehouseError(422, f"stage {stage}: provider {provider!r} is not built in; this warehouse talks to "
                           "OpenAI-compatible endpoints — point WAREHOUSE_LLM_BASE_URL at the provider's "
                           "OpenAI-compatible URL and drop `provider`", {"stage": stage})
        if not settings.llm_base_url:
            raise WarehouseError(503, f"stage {stage}: {NOT_CONFIGURED}", {"stage": stage})
        model = model_name or settings.llm_model
        if not model:
            raise WarehouseError(422, f"stage {stage}: no model to call: set WAREHOUSE_LLM_MODEL or the stage's "
                           "model_name", {"stage": stage})
        return cls(settings.llm_base_url, model, settings.llm_api_key, concurrency=concurrency)

    def complete_many(self, conversations: list[list[dict[str, Any]]], schema: dict[str, Any] | None = None,
                      max_tokens: int | None = None, temperature: float | None = None) -> list[str | Any]:
        """One reply per conversation, in order; with ``schema`` each reply is parsed JSON."""
        if not conversations:
            return []
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else {}
        url = f"{self.base_url}/chat/completions"
        with httpx.Client(timeout=self.timeout, headers=headers) as client:
            def call(messages):
                try:
                    resp = client.post(url, json=chat_body(self.model, messages, schema, max_tokens, temperature))
                except httpx.HTTPError as exc:
                    raise WarehouseError(502, f"LLM endpoint {self.base_url} could not be reached: {exc}") from None
                if resp.status_code >= 400:
                    raise WarehouseError(502, f"LLM endpoint {self.base_url} answered {resp.status_code}: "
                                   f"{resp.text[:300]}")
                try:
                    content = reply_text(resp.json())
                    return parse_json(content) if schema is not None else content
                except ValueError as exc:
                    raise WarehouseError(502, f"LLM endpoint {self.base_url}: {exc}") from None

            if len(conversations) == 1:
                return [call(conversations[0])]
            with ThreadPoolExecutor(max_workers=min(self.concurrency, len(conversations))) as pool:
                return list(pool.map(call, conversations))

