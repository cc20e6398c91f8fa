"""The allocator's settings and imgproxy's memory ticker: glibc's malloc arenas are capped at
start-up, and every ``IMGPROXY_FREE_MEMORY_INTERVAL`` seconds (10) memory freed by
finished requests goes back to the system, and with ``IMGPROXY_LOG_MEM_STATS`` the process's and
libvips' memory is logged at debug level, as imgproxy logs its Go and libvips figures.

imgproxy calls Go's ``FreeOSMemory``; here glibc's ``malloc_trim(0)`` does the same for the
allocator that holds decoded images' buffers: without it, pages freed in the middle of its
arenas stay resident after a burst of large images.
"""

from __future__ import annotations

import asyncio
import ctypes
import functools
import logging
import os

from imgproxy_py.vips_memory import vips_memory

log = logging.getLogger("imgproxy_py.server")


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL("libc.so.6")
        libc.malloc_trim.restype = ctypes.c_int
        return libc
    except (OSError, AttributeError):
        return None  # not glibc: the allocator keeps its own pace


def limit_malloc_arenas(arenas: int = 2) -> None:
    """Cap glibc's malloc arenas before the worker threads start.

    Every thread that calls into libvips otherwise gets its own arena, and freed image buffers
    stay in them: resident memory grows with the thread count rather than with the work.
    (The same as MALLOC_ARENA_MAX=2, which libvips servers commonly set.)
    """
    libc = _libc()
    if libc is not None:
        libc.mallopt(-8, arenas)  # M_ARENA_MAX


def release_free_memory() -> bool:
    """Give the allocator's free pages back to the system; whether any were released."""
    libc = _libc()
    return bool(libc.malloc_trim(0)) if libc is not None else False


def memory_stats() -> dict[str, float]:
    """Resident memory of the process and libvips' own accounting, in MiB (allocations counted)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as stream:
            resident_pages = int(stream.read().split()[1])
        rss = resident_pages * os.sysconf("SC_PAGE_SIZE") / 2**20
    except (OSError, ValueError, IndexError):
        rss = 0.0
    vips = vips_memory()
    return {"rss_mib": round(rss, 1), "vips_mib": round(vips["vips_memory_bytes"] / 2**20, 1),
            "vips_max_mib": round(vips["vips_max_memory_bytes"] / 2**20, 1), "vips_allocs": vips["vips_allocs"]}


async def memory_ticker(interval: float, log_stats: bool) -> None:
    """Runs until cancelled (the server's shutdown)."""
    while True:
        await asyncio.sleep(interval)
        await asyncio.to_thread(release_free_memory)  # walks the arenas: off the event loop
        if log_stats:
            log.debug("memory usage", extra=memory_stats())
