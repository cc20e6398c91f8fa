"""imgproxy's libvips settings: the loaders' safety limits and two debugging aids.  Read once at
start-up (``config.read_config``); the composition root applies the debugging aids to libvips,
and the limits reach every decode through ``ProcessingSettings``."""

from __future__ import annotations

from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader
from imgproxy_py.formats import ImageFormat

# The switches that lift a libvips loader's safety limits (its ``unlimited``): PNG's 50 text
# chunks and 60 MB chunks, librsvg's 10 MB XML nodes (an SVG with a large embedded photo),
# libtiff's 50 MB of working memory (a large image in one compressed strip).
UNLIMITED_SETTINGS = {
    "IMGPROXY_PNG_UNLIMITED": ImageFormat.PNG,
    "IMGPROXY_SVG_UNLIMITED": ImageFormat.SVG,
    "IMGPROXY_TIFF_UNLIMITED": ImageFormat.TIFF,
}


@dataclass(frozen=True)
class LibvipsConfig:
    unlimited: frozenset[ImageFormat] = frozenset()  # formats decoded without the loader's limits
    leak_check: bool = False  # libvips reports the objects and memory still held when the server stops
    cache_trace: bool = False  # libvips prints each operation it runs to standard output

    @staticmethod
    def from_env(r: EnvReader) -> LibvipsConfig:
        return LibvipsConfig(
            unlimited=frozenset(fmt for name, fmt in UNLIMITED_SETTINGS.items() if r.boolean(name, False)),
            leak_check=r.boolean("IMGPROXY_VIPS_LEAK_CHECK", False),
            cache_trace=r.boolean("IMGPROXY_VIPS_CACHE_TRACE", False),
        )
