"""``warehouse extractors push|deploy|status|list|undeploy|delete`` against a live server: the docs' upload
sequence from the command line."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from tests.api.test_plugins import plugin_folder
from warehouse.cli.app import app

runner = CliRunner()


def test_push_deploy_and_remove_a_plugin_from_the_command_line(live, tmp_path):
    ns, c = live.new_namespace()
    c.close()
    server = ["--api-url", live.base_url, "--api-key", live.key, "--namespace", ns]
    folder = plugin_folder(tmp_path, "cli_embed")
    pushed = runner.invoke(app, ["extractors", "push", str(folder), "--deploy", "realtime", *server])
    assert pushed.exit_code == 0, pushed.output
    body = json.loads(pushed.stdout[pushed.stdout.index("{"):])
    assert body["plugin_id"] == "cli_embed_1_0_0" and body["validation_status"] == "passed"
    status = runner.invoke(app, ["extractors", "status", "cli_embed_1_0_0", *server])
    assert json.loads(status.stdout)["status"] == "DEPLOYED", status.output
    listed = runner.invoke(app, ["extractors", "list", *server])
    assert "cli_embed@1.0.0" in listed.stdout and "DEPLOYED" in listed.stdout, listed.output
    assert runner.invoke(app, ["extractors", "undeploy", "cli_embed_1_0_0", *server]).stdout.strip() == "NOT_DEPLOYED"
    again = runner.invoke(app, ["extractors", "push", str(folder), *server])  # same code: confirmed again, no clash
    assert again.exit_code == 0, again.output
    assert runner.invoke(app, ["extractors", "delete", "cli_embed_1_0_0", *server]).exit_code == 0
    gone = runner.invoke(app, ["extractors", "status", "cli_embed_1_0_0", *server])
    assert gone.exit_code == 1 and "404" in gone.output


def test_push_refuses_a_plugin_that_fails_lint_before_sending_anything(live, tmp_path):
    folder = plugin_folder(tmp_path, "lint_embed")
    (folder / "pipeline.py").write_text((folder / "pipeline.py").read_text() + "\nimport subprocess\n")
    out = runner.invoke(app, ["extractors", "push", str(folder), "--api-url", live.base_url, "--api-key", live.key])
    text = " ".join(out.output.split())
    assert out.exit_code == 1 and "SEC001" in text and "fix the lint errors" in text, out.output
