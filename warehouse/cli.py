"""The ``warehouse`` command: start the stack, and everyday bucket/collection/batch/search work."""

from __future__ import annotations

import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

app = typer.Typer(help="Warehouse: a self-hosted multimodal data warehouse.", no_args_is_help=True)
buckets_app = typer.Typer(help="Buckets and their objects.", no_args_is_help=True)
collections_app = typer.Typer(help="Collections.", no_args_is_help=True)
batches_app = typer.Typer(help="Batches.", no_args_is_help=True)
extractors_app = typer.Typer(help="Feature extractors.", no_args_is_help=True)
app.add_typer(buckets_app, name="buckets")
app.add_typer(collections_app, name="collections")
app.add_typer(batches_app, name="batches")
app.add_typer(extractors_app, name="extractors")
plugins_app = typer.Typer(help="Write extractor plugins: lint and test them offline, no server needed.",
                          no_args_is_help=True)
app.add_typer(plugins_app, name="plugins")
console = Console(stderr=True)
DEMO_DIR = Path(__file__).parent / "demo"
REPO_EXAMPLES = Path(__file__).resolve().parent.parent / "examples" / "extractors"


# -- warehouse up --------------------------------------------------------------------------------
@app.command()
def up(
    home: Path = typer.Option(None, help="State directory (default: WAREHOUSE_HOME or ./.warehouse)."),
    api_port: int = typer.Option(None, help="API port (default 8000)."),
    ui_port: int = typer.Option(None, help="Dagster UI port (default 3000)."),
    host: str = typer.Option("127.0.0.1", help="Bind address; keep it on loopback unless behind a proxy."),
    demo: bool = typer.Option(True, help="Ingest the demo corpus on first start."),
    dagster: bool = typer.Option(True, help="Start the Dagster webserver and daemon; batches then run as Dagster runs."),
) -> None:
    """Start the warehouse on the embedded defaults and print where to look."""
    import uvicorn

    from warehouse.bootstrap import ensure_api_key, ensure_namespace, wait_until_healthy
    from warehouse.retrieval.app import create_app
    from warehouse.retrieval.service import Services
    from warehouse.settings import load_settings

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per status poll
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the Dagster instance's storage checks
    settings = load_settings(home=home, api_port=api_port, ui_port=ui_port, api_host=host,
                             orchestrator="dagster" if dagster else None)
    if dagster:
        from warehouse.dagster_process import prepare_home

        prepare_home(settings)  # before the API opens the instance
    svc = Services.from_settings(settings)
    if REPO_EXAMPLES.is_dir():
        for folder in sorted(REPO_EXAMPLES.iterdir()):
            if (folder / "manifest.py").exists():
                svc.registry.install(folder, settings.home_dir / "extractors")
    key = ensure_api_key(svc.catalog, settings.organization_id, settings.api_key or _saved_key(settings))
    (settings.home_dir / "api_key").write_text(key)
    (settings.home_dir / "api_key").chmod(0o600)
    ns = ensure_namespace(svc.catalog, settings.organization_id, settings.default_namespace)
    base = f"http://{settings.api_host}:{settings.api_port}"
    server = uvicorn.Server(uvicorn.Config(create_app(settings, svc), host=settings.api_host,
                                           port=settings.api_port, log_level="warning"))

    ui = f"http://{settings.api_host}:{settings.ui_port}"
    dagster_proc = None
    if dagster:
        from warehouse.dagster_process import start_dagster, stop_dagster

        dagster_proc = start_dagster(settings, base, settings.ui_port, settings.api_host)

    def after_start() -> None:
        try:
            wait_until_healthy(base, timeout=120)
        except TimeoutError as exc:
            console.print(f"[red]{exc}[/red]")
            return
        if dagster_proc is not None:
            from warehouse.dagster_process import wait_for_ui

            try:
                wait_for_ui(ui, timeout=180, proc=dagster_proc)
            except (RuntimeError, TimeoutError) as exc:
                console.print(f"[red]Dagster did not start:[/red] {exc}")
        if demo:
            try:
                _ingest_demo(base, key, ns.namespace_name)
            except Exception as exc:  # noqa: BLE001 - the server stays up; say what failed
                console.print(f"[red]demo ingest failed:[/red] {exc}")
        console.print(
            f"\n[bold green]Warehouse is up[/bold green]\n"
            f"  API         {base}/v1   (OpenAPI: {base}/docs)\n"
            + (f"  Dagster UI  {ui}   (assets, sensors, runs, backfills; log: {settings.logs_dir / 'dagster.log'})\n"
               if dagster_proc is not None else "  Dagster UI  not started (--no-dagster); batches run in the API server\n")
            + f"  Namespace   {ns.namespace_name} ({ns.namespace_id})\n"
            f"  API key     {key}\n"
            f"  Home        {settings.home_dir}\n\n"
            f"  Try: curl -s -X POST {base}/v1/retrievers/demo-search/execute \\\n"
            f"         -H 'Authorization: Bearer {key}' -H 'X-Namespace: {ns.namespace_name}' \\\n"
            f"         -H 'Content-Type: application/json' -d '{{\"inputs\": {{\"query\": \"how do I search\"}}}}'\n",
            soft_wrap=True,
        )

    threading.Thread(target=after_start, daemon=True).start()
    try:
        server.run()
    finally:
        if dagster_proc is not None:
            stop_dagster(dagster_proc)


def _saved_key(settings) -> str | None:
    path = settings.home_dir / "api_key"
    return path.read_text().strip() if path.exists() else None


def _ingest_demo(base: str, key: str, namespace: str) -> None:
    client = Client(base, key, namespace)
    if any(b["bucket_name"] == "demo-docs" for b in client.post("/buckets/list", {})["results"]):
        return
    bucket = client.post("/buckets", {"bucket_name": "demo-docs", "bucket_schema": {
        "properties": {"content": {"type": "text", "required": True}, "title": {"type": "string"}}}})
    collection = client.post("/collections", {
        "collection_name": "demo-docs", "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": "text_extractor", "version": "v1",
                              "input_mappings": {"text": "content"}, "field_passthrough": [{"source_path": "title"}],
                              "parameters": {"split_by": "paragraphs", "chunk_size": 1}}})
    ids = []
    for path in sorted(DEMO_DIR.glob("*.md")):
        text = path.read_text()
        title = text.splitlines()[0].lstrip("# ").strip()
        ids.append(client.post(f"/buckets/{bucket['bucket_id']}/objects",
                               {"title": title, "blobs": [{"property": "content", "type": "text", "data": text}]})["object_id"])
    batch = client.post(f"/buckets/{bucket['bucket_id']}/batches",
                        {"batch_name": "demo", "object_ids": ids, "collection_ids": [collection["collection_id"]]})
    client.post(f"/buckets/{bucket['bucket_id']}/batches/{batch['batch_id']}/submit", {})
    final = wait_for_batch(client, batch["batch_id"])
    uri = collection["vector_indexes"][0]["feature_uri"]
    client.post("/retrievers", {
        "retriever_name": "demo-search", "collection_identifiers": [collection["collection_id"]],
        "input_schema": {"query": {"type": "text", "required": True}},
        "stages": [{"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": uri, "query": {"input_mode": "text", "value": "{{INPUT.query}}"}, "top_k": 20}],
            "final_top_k": 5}}}]})
    console.print(f"demo corpus: {len(ids)} objects, batch {final['status']}, "
                  f"{final['documents_written']} documents, retriever 'demo-search'")


# -- the HTTP client the everyday commands use ----------------------------------------------------
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
    terminal = {"COMPLETED", "COMPLETED_WITH_ERRORS", "FAILED", "CANCELED"}
    with Progress(TextColumn("batch {task.fields[batch]}"), BarColumn(), TextColumn("{task.fields[status]}"),
                  TimeElapsedColumn(), console=console, disable=not show, transient=True) as progress:
        task = progress.add_task("wait", total=None, batch=batch_id, status="…")
        deadline = time.time() + timeout
        while time.time() < deadline:
            batch = client.get(f"/batches/{batch_id}")
            progress.update(task, status=batch["status"])
            if batch["status"] in terminal:
                return batch
            time.sleep(0.5)
    raise TimeoutError(f"batch {batch_id} did not finish in {timeout}s")


def _client(api_url: str | None, api_key: str | None, namespace: str | None) -> Client:
    from warehouse.settings import load_settings

    settings = load_settings()
    key = api_key or settings.api_key or _saved_key(settings)
    if not key:
        console.print("[red]no API key:[/red] pass --api-key or set WAREHOUSE_API_KEY (warehouse up prints one)")
        raise typer.Exit(2)
    return Client(api_url or f"http://{settings.api_host}:{settings.api_port}", key, namespace or settings.default_namespace)


ApiUrl = typer.Option(None, "--api-url", help="Server URL (default http://127.0.0.1:8000).")
ApiKey = typer.Option(None, "--api-key", envvar="WAREHOUSE_API_KEY", help="API key.")
Ns = typer.Option(None, "--namespace", "-n", help="Namespace id or name (default: default).")


def _run(fn):
    try:
        return fn()
    except (RuntimeError, httpx.HTTPError) as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(1) from None


def _table(rows: list[dict], columns: list[str]) -> None:
    table = Table(*columns)
    for row in rows:
        table.add_row(*[str(row.get(c, "")) for c in columns])
    Console().print(table)


@buckets_app.command("list")
def buckets_list(api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = _client(api_url, api_key, namespace)
    _table(_run(lambda: c.post("/buckets/list", {}))["results"], ["bucket_id", "bucket_name", "object_count"])


@buckets_app.command("create")
def buckets_create(name: str, schema: str = typer.Option('{"properties": {"content": {"type": "text"}}}',
                                                         help="bucket_schema as JSON"),
                   api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = _client(api_url, api_key, namespace)
    try:
        parsed = json.loads(schema)
    except json.JSONDecodeError as exc:
        console.print(f"[red]--schema is not valid JSON:[/red] {exc}")
        raise typer.Exit(2) from None
    print(json.dumps(_run(lambda: c.post("/buckets", {"bucket_name": name, "bucket_schema": parsed})), indent=2))


@buckets_app.command("upload")
def buckets_upload(bucket: str, paths: list[Path], prop: str = typer.Option("content", "--property"),
                   api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Create one text object per file."""
    c = _client(api_url, api_key, namespace)
    with Progress(console=console) as progress:
        task = progress.add_task("uploading", total=len(paths))
        for path in paths:
            body = {"filename": path.name, "blobs": [{"property": prop, "type": "text", "data": path.read_text()}]}
            _run(lambda body=body: c.post(f"/buckets/{bucket}/objects", body))
            progress.advance(task)


@collections_app.command("list")
def collections_list(api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = _client(api_url, api_key, namespace)
    _table(_run(lambda: c.post("/collections/list", {}))["results"], ["collection_id", "collection_name", "document_count"])


@collections_app.command("create")
def collections_create(name: str, bucket: str, extractor: str = "text_extractor", version: str = "v1",
                       input_mappings: str = typer.Option('{"text": "content"}', help="JSON"),
                       api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = _client(api_url, api_key, namespace)
    body = {"collection_name": name, "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": extractor, "version": version,
                                  "input_mappings": json.loads(input_mappings)}}
    print(json.dumps(_run(lambda: c.post("/collections", body)), indent=2))


@batches_app.command("submit")
def batches_submit(bucket: str, collection: list[str] = typer.Option(None, "--collection", "-c"),
                   wait: bool = True, api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Create and submit a batch over every object of BUCKET; wait with a progress bar."""
    c = _client(api_url, api_key, namespace)
    body = {"collection_ids": collection} if collection else {}
    batch = _run(lambda: c.post(f"/buckets/{bucket}/batches", body))
    _run(lambda: c.post(f"/buckets/{bucket}/batches/{batch['batch_id']}/submit", {}))
    if wait:
        batch = wait_for_batch(c, batch["batch_id"])
    print(json.dumps({k: batch[k] for k in ("batch_id", "status", "documents_written", "failed_objects")}, indent=2))
    if batch["status"] == "FAILED":
        raise typer.Exit(1)


@batches_app.command("get")
def batches_get(batch_id: str, api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = _client(api_url, api_key, namespace)
    print(json.dumps(_run(lambda: c.get(f"/batches/{batch_id}")), indent=2))


@app.command()
def search(retriever: str, query: str, limit: int = 5, api_url: str = ApiUrl, api_key: str = ApiKey,
           namespace: str = Ns) -> None:
    """Execute RETRIEVER with inputs {"query": QUERY} and print the ranked documents."""
    c = _client(api_url, api_key, namespace)
    result = _run(lambda: c.post(f"/retrievers/{retriever}/execute", {"inputs": {"query": query}, "limit": limit}))
    for i, doc in enumerate(result["documents"], 1):
        text = (doc.get("text") or "").replace("\n", " ")
        print(f"{i:2d}. {doc.get('score', 0):.4f}  {doc['document_id']}  {text[:100]}")


@extractors_app.command("install")
def extractors_install(path: Path) -> None:
    """Validate a plugin folder and install it under WAREHOUSE_HOME/extractors (restart the server)."""
    from warehouse.extractors.registry import ExtractorRegistry
    from warehouse.settings import load_settings

    settings = load_settings()
    try:
        ext = ExtractorRegistry([]).install(path, settings.home_dir / "extractors")
    except (ValueError, RuntimeError) as exc:
        console.print(f"[red]cannot install {path}:[/red]\n{exc}")
        raise typer.Exit(1) from None
    print(f"installed {ext.spec.ref} ({ext.spec.extractor_id})")


@extractors_app.command("list")
def extractors_list() -> None:
    from warehouse.extractors.registry import ExtractorRegistry
    from warehouse.settings import load_settings

    reg = ExtractorRegistry([load_settings().home_dir / "extractors"])
    _table([{"ref": e.spec.ref, "id": e.spec.extractor_id, "source": "builtin" if e.builtin else "custom",
             "features": ", ".join(e.spec.feature_uri(f) for f in e.spec.vector_features)} for e in reg.all()],
           ["ref", "id", "source", "features"])
    for folder, error in reg.errors.items():
        console.print(f"[red]not loaded[/red] {folder}: {error}")


@plugins_app.command("lint")
def plugins_lint(path: Path, as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Validate the manifest, scan for blocked code and lint the batch steps of a plugin folder or archive.

    Lines read `file:line: [severity] CODE message — fix: …`; the exit status is 1 on any error.
    """
    from warehouse.extractors.lint import lint_path

    report = lint_path(path)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        for finding in report.findings:
            colour = {"error": "red", "warning": "yellow"}.get(finding.severity, "dim")
            console.print(f"[{colour}]{escape(str(finding))}[/{colour}]", soft_wrap=True, highlight=False)
        summary = f"{len(report.errors)} error(s), {len(report.findings) - len(report.errors)} other finding(s)"
        console.print(f"{report.extractor or path}: " + ("[green]ok[/green], " if report.ok else "[red]failed[/red], ") + summary)
    raise typer.Exit(0 if report.ok else 1)


@plugins_app.command("test")
def plugins_test(path: Path, parameters: str = typer.Option("{}", help="Extractor parameters as JSON."),
                 as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Run the plugin through real Ray Data map_batches on a realistic DataFrame and check its output."""
    from warehouse.extractors.harness import run_plugin_test
    from warehouse.extractors.lint import ArchiveError, plugin_folder

    try:
        params = json.loads(parameters)
    except json.JSONDecodeError as exc:
        console.print(f"[red]--parameters is not JSON:[/red] {exc}")
        raise typer.Exit(2) from exc
    try:
        with plugin_folder(path) as folder:
            report = run_plugin_test(folder, params)
    except ArchiveError as exc:
        console.print(f"[red]{exc}[/red]")
        raise typer.Exit(1) from exc
    report.path = str(path)
    if as_json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        marks = {"pass": "[green]PASS[/green]", "fail": "[red]FAIL[/red]", "skip": "[dim]SKIP[/dim]"}
        for check in report.checks:
            line = f"{marks[check.status]} {escape(check.name)}: {escape(check.message)}"
            if check.status == "fail" and check.fix:
                line += f" — fix: {escape(check.fix)}"
            console.print(line, soft_wrap=True, highlight=False)
        for row in report.skipped_rows:
            console.print(f"[dim]skipped row {row['document_id']}: {row['reason']}[/dim]")
        console.print(f"{report.extractor or path}: " + ("[green]ok[/green]" if report.ok else "[red]failed[/red]")
                      + f" in {report.seconds:.1f} s")
    raise typer.Exit(0 if report.ok else 1)


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(app())


if __name__ == "__main__":
    main()
