"""imgproxy's libvips settings: the loaders' safety limits and two debugging aids.  Read once at
start-up (``config.read_config``); ``configure_libvips`` sets libvips up for serving (the
composition root, and each render worker process), and the limits reach every decode through
``ProcessingSettings``."""

from __future__ import annotations

from dataclasses import dataclass

import pyvips

from imgproxy_py.envreader import EnvReader
from imgproxy_py.formats import ImageFormat
from imgproxy_py.vips_logging import forward_vips_messages

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


LIBVIPS_THREADS_PER_OPERATION = 1


def configure_libvips(settings: LibvipsConfig | None = None) -> None:
    # Loaders that parse untrusted input badly (ImageMagick, PDF, ...) are off; the
    # operation cache is off because every request works on different pixels.
    pyvips.block_untrusted_set(True)
    # librsvg counts as untrusted in libvips, but SVG is a core input: sources are sanitized
    # first (imaging.codecs.svg) and rendered with librsvg's size limits on.
    pyvips.operation_block_set("VipsForeignLoadSvg", False)
    pyvips.cache_set_max(0)
    pyvips.cache_set_max_mem(0)
    pyvips.cache_set_max_files(0)
    # One libvips thread per operation, as imgproxy sets: the parallelism is IMGPROXY_WORKERS
    # requests at once.  libvips' default (a thread per core for every operation) puts
    # workers x cores threads on the cores, and they spend CPU handing tiles to each other.
    pyvips.concurrency_set(LIBVIPS_THREADS_PER_OPERATION)
    settings = settings or LibvipsConfig()
    pyvips.leak_set(settings.leak_check)  # reported by pyvips.shutdown() at the end of the lifespan
    pyvips.cache_set_trace(settings.cache_trace)
    forward_vips_messages()  # warnings and errors only, as imgproxy: see vips_logging
