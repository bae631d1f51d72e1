"""Screenshots of the Dagster UI with headless Chromium, driven over the DevTools protocol.

    .venv/bin/python scripts/ui_screenshots.py --ui http://127.0.0.1:3000 --out docs/img

Takes the asset lineage graph, the partitions of ``collection_documents``, the sensor pages, and the
enrichment assets (taxonomy partitions, the cluster materialization with its plot, schedules).
Needs a ``chromium`` binary (Debian: ``apt-get install chromium``); dismisses Dagster's first-visit
newsletter dialog before each capture.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import httpx
import websockets

PAGES = {
    "asset-graph": "/asset-groups/warehouse/lineage",
    "collection-documents-partitions": "/assets/collection_documents?view=partitions",
    "collection-documents-overview": "/assets/collection_documents",
    "sensors": "/automation",
    "sensor-local-new-objects": "/locations/warehouse.definitions/sensors/local_new_objects",
    "runs": "/runs",
    "enrichment-graph": "/asset-groups/enrichment/lineage",
    "taxonomy-assignments-partitions": "/assets/taxonomy_assignments?view=partitions",
    "cluster-groups-overview": "/assets/cluster_groups",
    "schedules": "/automation?tab=schedules",
}
HEIGHT = 1000
DISMISS = "[...document.querySelectorAll('button')].filter(b => b.textContent.trim() === 'Skip').forEach(b => b.click())"


async def capture(ws_url: str, url: str, path: Path, settle: float, height: int = HEIGHT) -> None:
    async with websockets.connect(ws_url, max_size=64 * 1024 * 1024) as ws:
        ids = iter(range(1, 10**6))

        async def call(method: str, **params):
            msg_id = next(ids)
            await ws.send(json.dumps({"id": msg_id, "method": method, "params": params}))
            while True:
                reply = json.loads(await ws.recv())
                if reply.get("id") == msg_id:
                    return reply.get("result", {})

        await call("Page.enable")
        await call("Emulation.setDeviceMetricsOverride", width=1600, height=height, deviceScaleFactor=1, mobile=False)
        await call("Page.navigate", url=url)
        await asyncio.sleep(settle)
        await call("Runtime.evaluate", expression=DISMISS)
        await asyncio.sleep(1.5)
        shot = await call("Page.captureScreenshot", format="png")
        path.write_bytes(base64.b64decode(shot["data"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ui", default="http://127.0.0.1:3000")
    parser.add_argument("--out", type=Path, default=Path("docs/img"))
    parser.add_argument("--settle", type=float, default=6.0, help="seconds to let each page load")
    parser.add_argument("--port", type=int, default=9333)
    parser.add_argument("--height", type=int, default=1000, help="viewport height (tall pages: the cluster plot)")
    parser.add_argument("--only", default="", help="comma list of page names to take")
    args = parser.parse_args()
    binary = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
    if binary is None:
        raise SystemExit("no chromium binary on PATH; install one (Debian: apt-get install chromium)")
    args.out.mkdir(parents=True, exist_ok=True)
    profile = tempfile.mkdtemp(prefix="wh-chromium-")
    proc = subprocess.Popen([binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
                             f"--remote-debugging-port={args.port}", "--remote-debugging-address=127.0.0.1",
                             f"--user-data-dir={profile}", "about:blank"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            try:
                targets = httpx.get(f"http://127.0.0.1:{args.port}/json", timeout=1).json()
                page = next(t for t in targets if t.get("type") == "page")
                break
            except (httpx.HTTPError, StopIteration):
                time.sleep(0.2)
        else:
            raise SystemExit("chromium did not open its DevTools endpoint")
        wanted = set(filter(None, args.only.split(",")))
        for name, path in PAGES.items():
            if wanted and name not in wanted:
                continue
            target = args.out / f"{name}.png"
            asyncio.run(capture(page["webSocketDebuggerUrl"], args.ui.rstrip("/") + path, target, args.settle,
                                args.height))
            print(target)
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(profile, ignore_errors=True)


if __name__ == "__main__":
    main()
