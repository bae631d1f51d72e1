"""``warehouse buckets upload PATH…``: a folder of mixed files against a live server — text as text objects,
media through presigned uploads streamed from disk."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from warehouse.cli.app import app

DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
runner = CliRunner()


def test_upload_a_folder_of_text_images_and_a_pdf(live, tmp_path):
    ns, c = live.new_namespace()
    with c:
        bucket = c.post("/v1/buckets", json={"bucket_name": "mixed", "bucket_schema": {"properties": {
            "content": {"type": "text"}, "photo": {"type": "image"}, "report": {"type": "pdf"}}}}).json()["bucket_id"]
        folder = tmp_path / "drop"
        folder.mkdir()
        (folder / "note.txt").write_text("Tides follow the moon.")
        shutil.copy(DATA / "images" / "skimage_clip_captions" / "rocket.jpg", folder / "rocket.jpg")
        shutil.copy(DATA / "pdfs" / "002-trivial-libre-office-writer.pdf", folder / "trivial.pdf")
        (folder / ".hidden.png").write_bytes(b"skipped")
        out = runner.invoke(app, ["buckets", "upload", bucket, str(folder), "--api-url", live.base_url,
                                  "--api-key", live.key, "--namespace", ns])
        assert out.exit_code == 0, out.output
        made = json.loads(out.stdout[out.stdout.index("["):])
        assert sorted(Path(m["file"]).name for m in made) == ["note.txt", "rocket.jpg", "trivial.pdf"]
        kinds = {}
        for m in made:
            obj = c.get(f"/v1/buckets/{bucket}/objects/{m['object_id']}").json()
            kinds[Path(m["file"]).name] = (obj["blobs"][0]["property"], obj["blobs"][0]["type"])
        assert kinds == {"note.txt": ("content", "text"), "rocket.jpg": ("photo", "image"),
                         "trivial.pdf": ("report", "pdf")}
