"""IndexStore for processes that do not own the Edge shards (single-owner rule).

Dagster run workers and Ray workers read and write the index through the owner's authenticated
internal bulk endpoint (``/internal/index/{operation}``, see ``retrieval/routes/internal.py``).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

import httpx

from warehouse.index.base import (
    Filter,
    Hit,
    IndexError_,
    IndexPoint,
    IndexStore,
    Query,
    VectorSpec,
    query_to_json,
)


class RemoteIndexStore(IndexStore):
    """Forwards every operation to the index owner over HTTP.

    Example:
        >>> store = RemoteIndexStore("http://127.0.0.1:8000", token)  # doctest: +SKIP
        >>> store.count("ns_123")                                      # doctest: +SKIP
    """

    def __init__(self, base_url: str, token: str, timeout: float = 120.0, client=None) -> None:
        self._client = client or httpx.Client(base_url=base_url, timeout=timeout)
        self._headers = {"X-Internal-Token": token}

    def _call(self, op: str, body: dict[str, Any]) -> Any:
        resp = self._client.post(f"/internal/index/{op}", json=body, headers=self._headers)
        if resp.status_code != 200:
            try:
                message = resp.json()["error"]["message"]
            except Exception:  # noqa: BLE001 - the raw body is the best we have
                message = resp.text
            raise IndexError_(f"index owner refused {op}: {resp.status_code} {message}")
        return resp.json()["result"]

    def ensure_vectors(self, namespace_id: str, vectors: list[VectorSpec]) -> None:
        self._call("ensure_vectors", {"namespace_id": namespace_id, "vectors": [asdict(v) for v in vectors]})

    def ensure_payload_indexes(self, namespace_id: str, indexes: dict[str, str]) -> None:
        self._call("ensure_payload_indexes", {"namespace_id": namespace_id, "indexes": indexes})

    def drop_namespace(self, namespace_id: str) -> None:
        self._call("drop_namespace", {"namespace_id": namespace_id})

    def upsert(self, namespace_id: str, points: list[IndexPoint]) -> None:
        if points:
            self._call("upsert", {"namespace_id": namespace_id, "points": [asdict(p) for p in points]})

    def delete(self, namespace_id: str, filter: Filter) -> None:
        self._call("delete", {"namespace_id": namespace_id, "filter": filter})

    def set_payload(self, namespace_id: str, payload: dict[str, Any], filter: Filter) -> None:
        self._call("set_payload", {"namespace_id": namespace_id, "payload": payload, "filter": filter})

    def set_payloads(self, namespace_id: str, updates: list[tuple[str, dict[str, Any]]], key: str | None = None) -> None:
        for start in range(0, len(updates), 2000):
            self._call("set_payloads", {"namespace_id": namespace_id, "key": key,
                                        "updates": [list(u) for u in updates[start:start + 2000]]})

    def optimize(self, namespace_id: str) -> None:
        self._call("optimize", {"namespace_id": namespace_id})

    def query(self, namespace_id: str, query: Query) -> list[Hit]:
        return self.query_batch(namespace_id, [query])[0]

    def query_batch(self, namespace_id: str, queries: list[Query]) -> list[list[Hit]]:
        result = self._call(
            "query_batch", {"namespace_id": namespace_id, "queries": [query_to_json(x) for x in queries]}
        )
        return [[Hit(**h) for h in hits] for hits in result]

    def retrieve(
        self, namespace_id: str, ids: list[str], with_vectors: bool | list[str] = False
    ) -> list[Hit]:
        result = self._call(
            "retrieve", {"namespace_id": namespace_id, "ids": ids, "with_vectors": with_vectors}
        )
        return [Hit(**h) for h in result]

    def scroll(
        self,
        namespace_id: str,
        filter: Filter | None = None,
        limit: int = 100,
        offset: str | None = None,
        with_vectors: bool | list[str] = False,
    ) -> tuple[list[Hit], str | None]:
        result = self._call(
            "scroll",
            {
                "namespace_id": namespace_id,
                "filter": filter,
                "limit": limit,
                "offset": offset,
                "with_vectors": with_vectors,
            },
        )
        return [Hit(**h) for h in result["hits"]], result["next_offset"]

    def count(self, namespace_id: str, filter: Filter | None = None) -> int:
        return self._call("count", {"namespace_id": namespace_id, "filter": filter})

    def close(self) -> None:
        self._client.close()
