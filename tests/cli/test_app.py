"""The ``warehouse`` command is composed of its parts: every command group answers, and the offline plugin tools
work without a server."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from warehouse.cli.app import app

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "plugins"
EXAMPLES = Path(__file__).resolve().parent.parent.parent / "examples" / "extractors"
runner = CliRunner()


def test_every_command_group_is_registered():
    out = runner.invoke(app, ["--help"])
    assert out.exit_code == 0, out.output
    for command in ("up", "search", "buckets", "collections", "batches", "extractors", "plugins"):
        assert command in out.output, command


def test_plugins_lint_passes_an_example_and_fails_wrong_keys():
    example = next(p for p in sorted(EXAMPLES.iterdir()) if (p / "manifest.py").exists())
    good = runner.invoke(app, ["plugins", "lint", str(example), "--json"])
    assert good.exit_code == 0, good.output
    assert json.loads(good.stdout)["ok"] is True
    bad = runner.invoke(app, ["plugins", "lint", str(FIXTURES / "wrong_keys")])
    assert bad.exit_code == 1
    assert "error" in bad.output


def test_everyday_commands_without_a_key_say_how_to_get_one(monkeypatch, tmp_path):
    monkeypatch.delenv("WAREHOUSE_API_KEY", raising=False)
    monkeypatch.setenv("WAREHOUSE_HOME", str(tmp_path))
    out = runner.invoke(app, ["buckets", "list"])
    assert out.exit_code == 2
    assert "no API key" in out.output
