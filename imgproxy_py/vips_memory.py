"""libvips' own memory accounting (tracked bytes, their high-water mark, live allocations).

imgproxy reports these as ``vips_memory_bytes``, ``vips_max_memory_bytes`` and ``vips_allocs``.
pyvips' compiled binding does not expose the three counters, so they are read from the libvips
library the binding has already loaded, with ctypes; where it cannot be found they read 0.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import importlib.util
from pathlib import Path


@functools.cache
def _library() -> ctypes.CDLL | None:
    candidates: list[str] = []
    spec = importlib.util.find_spec("_libvips")  # pyvips' compiled binding, beside its bundled libvips
    if spec is not None and spec.origin:
        site = Path(spec.origin).parent
        candidates += sorted(glob.glob(str(site / "pyvips_binary.libs" / "libvips*")))
        candidates += sorted(glob.glob(str(site / "pyvips_binary" / ".dylibs" / "libvips*")))
    candidates += ["libvips.so.42", "libvips.42.dylib"]
    for name in candidates:
        try:
            lib = ctypes.CDLL(name)
        except OSError:
            continue
        lib.vips_tracked_get_mem.restype = ctypes.c_size_t
        lib.vips_tracked_get_mem_highwater.restype = ctypes.c_size_t
        lib.vips_tracked_get_allocs.restype = ctypes.c_int
        return lib
    return None


def vips_memory() -> dict[str, float]:
    """``{"vips_memory_bytes", "vips_max_memory_bytes", "vips_allocs"}``, 0 where unknown."""
    lib = _library()
    if lib is None:
        return {"vips_memory_bytes": 0.0, "vips_max_memory_bytes": 0.0, "vips_allocs": 0.0}
    return {"vips_memory_bytes": float(lib.vips_tracked_get_mem()),
            "vips_max_memory_bytes": float(lib.vips_tracked_get_mem_highwater()),
            "vips_allocs": float(lib.vips_tracked_get_allocs())}
