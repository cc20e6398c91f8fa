"""Throughput of IMGPROXY_PROCESSES: the same load on 1, 2, ... server processes.

Each run serves the harness's distinct 12 MP JPEGs (``bench_sources``: 24 by default, taken
round-robin, so no source, decode or result cache helps) with fit-512 q80 JPEG at a fixed total
concurrency (wrk when it is installed, as ``run.py``), and reports req/s, p50/p99 latency, CPU
per request, peak RSS per process and the scaling against one process.  By default each process
has one worker slot (``IMGPROXY_WORKERS=1``), so that one process is one core's worth of work and
the scaling from 1 to N processes shows what the processes themselves add or cost.

``--layouts 1x4,2x2`` compares ways of spreading the same worker slots instead (processes x
workers per process), ``--repeats`` times interleaved, and adds context switches per request:
what chose the default of one process per CPU (``--workload smart``: fill 300x200 smart crop).

    .venv/bin/python benchmarks/processes.py                       # 1 and 2 processes x 1 worker, 24 sources
    .venv/bin/python benchmarks/processes.py --processes 1,2,4,8,16 --concurrency 32
    .venv/bin/python benchmarks/processes.py --workload smart --layouts 1x4,2x2 --repeats 3
    .venv/bin/python benchmarks/processes.py --workload face --env IMGPROXY_DETECTION_PROVIDERS=cuda
    .venv/bin/python benchmarks/processes.py --smoke               # seconds: proves it runs

``--workload face`` (fill 300x200, face gravity) goes round more byte-distinct variants of the
sources than the server's per-source detection cache holds, so every request runs the detector.

Measure on a quiet machine: other work on the cores skews every figure.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import WORK_DIR, add_load_arguments, write_rows
from bench_load import python_load
from bench_measure import Target, ensure_wrk, load
from bench_servers import start_imgproxy, tree_context_switches
from bench_sources import ensure_byte_variants, ensure_sources, face_variant_count
from bench_workloads import Sources

TEMPLATES = {
    "fit": "/unsafe/rs:fit:512:512/q:80/cb:{n}/plain/local:///{src}.jpg",
    "smart": "/unsafe/rs:fill:300:200/g:sm/q:80/cb:{n}/plain/local:///{src}.jpg",
    "face": "/unsafe/rs:fill:300:200/g:obj:face/q:80/cb:{n}/plain/local:///{src}.jpg",
}


def run(processes: int, workers: int, concurrency: int, sources: int, duration: float,
        warmup: float, wrk: str | None, workload: str = "fit",
        settings: dict[str, str] | None = None) -> dict[str, object]:
    root = ensure_sources(sources)
    variants = face_variant_count() if workload == "face" else 0
    if variants:
        ensure_byte_variants(variants, sources)
    # IMGPROXY_WORKERS is the server's total, shared out between its processes.
    server = start_imgproxy(root, workers * processes, env={**(settings or {}), "IMGPROXY_PROCESSES": str(processes)},
                            log_path=WORK_DIR / f"processes-{processes}.log")
    try:
        target = Target(TEMPLATES[workload], Sources(root, sources, variants), "variants" if variants else "jpeg")
        python_load(server.base_url, target.paths()[:2], concurrency=2, duration=0.5, warmup=0.0)  # load the models
        switches = tree_context_switches(server.proc.pid)
        m = load(server, target, wrk=wrk, concurrency=concurrency, warmup=warmup, seconds=duration)
        # Counted over the warm-up too: per request of both.
        switches = tree_context_switches(server.proc.pid) - switches
        served = (m.requests + m.errors) * (1 + warmup / duration)
        return {"workload": workload, **({"settings": settings} if settings else {}),
                "processes": processes, "workers_per_process": workers,
                "concurrency": concurrency, "context_switches_per_req": round(switches / max(1.0, served)),
                "rps": round(m.rps, 2), "p50_ms": round(m.p50_ms, 1), "p99_ms": round(m.p99_ms, 1),
                "errors": m.errors, "cpu_ms_per_req": round(m.cpu_ms_per_req, 1),
                "server_cpu_pct": round(m.server_cpu_pct, 1), "load_generator": m.generator,
                # The whole tree (the supervisor too, when there is one) over the server processes.
                "peak_rss_mb_total": round(m.peak_rss_mb, 1),
                "peak_rss_mb_per_process": round(m.peak_rss_mb / processes, 1)}
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--processes", default="1,2", help="comma-separated process counts (default 1,2)")
    parser.add_argument("--layouts", default="",
                        help="comma-separated PROCESSESxWORKERS, e.g. 1x4,2x2 (instead of --processes/--workers)")
    parser.add_argument("--workload", choices=sorted(TEMPLATES), default="fit",
                        help="fit: fit 512 JPEG (default); smart: fill 300x200 smart crop; face: face gravity")
    parser.add_argument("--repeats", type=int, default=1, help="runs of every layout, interleaved (default 1)")
    parser.add_argument("--workers", type=int, default=1,
                        help="IMGPROXY_WORKERS per process (default 1: one process is one core's worth)")
    parser.add_argument("--concurrency", type=int, default=8, help="total client concurrency (default 8)")
    parser.add_argument("--env", action="append", default=[], metavar="IMGPROXY_X=VALUE",
                        help="a server setting for every run, e.g. IMGPROXY_DETECTION_PROVIDERS=cuda (repeatable)")
    add_load_arguments(parser, duration=20.0, warmup=3.0, smoke="2 sources, 2 s per run", results="processes")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sources, args.duration, args.warmup = 2, 2.0, 0.5
    layouts = ([tuple(int(x) for x in item.split("x")) for item in args.layouts.split(",")] if args.layouts
               else [(int(c), args.workers) for c in args.processes.split(",")])
    settings = dict(item.split("=", 1) for item in args.env)
    wrk = None if args.python_load else ensure_wrk()
    rows = [run(n, w, args.concurrency, args.sources, args.duration, args.warmup, wrk, args.workload, settings)
            for _ in range(args.repeats) for n, w in layouts]
    base = float(str(rows[0]["rps"])) or 1.0
    for row in rows:
        row["scaling"] = round(float(str(row["rps"])) / base, 2)
        print(json.dumps(row), flush=True)
    if not args.smoke:
        write_rows(args.name or f"processes-{time.strftime('%Y-%m-%d')}", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
