"""The HTTP client the everyday commands use, the options they share, and how they report errors."""

from __future__ import annotations

import time
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from warehouse.catalog.batches import TERMINAL
from warehouse.settings import Settings, load_settings

console = Console(stderr=True)


def saved_key(settings: Settings) -> str | None:
    """The API key ``warehouse up`` saved in the home (shown once at first start)."""
    path = settings.home_dir / "api_key"
    return path.read_text().strip() if path.exists() else None


class Client:
    def __init__(self, base: str, key: str, namespace: str | None) -> None:
        headers = {"Authorization": f"Bearer {key}"}
        if namespace:
            headers["X-Namespace"] = namespace
        self.http = httpx.Client(base_url=base.rstrip("/") + "/v1", headers=headers, timeout=120)

    def _check(self, resp: httpx.Response) -> Any:
        if resp.status_code >= 400:
            try:
                err = resp.json()["error"]
                message = err["message"]
            except Exception:  # noqa: BLE001
                message = resp.text
            raise RuntimeError(f"{resp.status_code}: {message}")
        return resp.json() if resp.content else None

    def get(self, path: str) -> Any:
        return self._check(self.http.get(path))

    def post(self, path: str, body: dict) -> Any:
        return self._check(self.http.post(path, json=body))

    def delete(self, path: str) -> Any:
        return self._check(self.http.delete(path))


def wait_for_batch(client: Client, batch_id: str, timeout: float = 3600, show: bool = True) -> dict:
    with Progress(TextColumn("batch {task.fields[batch]}"), BarColumn(), TextColumn("{task.fields[status]}"),
                  TimeElapsedColumn(), console=console, disable=not show, transient=True) as progress:
        task = progress.add_task("wait", total=None, batch=batch_id, status="…")
        deadline = time.time() + timeout
        while time.time() < deadline:
            batch = client.get(f"/batches/{batch_id}")
            progress.update(task, status=batch["status"])
            if batch["status"] in TERMINAL:
                return batch
            time.sleep(0.5)
    raise TimeoutError(f"batch {batch_id} did not finish in {timeout}s")


def make_client(api_url: str | None, api_key: str | None, namespace: str | None) -> Client:
    settings = load_settings()
    key = api_key or settings.api_key or saved_key(settings)
    if not key:
        console.print("[red]no API key:[/red] pass --api-key or set WAREHOUSE_API_KEY (warehouse up prints one)")
        raise typer.Exit(2)
    return Client(api_url or f"http://{settings.api_host}:{settings.api_port}", key, namespace or settings.default_namespace)


ApiUrl = typer.Option(None, "--api-url", help="Server URL (default http://127.0.0.1:8000).")
ApiKey = typer.Option(None, "--api-key", envvar="WAREHOUSE_API_KEY", help="API key.")
Ns = typer.Option(None, "--namespace", "-n", help="Namespace id or name (default: default).")


def run(fn):
    try:
        return fn()
    except (RuntimeError, httpx.HTTPError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def table(rows: list[dict], columns: list[str]) -> None:
    out = Table(*columns)
    for row in rows:
        out.add_row(*[str(row.get(c, "")) for c in columns])
    Console().print(out)
