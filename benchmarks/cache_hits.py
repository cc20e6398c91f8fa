"""Internal-cache hits: how fast a node answers from ``IMGPROXY_CACHE_USE=fs``, or with
``--store redis`` from the Redis tier alone (``IMGPROXY_CACHE_REDIS_URL``, a local redis-server).

On a CDN miss for an image some node has rendered, the answer comes from the internal cache:
no source, no libvips, only Python (the HTTP protocol, the URL's parsing and signature, the cache
key, one file read).  This measures that path: the server renders each of the distinct URLs once
(fit 512 of the harness's 12 MP JPEGs, 24 by default, one URL each, so no two connections ask for
the same file at once), then a load at a fixed concurrency gets them round-robin from the cache.
Reported: req/s, p50/p99 latency and server CPU per request, for each concurrency.

    .venv/bin/python benchmarks/cache_hits.py                      # 1 process, concurrency 8 and 32
    .venv/bin/python benchmarks/cache_hits.py --processes 2
    .venv/bin/python benchmarks/cache_hits.py --store redis      # needs redis-server on the PATH
    .venv/bin/python benchmarks/cache_hits.py --smoke              # seconds: proves it runs

Measure on a quiet machine: other work on the cores skews every figure.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import WORK_DIR, add_load_arguments, write_rows
from bench_measure import Target, ensure_wrk, load, probe
from bench_servers import free_port, start_imgproxy
from bench_sources import ensure_sources
from bench_workloads import Sources

TEMPLATE = "/unsafe/rs:fit:512:512/q:80/plain/local:///{src}.jpg"


@contextlib.contextmanager
def cache_settings(store: str) -> Iterator[dict[str, str]]:
    """The settings of an empty cache of ``store``: a temporary folder, or a redis-server of its own."""
    with tempfile.TemporaryDirectory(prefix="cache-hits-") as folder:
        if store == "fs":
            yield {"IMGPROXY_CACHE_USE": "fs", "IMGPROXY_CACHE_FS_ROOT": folder}
            return
        binary = shutil.which("redis-server")
        if binary is None:
            raise SystemExit("--store redis needs redis-server (Debian's redis-server package)")
        port = free_port()
        redis = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
                                 stdout=subprocess.DEVNULL)
        try:
            for _ in range(100):
                with socket.socket() as probe:
                    if probe.connect_ex(("127.0.0.1", port)) == 0:
                        break
                time.sleep(0.05)
            yield {"IMGPROXY_CACHE_REDIS_URL": f"redis://127.0.0.1:{port}/0"}
        finally:
            redis.terminate()
            redis.wait(10)


def run(processes: int, concurrencies: list[int], sources: int, duration: float, warmup: float,
        wrk: str | None, store: str = "fs") -> list[dict[str, object]]:
    root = ensure_sources(sources)
    with cache_settings(store) as settings:
        server = start_imgproxy(root, 2 * processes, log_path=WORK_DIR / "cache-hits.log",
                                env={"IMGPROXY_PROCESSES": str(processes), **settings})
        try:
            target = Target(TEMPLATE, Sources(root, sources, 0), "jpeg")
            # Every URL rendered and stored once, before anything is measured.
            for path in target.paths():
                answer = probe(server.base_url, path)
                if answer.status != 200:
                    raise RuntimeError(f"{path}: {answer.status} {answer.text} (see {WORK_DIR / 'cache-hits.log'})")
            rows = []
            for concurrency in concurrencies:
                m = load(server, target, wrk=wrk, concurrency=concurrency, warmup=warmup, seconds=duration)
                rows.append({"store": store, "processes": processes, "concurrency": concurrency,
                             "urls": sources, "rps": round(m.rps, 1), "p50_ms": round(m.p50_ms, 2),
                             "p99_ms": round(m.p99_ms, 2), "errors": m.errors,
                             "cpu_ms_per_req": round(m.cpu_ms_per_req, 3),
                             "server_cpu_pct": round(m.server_cpu_pct, 1), "load_generator": m.generator,
                             "load_generator_cpu_pct": round(m.generator_cpu_pct, 1)})
                print(json.dumps(rows[-1]), flush=True)
            return rows
        finally:
            server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", choices=("fs", "redis"), default="fs", help="the cache (default fs)")
    parser.add_argument("--processes", type=int, default=1, help="IMGPROXY_PROCESSES (default 1)")
    parser.add_argument("--concurrency", default="8,32", help="comma-separated client concurrencies (default 8,32)")
    add_load_arguments(parser, duration=15.0, warmup=2.0, smoke="2 sources, 1 s per run", results="cache-hits")
    args = parser.parse_args(argv)
    if args.smoke:
        args.sources, args.duration, args.warmup = 2, 1.0, 0.3
    wrk = None if args.python_load else ensure_wrk()
    rows = run(args.processes, [int(c) for c in args.concurrency.split(",")], args.sources, args.duration,
               args.warmup, wrk, args.store)
    if not args.smoke:
        write_rows(args.name or f"cache-hits-{time.strftime('%Y-%m-%d')}", rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
