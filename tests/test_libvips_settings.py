"""libvips as the server sets it up: imgproxy's settings (no operation cache, one thread per
operation: IMGPROXY_WORKERS requests at once are the parallelism)."""

from __future__ import annotations

import pyvips

from imgproxy_py.server.composition import configure_libvips


def test_one_libvips_thread_per_operation_and_no_operation_cache() -> None:
    before = pyvips.concurrency_get()
    try:
        pyvips.concurrency_set(4)
        configure_libvips()
        assert pyvips.concurrency_get() == 1
        assert pyvips.cache_get_max() == 0
    finally:
        pyvips.concurrency_set(before)
