"""imgproxy Pro's ``best`` format: the result is written in each candidate format and the
smallest of those of comparable quality is sent.

Candidates: the preferred formats (``IMGPROXY_PREFERRED_FORMATS``), plus WebP, AVIF and JPEG XL
when the client's Accept asked for them and their detection is on; each must hold the result's
alpha and animation.

Complexity: the base-2 logarithm of the number of distinct colours of a copy at most 512 pixels
a side, as a share of the logarithm of its pixel count, times 9: at 512x512, half the bits of
the colour count.  A palette graphic (256 colours or fewer) scores 4 or less there, photos 7
to 8.5; a small thumbnail of a photo, with fewer pixels to hold colours, still scores high.
Under ``IMGPROXY_BEST_FORMAT_COMPLEXITY_THRESHOLD`` (5.5: about 2,000 colours) the candidates
are encoded losslessly (PNG, lossless WebP, AVIF and JPEG XL, GIF); JPEG is left out, as it
smears flat colour.  Otherwise each lossy format is encoded at its own quality
(``IMGPROXY_FORMAT_QUALITY``: imgproxy's per-format defaults are set to look alike) and GIF is
left out, as it posterizes photos.

Comparable: the SSIM of each lossy candidate, decoded again, against the image being encoded
(both at most 256 pixels a side); a lossy candidate more than ``SSIM_SLACK`` below the best
lossy one is not taken however small it is.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyvips
from skimage.metrics import structural_similarity

from imgproxy_py.errors import ImgproxyError, UnprocessableImageError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.formats_config import BestFormatConfig
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.codecs.save import can_save
from imgproxy_py.imaging.vips import memory_copy, page_height
from imgproxy_py.options.model import OutputOptions

SSIM_SLACK = 0.02
_LOSSLESS_EXTRA: dict[ImageFormat, dict[str, Any]] = {
    ImageFormat.WEBP: {"lossless": True}, ImageFormat.AVIF: {"lossless": True}, ImageFormat.JXL: {"lossless": True}}
# When there is no time to try them all: what usually wins.
_PHOTO_ORDER = (ImageFormat.AVIF, ImageFormat.JXL, ImageFormat.WEBP, ImageFormat.HEIC, ImageFormat.JPEG)
_GRAPHIC_ORDER = (ImageFormat.WEBP, ImageFormat.PNG, ImageFormat.GIF, ImageFormat.AVIF, ImageFormat.JXL)

# (image, format, quality, saver options over ours) -> bytes
Saver = Callable[[pyvips.Image, ImageFormat, int, dict[str, Any]], bytes]


@dataclass(frozen=True)
class Choice:
    format: ImageFormat
    data: bytes
    quality: int
    tried: tuple[tuple[ImageFormat, int], ...]  # every candidate's bytes, for logs and benchmarks


def candidates(out: OutputOptions, preferred: tuple[ImageFormat, ...], *, animated: bool,
               alpha: bool) -> tuple[ImageFormat, ...]:
    pool = list(preferred)
    for wanted, fmt in ((out.prefer_webp, ImageFormat.WEBP), (out.prefer_avif, ImageFormat.AVIF),
                        (out.prefer_jxl, ImageFormat.JXL)):
        if wanted and fmt not in pool:
            pool.append(fmt)
    return tuple(fmt for fmt in pool if can_save(fmt) and (not animated or fmt.supports_animation)
                 and (not alpha or fmt.supports_alpha))


def complexity(img: pyvips.Image) -> float:
    if max(img.width, img.height) > 512:
        img = img.thumbnail_image(512, height=512)
    if img.format != "uchar":  # a high-bit result (preserve_hdr): colours counted at 8 bits
        img = img.colourspace("srgb" if img.bands >= 3 else "b-w").cast("uchar")
    pixels = np.frombuffer(img.write_to_memory(), dtype=np.uint8).reshape(-1, img.bands)
    packed = np.zeros(len(pixels), dtype=np.uint64)
    for band in range(img.bands):
        packed = (packed << np.uint64(8)) | pixels[:, band].astype(np.uint64)
    # A small image can't hold many colours: the count is weighed against what its pixels could
    # hold, on the scale of a 512x512 copy (18 bits of pixels: complexity = bits of colours / 2).
    capacity = float(np.log2(max(256, len(packed))))
    return 9.0 * float(np.log2(max(1, len(np.unique(packed))))) / capacity


def _grey(img: pyvips.Image) -> np.ndarray[Any, Any]:
    img = img.thumbnail_image(256, height=256) if max(img.width, img.height) > 256 else img
    if img.hasalpha():
        img = img.flatten(background=255)
    img = img.colourspace("b-w").extract_band(0).cast("uchar")
    return np.frombuffer(img.write_to_memory(), dtype=np.uint8).reshape(img.height, img.width)


def _similarity(reference: np.ndarray[Any, Any], data: bytes, fmt: ImageFormat) -> float:
    decoded = _grey(loader.load(data, fmt))
    if decoded.shape != reference.shape or min(decoded.shape) < 7:
        return 1.0
    return float(structural_similarity(reference, decoded, data_range=255))  # type: ignore[no-untyped-call]


def pick(img: pyvips.Image, formats: tuple[ImageFormat, ...], config: BestFormatConfig, save: Saver,
         quality_for: Callable[[ImageFormat], int], check_deadline: Callable[[], None]) -> Choice:
    img = memory_copy(img)  # read once from a sequential decode, then encoded several times
    low = complexity(img) < config.complexity_threshold
    megapixels = img.width * page_height(img) / 1_000_000
    if config.max_resolution and megapixels > config.max_resolution:
        order = _GRAPHIC_ORDER if low else _PHOTO_ORDER
        fmt = next((f for f in order if f in formats), formats[0])
        quality = quality_for(fmt)
        return Choice(fmt, save(img, fmt, quality, _LOSSLESS_EXTRA.get(fmt, {}) if low else {}), quality, ())
    skip = ImageFormat.JPEG if low else ImageFormat.GIF
    tries = [f for f in formats if f is not skip] or list(formats)
    reference = None if low else _grey(img)
    results: list[tuple[int, ImageFormat, bytes, int, float]] = []
    for fmt in tries:
        quality = quality_for(fmt)
        try:
            data = save(img, fmt, quality, _LOSSLESS_EXTRA.get(fmt, {}) if low else {})
            score = 1.0 if reference is None or not fmt.supports_quality else _similarity(reference, data, fmt)
        except ImgproxyError:
            continue  # this format can't hold this image (a size limit): the others can
        check_deadline()
        results.append((len(data), fmt, data, quality, score))
    if not results:
        raise UnprocessableImageError("no candidate format could be written")
    # Lossless results are at least as good as any; lossy ones are held to the best lossy one.
    best_score = max((r[4] for r in results if r[1].supports_quality), default=1.0)
    comparable = [r for r in results if r[4] >= best_score - SSIM_SLACK]
    _, fmt, data, quality, _ = min(comparable, key=lambda r: r[0])
    return Choice(fmt, data, quality, tuple((r[1], r[0]) for r in results))
