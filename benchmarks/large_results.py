"""Results far larger than their sources (``el:1`` up to 16000 px): seconds and the server's
peak memory for the encodings that read a result more than once, and how soon a request past
``IMGPROXY_TIMEOUT`` is answered.

    .venv/bin/python benchmarks/large_results.py [--size 12000] [--timeout 3]

Each case enlarges another demo photo (a distinct source, so no cache answers), first with
``IMGPROXY_TIMEOUT=300`` (the whole cost), then on a server with ``--timeout`` (the 503's delay
past it).  Peak memory is the server's VmHWM growth over its idle RSS during each request (Linux:
reset before each one).  Output: a table on stdout and ``benchmarks/results/large-results-<date>.json``.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import WORK_DIR, rel, save_results, table_head
from bench_servers import start_imgproxy

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"
# (what the case exercises, options with {size}, demo photo, output extension)
CASES = (
    ("full-colour PNG", "el:1/rs:fit:{size}:{size}", "chelsea.jpg", "@png"),
    ("palette PNG (colours counted)", "el:1/rs:fit:{size}:{size}", "pil123p.png", "@png"),
    ("autoquality dssim", "el:1/rs:fit:{size}:{size}/aq:dssim", "coffee.jpg", ""),
    ("max_bytes", "el:1/rs:fit:{size}:{size}/mb:100000", "rocket.jpg", ""),
    ("best format", "el:1/rs:fit:{size}:{size}/f:best", "astronaut.jpg", ""),
)


def measure(size: int, timeout: float) -> list[dict[str, object]]:
    server = start_imgproxy(DEMO, 2, env={"IMGPROXY_TIMEOUT": str(timeout), "IMGPROXY_PROCESSES": "1"})
    results: list[dict[str, object]] = []
    try:
        with httpx.Client(timeout=timeout + 120) as client:
            for name, options, photo, extension in CASES:
                growth = server.peak_growth()
                started = time.perf_counter()
                response = client.get(f"{server.base_url}/unsafe/{options.format(size=size)}/cb:{timeout}"
                                      f"/plain/local:///{photo}{extension}")
                results.append({"case": name, "timeout": timeout, "status": response.status_code,
                                "bytes": len(response.content), "seconds": time.perf_counter() - started,
                                "peak_growth_mb": growth()})
    finally:
        server.stop()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=12000, help="the longest side asked for (px)")
    parser.add_argument("--timeout", type=float, default=3.0, help="IMGPROXY_TIMEOUT of the second pass (s)")
    args = parser.parse_args()
    command = ("python benchmarks/large_results.py " + shlex.join(sys.argv[1:])).strip()
    WORK_DIR.mkdir(parents=True, exist_ok=True)
    results = measure(args.size, 300.0) + measure(args.size, args.timeout)
    out = save_results("large_results", command, results, size=args.size)
    print(f"$ {command}\n")
    print(table_head("case", "IMGPROXY_TIMEOUT", "status", "bytes", "seconds", "server peak memory growth"))
    for r in results:
        print(f"| {r['case']} | {r['timeout']:g} | {r['status']} | {r['bytes']} | {r['seconds']:.2f} "
              f"| {r['peak_growth_mb']:.0f} MiB |")
    print(f"\nresults in {rel(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
