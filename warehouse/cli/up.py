"""``warehouse up``: start the API server (the index owner), Dagster beside it, and the demo corpus."""

from __future__ import annotations

import atexit
import logging
import mimetypes
import os
import socket
import threading
from pathlib import Path

import httpx
import typer
import uvicorn

from warehouse.api.app import create_app
from warehouse.catalog.bootstrap import ensure_api_key, ensure_namespace
from warehouse.cli.client import Client, console, saved_key, wait_for_batch
from warehouse.cli.dagster import prepare_home, start_dagster, stop_dagster, wait_for_ui
from warehouse.cli.ray_head import ray_env, start_ray_head, stop_ray_head
from warehouse.cli.waiting import free_port, wait_for_http
from warehouse.services import Services
from warehouse.settings import load_settings

DEMO_DIR = Path(__file__).resolve().parent.parent / "demo"
REPO_EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "extractors"


def wait_until_healthy(base_url: str, timeout: float = 120.0) -> None:
    """Block until ``GET {base_url}/v1/health`` answers 200; TimeoutError after ``timeout`` seconds."""
    wait_for_http(f"{base_url}/v1/health", f"the API server at {base_url}", timeout, interval=0.1)


PID_FILE = "warehouse.pid"


def _running(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"warehouse" in cmdline


def claim_home(settings, ports: list[int]) -> None:
    """Before anything starts: refuse a home another ``warehouse up`` runs from, or a port in use (RuntimeError
    saying what to do); a pid file left by a crashed run is reported and replaced. The pid file goes at exit."""
    settings.home_dir.mkdir(parents=True, exist_ok=True)
    pid_file = settings.home_dir / PID_FILE
    if pid_file.exists():
        text = pid_file.read_text().strip()
        old = int(text) if text.isdigit() else None
        if old is not None and old != os.getpid() and _running(old):
            raise RuntimeError(f"a warehouse is already running from {settings.home_dir} (pid {old}); stop it "
                               f"(kill {old}) or start this one with another --home")
        console.print(f"[yellow]a previous run from {settings.home_dir} (pid {text or '?'}) did not stop cleanly; "
                      "its pid file is replaced[/yellow]")
    for port in ports:
        with socket.socket() as probe:
            try:
                probe.bind((settings.api_host, port))
            except OSError as exc:
                raise RuntimeError(f"port {port} on {settings.api_host} is in use ({exc.strerror}); stop what holds it "
                                   f"(e.g. `ss -ltnp | grep :{port}`) or pass --api-port / --ui-port") from None
    pid_file.write_text(str(os.getpid()))
    atexit.register(_release, pid_file)


def _release(pid_file: Path) -> None:
    """Remove the pid file at exit, if it is still ours."""
    try:
        if pid_file.read_text().strip() == str(os.getpid()):
            pid_file.unlink()
    except OSError:
        pass


def up(
    home: Path = typer.Option(None, help="State directory (default: WAREHOUSE_HOME or ./.warehouse)."),
    api_port: int = typer.Option(None, help="API port (default 8000)."),
    ui_port: int = typer.Option(None, help="Dagster UI port (default 3000)."),
    host: str = typer.Option("127.0.0.1", help="Bind address; keep it on loopback unless behind a proxy."),
    demo: bool = typer.Option(True, help="Ingest the demo corpus on first start."),
    dagster: bool = typer.Option(True, help="Start the Dagster webserver and daemon; batches then run as Dagster runs."),
) -> None:
    """Start the warehouse on the embedded defaults and print where to look."""

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)  # not one line per status poll
    logging.getLogger("alembic").setLevel(logging.WARNING)  # the Dagster instance's storage checks
    # With Dagster, batches run in Dagster's run workers on a Ray head beside the API (cli/ray_head.py): the API
    # server never starts Ray, so no Ray process can take it down.
    settings = load_settings(home=home, api_port=api_port, ui_port=ui_port, api_host=host,
                             orchestrator="dagster" if dagster else None,
                             warm_batch_workers=False if dagster else None)
    try:
        claim_home(settings, [settings.api_port] + ([settings.ui_port] if dagster else []))
    except RuntimeError as exc:
        console.print(f"[red]cannot start:[/red] {exc}")
        raise typer.Exit(2) from None
    if dagster:
        prepare_home(settings)  # before the API opens the instance
    svc = Services.from_settings(settings)
    if REPO_EXAMPLES.is_dir():
        for folder in sorted(REPO_EXAMPLES.iterdir()):
            if (folder / "manifest.py").exists():
                svc.registry.install(folder, settings.home_dir / "extractors")
    key = ensure_api_key(svc.catalog, settings.organization_id, settings.api_key or saved_key(settings))
    (settings.home_dir / "api_key").write_text(key)
    (settings.home_dir / "api_key").chmod(0o600)
    ns = ensure_namespace(svc.catalog, settings.organization_id, settings.default_namespace)
    base = f"http://{settings.api_host}:{settings.api_port}"
    server = uvicorn.Server(uvicorn.Config(create_app(settings, svc), host=settings.api_host,
                                           port=settings.api_port, log_level="warning"))

    ui = f"http://{settings.api_host}:{settings.ui_port}"
    dagster_proc = ray_proc = None
    if dagster:
        # runs drive Ray themselves (in_process), or submit Ray jobs to the head's job server (ray_job, when set)
        executor = "ray_job" if settings.dagster_executor == "ray_job" else "in_process"
        ray_port, dashboard_port = free_port(), free_port() if executor == "ray_job" else None
        ray_proc = start_ray_head(settings, ray_port, dashboard_port)
        dagster_proc = start_dagster(settings, base, settings.ui_port, settings.api_host, extra_env={
            **ray_env(settings, ray_port, dashboard_port), "WAREHOUSE_DAGSTER_EXECUTOR": executor})

    def after_start() -> None:
        try:
            wait_until_healthy(base, timeout=120)
        except TimeoutError as exc:
            console.print(f"[red]{exc}[/red]")
            return
        if dagster_proc is not None:
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
        if ray_proc is not None:
            stop_ray_head(ray_proc)


def serve(
    home: Path = typer.Option(None, help="State directory (default: WAREHOUSE_HOME or ./.warehouse)."),
    api_port: int = typer.Option(None, help="API port (default 8000)."),
    host: str = typer.Option("127.0.0.1", help="Bind address (a container behind a Service binds 0.0.0.0)."),
) -> None:
    """Start the API server alone — one stateless replica of the scale-out shape (docs/deploy.md): the settings in
    the environment name the shared catalog, object store, index, Ray cluster and Dagster instance; no Ray head,
    Dagster or demo is started here, and nothing claims the home."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings(home=home, api_port=api_port, api_host=host)
    svc = Services.from_settings(settings)
    if settings.api_key:  # the first replica to start registers the deployment's key; the others find it
        ensure_api_key(svc.catalog, settings.organization_id, settings.api_key)
    ensure_namespace(svc.catalog, settings.organization_id, settings.default_namespace)
    uvicorn.Server(uvicorn.Config(create_app(settings, svc), host=settings.api_host, port=settings.api_port,
                                  log_level="warning")).run()


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
    final = _process_and_search(client, bucket["bucket_id"], "demo", ids, collection,
                                collection["vector_indexes"][0]["feature_uri"], "demo-search", top_k=20, final_top_k=5)
    console.print(f"demo corpus: {len(ids)} objects, batch {final['status']}, "
                  f"{final['documents_written']} documents, retriever 'demo-search'")
    _ingest_demo_photos(client)
    _ingest_demo_documents(client)


def _process_and_search(client: Client, bucket_id: str, name: str, ids: list[str], collection: dict, uri: str,
                        retriever: str, top_k: int, final_top_k: int) -> dict:
    """One batch of ``ids`` into ``collection``, waited for; then the retriever ``retriever`` that searches ``uri``
    with the words of its ``query`` input. Returns the finished batch."""
    batch = client.post(f"/buckets/{bucket_id}/batches",
                        {"batch_name": name, "object_ids": ids, "collection_ids": [collection["collection_id"]]})
    client.post(f"/buckets/{bucket_id}/batches/{batch['batch_id']}/submit", {})
    final = wait_for_batch(client, batch["batch_id"])
    client.post("/retrievers", {
        "retriever_name": retriever, "collection_identifiers": [collection["collection_id"]],
        "input_schema": {"query": {"type": "text", "required": True}},
        "stages": [{"stage_name": "search", "stage_type": "filter", "config": {"stage_id": "feature_search", "parameters": {
            "searches": [{"feature_uri": uri, "query": {"input_mode": "text", "value": "{{INPUT.query}}"},
                          "top_k": top_k}], "final_top_k": final_top_k}}}]})
    return final


def _ingest_demo_photos(client: Client) -> None:
    """A few photos through presigned uploads into an image_extractor collection, searchable by words."""
    _ingest_demo_media(client, "demo-photos", "image", "image_extractor", "image", "label_embedding",
                       sorted((DEMO_DIR / "photos").glob("*.jpg")), "demo-photo-search", "a cup of coffee")


def _ingest_demo_documents(client: Client) -> None:
    """A PDF through a presigned upload into a document_extractor collection: its pages' text, searchable."""
    _ingest_demo_media(client, "demo-documents", "pdf", "document_extractor", "document", "text_embedding",
                       sorted((DEMO_DIR / "documents").glob("*.pdf")), "demo-document-search",
                       "explicit is better than implicit")


def _ingest_demo_media(client: Client, name: str, blob_type: str, extractor: str, input_name: str, feature: str,
                       files: list[Path], retriever: str, example: str) -> None:
    """Files through presigned uploads into a bucket and an ``extractor`` collection (its input ``input_name``
    reading the files), then a retriever over ``feature`` that takes words."""
    bucket = client.post("/buckets", {"bucket_name": name, "bucket_schema": {
        "properties": {"file": {"type": blob_type}, "title": {"type": "string"}}}})
    collection = client.post("/collections", {
        "collection_name": name, "source": {"type": "bucket", "bucket_ids": [bucket["bucket_id"]]},
        "feature_extractor": {"feature_extractor_name": extractor, "version": "v1",
                              "input_mappings": {input_name: "file"},
                              "field_passthrough": [{"source_path": "title"}]}})
    ids = []
    for path in files:
        up = client.post(f"/buckets/{bucket['bucket_id']}/uploads", {
            "filename": path.name, "content_type": mimetypes.guess_type(path.name)[0],
            "object_metadata": {"title": path.stem}})
        httpx.put(up["presigned_url"], content=path.read_bytes(), timeout=60).raise_for_status()
        ids.append(client.post(f"/buckets/{bucket['bucket_id']}/uploads/{up['upload_id']}/confirm", {})["object_id"])
    uri = next(v["feature_uri"] for v in collection["vector_indexes"] if v["feature_uri"].endswith(f"/{feature}"))
    final = _process_and_search(client, bucket["bucket_id"], name, ids, collection, uri, retriever, top_k=10,
                                final_top_k=3)
    console.print(f"{name}: {len(ids)} file(s), batch {final['status']}, {final['documents_written']} documents, "
                  f"retriever '{retriever}' (try the query \"{example}\")")
