"""IMGPROXY_PROMETHEUS_BIND with several server processes: one endpoint, the whole host's
figures whichever process answers a scrape, and nothing lost when a process is replaced."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.cluster_nodes import CLI, ROOT, Node, wait_for
from tests.ports import free_port

SAMPLE = re.compile(r"^(?P<name>[a-z_]+)(?P<labels>\{[^}]*\})? (?P<value>\S+)$", re.M)


@pytest.fixture()
def node() -> Iterator[Node]:
    metrics_port = free_port()
    started = Node({"IMGPROXY_PROCESSES": "2", "IMGPROXY_WORKERS": "4",
                    "IMGPROXY_PROMETHEUS_BIND": f"127.0.0.1:{metrics_port}"})
    started.metrics_port = metrics_port  # type: ignore[attr-defined]
    try:
        started.wait_ready()
        yield started
    finally:
        started.stop()


def scrape(node: Node) -> dict[str, float]:
    text = httpx.get(f"http://127.0.0.1:{node.metrics_port}/metrics", timeout=10).text  # type: ignore[attr-defined]
    return {m["name"] + (m["labels"] or ""): float(m["value"]) for m in SAMPLE.finditer(text)}


def resident_bytes(pid: int) -> int:
    pages = int(Path(f"/proc/{pid}/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE")


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def test_every_scrape_gives_the_whole_hosts_figures(node: Node) -> None:
    wait_for(lambda: len(node.children()) == 2)
    before = scrape(node)["requests_total"]
    # A new connection each: the two processes share them out.
    for n in range(12):
        assert httpx.get(f"{node.base}/unsafe/rs:fit:{40 + n}:40/plain/local:///core/hopper.gif@png",
                         timeout=30).status_code == 200
    time.sleep(1.5)  # each process writes its gauges every second
    children = node.children()
    for _ in range(6):  # whichever process answers
        figures = scrape(node)
        assert figures["requests_total"] == before + 12
        assert figures['status_codes_total{status="200"}'] >= 12
        assert figures["workers"] == 4  # two processes of two workers
        assert 0 <= figures["workers_utilization"] <= 100
        assert figures["request_duration_seconds_count"] == figures["requests_total"]
        # Memory is the host's: both processes' resident memory, not the answering one's.
        resident = sum(resident_bytes(pid) for pid in children)
        assert 0.8 * resident < figures["process_resident_memory_bytes"] < 1.25 * resident
        cpu = sum(cpu_seconds(pid) for pid in children)
        assert 0.8 * cpu < figures["process_cpu_seconds_total"] < 1.25 * cpu
        # One series per process for the per-process caches.
        assert {'imgproxy_py_source_cache_hit_rate{pid="0"}', 'imgproxy_py_source_cache_hit_rate{pid="1"}'} <= set(
            figures)


def test_a_replaced_process_loses_no_count(node: Node) -> None:
    wait_for(lambda: len(node.children()) == 2)
    for n in range(8):
        assert httpx.get(f"{node.base}/unsafe/rs:fit:{40 + n}:30/plain/local:///core/hopper.gif@png",
                         timeout=30).status_code == 200
    counted = scrape(node)["requests_total"]
    victim = node.children()[0]
    os.kill(victim, signal.SIGKILL)
    wait_for(lambda: len(node.children()) == 2 and victim not in node.children())
    wait_for(lambda: httpx.get(f"{node.base}/health", timeout=5).status_code == 200)
    time.sleep(1.5)
    for _ in range(4):
        figures = scrape(node)
        # The dead process's requests are still counted; its replacement counts on from them.
        assert figures["requests_total"] >= counted
        assert figures["workers"] == 4  # the dead process's gauges are gone, its replacement's in


def test_an_endpoint_that_cannot_be_listened_on_stops_the_start() -> None:
    taken = socket.create_server(("127.0.0.1", 0))
    port = taken.getsockname()[1]
    try:
        env = {**os.environ, "IMGPROXY_PROCESSES": "2", "IMGPROXY_BIND": f"127.0.0.1:{free_port()}",
               "IMGPROXY_PROMETHEUS_BIND": f"127.0.0.1:{port}"}
        result = subprocess.run(CLI, env=env, capture_output=True, text=True, timeout=60, cwd=ROOT)
    finally:
        taken.close()
    # Once, before any process starts, rather than a process that fails to start for ever.
    assert result.returncode == 1
    assert f"127.0.0.1:{port} (IMGPROXY_PROMETHEUS_BIND)" in result.stderr
