"""IMGPROXY_FREE_MEMORY_INTERVAL and IMGPROXY_LOG_MEM_STATS: freed memory goes back to the system
on a timer, and the memory figures are logged."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx

from imgproxy_py.config import read_config
from tests.cluster_nodes import ROOT, Node

# Run in a process of its own: in a test worker, the threads of servers other tests left running
# allocate and free at the same time, and move the resident size by as much as is measured.
FREED_MEMORY_PROBE = """
from imgproxy_py.server.memory_ticker import memory_stats, release_free_memory
# 150 MB in 64 kB blocks (below malloc's mmap threshold: they live in the heap), then all freed
# but the last, which keeps the heap's top in use: only a trim returns the pages.
blocks = [bytearray(64 * 1024) for _ in range(2400)]
for block in blocks:
    block[::4096] = b"\\x01" * len(block[::4096])  # touch every page
keep = blocks[-1]
del blocks
before = memory_stats()["rss_mib"]
released = release_free_memory()
after = memory_stats()["rss_mib"]
print(before, after, released, len(keep))
"""


def test_freed_memory_goes_back_to_the_system() -> None:
    probe = subprocess.run([sys.executable, "-c", FREED_MEMORY_PROBE], capture_output=True, text=True,
                           check=True, cwd=ROOT, timeout=60)
    before, after, released, kept = probe.stdout.split()
    assert released == "True" and int(kept) == 64 * 1024
    assert float(before) - float(after) > 100


def test_settings() -> None:
    server = read_config({})[0].server
    assert (server.free_memory_interval, server.log_mem_stats) == (10.0, False)  # imgproxy's defaults
    server = read_config({"IMGPROXY_FREE_MEMORY_INTERVAL": "2", "IMGPROXY_LOG_MEM_STATS": "true"})[0].server
    assert (server.free_memory_interval, server.log_mem_stats) == (2.0, True)


def test_memory_figures_are_logged(tmp_path: Path) -> None:
    log_path = tmp_path / "server.log"
    node = Node({"IMGPROXY_LOG_MEM_STATS": "true", "IMGPROXY_FREE_MEMORY_INTERVAL": "0.2",
                 "IMGPROXY_LOG_LEVEL": "debug", "IMGPROXY_LOG_FORMAT": "json"}, log_path=log_path)
    try:
        node.wait_ready()
        image = httpx.get(f"{node.base}/unsafe/rs:fit:64:64/plain/local:///core/hopper.jpg", timeout=30)
        assert image.status_code == 200
        deadline = time.monotonic() + 20
        records: list[dict[str, object]] = []
        while not records and time.monotonic() < deadline:
            time.sleep(0.3)
            lines = [line for line in log_path.read_text().splitlines() if line.startswith("{")]
            records = [r for r in map(json.loads, lines) if r.get("msg") == "memory usage"]
    finally:
        node.stop()
    assert records, "no memory figures were logged"
    record = records[-1]
    assert isinstance(record["rss_mib"], float) and record["rss_mib"] > 10
    assert {"vips_mib", "vips_max_mib", "vips_allocs"} <= record.keys()
