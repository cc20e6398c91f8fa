"""Benchmark harness (``make bench``): imgproxy_py against thumbor, ipx and raw pyvips.

The servers run on loopback and serve the same files from one local folder
(``benchmarks/work/sources``: ``--sources`` distinct 12 MP JPEGs and their PNG twins, plus
byte-distinct variants for face gravity, built on first use by ``bench_sources.py``), taken
round-robin.  imgproxy_py runs with its defaults (``IMGPROXY_PROCESSES``: one per usable CPU)
and ``IMGPROXY_WORKERS=--workers`` for the whole server; thumbor (the PyPI package, installed
into ``benchmarks/.venv-thumbor`` when missing) and ipx (sharp, from npm, into
``benchmarks/.ipx``) run ``--processes`` processes.  thumbor uses its file loader and no storage
nor result storage (``benchmarks/thumbor/thumbor.conf``), so every request is processed.

Each workload runs for a fixed time at a fixed concurrency, after a warm-up, with ``wrk``
(installed with apt-get when missing and possible; otherwise a Python load generator is used,
and the results say so); each repeat starts with the next contender, so the machine's drift
does not always favour the same one.  imgproxy_py's URLs carry a unique ``cb:`` (cache buster)
per request: the server shares one computation between concurrent identical requests, which a
throughput benchmark must not count.  The in-process baseline is ``pyvips.Image.thumbnail_buffer``
plus the encoder saving as imgproxy does, run by ``--workers`` threads in a tight loop.

Outputs ``benchmarks/results/<name>.json``, ``<name>.md`` (a Markdown table) and ``<name>.png``
(a chart, drawn with matplotlib from thumbor's virtualenv).

Run: ``.venv/bin/python benchmarks/run.py [--quick] [--repeats 3] [--only w1,w2] [--imgproxy-env NAME=VALUE]``
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shlex
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import BENCH_DIR, RESULTS_DIR, log, machine_info, rel
from bench_ipx import ensure_ipx, start_ipx
from bench_load import median
from bench_measure import Measured, Target, ensure_wrk, image_size, load, probe, raw_loop
from bench_report import PEERS, Row, build_result, render_markdown
from bench_servers import Server, start_imgproxy
from bench_sources import ensure_byte_variants, ensure_sources, face_variant_count
from bench_thumbor import ensure_thumbor_venv, start_thumbor, venv_has
from bench_workloads import CORES, DEFAULT_WORKERS, LATENCY_WORKLOADS, WORKLOADS, Sources, Workload, first_path


def probe_ours(server: Server, w: Workload, rows: dict[str, Row], sources: Sources) -> tuple[str | None, str]:
    """Checks that imgproxy_py handles the workload; returns (path template to load, If-None-Match) or (None, why)."""
    first = probe(server.base_url, first_path(w.ours, sources, w.source))
    if first.status != 200:
        why = f"imgproxy_py answered {first.status} ({first.text})"
        if first.status in (400, 404) and ("Unknown" in first.text or "Invalid" in first.text):
            why = f"not supported yet: imgproxy_py answered {first.status} {first.text!r}"
        return None, why
    row = rows[w.key]
    row.first = first
    if w.key == "w3":
        # At 300x200 from 4:3 the window can only move 25 px, so outputs may match anyway: compare a
        # tall crop, where a detected face must move the window away from the smart-crop choice.
        tall = "/unsafe/rs:fill:300:600/g:{}/cb:probe/plain/local:///src000.jpg"
        face, smart = probe(server.base_url, tall.format("obj:face")), probe(server.base_url, tall.format("sm"))
        if face.status == 200 and face.body == smart.body:
            row.notes.append("g:obj:face gave the same bytes as g:sm on a tall crop: no face detector seems to "
                             "be active (the smart-crop fallback is what was measured)")
    if not w.etag:
        return w.ours, ""
    etag = first.headers.get("etag", "")
    if not etag:
        return None, "imgproxy_py sent no ETag (IMGPROXY_USE_ETAG not supported yet)"
    again = probe(server.base_url, first_path(w.ours, sources, w.source), {"If-None-Match": etag})
    if again.status != 304:
        return None, f"imgproxy_py answered {again.status}, not 304, to If-None-Match"
    return w.ours, etag


def median_measured(runs: list[Measured]) -> Measured | None:
    """Each number is the median over the runs (so the fields may come from different runs)."""
    if not runs:
        return None
    if len(runs) == 1:
        return runs[0]
    out = Measured(**{k: v for k, v in runs[0].__dict__.items()})
    for name, value in runs[0].__dict__.items():
        if isinstance(value, int | float) and not isinstance(value, bool):
            values = [getattr(r, name) for r in runs if getattr(r, name) is not None]
            setattr(out, name, median(values))
    out.extra = {"runs": [{k: v for k, v in r.__dict__.items() if k != "extra"} for r in runs]}
    return out


def run_peer(name: str, start: Callable[[], Server], template: str, sources: Sources, w: Workload, row: Row,
             *, wrk: str | None, concurrency: int, warmup: float, duration: float,
             c1_seconds: float, tag: str = "") -> Measured | None:
    """One peer server on one workload: probed first (a refusal is noted, not measured)."""
    server = start()
    try:
        path = first_path(template, sources, w.source)
        first = probe(server.base_url, path)
        if first.status != 200:
            row.notes.append(f"{name} answered {first.status}: {first.text}")
            return None
        inm = first.headers.get("etag", "") if w.etag else ""
        if w.etag:
            again = probe(server.base_url, path, {"If-None-Match": inm})
            if not inm or again.status != 304:
                row.notes.append(f"{name} gave no 304 (status {again.status})")
                return None
        m = load(server, Target(template, sources, w.source, inm), wrk=wrk, concurrency=concurrency,
                 warmup=warmup, seconds=duration, expect=304 if w.etag else 200, c1_seconds=c1_seconds)
        m.output_bytes, m.output_size = len(first.body), image_size(first.body)
        log(f"  {w.key}{tag} {name}: {m.rps:.1f} req/s, p50 {m.p50_ms:.0f} ms, p99 {m.p99_ms:.0f} ms, "
            f"{m.cpu_ms_per_req:.1f} CPU ms/req, peak RSS {m.peak_rss_mb:.0f} MiB"
            + (f", c=1 p50 {m.c1_p50_ms:.0f} ms" if m.c1_p50_ms is not None else ""))
        return m
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="short runs (about 2 minutes in all)")
    parser.add_argument("--duration", type=float, help="seconds per server workload (default 20, quick 4)")
    parser.add_argument("--warmup", type=float, help="warm-up seconds before each (default 3, quick 1)")
    parser.add_argument("--raw-duration", type=float, help="seconds per raw pyvips loop (default 10, quick 2)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (default 8)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"IMGPROXY_WORKERS and raw pyvips threads (default {DEFAULT_WORKERS}: imgproxy's "
                             "default, 2 per core)")
    parser.add_argument("--processes", type=int, default=CORES,
                        help=f"thumbor and ipx processes (default {CORES}: one per core)")
    parser.add_argument("--repeats", type=int, default=1,
                        help="runs per cell, interleaved; medians are reported (default 1)")
    parser.add_argument("--only", default="", help="comma list of workloads to run (w1..w7); default all")
    parser.add_argument("--no-thumbor", action="store_true", help="skip thumbor")
    parser.add_argument("--no-ipx", action="store_true", help="skip ipx")
    parser.add_argument("--imgproxy-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an IMGPROXY_* setting for imgproxy_py (repeatable), e.g. "
                             "IMGPROXY_UNSHARP_MASKING_MODE=none")
    parser.add_argument("--sources", type=int, default=24, help="distinct 12 MP sources (default 24)")
    parser.add_argument("--c1-duration", type=float,
                        help="seconds of the concurrency-1 latency run on w1 (default 10, quick 3)")
    parser.add_argument("--thumbor-mode", choices=("reuseport", "processes"), default="reuseport",
                        help="N thumbor instances sharing the port with SO_REUSEPORT (default), "
                             "or one thumbor --processes N")
    parser.add_argument("--python-load", action="store_true", help="use the Python load generator, not wrk")
    parser.add_argument("--name", default="", help="results file name (default: today's date)")
    args = parser.parse_args(argv)
    duration = args.duration or (4.0 if args.quick else 20.0)
    warmup = args.warmup if args.warmup is not None else (1.0 if args.quick else 3.0)
    raw_duration = args.raw_duration or (2.0 if args.quick else 10.0)
    c1_duration = args.c1_duration or (3.0 if args.quick else 10.0)
    extra_env = dict(item.split("=", 1) for item in args.imgproxy_env)
    command = "python " + rel(__file__) + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip()
    started = time.perf_counter()
    selected = [w for w in WORKLOADS if not args.only or w.key in args.only.split(",")]
    rows = {w.key: Row(w) for w in WORKLOADS}
    notes: list[str] = []

    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)  # as the server sets libvips up (one thread per operation)
    variants = face_variant_count()
    root = ensure_sources(args.sources, png=any(w.source == "png" for w in selected))
    if any(w.source == "variants" for w in selected):
        ensure_byte_variants(variants, args.sources)
    sources = Sources(root, args.sources, variants)
    wrk = None if args.python_load else ensure_wrk()
    if wrk is None:
        notes.append("load generator: Python threads over keep-alive connections "
                     + ("(asked for)" if args.python_load else "(wrk could not be installed)"))
    thumbor_py: Path | None = None
    chart_py: Path | None = None
    if not args.no_thumbor:
        thumbor_py, venv_notes = ensure_thumbor_venv()
        notes += venv_notes
        if thumbor_py is not None and venv_has(thumbor_py, "matplotlib"):
            chart_py = thumbor_py
        if thumbor_py is not None and not venv_has(thumbor_py, "cv2"):
            notes.append("OpenCV is missing in thumbor's virtualenv: thumbor's smart crop and face "
                         "detection fall back to no detection")
    node: str | None = None
    if not args.no_ipx:
        node, ipx_notes = ensure_ipx()
        notes += ipx_notes
    info = machine_info()

    # Per workload, one after the other: imgproxy_py, thumbor, ipx, raw pyvips (each repeat
    # starting one further along), so that the numbers compared are taken minutes apart at most.
    # Every server is started afresh for each workload, so that its peak RSS is that workload's.
    log(f"{len(selected)} workloads x {duration:.0f}s at concurrency {args.concurrency}, {args.sources} sources")
    ours_peak_total = 0.0
    for w in selected:
        row = rows[w.key]
        c1 = c1_duration if w.key in LATENCY_WORKLOADS else 0.0
        ours_runs: list[Measured] = []
        peer_runs: dict[str, list[Measured]] = {peer: [] for peer in PEERS}
        raw_runs: list[dict[str, float]] = []
        raw_data = ([(root / f"{name}.{'png' if w.source == 'png' else 'jpg'}").read_bytes()
                     for name in sources.names(w.source)] if w.raw is not None else [])
        for rep in range(args.repeats):
            tag = f" [{rep + 1}/{args.repeats}]" if args.repeats > 1 else ""
            starters: dict[str, tuple[str, Callable[[], Server]]] = {}
            if thumbor_py is not None and w.thumbor is not None:
                starters["thumbor"] = (w.thumbor, functools.partial(
                    start_thumbor, thumbor_py, root, args.processes, w.thumbor_detectors, args.thumbor_mode))
            if node is not None and w.ipx is not None:
                starters["ipx"] = (w.ipx, functools.partial(start_ipx, node, root, args.processes))
            # Each repeat starts with the next contender, so that none is always measured first or
            # last: this machine drifts by 10-20% within minutes, and a fixed order hands the drift
            # to the same server every time.
            order = ["imgproxy_py", *starters, *(["raw"] if w.raw is not None else [])]
            turn = rep % len(order)
            for contender in order[turn:] + order[:turn]:
                if contender == "imgproxy_py":
                    ours = start_imgproxy(root, args.workers, env={"IMGPROXY_USE_ETAG": "true", **extra_env})
                    try:
                        template, etag_or_why = probe_ours(ours, w, rows, sources)
                        if template is None:
                            if rep == 0:
                                row.notes.append(etag_or_why)
                            log(f"  {w.key} imgproxy_py: skipped: {etag_or_why}")
                        else:
                            m = load(ours, Target(template, sources, w.source, etag_or_why), wrk=wrk,
                                     concurrency=args.concurrency, warmup=warmup, seconds=duration,
                                     expect=304 if w.etag else 200, c1_seconds=c1)
                            if row.first is not None:
                                m.output_bytes, m.output_size = len(row.first.body), image_size(row.first.body)
                            ours_runs.append(m)
                            log(f"  {w.key}{tag} imgproxy_py: {m.rps:.1f} req/s, p50 {m.p50_ms:.0f} ms, "
                                f"p99 {m.p99_ms:.0f} ms, {m.cpu_ms_per_req:.1f} CPU ms/req, "
                                f"peak RSS {m.peak_rss_mb:.0f} MiB"
                                + (f", c=1 p50 {m.c1_p50_ms:.0f} ms" if m.c1_p50_ms is not None else ""))
                        ours_peak_total = max(ours_peak_total, ours.peak_rss_mb())
                    finally:
                        ours.stop()
                elif contender == "raw":
                    assert w.raw is not None
                    raw = raw_loop(w.raw, raw_data, threads=args.workers, warmup=min(1.0, warmup),
                                   seconds=raw_duration)
                    raw_runs.append(raw)
                    log(f"  {w.key}{tag} raw pyvips: {raw['rps']:.1f} /s, {raw['cpu_ms_per_req']:.1f} CPU ms/image")
                else:
                    peer_template, start = starters[contender]
                    pm = run_peer(contender, start, peer_template, sources, w, row, wrk=wrk,
                                  concurrency=args.concurrency, warmup=warmup, duration=duration, c1_seconds=c1,
                                  tag=tag)
                    if pm is not None:
                        peer_runs[contender].append(pm)
        row.ours = median_measured(ours_runs)
        row.peers = {peer: m for peer, runs in peer_runs.items() if (m := median_measured(runs)) is not None}
        row.raw = {k: median([r[k] for r in raw_runs]) for k in raw_runs[0]} if raw_runs else None
        del raw_data

    w6, w1 = rows["w6"].ours, rows["w1"].ours
    etag_speedup = w6.rps / w1.rps if w6 and w1 and w1.rps else None
    etag_cpu_speedup = w1.cpu_ms_per_req / w6.cpu_ms_per_req if w6 and w1 and w6.cpu_ms_per_req else None
    result = build_result(args, command, info, sources, rows, selected, notes, wrk, thumbor_py, node,
                          ours_peak_total, etag_speedup, duration, warmup, raw_duration, c1_duration)
    result["etag_304_cpu_speedup_vs_w1"] = etag_cpu_speedup
    result["elapsed_s"] = round(time.perf_counter() - started, 1)
    name = args.name or dt.date.today().isoformat()
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    json_path, md_path, png_path = (RESULTS_DIR / f"{name}.{ext}" for ext in ("json", "md", "png"))
    json_path.write_text(json.dumps(result, indent=2) + "\n")
    markdown = render_markdown(result)
    chart_note = ""
    if chart_py is not None:
        chart = subprocess.run([str(chart_py), str(BENCH_DIR / "chart.py"), str(json_path), str(png_path)],
                               capture_output=True, text=True, check=False)
        if chart.returncode != 0:
            chart_note = f"chart failed: {chart.stderr.strip()[-300:]}"
    else:
        chart_note = "no chart: matplotlib is not available in thumbor's virtualenv"
    if chart_note:
        markdown += f"\n{chart_note}\n"
    else:
        markdown += f"\n![req/s, latency and peak RSS per workload]({png_path.name})\n"
    md_path.write_text(markdown)
    print(markdown)
    print(f"results: {rel(json_path)}, {rel(md_path)}" + ("" if chart_note else f", {rel(png_path)}"))
    return 0



if __name__ == "__main__":
    sys.exit(main())
