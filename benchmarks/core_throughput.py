"""Core throughput: the imgproxy_py server against calling pyvips directly, same images, same sizes.

Workloads on the 12 MP JPEG (see ``bench_common.build_source``):

* ``fit``:  ``rs:fit:512:512/q:80``  vs ``thumbnail_buffer(data, 512, height=512)`` + ``jpegsave_buffer(Q=80)``
* ``fill``: ``rs:fill:300:200/q:80`` vs the same with ``crop="centre"``

The direct baseline runs ``--concurrency`` threads in a tight loop in this process (pyvips drops
the GIL inside libvips).  The server is one ``imgproxy-py serve`` process with
``IMGPROXY_WORKERS=--workers``, loaded by ``--concurrency`` client threads, each over its own
keep-alive connection (http.client), for ``--duration`` seconds after a warm-up.  Both sides run
``--repeats`` times, interleaved, and the medians are reported, because the machine may be shared.

Besides req/s, CPU milliseconds per image are reported for both sides (this process's CPU for the
baseline, the server process's CPU for the server): they are much less sensitive to other load on
the machine than req/s.  ``--matched`` adds a second baseline that encodes like the server does
(``optimize_coding=True``, metadata stripped), to tell the pipeline's cost from the encoder's.

Output: a table on stdout and ``benchmarks/results/core-<date>.json``.

Run: ``.venv/bin/python benchmarks/core_throughput.py [--duration 15] [--repeats 3] [--matched]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import RESULTS_DIR, ensure_images, machine_info, rel
from bench_load import in_process_loop, median, python_load
from bench_servers import imgproxy_command_line, start_imgproxy


@dataclass(frozen=True)
class Size:
    name: str
    width: int
    height: int
    crop: bool

    @property
    def server_path(self) -> str:
        mode = "fill" if self.crop else "fit"
        # cb (cache buster) makes every URL unique: the server shares one computation between
        # concurrent identical requests, which would halve its work here.
        return f"/unsafe/rs:{mode}:{self.width}:{self.height}/q:80/cb:{{n}}/plain/local:///photo.jpg"


SIZES = {"fit": Size("fit 512x512", 512, 512, False), "fill": Size("fill 300x200", 300, 200, True)}


def direct_once(data: bytes, size: Size, matched: bool) -> bytes:
    kwargs: dict[str, Any] = {"crop": "centre"} if size.crop else {}
    img = pyvips.Image.thumbnail_buffer(data, size.width, height=size.height, **kwargs)
    if matched:  # what the server's JPEG encoder does
        return bytes(img.jpegsave_buffer(Q=80, optimize_coding=True, subsample_mode="auto", keep="none"))
    return bytes(img.jpegsave_buffer(Q=80))


def direct_run(data: bytes, size: Size, *, concurrency: int, duration: float, warmup: float,
               matched: bool) -> dict[str, float]:
    res = in_process_loop(lambda: direct_once(data, size, matched), threads=concurrency, warmup=warmup,
                          seconds=duration)
    return {"requests": res["requests"], "rps": res["rps"], "cpu_ms_per_image": res["cpu_ms_per_image"]}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--duration", type=float, default=15.0, help="seconds per measurement (default 15)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of warm-up before each (default 2)")
    parser.add_argument("--repeats", type=int, default=3, help="interleaved repeats; medians are reported")
    parser.add_argument("--concurrency", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2, help="IMGPROXY_WORKERS of the server")
    parser.add_argument("--sizes", default="fit,fill", help="comma list of: fit, fill")
    parser.add_argument("--matched", action="store_true",
                        help="also time a baseline with the server's JPEG settings (optimize_coding, strip)")
    parser.add_argument("--output", type=Path, default=None, help="JSON path (default results/core-<date>.json)")
    args = parser.parse_args(argv)
    command = "python " + rel(__file__) + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip()

    pyvips.cache_set_max(0)  # as the server does
    images = ensure_images()
    data = images.jpeg.read_bytes()
    sizes = [SIZES[s.strip()] for s in args.sizes.split(",") if s.strip()]
    info = machine_info()
    server = start_imgproxy(images.folder, args.workers)
    runs: dict[str, dict[str, list[dict[str, float]]]] = {s.name: {"direct": [], "matched": [], "server": []}
                                                          for s in sizes}
    try:
        for rep in range(args.repeats):
            for size in sizes:
                d = direct_run(data, size, concurrency=args.concurrency, duration=args.duration,
                               warmup=args.warmup, matched=False)
                runs[size.name]["direct"].append(d)
                if args.matched:
                    runs[size.name]["matched"].append(direct_run(
                        data, size, concurrency=args.concurrency, duration=args.duration,
                        warmup=args.warmup, matched=True))
                cpu0 = server.cpu_seconds()
                t0 = time.perf_counter()
                load = python_load(server.base_url, [size.server_path], concurrency=args.concurrency,
                                   duration=args.duration, warmup=args.warmup)
                cpu_total = server.cpu_seconds() - cpu0
                wall = time.perf_counter() - t0
                # server CPU is measured over warm-up + run; scale by the measured share of requests
                served = load.requests * (wall / args.duration)
                s = {"requests": load.requests, "rps": load.rps, "errors": load.errors,
                     "p50_ms": load.percentile(50), "p99_ms": load.percentile(99),
                     "cpu_ms_per_image": cpu_total * 1000 / max(1.0, served),
                     "client_cpu_pct": 100 * load.client_cpu_s / args.duration}
                runs[size.name]["server"].append(s)
                print(f"[{rep + 1}/{args.repeats}] {size.name}: direct {d['rps']:.1f}/s, server {s['rps']:.1f}/s "
                      f"({100 * s['rps'] / max(d['rps'], 1e-9):.0f}%)", file=sys.stderr, flush=True)
        peak_rss = server.peak_rss_mb()
    finally:
        server.stop()

    summary: dict[str, Any] = {}
    for size in sizes:
        r = runs[size.name]
        ratios = [s["rps"] / d["rps"] for s, d in zip(r["server"], r["direct"], strict=True) if d["rps"]]
        entry: dict[str, Any] = {
            "server_path": size.server_path,
            "direct_rps": median([x["rps"] for x in r["direct"]]),
            "server_rps": median([x["rps"] for x in r["server"]]),
            "ratio_median_of_pairs": median(ratios),
            "direct_cpu_ms_per_image": median([x["cpu_ms_per_image"] for x in r["direct"]]),
            "server_cpu_ms_per_image": median([x["cpu_ms_per_image"] for x in r["server"]]),
            "server_p50_ms": median([x["p50_ms"] for x in r["server"]]),
            "server_p99_ms": median([x["p99_ms"] for x in r["server"]]),
            "client_cpu_pct": median([x["client_cpu_pct"] for x in r["server"]]),
            "runs": r,
        }
        entry["ratio"] = entry["server_rps"] / entry["direct_rps"] if entry["direct_rps"] else float("nan")
        entry["cpu_efficiency"] = entry["direct_cpu_ms_per_image"] / entry["server_cpu_ms_per_image"]
        if r["matched"]:
            entry["matched_rps"] = median([x["rps"] for x in r["matched"]])
            entry["matched_cpu_ms_per_image"] = median([x["cpu_ms_per_image"] for x in r["matched"]])
            entry["ratio_vs_matched"] = entry["server_rps"] / entry["matched_rps"]
        summary[size.name] = entry

    result = {
        "benchmark": "core_throughput",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "server_command": imgproxy_command_line(args.workers, rel(images.folder)),
        "settings": {"duration_s": args.duration, "warmup_s": args.warmup, "repeats": args.repeats,
                     "concurrency": args.concurrency, "workers": args.workers,
                     "source": f"{rel(images.jpeg)} ({images.jpeg.stat().st_size} bytes, 4000x3000)"},
        "machine": info,
        "server_peak_rss_mb": peak_rss,
        "goal_ratio": 0.85,
        "results": summary,
    }
    out = args.output or RESULTS_DIR / f"core-{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"\n$ {command}")
    print(f"server: {result['server_command']}")
    print(f"concurrency {args.concurrency}, {args.repeats} x {args.duration:.0f}s per side, medians; "
          f"load average at start {info['loadavg_at_start'][0]:.1f}\n")
    header = ("| workload | direct pyvips req/s | server req/s | ratio | median of per-run ratios "
              "| direct CPU ms/img | server CPU ms/img |")
    if args.matched:
        header += " matched-encoder req/s | ratio vs matched |"
    print(header)
    print("|" + "---|" * (header.count("|") - 1))
    for name, e in summary.items():
        line = (f"| {name} | {e['direct_rps']:.1f} | {e['server_rps']:.1f} | {100 * e['ratio']:.0f}% | "
                f"{100 * e['ratio_median_of_pairs']:.0f}% | {e['direct_cpu_ms_per_image']:.0f} | "
                f"{e['server_cpu_ms_per_image']:.0f} |")
        if args.matched:
            line += f" {e['matched_rps']:.1f} | {100 * e['ratio_vs_matched']:.0f}% |"
        print(line)
    print(f"\nserver peak RSS {peak_rss:.0f} MiB; results in {rel(out)}")
    missed = [n for n, e in summary.items() if e["ratio"] < 0.85]
    if missed:
        print(f"below the 85% goal: {', '.join(missed)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
