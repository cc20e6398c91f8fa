"""Draws the chart of a benchmarks/run.py result: req/s, p50/p99 latency and peak RSS per workload.

Runs with the Python of thumbor's virtualenv (it has matplotlib; the project does not depend on it):
``benchmarks/.venv-thumbor/bin/python benchmarks/chart.py results/<date>.json results/<date>.png``
"""

from __future__ import annotations

import json
import sys
import textwrap
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

COLOURS = {"imgproxy_py": "#2b6cb0", "thumbor": "#dd6b20", "ipx": "#38a169", "raw": "#718096"}


def _value(side: dict[str, Any] | None, key: str) -> float:
    return float(side[key]) if side and side.get(key) is not None else 0.0


def draw(result: dict[str, Any], out: Path) -> None:
    workloads = result["workloads"]
    labels = [f"{w['key']}\n" + textwrap.fill(textwrap.shorten(w["title"], 40, placeholder="…"), 20)
              for w in workloads]
    x = list(range(len(workloads)))
    fig, (ax_rps, ax_lat, ax_rss) = plt.subplots(3, 1, figsize=(12, 12), constrained_layout=True)

    width = 0.2
    sides = (("imgproxy_py", "imgproxy_py"), ("thumbor", "thumbor"), ("ipx", "ipx"), ("raw pyvips", "raw"))
    for i, (name, key) in enumerate(sides):
        values = [_value(w.get(key), "rps") for w in workloads]
        bars = ax_rps.bar([p + (i - 1.5) * width for p in x], values, width, label=name, color=COLOURS[key])
        ax_rps.bar_label(bars, labels=[f"{v:.0f}" if v else "" for v in values], fontsize=7)
    ax_rps.set_ylabel("req/s (higher is better)")
    ax_rps.set_yscale("log")
    ax_rps.set_title(f"Throughput at concurrency {result['settings']['concurrency']} "
                     f"({result['settings']['workers']} workers)")
    ax_rps.set_xticks(x, labels, fontsize=8)
    ax_rps.legend()

    width = 0.14
    series = [(f"{key} {q}", key, f"{q}_ms", 1.0 if q == "p50" else 0.5)
              for key in ("imgproxy_py", "thumbor", "ipx") for q in ("p50", "p99")]
    for i, (name, key, field, alpha) in enumerate(series):
        values = [_value(w.get(key), field) for w in workloads]
        ax_lat.bar([p + (i - 2.5) * width for p in x], values, width, label=name, color=COLOURS[key], alpha=alpha)
    ax_lat.set_ylabel("latency, ms (lower is better)")
    ax_lat.set_yscale("log")
    ax_lat.set_title("Latency p50 / p99")
    ax_lat.set_xticks(x, labels, fontsize=8)
    ax_lat.legend(fontsize=8)

    width = 0.27
    for i, key in enumerate(("imgproxy_py", "thumbor", "ipx")):
        values = [_value(w.get(key), "peak_rss_mb") for w in workloads]
        bars = ax_rss.bar([p + (i - 1) * width for p in x], values, width, label=key, color=COLOURS[key])
        ax_rss.bar_label(bars, labels=[f"{v:.0f}" if v else "" for v in values], fontsize=7)
    ax_rss.axhline(result["targets"]["peak_rss_mb"], color="#c53030", linestyle="--", linewidth=1,
                   label="350 MiB target")
    ax_rss.set_ylabel("peak RSS, MiB (process tree)")
    ax_rss.set_title("Server peak memory during each workload")
    ax_rss.set_xticks(x, labels, fontsize=8)
    ax_rss.legend(fontsize=8)

    fig.suptitle(f"imgproxy_py vs thumbor vs ipx vs raw pyvips — {result['date']}")
    fig.savefig(out, dpi=100)


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: chart.py RESULT.json OUT.png", file=sys.stderr)
        return 2
    draw(json.loads(Path(argv[0]).read_text()), Path(argv[1]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
