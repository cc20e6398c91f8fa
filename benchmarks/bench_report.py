"""run.py's results: the rows it fills, the JSON it writes and the Markdown table with the
issue's targets, met or missed."""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench_common import rel
from bench_ipx import ipx_command_line, ipx_versions
from bench_measure import Measured, Probe
from bench_servers import imgproxy_command_line
from bench_thumbor import THUMBOR_CONF, thumbor_version
from bench_workloads import LATENCY_WORKLOADS, Sources, Workload

# issue 17: the best peer's req/s on w1 and w4, 1.6x on smart crop, face gravity and PNG, 95% of raw pyvips.
TARGETS = {"vs_best_peer": 1.0, "vs_best_peer_hard": 1.6, "vs_raw": 0.95, "p99_over_p50": 2.0,
           "peak_rss_mb": 350.0, "etag_speedup": 20.0}


PEERS = ("thumbor", "ipx")


PEERS = ("thumbor", "ipx")


@dataclass
class Row:
    workload: Workload
    ours: Measured | None = None
    peers: dict[str, Measured] = field(default_factory=dict)
    raw: dict[str, float] | None = None
    notes: list[str] = field(default_factory=list)
    first: Probe | None = None  # imgproxy_py's first response

    def ratio(self, peer: str) -> float | None:
        other = self.peers.get(peer)
        return self.ours.rps / other.rps if self.ours and other and other.rps else None

    def cpu_ratio(self, peer: str) -> float | None:
        """The peer's CPU per request over imgproxy_py's: insensitive to other load on the machine."""
        other = self.peers.get(peer)
        return other.cpu_ms_per_req / self.ours.cpu_ms_per_req if self.ours and other and self.ours.cpu_ms_per_req \
            else None

    def best_peer(self) -> str | None:
        ran = [p for p in PEERS if p in self.peers and self.peers[p].rps]
        return max(ran, key=lambda p: self.peers[p].rps) if ran else None

    def ratio_raw(self) -> float | None:
        if self.ours and self.raw and self.raw["rps"]:
            return self.ours.rps / self.raw["rps"]
        return None



def build_result(args: argparse.Namespace, command: str, info: dict[str, object], sources: Sources,
                 rows: dict[str, Row], selected: list[Workload], notes: list[str], wrk: str | None,
                 thumbor_py: Path | None, node: str | None, ours_peak_total: float, etag_speedup: float | None,
                 duration: float, warmup: float, raw_duration: float, c1_duration: float) -> dict[str, Any]:
    def measured(m: Measured | None) -> dict[str, Any] | None:
        if m is None:
            return None
        out = {k: v for k, v in m.__dict__.items() if k != "extra"}
        if m.extra.get("runs"):
            out["runs"] = m.extra["runs"]
        return out

    workloads = []
    for w in selected:
        row = rows[w.key]
        best = row.best_peer()
        workloads.append({
            "key": w.key, "title": w.title, "imgproxy_py_path": w.ours, "thumbor_path": w.thumbor,
            "ipx_path": w.ipx, "sources": w.source, "source_count": len(sources.names(w.source)),
            "thumbor_detectors": w.thumbor_detectors if w.thumbor else None, "raw_pyvips": w.raw_title or None,
            "imgproxy_py": measured(row.ours), "thumbor": measured(row.peers.get("thumbor")),
            "ipx": measured(row.peers.get("ipx")), "raw": row.raw,
            "ratio_vs_thumbor": row.ratio("thumbor"), "cpu_ratio_vs_thumbor": row.cpu_ratio("thumbor"),
            "ratio_vs_ipx": row.ratio("ipx"), "cpu_ratio_vs_ipx": row.cpu_ratio("ipx"),
            "best_peer": best, "ratio_vs_best_peer": row.ratio(best) if best else None,
            "ratio_vs_raw": row.ratio_raw(),
            "cpu_ratio_vs_raw": (row.raw["cpu_ms_per_req"] / row.ours.cpu_ms_per_req
                                 if row.raw and row.ours and row.ours.cpu_ms_per_req else None),
            "notes": row.notes,
        })
    gen_version = ""
    if wrk:
        gen_version = subprocess.run([wrk, "-v"], capture_output=True, text=True, check=False).stdout.split("\n")[0]
    files = sorted(sources.folder.glob("src*.*"))
    return {
        "benchmark": "imgproxy_py vs thumbor vs ipx vs raw pyvips",
        "date": dt.datetime.now().isoformat(timespec="seconds"),
        "command": command,
        "settings": {
            "concurrency": args.concurrency, "workers": args.workers, "processes": args.processes,
            "duration_s": duration, "warmup_s": warmup,
            "repeats": args.repeats, "c1_duration_s": c1_duration, "latency_workloads": list(LATENCY_WORKLOADS),
            "raw_duration_s": raw_duration, "load_generator": gen_version or "python",
            "imgproxy_py": imgproxy_command_line(args.workers, rel(sources.folder)) + " (IMGPROXY_USE_ETAG=true"
                           + "".join(f", {item}" for item in args.imgproxy_env) + ")",
            "thumbor": (f"thumbor {thumbor_version(thumbor_py)}, "
                        + (f"{args.processes} instances x --processes 1 sharing the port (SO_REUSEPORT, --fd)"
                           if args.thumbor_mode == "reuseport" else f"--processes {args.processes}")
                        + f", --conf {rel(THUMBOR_CONF)}") if thumbor_py else None,
            "ipx": f"{ipx_versions(node)}: {ipx_command_line(args.processes)}" if node else None,
            "thumbor_mode": args.thumbor_mode,
            "sources": {"count": sources.count, "byte_variants": sources.variants,
                        "jpeg_mb_mean": round(sum(f.stat().st_size for f in files if f.suffix == ".jpg")
                                              / max(1, sum(f.suffix == ".jpg" for f in files)) / 1e6, 2)},
        },
        "machine": info,
        "notes": notes,
        "imgproxy_py_peak_rss_mb_all_workloads": ours_peak_total,
        "etag_304_speedup_vs_w1": etag_speedup,
        "targets": TARGETS,
        "workloads": workloads,
    }


def _f(value: float | None, fmt: str = "{:.1f}") -> str:
    return "–" if value is None else fmt.format(value)


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def target_lines(result: dict[str, Any]) -> list[str]:
    """One line per target: met, missed, or not measured."""
    t = result["targets"]
    by_key = {w["key"]: w for w in result["workloads"]}
    lines = []
    for key, need in (("w1", t["vs_best_peer"]), ("w4", t["vs_best_peer"]), ("w2", t["vs_best_peer_hard"]),
                      ("w3", t["vs_best_peer_hard"]), ("w5", t["vs_best_peer_hard"])):
        w = by_key.get(key)
        if w and w["ratio_vs_best_peer"] is not None:
            ok = w["ratio_vs_best_peer"] >= need
            lines.append(f"- {key} req/s >= {need}x the best peer ({w['best_peer']}): {'met' if ok else 'MISSED'} "
                         f"({w['ratio_vs_best_peer']:.2f}x)")
    raws = [(w["key"], w["ratio_vs_raw"]) for w in result["workloads"] if w["ratio_vs_raw"] is not None]
    if raws:
        bad = [f"{k} {v:.0%}" for k, v in raws if v < t["vs_raw"]]
        lines.append(f"- >= {t['vs_raw']:.0%} of raw pyvips req/s: "
                     + (f"MISSED on {', '.join(bad)}" if bad else f"met (lowest {min(v for _, v in raws):.0%})"))
    w1 = by_key.get("w1")
    if w1 and w1["imgproxy_py"] and w1["imgproxy_py"].get("c1_p50_ms") and w1["thumbor"] \
            and w1["thumbor"].get("c1_p50_ms"):
        ours, theirs = w1["imgproxy_py"]["c1_p50_ms"], w1["thumbor"]["c1_p50_ms"]
        lines.append(f"- w1 latency at concurrency 1 below thumbor's: {'met' if ours < theirs else 'MISSED'} "
                     f"(p50 {ours:.0f} ms vs {theirs:.0f} ms)")
    c = result["settings"]["concurrency"]
    spread = [(w["key"], w["imgproxy_py"]["p99_ms"] / w["imgproxy_py"]["p50_ms"]) for w in result["workloads"]
              if w["imgproxy_py"] and w["imgproxy_py"]["p50_ms"]]
    if spread:
        bad = [f"{k} {v:.2f}" for k, v in spread if v > t["p99_over_p50"]]
        lines.append(f"- p99 <= {t['p99_over_p50']}x p50 at concurrency {c}: "
                     + (f"MISSED on {', '.join(bad)}" if bad else f"met (highest {max(v for _, v in spread):.2f})"))
    rss = [(w["key"], w["imgproxy_py"]["peak_rss_mb"]) for w in result["workloads"] if w["imgproxy_py"]]
    if rss:
        bad = [f"{k} {v:.0f} MiB" for k, v in rss if v > t["peak_rss_mb"]]
        lines.append(f"- peak RSS <= {t['peak_rss_mb']:.0f} MB at concurrency {c}: "
                     + (f"MISSED on {', '.join(bad)}" if bad else f"met (highest {max(v for _, v in rss):.0f} MiB)"))
    speed = result["etag_304_speedup_vs_w1"]
    if speed is not None:
        lines.append(f"- 304 path >= {t['etag_speedup']:.0f}x full processing (w6 vs w1 req/s): "
                     f"{'met' if speed >= t['etag_speedup'] else 'MISSED'} ({speed:.1f}x; by CPU per request "
                     f"{result.get('etag_304_cpu_speedup_vs_w1') or 0:.1f}x)")
    return lines


def _side(w: dict[str, Any], key: str, field_name: str, fmt: str = "{:.1f}") -> str:
    side = w.get(key)
    return _f(side.get(field_name) if side else None, fmt)


def render_markdown(result: dict[str, Any]) -> str:
    s = result["settings"]
    repeats = s.get("repeats", 1)
    runs = "One run per cell" if repeats == 1 else f"Medians of {repeats} interleaved runs per cell"
    procs = s.get("processes", s["workers"])
    thumbor_desc = (f"as {procs} single-process instances sharing the port (SO_REUSEPORT)"
                    if s.get("thumbor_mode", "reuseport") == "reuseport" else f"with --processes {procs}")
    src = s["sources"]
    lines = [
        f"# Benchmark {result['date']}",
        "",
        f"`{result['command']}`: {s['duration_s']:.0f} s per workload after {s['warmup_s']:.0f} s of warm-up, "
        f"concurrency {s['concurrency']}, load generator {s['load_generator'].split(' Copyright')[0]}; "
        f"{src['count']} distinct 12 MP JPEGs (mean {src['jpeg_mb_mean']} MB) taken round-robin, "
        f"{src['byte_variants']} byte-distinct ones for face gravity; "
        f"imgproxy_py with IMGPROXY_WORKERS={s['workers']}, thumbor {thumbor_desc}, "
        f"{s.get('ipx') or 'no ipx'}, raw pyvips with {s['workers']} threads for {s['raw_duration_s']:.0f} s. "
        f"{runs} on a "
        f"{result['machine'].get('cpu_count')}-core machine (load average "
        f"{result['machine']['loadavg_at_start'][0]:.1f} at start), imgproxy_py at "
        f"{result['machine'].get('git_commit', '?')}. When the machine is shared, req/s "
        "depends on the CPU share each server got; CPU ms per request (all processes and threads of the "
        "server) does not, so both are given.",
        "",
        "| # | workload | imgproxy_py req/s | thumbor req/s | ipx req/s | vs best peer | raw pyvips /s | vs raw "
        "| imgproxy_py CPU ms/req | thumbor CPU ms/req | ipx CPU ms/req | raw CPU ms/img |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for w in result["workloads"]:
        r = w["raw"]
        lines.append(
            f"| {w['key']} | {w['title']} | {_side(w, 'imgproxy_py', 'rps')} | {_side(w, 'thumbor', 'rps')} | "
            f"{_side(w, 'ipx', 'rps')} | {_f(w['ratio_vs_best_peer'], '{:.2f}x')} | {_f(r and r['rps'])} | "
            f"{_f(w['ratio_vs_raw'], '{:.0%}')} | {_side(w, 'imgproxy_py', 'cpu_ms_per_req')} | "
            f"{_side(w, 'thumbor', 'cpu_ms_per_req')} | {_side(w, 'ipx', 'cpu_ms_per_req')} | "
            f"{_f(r and r['cpu_ms_per_req'])} |")
    lines += [
        "",
        f"Latency (ms) at concurrency {s['concurrency']}, p50 / p99 (p99/p50), and peak RSS (MiB):",
        "",
        "| # | imgproxy_py | thumbor | ipx | imgproxy_py RSS | thumbor RSS | ipx RSS |",
        "|---|---|---|---|---|---|---|",
    ]

    def lat(w: dict[str, Any], key: str) -> str:
        side = w.get(key)
        if not side:
            return "–"
        spread = _ratio(side["p99_ms"], side["p50_ms"])
        return f"{side['p50_ms']:.0f} / {side['p99_ms']:.0f} ({_f(spread, '{:.2f}')})"

    for w in result["workloads"]:
        lines.append(f"| {w['key']} | {lat(w, 'imgproxy_py')} | {lat(w, 'thumbor')} | {lat(w, 'ipx')} | "
                     + " | ".join(_side(w, k, "peak_rss_mb", "{:.0f}") for k in ("imgproxy_py", *PEERS)) + " |")
    single = [w for w in result["workloads"] if w["key"] in s.get("latency_workloads", [])]
    if single:
        lines += ["", f"Single-request latency (concurrency 1, {s['c1_duration_s']:.0f} s, ms), p50 / p99:", "",
                  "| # | imgproxy_py | thumbor | ipx |", "|---|---|---|---|"]
        for w in single:
            cells = [f"{_side(w, k, 'c1_p50_ms', '{:.0f}')} / {_side(w, k, 'c1_p99_ms', '{:.0f}')}"
                     for k in ("imgproxy_py", "thumbor", "ipx")]
            lines.append(f"| {w['key']} | " + " | ".join(cells) + " |")
    lines += ["", "Targets:", *target_lines(result), ""]
    lines.append("Peak RSS: VmHWM of the server, started afresh for each workload, summed over its processes "
                 "(thumbor's instances, ipx's cluster primary and workers; pages they share count more than once).")
    gen = [w[k]["generator_cpu_pct"] for w in result["workloads"] for k in ("imgproxy_py", *PEERS) if w.get(k)]
    if gen:
        lines.append(f"Load generator CPU: {min(gen):.0f}-{max(gen):.0f}% of one core.")
    lines.append("")
    notes = list(result["notes"]) + [f"{w['key']}: {n}" for w in result["workloads"] for n in w["notes"]]
    if notes:
        lines.append("Notes:")
        lines += [f"- {n}" for n in notes]
        lines.append("")
    lines.append("Outputs (first response): " + "; ".join(
        f"{w['key']} " + ", ".join(f"{k} {w[k]['output_size']} {w[k]['output_bytes']} B"
                                   for k in ("imgproxy_py", *PEERS) if w.get(k))
        for w in result["workloads"] if w["imgproxy_py"]) + ".")
    return "\n".join(lines) + "\n"
