"""Decoding sources with libvips: format sniffing, header checks, shrink-on-load.

The resolution check reads only the header (libvips decodes lazily), so a
decompression bomb is refused before a single pixel is decoded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyvips

from imgproxy_py.errors import ResolutionTooBigError, UnprocessableImageError, UnsupportedFormatError
from imgproxy_py.formats import ImageFormat, sniff_format
from imgproxy_py.imaging import bmp_ico
from imgproxy_py.imaging.svg import sanitize_svg

_LOADERS: dict[ImageFormat, str] = {
    ImageFormat.JPEG: "jpegload_buffer",
    ImageFormat.PNG: "pngload_buffer",
    ImageFormat.WEBP: "webpload_buffer",
    ImageFormat.GIF: "gifload_buffer",
    ImageFormat.AVIF: "heifload_buffer",
    ImageFormat.HEIC: "heifload_buffer",
    ImageFormat.TIFF: "tiffload_buffer",
    ImageFormat.SVG: "svgload_buffer",
    ImageFormat.JXL: "jxlload_buffer",
}
_MULTI_PAGE = (ImageFormat.GIF, ImageFormat.WEBP, ImageFormat.AVIF, ImageFormat.HEIC, ImageFormat.TIFF)
# libvips takes page numbers below its coordinate limit (10,000,000 in older versions); a larger
# one is ignored (page 0 is loaded) or does not fit a C int.  No source has that many pages.
MAX_PAGE = 9_999_999


def loadable(fmt: ImageFormat) -> bool:
    if fmt in (ImageFormat.BMP, ImageFormat.ICO):
        return True
    loader = _LOADERS.get(fmt)
    return loader is not None and pyvips.type_find("VipsOperation", loader.removesuffix("_buffer")) != 0


@dataclass(frozen=True)
class Limits:
    max_resolution: int  # pixels of one frame
    max_frames: int
    max_frame_resolution: int  # 0: same as max_resolution


def detect_format(data: bytes) -> ImageFormat:
    fmt = sniff_format(data)
    if fmt is None or not loadable(fmt):
        raise UnsupportedFormatError(f"unsupported or unknown source format: {fmt or 'unknown'}")
    return fmt


def load(data: bytes, fmt: ImageFormat, *, shrink: float = 1.0, page: int = 0, pages: int = 1,
         thumbnail: bool = False, max_pixels: int = 0, access: str = "random") -> pyvips.Image:
    """Decode ``data`` lazily; ``shrink`` > 1 lets the decoder skip detail (JPEG/WebP/SVG).

    ``access="sequential"`` streams the decode through the pipeline instead of holding the
    whole image in memory; a step that reads pixels twice must then ``copy_memory()`` first
    (as imgproxy does before rotating, smart cropping or filtering).
    """
    if page > MAX_PAGE:
        raise UnprocessableImageError(f"page {page} does not exist")
    try:
        if fmt is ImageFormat.BMP:
            return bmp_ico.load_bmp(data, max_pixels=max_pixels or 1 << 34)
        if fmt is ImageFormat.ICO:
            return bmp_ico.load_ico(data, max_pixels=max_pixels or 1 << 34)
        options: dict[str, Any] = {"access": access}
        if fmt is ImageFormat.JPEG and shrink > 1:
            options["shrink"] = int(shrink)
        elif fmt is ImageFormat.WEBP and shrink > 1:
            options["scale"] = 1.0 / shrink
        elif fmt is ImageFormat.SVG:
            options["scale"] = 1.0 / shrink if shrink > 0 else 1.0
            options["unlimited"] = False
        if fmt in (ImageFormat.AVIF, ImageFormat.HEIC) and thumbnail:
            options["thumbnail"] = True
        if fmt in _MULTI_PAGE:
            options["page"] = page
            options["n"] = pages
        if fmt is not ImageFormat.SVG:
            options["fail_on"] = "error"
        # From a memory source, not a *_buffer call: pyvips copies blob arguments, which for a
        # 33 MB PNG is 33 MB more per request. The caller keeps ``data`` alive while the image is.
        loader = getattr(pyvips.Image, _LOADERS[fmt].removesuffix("_buffer") + "_source")
        return loader(pyvips.Source.new_from_memory(data), **options)
    except bmp_ico.ImageDecodeError as exc:
        if "resolution" in str(exc):
            raise ResolutionTooBigError(str(exc)) from exc
        raise UnprocessableImageError(f"can't decode {fmt}: {exc}") from exc
    except pyvips.Error as exc:
        raise UnprocessableImageError(f"can't decode {fmt}: {exc}") from exc


def page_count(img: pyvips.Image) -> int:
    if img.get_typeof("n-pages"):
        return max(1, int(img.get("n-pages")))
    return 1


def check_dimensions(img: pyvips.Image, fmt: ImageFormat, limits: Limits, frames: int = 1) -> None:
    """imgproxy's security check: the frame's and the whole animation's resolution."""
    if fmt.is_vector:
        return
    from imgproxy_py.imaging.geometry import frame_height

    width, height = img.width, frame_height(img)
    if width <= 0 or height <= 0:
        raise UnprocessableImageError("image has no pixels")
    frame_limit = limits.max_frame_resolution or limits.max_resolution
    if limits.max_resolution and width * height > frame_limit:
        raise ResolutionTooBigError(f"source resolution {width}x{height} exceeds the limit")
    if limits.max_resolution and frames > 1 and width * height * frames > limits.max_resolution * max(
            1, limits.max_frames):
        raise ResolutionTooBigError(f"animation {width}x{height}x{frames} exceeds the limit")


def prepare_svg(data: bytes, sanitize: bool) -> bytes:
    return sanitize_svg(data) if sanitize else data
