"""benchmarks/paired.py's arithmetic: per-round ratios, their summary and the report, with a
variant server beside the peers (no server is started here)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.conftest import benchmark_module


@pytest.fixture(scope="module")
def paired() -> Iterator[ModuleType]:
    with benchmark_module("paired") as module:
        yield module


def _rounds(paired: ModuleType) -> Any:
    window = paired.Window
    workload = next(w for w in paired.WORKLOADS if w.key == "w1")
    result = paired.PairedWorkload(workload)
    # imgproxy_py ahead of ipx in two rounds of three, behind its variant in all three.
    result.rounds = [
        {paired.OURS: window(50.0, 40.0, 38.0), "ipx": window(40.0, 44.0, 40.0), paired.VARIANT: window(55.0, 36.0)},
        {paired.OURS: window(45.0, 42.0, 39.0), "ipx": window(50.0, 40.0, 37.0), paired.VARIANT: window(50.0, 38.0)},
        {paired.OURS: window(48.0, 41.0, 40.0), "ipx": window(44.0, 43.0, 41.0), paired.VARIANT: window(60.0, 35.0)},
    ]
    return result


def test_ratios_are_per_round_and_summarised_by_median_range_and_rounds_ahead(paired: ModuleType) -> None:
    summary = paired.summarise(_rounds(paired))
    vs_ipx = summary["vs"]["ipx"]
    assert vs_ipx["median"] == pytest.approx(48.0 / 44.0)
    assert (vs_ipx["min"], vs_ipx["max"]) == (pytest.approx(0.9), pytest.approx(1.25))
    assert (vs_ipx["ahead"], vs_ipx["n"]) == (2, 3)
    assert summary["vs"][paired.VARIANT]["ahead"] == 0
    # CPU: the peer's over ours, so above 1 means imgproxy_py spends less.
    assert summary["cpu_vs"]["ipx"]["median"] == pytest.approx(43.0 / 41.0)
    assert summary["c1_vs"]["ipx"]["median"] == pytest.approx(41.0 / 40.0)
    assert paired.VARIANT not in summary["c1_vs"]  # the variant had no concurrency-1 window
    assert summary["medians"][paired.OURS]["rps"] == 48.0


def test_the_report_names_the_variant_and_its_settings(paired: ModuleType) -> None:
    result = {"started": "2026-12-03T06:00:00", "command": "python benchmarks/paired.py --only w1",
              "window_s": 6.0, "concurrency": 8, "sources": 24, "workers": 4, "processes": 2,
              "machine": {"git_commit": "abc1234"}, "variant_env": ["IMGPROXY_WORKERS=6"],
              "workloads": {"w1": paired.summarise(_rounds(paired))}}
    report = paired.render_markdown(result)
    assert "| w1 |" in report
    assert "0.90x (0.80-0.91; ahead in 0/3)" in report  # imgproxy_py over the variant: 50/55, 45/50, 48/60
    assert "IMGPROXY_WORKERS=6" in report
