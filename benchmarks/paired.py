"""Paired rounds: imgproxy_py against thumbor, ipx and raw pyvips, all up at once and measured in
short alternating windows, so that every ratio compares numbers taken seconds apart.

This machine's speed drifts within minutes: in one ``run.py --repeats 4`` the same imgproxy_py
server spent 43.8 CPU ms per w1 request in its first run and 32.4 in its last, thumbor 40.5 and
34.5.  ``run.py`` starts each server afresh and measures it for 20 s, one contender after another,
so a cell's median of three runs still carries minutes of drift into the ratios.  Here the
servers of a workload are started once and stay up (an idle one costs no CPU); each round
measures every contender for ``--window`` seconds at concurrency ``--concurrency`` (after one
second of settling; the next starts once the last has finished its requests in flight), in an order
that rotates between rounds, then the raw pyvips loop; w1 also
gets a concurrency-1 window per contender.  A round's ratio (imgproxy_py's req/s over the
peer's in that round) sees one phase of the machine; the report gives each ratio's median over
the rounds, its range, and in how many rounds imgproxy_py was ahead (a sign test: ahead in 9
of 10 rounds has a 1% chance if the two are equal).

    .venv/bin/python benchmarks/paired.py --only w1,w4 --rounds 10
    .venv/bin/python benchmarks/paired.py --only w1 --rounds 8 --imgproxy-env IMGPROXY_PROCESSES=2
    .venv/bin/python benchmarks/paired.py --only w2 --no-thumbor --variant-env IMGPROXY_WORKERS=6

``--variant-env`` adds a second imgproxy_py with those settings on top to the same rounds: an A/B
of one setting (or, with an environment switch in a working copy, of one code change) that sees
the same phases of the machine as the server it is compared with.

Outputs ``benchmarks/results/<name>.json`` and ``<name>.md``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import functools
import json
import shlex
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyvips

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_common import RESULTS_DIR, WORK_DIR, log, machine_info, rel
from bench_ipx import ensure_ipx, start_ipx
from bench_load import median
from bench_measure import Target, ensure_wrk, load, probe, raw_loop
from bench_servers import Server, start_imgproxy
from bench_sources import ensure_sources
from bench_thumbor import ensure_thumbor_venv, start_thumbor
from bench_workloads import CORES, DEFAULT_WORKERS, LATENCY_WORKLOADS, WORKLOADS, Sources, Workload, first_path

OURS = "imgproxy_py"
RAW = "raw pyvips"
VARIANT = "variant"  # a second imgproxy_py with --variant-env settings on top: an A/B of one change
# The workloads with a peer to pair against and no revalidation (w6's 304s need an ETag first).
PAIRABLE = tuple(w.key for w in WORKLOADS if (w.thumbor or w.ipx) and not w.etag and w.source != "variants")


@dataclass
class Window:
    rps: float
    cpu_ms_per_req: float
    c1_p50_ms: float | None = None


@dataclass
class PairedWorkload:
    workload: Workload
    rounds: list[dict[str, Window]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def contenders(self) -> list[str]:
        seen: list[str] = []
        for r in self.rounds:
            seen += [name for name in r if name not in seen]
        return seen

    def ratios(self, other: str, value: Callable[[Window], float | None] = lambda w: w.rps) -> list[float]:
        """Per round: imgproxy_py's value over ``other``'s (rounds where both were measured)."""
        out = []
        for r in self.rounds:
            if OURS in r and other in r:
                ours, theirs = value(r[OURS]), value(r[other])
                if ours is not None and theirs:
                    out.append(ours / theirs)
        return out


def spread(values: list[float]) -> dict[str, float] | None:
    if not values:
        return None
    return {"median": median(values), "min": min(values), "max": max(values), "n": len(values)}


def wait_idle(server: Server, *, quiet: float = 0.5, limit: float = 60.0) -> None:
    """Until ``server`` has used under 5% of a core for ``quiet`` seconds (at most ``limit``): a slow
    server still works through the requests in flight when wrk stops (thumbor's smart crop takes
    seconds each), and that CPU must not be taken from the next contender's window."""
    deadline = time.monotonic() + limit
    before = server.cpu_seconds()
    while time.monotonic() < deadline:
        time.sleep(quiet)
        now = server.cpu_seconds()
        if now - before < 0.05 * quiet:
            return
        before = now


def measure_round(servers: dict[str, tuple[Server, Target]], raw: Callable[[], dict[str, float]] | None,
                  order: list[str], *, wrk: str | None, concurrency: int, window: float,
                  c1_window: float) -> dict[str, Window]:
    measured: dict[str, Window] = {}
    for name in order:
        if name == RAW:
            if raw is not None:
                result = raw()
                measured[RAW] = Window(result["rps"], result["cpu_ms_per_req"])
            continue
        server, target = servers[name]
        m = load(server, target, wrk=wrk, concurrency=concurrency, warmup=1.0, seconds=window,
                 c1_seconds=c1_window)
        if m.errors:
            raise RuntimeError(f"{name} answered {m.errors} requests with errors: {m.statuses}")
        wait_idle(server)
        measured[name] = Window(m.rps, m.cpu_ms_per_req, m.c1_p50_ms)
    return measured


def start_servers(w: Workload, sources: Sources, args: argparse.Namespace, extra_env: dict[str, str],
                  thumbor_py: Path | None, node: str | None, notes: list[str]) -> dict[str, tuple[Server, Target]]:
    starters: dict[str, tuple[str, Callable[[], Server]]] = {
        OURS: (w.ours, functools.partial(start_imgproxy, sources.folder, args.workers, env=extra_env))}
    if args.variant_env:
        variant_env = {**extra_env, **dict(item.split("=", 1) for item in args.variant_env)}
        starters[VARIANT] = (w.ours, functools.partial(start_imgproxy, sources.folder, args.workers, env=variant_env,
                                                       log_path=WORK_DIR / "imgproxy_py-variant.log"))
    if thumbor_py is not None and w.thumbor is not None:
        starters["thumbor"] = (w.thumbor, functools.partial(start_thumbor, thumbor_py, sources.folder,
                                                            args.processes, w.thumbor_detectors))
    if node is not None and w.ipx is not None:
        starters["ipx"] = (w.ipx, functools.partial(start_ipx, node, sources.folder, args.processes))
    servers: dict[str, tuple[Server, Target]] = {}
    for name, (template, start) in starters.items():
        server = start()
        first = probe(server.base_url, first_path(template, sources, w.source))
        if first.status != 200:
            notes.append(f"{name} answered {first.status} ({first.text}): not measured")
            server.stop()
            continue
        servers[name] = (server, Target(template, sources, w.source))
    return servers


def run_workload(w: Workload, sources: Sources, args: argparse.Namespace, extra_env: dict[str, str],
                 thumbor_py: Path | None, node: str | None, wrk: str | None) -> PairedWorkload:
    paired = PairedWorkload(w)
    servers = start_servers(w, sources, args, extra_env, thumbor_py, node, paired.notes)
    raw: Callable[[], dict[str, float]] | None = None
    if w.raw is not None and not args.no_raw:
        data = [(sources.folder / f"{name}.{'png' if w.source == 'png' else 'jpg'}").read_bytes()
                for name in sources.names(w.source)]
        raw = functools.partial(raw_loop, w.raw, data, threads=args.workers, warmup=1.0, seconds=args.window)
    try:
        names = [*servers, *([RAW] if raw is not None else [])]
        c1 = args.c1_window if w.key in LATENCY_WORKLOADS else 0.0
        for n in range(args.rounds):
            turn = n % len(names)
            order = names[turn:] + names[:turn]
            measured = measure_round(servers, raw, order, wrk=wrk, concurrency=args.concurrency,
                                     window=args.window, c1_window=c1)
            paired.rounds.append(measured)
            log(f"  {w.key} round {n + 1}/{args.rounds}: " + ", ".join(
                f"{name} {m.rps:.1f}/s {m.cpu_ms_per_req:.1f} ms" + (f" c1 {m.c1_p50_ms:.0f} ms" if m.c1_p50_ms else "")
                for name, m in measured.items()))
    finally:
        for server, _ in servers.values():
            server.stop()
    return paired


def summarise(p: PairedWorkload) -> dict[str, Any]:
    others = [name for name in p.contenders() if name != OURS]
    medians = {name: {"rps": median([r[name].rps for r in p.rounds if name in r]),
                      "cpu_ms_per_req": median([r[name].cpu_ms_per_req for r in p.rounds if name in r])}
               for name in p.contenders()}
    out: dict[str, Any] = {"title": p.workload.title, "rounds": len(p.rounds), "medians": medians,
                           "vs": {}, "cpu_vs": {}, "c1_vs": {}, "notes": p.notes}
    for other in others:
        rps = p.ratios(other)
        out["vs"][other] = {**(spread(rps) or {}), "ahead": sum(r > 1 for r in rps)}
        # The peer's CPU per request over ours: above 1, imgproxy_py spends less.
        cpu = [1 / r for r in p.ratios(other, lambda m: m.cpu_ms_per_req)]
        out["cpu_vs"][other] = {**(spread(cpu) or {}), "ahead": sum(r > 1 for r in cpu)}
        c1 = [1 / r for r in p.ratios(other, lambda m: m.c1_p50_ms)]
        if c1:
            out["c1_vs"][other] = {**(spread(c1) or {}), "ahead": sum(r > 1 for r in c1)}
    for name in p.contenders():
        c1_values = [r[name].c1_p50_ms for r in p.rounds if name in r and r[name].c1_p50_ms is not None]
        if c1_values:
            medians[name]["c1_p50_ms"] = median(c1_values)
    out["raw_rounds"] = [{name: m.__dict__ for name, m in r.items()} for r in p.rounds]
    return out


def _cell(s: dict[str, Any] | None) -> str:
    if not s or "median" not in s:
        return "–"
    return f"{s['median']:.2f}x ({s['min']:.2f}-{s['max']:.2f}; ahead in {s['ahead']}/{s['n']})"


def render_markdown(result: dict[str, Any]) -> str:
    lines = [f"# Paired rounds {result['started']}", "",
             f"`{result['command']}`: {result['window_s']:.0f} s windows at concurrency {result['concurrency']} "
             f"(after 1 s of settling), the contenders' order rotated each round; {result['sources']} distinct "
             f"12 MP sources; imgproxy_py with IMGPROXY_WORKERS={result['workers']}, thumbor and ipx with "
             f"{result['processes']} processes; imgproxy_py at {result['machine'].get('git_commit', '?')}. "
             "Ratios are per round (imgproxy_py over the peer, measured seconds apart), then the median over "
             "the rounds, the range, and the rounds imgproxy_py was ahead in. CPU: the peer's CPU ms per "
             "request over imgproxy_py's (above 1: imgproxy_py spends less).", "",
             "| # | workload | rounds | req/s (median) | req/s vs thumbor | req/s vs ipx | vs raw pyvips "
             "| CPU ms/req (median) | CPU vs thumbor | CPU vs ipx |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for key, s in result["workloads"].items():
        med = s["medians"]
        rps = ", ".join(f"{name} {m['rps']:.1f}" for name, m in med.items())
        cpu = ", ".join(f"{name} {m['cpu_ms_per_req']:.1f}" for name, m in med.items())
        lines.append(f"| {key} | {s['title']} | {s['rounds']} | {rps} | {_cell(s['vs'].get('thumbor'))} | "
                     f"{_cell(s['vs'].get('ipx'))} | {_cell(s['vs'].get(RAW))} | {cpu} | "
                     f"{_cell(s['cpu_vs'].get('thumbor'))} | {_cell(s['cpu_vs'].get('ipx'))} |")
    for key, s in result["workloads"].items():
        if s["c1_vs"]:
            p50 = ", ".join(f"{name} {m['c1_p50_ms']:.1f} ms" for name, m in s["medians"].items() if "c1_p50_ms" in m)
            lines += ["", f"Single-request latency on {key} (concurrency 1, p50 per window; medians: {p50}): "
                      "the peer's p50 over imgproxy_py's (above 1: imgproxy_py is faster): "
                      + "; ".join(f"vs {name} {_cell(c)}" for name, c in s["c1_vs"].items())]
        if VARIANT in s["vs"]:
            lines += ["", f"{key}, imgproxy_py over its variant ({' '.join(result['variant_env'])}): req/s "
                      f"{_cell(s['vs'][VARIANT])}; the variant's CPU ms per request over imgproxy_py's "
                      f"{_cell(s['cpu_vs'][VARIANT])}"]
        for note in s["notes"]:
            lines.append(f"\n{key}: {note}")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--only", default="w1,w4", help=f"comma list of workloads (of {', '.join(PAIRABLE)}; "
                                                        "default w1,w4)")
    parser.add_argument("--rounds", type=int, default=10, help="rounds per workload (default 10)")
    parser.add_argument("--window", type=float, default=6.0, help="seconds per contender per round (default 6)")
    parser.add_argument("--c1-window", type=float, default=4.0,
                        help="seconds at concurrency 1 per contender per round, on w1 (default 4)")
    parser.add_argument("--concurrency", type=int, default=8, help="connections (default 8)")
    parser.add_argument("--workers", type=int, default=DEFAULT_WORKERS,
                        help=f"IMGPROXY_WORKERS and raw pyvips threads (default {DEFAULT_WORKERS})")
    parser.add_argument("--processes", type=int, default=CORES, help=f"thumbor and ipx processes (default {CORES})")
    parser.add_argument("--sources", type=int, default=24, help="distinct 12 MP sources (default 24)")
    parser.add_argument("--imgproxy-env", action="append", default=[], metavar="NAME=VALUE",
                        help="an IMGPROXY_* setting for imgproxy_py (repeatable)")
    parser.add_argument("--variant-env", action="append", default=[], metavar="NAME=VALUE",
                        help="also measure a second imgproxy_py with this setting on top (repeatable): "
                             "an A/B of one change in the same rounds")
    parser.add_argument("--no-thumbor", action="store_true", help="skip thumbor")
    parser.add_argument("--no-ipx", action="store_true", help="skip ipx")
    parser.add_argument("--no-raw", action="store_true", help="skip the raw pyvips loop")
    parser.add_argument("--name", default="", help="results file name (default: paired-<date>)")
    args = parser.parse_args(argv)
    selected = [w for w in WORKLOADS if w.key in args.only.split(",")]
    if not selected or any(w.key not in PAIRABLE for w in selected):
        parser.error(f"--only takes workloads of {', '.join(PAIRABLE)}")
    command = "python " + rel(__file__) + (" " + shlex.join(argv if argv is not None else sys.argv[1:])).rstrip()
    # As run.py starts it: the same settings, so that the two harnesses measure the same server.
    extra_env = {"IMGPROXY_USE_ETAG": "true", **dict(item.split("=", 1) for item in args.imgproxy_env)}

    pyvips.cache_set_max(0)
    pyvips.concurrency_set(1)  # as the server sets libvips up (one thread per operation)
    root = ensure_sources(args.sources, png=any(w.source == "png" for w in selected))
    sources = Sources(root, args.sources, 0)
    wrk = ensure_wrk()
    if wrk is None:
        log("wrk is missing and could not be installed: paired rounds need it")
        return 1
    thumbor_py = None if args.no_thumbor else ensure_thumbor_venv()[0]
    node = None if args.no_ipx else ensure_ipx()[0]
    result: dict[str, Any] = {
        "command": command, "started": dt.datetime.now().isoformat(timespec="seconds"), "machine": machine_info(),
        "window_s": args.window, "c1_window_s": args.c1_window, "concurrency": args.concurrency,
        "workers": args.workers, "processes": args.processes, "sources": args.sources,
        "imgproxy_env": extra_env, "variant_env": args.variant_env, "workloads": {}}
    for w in selected:
        log(f"{w.key}: {args.rounds} rounds of {args.window:.0f} s windows")
        result["workloads"][w.key] = summarise(run_workload(w, sources, args, extra_env, thumbor_py, node, wrk))
    name = args.name or f"paired-{dt.date.today().isoformat()}"
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")
    markdown = render_markdown(result)
    (RESULTS_DIR / f"{name}.md").write_text(markdown)
    print(markdown)
    print(f"results: {rel(RESULTS_DIR / f'{name}.json')}, {rel(RESULTS_DIR / f'{name}.md')}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
