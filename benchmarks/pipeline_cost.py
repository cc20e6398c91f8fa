"""Where a request's CPU goes: imgproxy_py's processing in-process against the workload's raw
pyvips loop, on the same source bytes, alternated call by call; and reading the source file.

run.py and paired.py compare the server with a raw loop that holds its sources in memory.  This
splits the server's difference from that loop in two: the pipeline (parsing the URL, the steps,
the encoder; measured here with no HTTP) and what serving adds around it (reading the source
file, measured here; HTTP, the thread hand-off and the log line, which is what remains).

    .venv/bin/python benchmarks/pipeline_cost.py [--only w1,w2,w4,w5] [--sources 8] [--rounds 3]

Settings as the server's defaults (``build_services``: libvips with one thread per operation, its
operation cache off), plus ``--imgproxy-env NAME=VALUE``.  CPU is this process's user+system time
around each call (libvips' threads included); each figure is the median over every call.
Output: a table on stdout and ``benchmarks/results/pipeline-cost-<date>.json``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import resource
import shlex
import statistics
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_common import RESULTS_DIR, machine_info, rel, table_head
from bench_sources import ensure_sources, source_names
from bench_workloads import WORKLOADS, Workload

from imgproxy_py.config import load_config
from imgproxy_py.deadline import Deadline
from imgproxy_py.imaging.pipeline import process_image
from imgproxy_py.options.parser import ClientFeatures
from imgproxy_py.server.checks import parse_and_verify
from imgproxy_py.server.composition import Services, build_services

DEFAULT_ONLY = "w1,w2,w4,w5"


def cpu_ms(call: Callable[[], object]) -> float:
    """CPU milliseconds this process spent in ``call`` (every thread: libvips works in its own)."""
    before = resource.getrusage(resource.RUSAGE_SELF)
    call()
    after = resource.getrusage(resource.RUSAGE_SELF)
    return 1000 * ((after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime))


def summarise(samples: dict[str, list[float]]) -> dict[str, float]:
    """Medians of ``read``, ``ours`` and ``raw`` (CPU ms a call) and the ratios that matter:
    raw over ours (the pipeline's share; above 1: ours spends less) and raw over ours plus the
    read (what a server that reads its sources can reach against the in-memory raw loop)."""
    read, ours, raw = (statistics.median(samples[k]) for k in ("read", "ours", "raw"))
    return {"read_ms": read, "ours_ms": ours, "raw_ms": raw,
            "raw_over_ours": raw / ours, "raw_over_ours_and_read": raw / (ours + read)}


def process(services: Services, template: str, name: str, counter: int, data: bytes) -> bytes:
    """What the server does with a workload's URL once it has the source's bytes."""
    path = template.replace("{src}", name).replace("{n}", str(counter))
    parsed = parse_and_verify(services, path)
    options = services.options.parse(parsed.options, parsed.source.extension, ClientFeatures())
    return process_image(services.processor, data, options, Deadline.after(60), name).data


def measure(services: Services, workload: Workload, folder: Path, names: list[str],
            rounds: int) -> dict[str, list[float]]:
    assert workload.raw is not None
    raw = workload.raw
    extension = "png" if workload.source == "png" else "jpg"
    samples: dict[str, list[float]] = {"read": [], "ours": [], "raw": []}
    counter = 0
    process(services, workload.ours, names[0], counter, (folder / f"{names[0]}.{extension}").read_bytes())  # warm-up
    for round_index in range(rounds):
        for name in names:
            counter += 1
            source = folder / f"{name}.{extension}"
            data = source.read_bytes()
            samples["read"].append(cpu_ms(source.read_bytes))
            first_ours = (round_index + counter) % 2 == 0  # alternated, so that neither side always runs warm
            calls: dict[str, Callable[[], object]] = {
                "ours": functools.partial(process, services, workload.ours, name, counter, data),
                "raw": functools.partial(raw, data)}
            for side in ("ours", "raw") if first_ours else ("raw", "ours"):
                samples[side].append(cpu_ms(calls[side]))
    return samples


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", default=DEFAULT_ONLY, help="workloads with a raw loop (default %(default)s)")
    parser.add_argument("--sources", type=int, default=8, help="distinct 12 MP sources (default %(default)s)")
    parser.add_argument("--rounds", type=int, default=3, help="passes over the sources (default %(default)s)")
    parser.add_argument("--imgproxy-env", action="append", default=[], metavar="NAME=VALUE")
    parser.add_argument("--output", type=Path)
    args = parser.parse_args()
    command = ("python benchmarks/pipeline_cost.py " + shlex.join(sys.argv[1:])).strip()
    wanted = [w for w in WORKLOADS if w.key in args.only.split(",") and w.raw is not None]
    folder = ensure_sources(args.sources, png=any(w.source == "png" for w in wanted))
    env = {"IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(folder), "IMGPROXY_LOG_LEVEL": "error",
           **dict(kv.split("=", 1) for kv in args.imgproxy_env)}
    services = build_services(load_config(env))
    info = machine_info()
    names = source_names(args.sources)
    results: dict[str, Any] = {}
    for workload in wanted:
        samples = measure(services, workload, folder, names, args.rounds)
        results[workload.key] = {"title": workload.title, "raw": workload.raw_title, **summarise(samples),
                                 "calls": len(samples["ours"])}
    out = args.output or RESULTS_DIR / f"pipeline-cost-{dt.date.today().isoformat()}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"benchmark": "pipeline_cost", "date": dt.datetime.now().isoformat(timespec="seconds"),
                               "command": command,
                               "imgproxy_env": {**env, "IMGPROXY_LOCAL_FILESYSTEM_ROOT": rel(folder)}, "machine": info,
                               "sources": args.sources, "rounds": args.rounds, "results": results}, indent=2) + "\n")
    print(f"$ {command}\n{args.sources} distinct 12 MP sources x {args.rounds} rounds; CPU ms a call, medians\n")
    print(table_head("#", "workload", "read the source", "imgproxy_py pipeline", "raw pyvips", "raw / pipeline",
                     "raw / (pipeline + read)"))
    for key, e in results.items():
        print(f"| {key} | {e['title']} | {e['read_ms']:.1f} | {e['ours_ms']:.1f} | {e['raw_ms']:.1f} "
              f"| {e['raw_over_ours']:.2f}x | {e['raw_over_ours_and_read']:.2f}x |")
    print(f"\nresults in {rel(out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
