"""The ``warehouse`` command: start the stack, and everyday bucket/collection/batch/search work."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import typer

from warehouse.cli import commands
from warehouse.cli.up import serve, up

app = typer.Typer(help="Warehouse: a self-hosted multimodal data warehouse.", no_args_is_help=True)
app.command()(up)
app.command()(serve)
app.command()(commands.search)
app.add_typer(commands.buckets_app, name="buckets")
app.add_typer(commands.collections_app, name="collections")
app.add_typer(commands.batches_app, name="batches")
app.add_typer(commands.extractors_app, name="extractors")
app.add_typer(commands.plugins_app, name="plugins")


@app.command("export")
def export_cmd(out: Path = typer.Argument(..., help="The archive to write (.tar, or .tar.gz to compress)."),
               home: Path = typer.Option(None, help="The home to export (default: WAREHOUSE_HOME or ./.warehouse).")):
    """Write a stopped warehouse's catalog, blobs, documents and plugins into one archive (the settings in the
    environment say where they are: WAREHOUSE_DATABASE_URL, WAREHOUSE_OBJECT_STORE, WAREHOUSE_INDEX_STORE…)."""
    # lazy: the migration code loads the index engine; the other commands do not need it
    from warehouse.migrate import export_home
    from warehouse.settings import load_settings

    export_home(load_settings(home=home), out)


@app.command("import")
def import_cmd(archive: Path = typer.Argument(..., exists=True, dir_okay=False, help="An archive of warehouse export."),
               home: Path = typer.Option(None, help="The home to import into (default: WAREHOUSE_HOME or ./.warehouse).")):
    """Load an export into the catalog, object store and index the environment's settings name — all empty —
    rewriting blob URLs to the target store's. Run it before the target's first start."""
    # lazy: the migration code loads the index engine; the other commands do not need it
    from warehouse.migrate import MigrationError, import_home
    from warehouse.settings import load_settings

    try:
        import_home(load_settings(home=home), archive)
    except MigrationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(app())


if __name__ == "__main__":
    main()
