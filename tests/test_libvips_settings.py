"""libvips as the server sets it up: imgproxy's settings (no operation cache, one thread per
operation: IMGPROXY_WORKERS requests at once are the parallelism) and its debugging aids."""

from __future__ import annotations

import logging
from pathlib import Path

import httpx
import pytest
import pyvips

from imgproxy_py.imaging.vips_config import configure_libvips
from imgproxy_py.vips_logging import ALL_LEVELS, forward_vips_messages
from tests.cluster_nodes import Node


def test_one_libvips_thread_per_operation_and_no_operation_cache() -> None:
    before = pyvips.concurrency_get()
    try:
        pyvips.concurrency_set(4)
        configure_libvips()
        assert pyvips.concurrency_get() == 1
        assert pyvips.cache_get_max() == 0
    finally:
        pyvips.concurrency_set(before)


def _libvips_levels(caplog: pytest.LogCaptureFixture) -> set[int]:
    """The levels of what libvips' log domain hands to Python while it reads a truncated PNG (a
    warning for each missing row) and makes a thumbnail of it (info lines for each threadpool)."""
    png = bytes(pyvips.Image.black(64, 64).pngsave_buffer())
    caplog.clear()
    with caplog.at_level(logging.DEBUG, logger="pyvips"):
        pyvips.Image.thumbnail_buffer(png[:-40], 16).avg()
    return {r.levelno for r in caplog.records if r.name == "pyvips" and r.getMessage().startswith("VIPS: ")}


def test_only_libvips_warnings_and_errors_reach_python(caplog: pytest.LogCaptureFixture) -> None:
    """As imgproxy's GLib log handler: libvips' info lines (several per request) would each take
    the GIL from a thread that had released it."""
    try:
        assert forward_vips_messages(ALL_LEVELS)  # pyvips' own registration
        everything = _libvips_levels(caplog)
        configure_libvips()
        forwarded = _libvips_levels(caplog)
    finally:
        configure_libvips()
    assert {logging.INFO, logging.WARNING} <= everything
    assert forwarded == {logging.WARNING}


@pytest.mark.parametrize("debugging", [False, True])
def test_leak_check_and_cache_trace(tmp_path: Path, debugging: bool) -> None:
    """IMGPROXY_VIPS_CACHE_TRACE: libvips prints each operation it runs; IMGPROXY_VIPS_LEAK_CHECK:
    its report of what is still held when the server process ends (as imgproxy's shutdown)."""
    log_path = tmp_path / "node.log"
    env = {"IMGPROXY_VIPS_LEAK_CHECK": "true", "IMGPROXY_VIPS_CACHE_TRACE": "true"} if debugging else {}
    node = Node(env, log_path=log_path)
    try:
        node.wait_ready()
        answer = httpx.get(f"{node.base}/unsafe/rs:fit:50:50/plain/local:///core/hopper.jpg", timeout=30)
        assert answer.status_code == 200
    finally:
        node.stop()
    log = log_path.read_text(errors="replace")
    assert ("vips cache" in log and "jpegload" in log) is debugging
    assert ("memory: high-water mark" in log) is debugging
