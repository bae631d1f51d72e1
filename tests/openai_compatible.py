"""A loopback HTTP server speaking the OpenAI chat-completions protocol, with a rule-based "model".

No LLM weights are reachable from these machines, so the LLM stages are tested against this
server: the wire format (URL, bearer key, model, messages, ``response_format`` JSON schema, the
``choices[0].message.content`` reply) is the real one; the answers follow fixed rules so tests can
assert them:

- a ``keep``/``reason`` schema (llm_filter): keep when the document contains the word quoted in the
  criteria;
- a ``queries`` schema (query_expand): the configured expansions;
- otherwise (llm_enrich, summarize): ``"<n> words; cites [1] [2]"`` about the user message, or
  ``{"topic": <first capitalised word>}`` when a schema asks for ``topic``.
"""

from __future__ import annotations

import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeLLM:
    """``answer(body) -> str`` replaces the rules above when a test needs its own."""

    def __init__(self, expansions: list[str] | None = None, api_key: str = "sk-llm-test", answer=None) -> None:
        self.expansions = expansions or []
        if answer is not None:
            self.answer = answer
        self.api_key = api_key
        self.requests: list[dict] = []
        self.fail_with: int | None = None
        owner = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_POST(self):  # noqa: N802 - http.server's naming
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                owner.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                if self.path != "/v1/chat/completions":
                    return self._send(404, {"error": {"message": f"no route {self.path}"}})
                if self.headers.get("Authorization") != f"Bearer {owner.api_key}":
                    return self._send(401, {"error": {"message": "bad api key"}})
                if owner.fail_with:
                    return self._send(owner.fail_with, {"error": {"message": "model overloaded"}})
                content = owner.answer(body)
                self._send(200, {"id": "chatcmpl-1", "object": "chat.completion", "model": body["model"],
                                 "choices": [{"index": 0, "finish_reason": "stop",
                                              "message": {"role": "assistant", "content": content}}]})

            def _send(self, status, payload):
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base_url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def answer(self, body: dict) -> str:
        user = next(m["content"] for m in reversed(body["messages"]) if m["role"] == "user")
        schema = ((body.get("response_format") or {}).get("json_schema") or {}).get("schema") or {}
        props = schema.get("properties", {})
        if "keep" in props:
            word = re.search(r'"([^"]+)"', user.split("\n")[0]).group(1)
            document = user.split("Document:\n", 1)[1]
            keep = word.lower() in document.lower()
            return json.dumps({"keep": keep, "reason": f"{'mentions' if keep else 'does not mention'} {word}"})
        if "queries" in props:
            return "```json\n" + json.dumps({"queries": self.expansions}) + "\n```"  # fenced, as models do
        if "topic" in props:
            document = user.split("Document:\n", 1)[-1]
            return json.dumps({"topic": re.search(r"[A-Z][a-z]+", document).group(0)})
        cites = " ".join(dict.fromkeys(re.findall(r"\[\d+\]", user)))
        return f"{len(user.split())} words; cites {cites}".strip()

    def __enter__(self) -> FakeLLM:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
