"""PNG saving options: palette output for palette sources, and quantisation on request.

imgproxy saves a PNG whose source had a palette as a palette PNG again, and quantises full-colour
images only when asked (``IMGPROXY_PNG_QUANTIZE`` / ``png_options``).  Quantisation uses libvips'
own quantiser (libimagequant or quantizr, whichever libvips was built with) through ``pngsave``'s
``palette``, ``bitdepth``, ``Q``, ``effort`` and ``dither``.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pyvips

from imgproxy_py.imaging.vips import pixel_array
from imgproxy_py.optimize.config import PngSpec

# pngsave filter flags (libpng's): palette indices do not predict well, so they go unfiltered;
# full-colour rows get the adaptive choice, as imgproxy does.
PNG_FILTER_NONE = 0x08
PNG_FILTER_ALL = 0xF8

# libvips' default quantiser effort; lower efforts do not reproduce <= 256 colours exactly.
QUANTIZE_EFFORT = 7

# Pixels counted at a time (their packed values take 8 bytes each).
_STRIP_PIXELS = 1 << 18


def palette_bits_of(image: pyvips.Image) -> int | None:
    """The palette bit depth (1, 2, 4 or 8) of a freshly loaded source, or None if it had none.

    Read from the loader's metadata: ``palette`` (libvips >= 8.16 sets it to 1 for palette PNG
    and GIF) with ``bits-per-sample``; older libvips write ``palette-bit-depth`` instead.  A
    grey PNG of 1, 2 or 4 bits (``interpretation`` b-w, ``bits-per-sample`` below 8) has no
    palette chunk but is just as small as a palette image, so it counts as one too.
    """
    fields = set(image.get_fields())
    bits: int | None = None
    if "palette" in fields and _int_field(image, "palette"):
        bits = _int_field(image, "bits-per-sample") if "bits-per-sample" in fields else 8
    elif "palette-bit-depth" in fields:
        bits = _int_field(image, "palette-bit-depth")
    elif (
        "bits-per-sample" in fields
        and image.interpretation == "b-w"
        and 0 < _int_field(image, "bits-per-sample") < 8
    ):
        bits = _int_field(image, "bits-per-sample")
    if bits is None or not 0 < bits <= 8:
        return None
    return bits


def _int_field(image: pyvips.Image, name: str) -> int:
    try:
        return int(image.get(name))
    except (pyvips.Error, TypeError, ValueError):
        return 0


def png_save_options(
    image: pyvips.Image, spec: PngSpec, *, source_palette_bits: int | None,
    check_deadline: Callable[[], None] = lambda: None,
) -> dict[str, object]:
    """Keyword arguments for ``pngsave``/``pngsave_buffer`` for ``image``.

    - ``spec.quantize``: a palette of at most ``spec.colors`` colours.  libvips sizes the palette
      by bit depth, so the colours round up to 2, 4, 16 or 256, as in imgproxy.
    - otherwise, a source that had a palette (``source_palette_bits``) is saved with a palette
      again, at the smallest bit depth that holds the image's colours; when it holds no more
      colours than fit, they are kept exactly (no dithering).
    - otherwise full colour.
    """
    options: dict[str, object] = {"interlace": spec.interlaced}
    if spec.quantize:
        options.update(
            palette=True, bitdepth=bits_for_colours(spec.colors), Q=100, effort=QUANTIZE_EFFORT,
            dither=1.0, filter=PNG_FILTER_NONE,
        )
        return options
    if counts_colours(spec, image, source_palette_bits):
        colours = count_colours(image, limit=256, check_deadline=check_deadline)
        options.update(
            palette=True, bitdepth=bits_for_colours(min(colours, 256)), Q=100, effort=QUANTIZE_EFFORT,
            # Exact colours must not be dithered; only a resized image with more than 256
            # colours is really quantised, and then dithering hides the banding.
            dither=0.0 if colours <= 256 else 1.0, filter=PNG_FILTER_NONE,
        )
        return options
    options["filter"] = PNG_FILTER_ALL
    return options


def counts_colours(spec: PngSpec, image: pyvips.Image, source_palette_bits: int | None) -> bool:
    """Whether :func:`png_save_options` reads the image's colours before it is saved (the
    caller keeps it in memory then, not to compute it twice)."""
    return not spec.quantize and source_palette_bits is not None and image.format == "uchar"


def bits_for_colours(colours: int) -> int:
    """The smallest PNG palette bit depth whose palette holds ``colours`` entries."""
    for bits in (1, 2, 4):
        if colours <= 1 << bits:
            return bits
    return 8


def count_colours(image: pyvips.Image, *, limit: int, check_deadline: Callable[[], None] = lambda: None) -> int:
    """Distinct pixel values (alpha included), or ``limit + 1`` when there are more than ``limit``.

    All fully transparent pixels count as one colour: whatever colour they carry is invisible,
    and the quantiser merges them too.  The image is read in strips, so the memory this takes
    stays a few MB whatever the image's size, and a photo stops at its first strip;
    ``check_deadline`` runs between strips, as counting a huge padded image takes seconds.
    """
    if image.bands > 8:
        return limit + 1
    rows = max(1, _STRIP_PIXELS // image.width)
    seen = np.empty(0, dtype=np.uint64)
    for top in range(0, image.height, rows):
        check_deadline()
        strip = image.crop(0, top, image.width, min(rows, image.height - top))
        seen = np.union1d(seen, _packed_pixels(strip))
        if seen.size > limit:
            return limit + 1
    return int(seen.size)


def _packed_pixels(image: pyvips.Image) -> npt.NDArray[np.uint64]:
    pixels = pixel_array(image).reshape(-1, image.bands).astype(np.uint64)
    if image.hasalpha():
        transparent = pixels[:, -1] == 0
        pixels[transparent] = 0
    packed = np.zeros(pixels.shape[0], dtype=np.uint64)
    for band in range(pixels.shape[1]):
        packed = (packed << np.uint64(8)) | pixels[:, band]
    return packed
