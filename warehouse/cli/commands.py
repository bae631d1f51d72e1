"""The everyday commands against a running server (buckets, collections, batches, search) and the offline
extractor tools (install, list, plugins lint/test)."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.progress import Progress

from warehouse.batch.harness import run_plugin_test
from warehouse.catalog.batches import BatchStatus
from warehouse.cli.client import (
    ApiKey,
    ApiUrl,
    Ns,
    console,
    make_client,
    run,
    table,
    wait_for_batch,
)
from warehouse.extractors.registry import ExtractorRegistry
from warehouse.extractors.tools.lint import ArchiveError, lint_path, plugin_folder
from warehouse.settings import load_settings

buckets_app = typer.Typer(help="Buckets and their objects.", no_args_is_help=True)
collections_app = typer.Typer(help="Collections.", no_args_is_help=True)
batches_app = typer.Typer(help="Batches.", no_args_is_help=True)
extractors_app = typer.Typer(help="Feature extractors.", no_args_is_help=True)
plugins_app = typer.Typer(help="Write extractor plugins: lint and test them offline, no server needed.",
                          no_args_is_help=True)


@buckets_app.command("list")
def buckets_list(api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = make_client(api_url, api_key, namespace)
    table(run(lambda: c.post("/buckets/list", {}))["results"], ["bucket_id", "bucket_name", "object_count"])


@buckets_app.command("create")
def buckets_create(name: str, schema: str = typer.Option('{"properties": {"content": {"type": "text"}}}',
                                                         help="bucket_schema as JSON"),
                   api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = make_client(api_url, api_key, namespace)
    try:
        parsed = json.loads(schema)
    except json.JSONDecodeError as exc:
        console.print(f"[red]--schema is not valid JSON:[/red] {exc}")
        raise typer.Exit(2) from None
    print(json.dumps(run(lambda: c.post("/buckets", {"bucket_name": name, "bucket_schema": parsed})), indent=2))


@buckets_app.command("upload")
def buckets_upload(bucket: str, paths: list[Path], prop: str = typer.Option("content", "--property"),
                   api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Create one text object per file."""
    c = make_client(api_url, api_key, namespace)
    with Progress(console=console) as progress:
        task = progress.add_task("uploading", total=len(paths))
        for path in paths:
            body = {"filename": path.name, "blobs": [{"property": prop, "type": "text", "data": path.read_text()}]}
            run(lambda body=body: c.post(f"/buckets/{bucket}/objects", body))
            progress.advance(task)


@collections_app.command("list")
def collections_list(api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = make_client(api_url, api_key, namespace)
    table(run(lambda: c.post("/collections/list", {}))["results"], ["collection_id", "collection_name", "document_count"])


@collections_app.command("create")
def collections_create(name: str, bucket: str, extractor: str = "text_extractor", version: str = "v1",
                       input_mappings: str = typer.Option('{"text": "content"}', help="JSON"),
                       api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = make_client(api_url, api_key, namespace)
    body = {"collection_name": name, "source": {"type": "bucket", "bucket_ids": [bucket]},
            "feature_extractor": {"feature_extractor_name": extractor, "version": version,
                                  "input_mappings": json.loads(input_mappings)}}
    print(json.dumps(run(lambda: c.post("/collections", body)), indent=2))


@batches_app.command("submit")
def batches_submit(bucket: str, collection: list[str] = typer.Option(None, "--collection", "-c"),
                   wait: bool = True, api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Create and submit a batch over every object of BUCKET; wait with a progress bar."""
    c = make_client(api_url, api_key, namespace)
    body = {"collection_ids": collection} if collection else {}
    batch = run(lambda: c.post(f"/buckets/{bucket}/batches", body))
    run(lambda: c.post(f"/buckets/{bucket}/batches/{batch['batch_id']}/submit", {}))
    if wait:
        batch = wait_for_batch(c, batch["batch_id"])
    print(json.dumps({k: batch[k] for k in ("batch_id", "status", "documents_written", "failed_objects")}, indent=2))
    if batch["status"] == BatchStatus.FAILED:
        raise typer.Exit(1)


@batches_app.command("get")
def batches_get(batch_id: str, api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    c = make_client(api_url, api_key, namespace)
    print(json.dumps(run(lambda: c.get(f"/batches/{batch_id}")), indent=2))


def search(retriever: str, query: str, limit: int = 5, api_url: str = ApiUrl, api_key: str = ApiKey,
           namespace: str = Ns) -> None:
    """Execute RETRIEVER with inputs {"query": QUERY} and print the ranked documents."""
    c = make_client(api_url, api_key, namespace)
    result = run(lambda: c.post(f"/retrievers/{retriever}/execute", {"inputs": {"query": query}, "limit": limit}))
    for i, doc in enumerate(result["documents"], 1):
        text = (doc.get("text") or "").replace("\n", " ")
        print(f"{i:2d}. {doc.get('score', 0):.4f}  {doc['document_id']}  {text[:100]}")


@extractors_app.command("install")
def extractors_install(path: Path) -> None:
    """Validate a plugin folder and install it under WAREHOUSE_HOME/extractors (restart the server)."""

    settings = load_settings()
    try:
        ext = ExtractorRegistry([]).install(path, settings.home_dir / "extractors")
    except (ValueError, RuntimeError) as exc:
        console.print(f"[red]cannot install {path}:[/red]\n{exc}")
        raise typer.Exit(1) from None
    print(f"installed {ext.spec.ref} ({ext.spec.extractor_id})")


@extractors_app.command("list")
def extractors_list() -> None:
    reg = ExtractorRegistry([load_settings().home_dir / "extractors"])
    table([{"ref": e.spec.ref, "id": e.spec.extractor_id, "source": "builtin" if e.builtin else "custom",
             "features": ", ".join(e.spec.feature_uri(f) for f in e.spec.vector_features)} for e in reg.all()],
           ["ref", "id", "source", "features"])
    for folder, error in reg.errors.items():
        console.print(f"[red]not loaded[/red] {folder}: {error}")


@plugins_app.command("lint")
def plugins_lint(path: Path, as_json: bool = typer.Option(False, "--json", help="One JSON document on stdout.")) -> None:
    """Validate the manifest, scan for blocked code and lint the batch steps of a plugin folder or archive.

    Lines read `file:line: [severity] CODE message — fix: …`; the exit status is 1 on any error.
    """

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
