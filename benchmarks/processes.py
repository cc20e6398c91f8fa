"""Throughput of IMGPROXY_PROCESSES: the same load on 1, 2, ... server processes.

Each run serves many distinct 12 MP JPEGs (variants of the harness's photo: mirrored, shifted
and re-encoded, so no source, decode or result cache helps) with fit-512 JPEG at a fixed
total concurrency, and reports req/s, p50/p99 latency, peak RSS per process and the scaling
against one process.

    .venv/bin/python benchmarks/processes.py                       # 1 and 2 processes, 24 sources
    .venv/bin/python benchmarks/processes.py --processes 1,2,4,8,16 --workers 2 --concurrency 32
    .venv/bin/python benchmarks/processes.py --smoke               # seconds: proves it runs

Measure on a quiet machine: other work on the cores skews every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import (
    RESULTS_DIR,
    WORK_DIR,
    ensure_images,
    machine_info,
    python_load,
    start_imgproxy,
)


def distinct_sources(count: int) -> Path:
    """``count`` different 12 MP JPEGs in one folder (built once, reused)."""
    import pyvips

    folder = WORK_DIR / "distinct"
    folder.mkdir(parents=True, exist_ok=True)
    base = pyvips.Image.new_from_file(str(ensure_images().jpeg))
    for n in range(count):
        path = folder / f"src{n:03d}.jpg"
        if path.exists():
            continue
        img = base.fliphor() if n % 2 else base
        # A roll by a different offset per source: same content statistics, different bytes.
        shift = (n * 997) % img.width
        img = img.wrap(x=shift, y=(n * 331) % img.height)
        img.jpegsave(str(path), Q=88 + n % 4, optimize_coding=True, subsample_mode="on")
    return folder


def run(processes: int, workers: int, concurrency: int, sources: int, duration: float,
        warmup: float) -> dict[str, object]:
    root = distinct_sources(sources)
    server = start_imgproxy(root, workers, env={"IMGPROXY_PROCESSES": str(processes)},
                            log_path=WORK_DIR / f"processes-{processes}.log")
    try:
        paths = [f"/unsafe/rs:fit:512:512/cb:{{n}}/plain/local:///src{n:03d}.jpg@jpg" for n in range(sources)]
        python_load(server.base_url, paths[:2], concurrency=2, duration=0.5, warmup=0.0)  # load the models
        server.reset_peak()
        result = python_load(server.base_url, paths, concurrency=concurrency, duration=duration, warmup=warmup)
        return {"processes": processes, "workers_per_process": workers, "concurrency": concurrency,
                "rps": round(result.rps, 2), "p50_ms": round(result.percentile(50), 1),
                "p99_ms": round(result.percentile(99), 1), "errors": result.errors,
                # The whole tree (the supervisor too, when there is one) over the server processes.
                "peak_rss_mb_total": round(server.peak_rss_mb(), 1),
                "peak_rss_mb_per_process": round(server.peak_rss_mb() / processes, 1)}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2", help="comma-separated process counts (default 1,2)")
    parser.add_argument("--workers", type=int, default=2, help="IMGPROXY_WORKERS per process (default 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="total client concurrency (default 8)")
    parser.add_argument("--sources", type=int, default=24, help="distinct 12 MP sources (default 24)")
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--smoke", action="store_true", help="2 sources, 2 s per run: checks the script works")
    parser.add_argument("--name", default="", help="results file name (default processes-<date>)")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sources, args.duration, args.warmup = 2, 2.0, 0.5
    counts = [int(c) for c in args.processes.split(",")]
    rows = [run(n, args.workers, args.concurrency, args.sources, args.duration, args.warmup) for n in counts]
    base = float(str(rows[0]["rps"])) or 1.0
    for row in rows:
        row["scaling"] = round(float(str(row["rps"])) / base, 2)
        print(json.dumps(row), flush=True)
    if not args.smoke:
        RESULTS_DIR.mkdir(exist_ok=True)
        name = args.name or f"processes-{time.strftime('%Y-%m-%d')}"
        out = RESULTS_DIR / f"{name}.json"
        out.write_text(json.dumps({"machine": machine_info(), "cpus": os.cpu_count(), "rows": rows}, indent=2))
        print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
