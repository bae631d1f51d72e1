"""What the Landlock sandbox costs a batch: the same extractor over the same rows, in the shared workers and
confined (as an uploaded plugin runs), through real Ray Data ``map_batches`` in this process.

Each mode runs twice; the second run is the one that counts (the first pays worker start and model load, which
both modes cache per worker). Prints JSON lines:

    {"mode": "shared", "rows": N, "seconds": s, "rows_per_s": x}
    {"mode": "confined", "rows": N, "seconds": s, "rows_per_s": y, "first_run_seconds": f}
    {"ratio_confined_to_shared": y / x}

Usage: python bench/sandbox_overhead.py --n 2000 [--extractor st_embed] [--dataset ../shared/data/scifact]
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.ingest import load_texts  # noqa: E402
from warehouse.batch.engine import ensure_ray, run_pipeline  # noqa: E402
from warehouse.extractors.loader import SPEC_SUFFIX, load_confined, load_plugin  # noqa: E402
from warehouse.extractors.sandbox import lint_confined  # noqa: E402


def frame(ext, texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame([{
        "data": t, "document_id": f"doc_{i:06d}", "object_id": f"obj_{i:06d}", "blob_id": f"blob_{i:06d}",
        "blob_property": "content", "blob_type": "text", "collection_id": "col_bench",
        "feature_extractor_id": ext.spec.extractor_id, "mime_type": "text/plain", "size_bytes": len(t),
    } for i, t in enumerate(texts)])


def timed(ext, rows: pd.DataFrame) -> float:
    started = time.perf_counter()
    out = sum(len(batch) for batch in run_pipeline(ext, rows, dict(ext.spec.parameter_defaults)))
    assert out == len(rows), (out, len(rows))
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=2000)
    parser.add_argument("--extractor", default="st_embed", help="a folder of examples/extractors")
    parser.add_argument("--dataset", type=Path, default=ROOT.parent / "shared" / "data" / "scifact")
    args = parser.parse_args()
    texts = load_texts(args.dataset, args.n)
    ensure_ray()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "plugins" / "ns_bench" / "plg_bench"
        shutil.copytree(ROOT / "examples" / "extractors" / args.extractor, folder,
                        ignore=shutil.ignore_patterns("__pycache__"))
        report = lint_confined(folder)  # what confirm does: the spec comes from the sandboxed check
        folder.with_name(folder.name + SPEC_SUFFIX).write_text(json.dumps(report["spec"]))
        shared, confined = load_plugin(folder), load_confined(folder, "ns_bench")
        results = {}
        for mode, ext in (("shared", shared), ("confined", confined)):
            rows = frame(ext, texts)
            first = timed(ext, rows)
            seconds = timed(ext, rows)
            results[mode] = len(rows) / seconds
            print(json.dumps({"mode": mode, "rows": len(rows), "seconds": round(seconds, 3),
                              "rows_per_s": round(results[mode], 1), "first_run_seconds": round(first, 3)}))
    print(json.dumps({"ratio_confined_to_shared": round(results["confined"] / results["shared"], 3)}))


if __name__ == "__main__":
    main()
