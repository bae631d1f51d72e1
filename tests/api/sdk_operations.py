"""The official SDK's core operations, read from the installed ``mixpeek`` package's generated API classes, and
a way to call each one through the generated client with the ids of a seeded namespace."""

from __future__ import annotations

import importlib
import inspect
import json
import re
from dataclasses import dataclass, field
from typing import Any

#: the SDK's core groups (the issue's list) → its API modules
CORE_GROUPS: dict[str, list[str]] = {
    "namespaces": ["namespaces"], "buckets": ["buckets"], "objects": ["bucket_objects"], "uploads": ["bucket_uploads"],
    "batches": ["bucket_batches", "batches"], "tasks": ["tasks"], "collections": ["collections"],
    "documents": ["collection_documents", "documents"], "lineage": ["document_lineage"], "retrievers": ["retrievers"],
    "taxonomies": ["taxonomies"], "clusters": ["clusters", "cluster_executions"], "alerts": ["alerts"],
    "webhooks": ["webhooks"], "health": ["health"], "extractors": ["extractors", "feature_extractors"],
}


@dataclass
class Operation:
    group: str
    module: str
    name: str
    method: str
    path: str
    api: Any = field(repr=False)

    @property
    def key(self) -> str:
        return f"{self.method} {self.path}"


def operations() -> list[Operation]:
    """Every core operation of the installed SDK: its group, generated method, HTTP method and path."""
    out = []
    for group, modules in CORE_GROUPS.items():
        for module in modules:
            mod = importlib.import_module(f"mixpeek.api.{module}_api")
            cls = next(c for n, c in vars(mod).items() if n.endswith("Api") and inspect.isclass(c)
                       and c.__module__ == mod.__name__)
            source = inspect.getsource(mod)
            for name, _ in inspect.getmembers(cls, inspect.isfunction):
                serializer = f"_{name}_serialize"
                if name.startswith("_") or not hasattr(cls, serializer):
                    continue
                body = inspect.getsource(getattr(cls, serializer))
                method = re.search(r"method='(\w+)'", body).group(1)
                path = re.search(r"resource_path='([^']+)'", body).group(1)
                out.append(Operation(group, module, name, method, path, cls))
    assert source  # the modules were read
    return out


def call(op: Operation, client, ids: dict[str, str]) -> tuple[int, Any]:
    """Call ``op`` through the generated client — its own request serializer (path, query, auth and namespace
    headers) and transport — with the seeded ids for path parameters and ``{}`` for a required body (the server
    answers it, typically with a 422 naming the first missing field); its HTTP status and decoded body."""
    api = op.api(client)
    public = inspect.signature(getattr(op.api, op.name)).parameters
    serializer = getattr(api, f"_{op.name}_serialize")
    kwargs: dict[str, Any] = {"_request_auth": None, "_content_type": None, "_headers": None, "_host_index": 0}
    body_needed = False
    for name in inspect.signature(serializer).parameters:
        if name in kwargs:
            continue
        param = public.get(name)
        required = param is not None and param.default is inspect.Parameter.empty
        if name in ids:
            kwargs[name] = ids[name]
        elif required and _is_body(param.annotation, op.api.__module__):
            kwargs[name], body_needed = None, True
        elif required:
            kwargs[name] = "x"
        else:
            kwargs[name] = None
    method, url, headers, body, post_params = serializer(**kwargs)
    if body_needed:
        headers = {**headers, "Content-Type": "application/json"}
        body = {}
    resp = client.call_api(method, url, header_params=headers, body=body, post_params=post_params)
    resp.read()
    try:
        decoded = json.loads(resp.data) if resp.data else None
    except ValueError:
        decoded = resp.data[:200]
    return resp.status, decoded


def _is_body(annotation: Any, module: str) -> bool:
    """A parameter the serializer sends as the JSON body: a model, a dict or a list."""
    if isinstance(annotation, str):
        annotation = eval(annotation, vars(importlib.import_module(module)))  # noqa: S307 — the SDK's annotations
    while getattr(annotation, "__metadata__", None) is not None:
        annotation = annotation.__origin__  # Annotated[X, ...] → X
    args = getattr(annotation, "__args__", ())
    if args and type(None) in args:
        annotation = next(a for a in args if a is not type(None))
    return (inspect.isclass(annotation) and hasattr(annotation, "model_fields")) or \
        getattr(annotation, "__origin__", None) in (dict, list)
