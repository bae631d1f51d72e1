"""Wall time of `warehouse plugins test` on an example plugin, as a user runs it (fresh process,
its own Ray start included), against the plugin's steps called directly in this process.

Prints JSON lines:
    {"stage": "plugins_test", "plugin": ..., "seconds": s, "ok": true}
    {"stage": "direct_call", "plugin": ..., "seconds": s}
Target: plugins_test under 20 s for examples/extractors/text_embed on the 2-core machine.

Usage: python bench/plugin_test.py [--plugin examples/extractors/text_embed]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--plugin", type=Path, default=ROOT / "examples" / "extractors" / "text_embed")
    args = parser.parse_args()
    exe = Path(sys.executable).with_name("warehouse")
    start = time.perf_counter()
    proc = subprocess.run([str(exe), "plugins", "test", str(args.plugin), "--json"], capture_output=True, text=True)
    seconds = time.perf_counter() - start
    report = json.loads(proc.stdout) if proc.stdout.strip().startswith("{") else {"ok": False}
    print(json.dumps({"stage": "plugins_test", "plugin": args.plugin.name, "seconds": round(seconds, 2),
                      "ok": report.get("ok"), "exit": proc.returncode}), flush=True)

    from warehouse.batch.harness import sample_frame
    from warehouse.extractors.loader import load_plugin

    ext = load_plugin(args.plugin)
    start = time.perf_counter()
    steps, _ = ext.build_steps({})
    frame = sample_frame(ext)
    for step in steps:
        frame = step(frame)
    print(json.dumps({"stage": "direct_call", "plugin": args.plugin.name,
                      "seconds": round(time.perf_counter() - start, 3)}), flush=True)


if __name__ == "__main__":
    main()
