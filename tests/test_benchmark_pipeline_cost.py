"""benchmarks/pipeline_cost.py's arithmetic and its in-process call (no 12 MP sources are built here)."""

from __future__ import annotations

from collections.abc import Iterator
from types import ModuleType

import pytest
import pyvips

from tests.conftest import benchmark_module
from tests.servers import ASSETS, services_for


@pytest.fixture(scope="module")
def pipeline_cost() -> Iterator[ModuleType]:
    with benchmark_module("pipeline_cost") as module:
        yield module


def test_summary_takes_medians_and_both_ratios(pipeline_cost: ModuleType) -> None:
    summary = pipeline_cost.summarise({"read": [1.0, 9.0, 2.0], "ours": [40.0, 50.0, 45.0], "raw": [60.0, 30.0, 47.0]})
    assert (summary["read_ms"], summary["ours_ms"], summary["raw_ms"]) == (2.0, 45.0, 47.0)
    assert summary["raw_over_ours"] == pytest.approx(47 / 45)
    assert summary["raw_over_ours_and_read"] == pytest.approx(47 / 47)


def test_cpu_of_a_call_is_measured(pipeline_cost: ModuleType) -> None:
    assert pipeline_cost.cpu_ms(lambda: sum(range(2_000_000))) > 0


def test_process_runs_a_workloads_url_as_the_server_would(pipeline_cost: ModuleType) -> None:
    w1 = next(w for w in pipeline_cost.WORKLOADS if w.key == "w1")
    services = services_for({"IMGPROXY_LOCAL_FILESYSTEM_ROOT": str(ASSETS / "core")})
    data = (ASSETS / "core" / "hopper.jpg").read_bytes()
    result = pyvips.Image.new_from_buffer(pipeline_cost.process(services, w1.ours, "hopper", 7, data), "")
    assert result.get("vips-loader") == "jpegload_buffer"
    assert (result.width, result.height) == (128, 128)  # fit 512x512 doesn't enlarge the 128 px source
