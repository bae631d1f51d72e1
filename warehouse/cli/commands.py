"""The everyday commands against a running server (buckets, collections, batches, search) and the offline
extractor tools (install, list, push/deploy/undeploy/status/delete, plugins lint/test)."""

from __future__ import annotations

import io
import json
import mimetypes
import time
import zipfile
from pathlib import Path

import httpx
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
def buckets_upload(bucket: str, paths: list[Path], prop: str = typer.Option(None, "--property",
                   help="Blob property (default: 'content' for text; the schema's property of the file's type)"),
                   process: bool = typer.Option(False, "--process", help="Submit a batch for each new object."),
                   api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Upload files and folders: text files as text objects, media (images, PDFs, audio, video) through presigned
    uploads, streamed from disk with a progress bar in bytes."""
    c = make_client(api_url, api_key, namespace)
    files = _files(paths)
    total = sum(f.stat().st_size for f in files)
    made = []
    with Progress(console=console) as progress:
        task = progress.add_task(f"uploading {len(files)} file(s)", total=total)
        for path in files:
            mime = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
            if mime.startswith("text/") or path.suffix.lower() in (".md", ".txt", ".json", ".csv"):
                body = {"filename": path.name, "blobs": [{"property": prop or "content", "type": "text",
                                                          "data": path.read_text()}]}
                out = run(lambda body=body: c.post(f"/buckets/{bucket}/objects{'?auto_process=true' if process else ''}",
                                                   body))
                made.append({"file": str(path), "object_id": out["object_id"]})
                progress.advance(task, path.stat().st_size)
                continue
            request = {"filename": path.name, "content_type": mime, "file_size_bytes": path.stat().st_size}
            if prop:
                request["blob_property"] = prop
            up = run(lambda request=request: c.post(f"/buckets/{bucket}/uploads", request))
            put = run(lambda path=path, up=up: httpx.put(up["presigned_url"], content=_chunks(path, progress, task),
                                                          headers={"Content-Length": str(path.stat().st_size)},
                                                          timeout=None))
            if put.status_code >= 400:
                console.print(f"[red]{path}: upload failed ({put.status_code}):[/red] {escape(put.text[:500])}")
                raise typer.Exit(1)
            done = run(lambda up=up: c.post(f"/buckets/{bucket}/uploads/{up['upload_id']}/confirm",
                                            {"auto_submit_batch": process}))
            made.append({"file": str(path), "object_id": done["object_id"], "batch_id": done.get("batch_id")})
    print(json.dumps(made, indent=2))


def _files(paths: list[Path]) -> list[Path]:
    out = []
    for path in paths:
        if path.is_dir():
            out += sorted(p for p in path.rglob("*") if p.is_file() and not any(x.startswith(".") for x in p.parts))
        elif path.is_file():
            out.append(path)
        else:
            console.print(f"[red]{path}: no such file or folder[/red]")
            raise typer.Exit(2)
    return out


def _chunks(path: Path, progress: Progress, task, size: int = 1 << 20):
    with path.open("rb") as fh:
        while chunk := fh.read(size):
            progress.advance(task, len(chunk))
            yield chunk


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
def extractors_list(local: bool = typer.Option(False, "--local", help="Read WAREHOUSE_HOME instead of asking a server."),
                    api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """The extractors a namespace can use (built-in, server-installed, uploaded), with their upload state."""
    if local:
        reg = ExtractorRegistry.for_home(load_settings().home_dir)
        table([{"ref": e.spec.ref, "id": e.spec.extractor_id, "source": _source(e),
                "features": ", ".join(e.spec.feature_uri(f) for f in e.spec.vector_features)} for e in reg.all()],
              ["ref", "id", "source", "features"])
        for folder, error in reg.errors.items():
            console.print(f"[red]not loaded[/red] {folder}: {error}")
        return
    c = make_client(api_url, api_key, namespace)
    rows = run(lambda: c.get("/extractors"))["extractors"]
    table([{"ref": f"{r['feature_extractor_name']}@{r['version']}", "id": r["feature_extractor_id"],
            "source": r["source"], "status": r.get("deployment_status", ""), "feature_uri": r.get("feature_uri")}
           for r in rows], ["ref", "id", "source", "status", "feature_uri"])


def _source(ext) -> str:
    return "builtin" if ext.builtin else (f"uploaded ({ext.namespace_id})" if ext.namespace_id else "installed")


@extractors_app.command("push")
def extractors_push(path: Path, overwrite: bool = typer.Option(False, help="Replace this version's code."),
                    deploy: str = typer.Option("", help="Then deploy: batch_only or realtime."),
                    api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Lint, zip, upload (PUT to the presigned URL, with a progress bar) and confirm a plugin folder."""
    report = lint_path(path)
    for finding in report.findings:
        if finding.severity == "error":
            console.print(f"[red]{escape(str(finding))}[/red]", soft_wrap=True, highlight=False)
    if not report.ok or report.extractor is None:
        console.print(f"[red]{path}: fix the lint errors above before pushing[/red]")
        raise typer.Exit(1)
    name, version = report.extractor.split("@", 1)
    archive = zip_plugin(path)
    c = make_client(api_url, api_key, namespace)
    params = "?overwrite=true" if overwrite else ""
    up = run(lambda: c.post(f"/plugins/uploads{params}", {"name": name, "version": version,
                                                          "file_size_bytes": len(archive)}))
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task(f"uploading {name}@{version}", total=len(archive))

        def chunks(size: int = 1 << 16):
            for start in range(0, len(archive), size):
                progress.update(task, completed=start)
                yield archive[start:start + size]
            progress.update(task, completed=len(archive))

        put = run(lambda: httpx.put(up["presigned_url"], content=chunks(), timeout=600,
                                    headers={"Content-Type": "application/zip", "Content-Length": str(len(archive))}))
    if put.status_code >= 400:
        console.print(f"[red]upload failed ({put.status_code}):[/red] {escape(put.text)}")
        raise typer.Exit(1)
    confirmed = run(lambda: c.post(f"/plugins/uploads/{up['upload_id']}/confirm{params}",
                                   {"file_size_bytes": len(archive)}))
    console.print(f"[green]{confirmed['plugin_id']}[/green] installed ({confirmed['code_hash']}): "
                  f"{confirmed['feature_uri']}")
    if deploy:
        extractors_deploy(confirmed["plugin_id"], deploy, True, api_url, api_key, namespace)
    print(json.dumps(confirmed, indent=2))


def zip_plugin(path: Path) -> bytes:
    """A plugin folder as the zip the server takes (one top folder, no caches); an archive file as is."""
    path = Path(path)
    if path.is_file():
        return path.read_bytes()
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for item in sorted(path.rglob("*")):
            if item.is_file() and "__pycache__" not in item.parts and not item.name.startswith("."):
                zf.write(item, f"{path.name}/{item.relative_to(path).as_posix()}")
    return buf.getvalue()


@extractors_app.command("deploy")
def extractors_deploy(plugin_id: str, deployment_type: str = typer.Option("batch_only", "--type",
                                                                          help="batch_only or realtime."),
                      wait: bool = typer.Option(True, help="Wait until DEPLOYED or FAILED."),
                      api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Deploy an uploaded plugin: batch only, or with its realtime service (waits for it to start)."""
    c = make_client(api_url, api_key, namespace)
    answer = run(lambda: c.post(f"/plugins/{plugin_id}/deploy?deployment_type={deployment_type}", {}))
    status = answer["deployment_status"]
    deadline = time.time() + 600
    while wait and status in ("QUEUED", "PENDING", "IN_PROGRESS") and time.time() < deadline:
        time.sleep(0.5)
        status = run(lambda: c.get(f"/plugins/{plugin_id}/status"))["status"]
    detail = run(lambda: c.get(f"/plugins/{plugin_id}/status"))
    colour = "red" if status == "FAILED" else "green"
    console.print(f"{plugin_id}: [{colour}]{status}[/{colour}]" + (f" — {detail['error']}" if detail["error"] else ""))
    if status == "FAILED":
        raise typer.Exit(1)


@extractors_app.command("undeploy")
def extractors_undeploy(plugin_id: str, api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Stop an uploaded plugin's realtime service (batches keep using it)."""
    c = make_client(api_url, api_key, namespace)
    print(run(lambda: c.post(f"/plugins/{plugin_id}/undeploy", {}))["status"])


@extractors_app.command("status")
def extractors_status(plugin_id: str, api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """An uploaded plugin's deployment status."""
    c = make_client(api_url, api_key, namespace)
    print(json.dumps(run(lambda: c.get(f"/plugins/{plugin_id}/status")), indent=2))


@extractors_app.command("delete")
def extractors_delete(plugin_id: str, api_url: str = ApiUrl, api_key: str = ApiKey, namespace: str = Ns) -> None:
    """Delete an uploaded plugin version (refused while a collection uses it)."""
    c = make_client(api_url, api_key, namespace)
    run(lambda: c.delete(f"/plugins/{plugin_id}"))
    print(f"deleted {plugin_id}")


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
