"""What rendering an SVG in a worker process costs (``imaging/codecs/svg_render.py``) against
rendering it in the server's process, as before, in-process, no HTTP.

    .venv/bin/python benchmarks/svg_render_cost.py [--rounds 5] [--variants 200]
    .venv/bin/python benchmarks/svg_render_cost.py --server http://127.0.0.1:8080

Many distinct SVGs (icons: shapes, a gradient, text, every fourth with a drop shadow filter),
each rendered once per round at two sizes; a figure is the median over the rounds of the mean
milliseconds per render, both ways, and the pixels are checked equal.  With ``--server`` (one
started with ``--demo``): whole requests instead, 300 distinct sizes of ``badge.svg`` to PNG one
at a time (median and p90 ms), then 600 by two clients at once (requests/s); run it against a
server of each version to compare.  Output: a table on stdout and
``benchmarks/results/svg-render-cost-<date>.json``.
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import threading
import time
import urllib.parse
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_common import save_results, table_head

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.vips_config import configure_libvips

SIZES = {"240x120": 1.0, "960x480": 0.25}


def icon(seed: int) -> bytes:
    rng = random.Random(seed)
    shapes = "".join(
        f'<circle cx="{rng.randint(0, 240)}" cy="{rng.randint(0, 120)}" r="{rng.randint(4, 40)}" '
        f'fill="#{rng.randrange(1 << 24):06x}" opacity="{rng.uniform(0.3, 1):.2f}"/>'
        for _ in range(rng.randint(3, 12)))
    shadow = '<filter id="s"><feDropShadow dx="2" dy="2" stdDeviation="2"/></filter>' if seed % 4 == 0 else ""
    use = ' filter="url(#s)"' if shadow else ""
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="240" height="120"><defs>{shadow}'
            f'<linearGradient id="g"><stop offset="0" stop-color="#{rng.randrange(1 << 24):06x}"/>'
            f'<stop offset="1" stop-color="#fff"/></linearGradient></defs>'
            f'<rect width="240" height="120" rx="12" fill="url(#g)"/><g{use}>{shapes}</g>'
            f'<text x="20" y="100" font-size="24">#{seed}</text></svg>').encode()


def ms_per_render(sources: list[bytes], shrink: float, apart: bool) -> float:
    started = time.perf_counter()
    for data in sources:
        img = loader.load(data, ImageFormat.SVG, shrink=shrink, lazy_vector=not apart)
        if not apart:
            img = img.copy_memory()  # what a step reading its pixels makes it do
    return (time.perf_counter() - started) / len(sources) * 1e3


def fetch_all(server: str, paths: list[str], seconds: list[float]) -> None:
    url = urllib.parse.urlsplit(server)
    connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port or 80, timeout=60)
    for path in paths:
        started = time.perf_counter()
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        if response.status != 200:
            raise SystemExit(f"{path}: {response.status}")
        seconds.append(time.perf_counter() - started)


def over_http(server: str) -> list[dict[str, object]]:
    paths = [f"/unsafe/rs:fit:{width}:0/plain/local:///badge.svg@png" for width in range(100, 400)]
    fetch_all(server, paths[:20], [])
    one: list[float] = []
    fetch_all(server, paths, one)
    pairs = [f"/unsafe/rs:fit:{width}:0/q:{q}/plain/local:///badge.svg@png"
             for width in range(100, 400) for q in (70, 71)]
    started = time.perf_counter()
    clients = [threading.Thread(target=fetch_all, args=(server, pairs[i::2], [])) for i in range(2)]
    for client in clients:
        client.start()
    for client in clients:
        client.join()
    rate = len(pairs) / (time.perf_counter() - started)
    median, p90 = statistics.median(one) * 1e3, sorted(one)[int(len(one) * 0.9)] * 1e3
    print(table_head("server", "c=1 median ms", "c=1 p90 ms", "c=2 requests/s"))
    print(f"| {server} | {median:.2f} | {p90:.2f} | {rate:.1f} |")
    return [{"server": server, "median_ms": round(median, 2), "p90_ms": round(p90, 2),
             "requests_per_s": round(rate, 1)}]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--variants", type=int, default=200, help="distinct SVGs (default 200)")
    parser.add_argument("--server", help="measure whole requests to this server (started with --demo)")
    args = parser.parse_args(argv)
    command = "python benchmarks/svg_render_cost.py " + " ".join(argv or sys.argv[1:])
    if args.server:
        save_results("svg-render-cost-http", command, over_http(args.server))
        return 0
    configure_libvips()
    sources = [icon(seed) for seed in range(args.variants)]
    for data in sources[:5]:  # the pixels are the same both ways
        apart = loader.load(data, ImageFormat.SVG)
        here = loader.load(data, ImageFormat.SVG, lazy_vector=True).copy_memory()
        assert apart.write_to_memory() == here.write_to_memory()
    rows = []
    print(table_head("render", "distinct SVGs", "in a worker process, ms", "in the server's process, ms", "more, ms"))
    for size, shrink in SIZES.items():
        ms_per_render(sources[:20], shrink, True)  # warm: the worker started
        apart = statistics.median(ms_per_render(sources, shrink, True) for _ in range(args.rounds))
        here = statistics.median(ms_per_render(sources, shrink, False) for _ in range(args.rounds))
        rows.append({"size": size, "svgs": len(sources), "worker_ms": round(apart, 2), "in_process_ms": round(here, 2)})
        print(f"| {size} | {len(sources)} | {apart:.2f} | {here:.2f} | {apart - here:.2f} |", flush=True)
    save_results("svg-render-cost", command, rows, rounds=args.rounds)
    return 0


if __name__ == "__main__":
    sys.exit(main())
