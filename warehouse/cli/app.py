"""The ``warehouse`` command: start the stack, and everyday bucket/collection/batch/search work."""

from __future__ import annotations

import os
import sys

import typer

from warehouse.cli import commands
from warehouse.cli.up import up

app = typer.Typer(help="Warehouse: a self-hosted multimodal data warehouse.", no_args_is_help=True)
app.command()(up)
app.command()(commands.search)
app.add_typer(commands.buckets_app, name="buckets")
app.add_typer(commands.collections_app, name="collections")
app.add_typer(commands.batches_app, name="batches")
app.add_typer(commands.extractors_app, name="extractors")
app.add_typer(commands.plugins_app, name="plugins")


def main() -> None:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    sys.exit(app())


if __name__ == "__main__":
    main()
