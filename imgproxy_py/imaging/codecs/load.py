"""Decoding sources: format sniffing, header checks, shrink-on-load.

What loads a format, and what its loader can skip, come from the format's record
(``imgproxy_py.formats``).  The resolution check reads only the header (libvips decodes
lazily), so a decompression bomb is refused before a single pixel is decoded.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

import pyvips

from imgproxy_py.errors import ResolutionTooBigError, UnprocessableImageError, UnsupportedFormatError
from imgproxy_py.formats import SVG_CHECK_BYTES, Codec, ImageFormat, ShrinkOnLoad, sniff_format
from imgproxy_py.imaging.codecs import bmp, heic, ico, jpeg, jxl, pdf, vector_render, wheels
from imgproxy_py.imaging.codecs.dib_header import ImageDecodeError
from imgproxy_py.imaging.codecs.svg import sanitize_svg
from imgproxy_py.imaging.codecs.vector_worker import sized_past_libvips
from imgproxy_py.imaging.vips import page_count, page_height

# libvips takes page numbers below its coordinate limit (10,000,000 in older versions); a larger
# one is ignored (page 0 is loaded) or does not fit a C int.  No source has that many pages.
MAX_PAGE = 9_999_999
# Our own decoders, under the loader names the format records give them.
_BUILTIN_LOADERS: dict[str, Callable[..., pyvips.Image]] = {"bmpload": bmp.load_bmp, "icoload": ico.load_ico}
# Optional wheels' decoders (``codecs.wheels``); a missing wheel is a 501 when a source needs it.
# PDFium runs in a render worker instead (``vector_render``), never in this process.
_WHEEL_LOADERS: dict[str, Callable[..., pyvips.Image]] = {
    "heicload": heic.load_heic, "jxlload": jxl.load_jxl, "pdfload": pdf.load_pdf}


def stacked_pages(fmt: ImageFormat, pages: int) -> int:
    """How many pages of ``fmt`` the ``pages`` option stacks into one picture: PDF pages (our
    renderer lays them out); libvips' multi-page formats are frames of an animation instead."""
    return pages if fmt is ImageFormat.PDF else 1


def source_page(data: bytes, fmt: ImageFormat, page: int, *, unlimited: Collection[ImageFormat] = ()) -> int:
    """The page of the source that ``page`` (the ``page`` option) names.

    A source with a single picture has no page to choose: the number is ignored, as imgproxy's
    JPEG, PNG, SVG and HEIF loaders ignore it, so a preset that picks a PDF's second page still
    renders every photo.  Past the last of several pages, it is refused (422), as libvips
    refuses it.  Only a page other than the first costs a look at the header."""
    if page == 0 or not fmt.spec.multi_page:
        return 0
    if page > MAX_PAGE:
        raise UnprocessableImageError(f"page {page} does not exist")
    pages = page_count(load(data, fmt, header_only=True, unlimited=unlimited))
    if pages == 1:
        return 0
    if page >= pages:
        raise UnprocessableImageError(f"page {page} does not exist (the source has {pages})")
    return page


def wheel_decoder(fmt: ImageFormat) -> Callable[[bytes], pyvips.Image] | None:
    """How autoquality reads back a result libvips can't (HEIC, JPEG XL); None for the rest."""
    if fmt.spec.codec is not Codec.WHEEL or fmt.spec.loader not in _WHEEL_LOADERS:
        return None
    return lambda data: load(data, fmt)


def loadable(fmt: ImageFormat) -> bool:
    spec = fmt.spec
    if spec.codec is Codec.BUILTIN:
        return spec.loader in _BUILTIN_LOADERS
    if spec.codec is Codec.WHEEL:
        return spec.loader in _WHEEL_LOADERS
    return bool(spec.loader) and pyvips.type_find("VipsOperation", spec.loader) != 0


@dataclass(frozen=True)
class Limits:
    max_resolution: int  # pixels of one frame
    max_frames: int
    max_frame_resolution: int  # 0: same as max_resolution


def detect_format(data: bytes, svg_check_bytes: int = SVG_CHECK_BYTES) -> ImageFormat:
    fmt = sniff_format(data, svg_check_bytes)
    if fmt is None or not loadable(fmt):
        raise UnsupportedFormatError(f"unsupported or unknown source format: {fmt or 'unknown'}")
    return fmt


SVG_DPI = 96.0


def _shrink_options(kind: ShrinkOnLoad, shrink: float) -> dict[str, Any]:
    """The loader's arguments that make it skip detail: JPEG's DCT factor, WebP's and SVG's scale."""
    if kind is ShrinkOnLoad.FACTOR and shrink > 1:
        return {"shrink": int(shrink)}
    if kind is ShrinkOnLoad.SCALE and shrink > 1:
        return {"scale": 1.0 / shrink}
    if kind is ShrinkOnLoad.VECTOR:
        # Rendered at the scale asked for, enlarging too, at imgproxy 4's 96 dpi (the W3C's: an
        # inch is 96 px, a point 4/3 px).  libvips multiplies every size by dpi / 72, so the scale
        # takes that back: px-sized SVGs keep their size, physical units grow by 4/3.
        scale = 1.0 / shrink if shrink > 0 else 1.0
        return {"scale": scale * 72.0 / SVG_DPI, "dpi": SVG_DPI}
    return {}


def shrink_factor(shrink: float) -> int:
    """The largest DCT scaling a ``FACTOR`` loader (JPEG) can do within ``shrink``: 8, 4, 2 or 1."""
    for factor in (8, 4, 2):
        if shrink >= factor:
            return factor
    return 1


def load(data: bytes, fmt: ImageFormat, *, shrink: float = 1.0, page: int = 0, pages: int = 1,
         thumbnail: bool = False, max_pixels: int = 0, access: str = "random",
         header_only: bool = False, no_background: bool = False, whole: bool = False,
         unlimited: Collection[ImageFormat] = (), lazy_vector: bool = False) -> pyvips.Image:
    """Decode ``data`` lazily; ``shrink`` > 1 lets the decoder skip detail (JPEG/WebP/SVG).

    ``access="sequential"`` streams the decode through the pipeline instead of holding the
    whole image in memory; a step that reads pixels twice must then ``copy_memory()`` first
    (as imgproxy does before rotating, smart cropping or filtering).  ``header_only``: the size
    and metadata are all the caller reads (``/info``); the eager wheel decoders skip the pixels.
    ``no_background``: PDF pages rendered transparent (``IMGPROXY_PDF_NO_BACKGROUND``).
    ``whole``: the caller reads every pixel at once; a JPEG may then come decoded in memory by
    the faster whole-image decoder (``codecs.jpeg``).  ``unlimited``: the formats whose libvips
    loader runs without its safety limits (``IMGPROXY_PNG_UNLIMITED`` and the like).

    An SVG's or a PDF's pixels are rendered in a worker process the deadline can kill
    (``vector_render``), up to ``max_pixels`` (``vector_render.MAX_RENDER_PIXELS`` without).  Not
    with ``header_only``, nor an SVG with ``lazy_vector``: libvips' lazy load then comes back,
    which renders in this process, without a stop, if its pixels are read.  ``lazy_vector`` is
    for a caller that reads its pixels only through another load (the pipeline's first decode:
    ``scale_on_load`` renders it again).
    """
    if page > MAX_PAGE:
        raise UnprocessableImageError(f"page {page} does not exist")
    spec = fmt.spec
    try:
        if spec.codec is Codec.BUILTIN:
            return _BUILTIN_LOADERS[spec.loader](data, max_pixels=max_pixels or 1 << 34)
        if spec.codec is Codec.WHEEL:
            if spec.loader == "pdfload":
                wheels.require("pdf")  # a 501 here when the extra is missing, as for the other wheels
                return vector_render.RENDERERS.load_pdf(data, {"page": page, "pages": pages, "shrink": shrink,
                                                              "no_background": no_background,
                                                              "header_only": header_only},
                                                        max_pixels or vector_render.MAX_RENDER_PIXELS)
            return _WHEEL_LOADERS[spec.loader](data, max_pixels=max_pixels or 1 << 34, page=page, pages=pages,
                                               thumbnail=thumbnail, shrink=shrink, header_only=header_only,
                                               no_background=no_background)
        # No ``fail_on``: libvips' default tolerance, as imgproxy loads.  A JPEG, PNG or GIF cut
        # short (an upload that broke off) renders what it holds, the rest filled as libvips does;
        # a file whose header or structure can't be read still fails below.
        options: dict[str, Any] = {"access": access, **_shrink_options(spec.shrink_on_load, shrink)}
        if spec.loader == "heifload" and thumbnail:
            options["thumbnail"] = True
        if spec.multi_page:
            options["page"] = page
            options["n"] = pages
        if fmt in unlimited:
            options["unlimited"] = True
        if spec.loader == "svgload" and not (header_only or lazy_vector):
            return vector_render.RENDERERS.render_svg(data, options, max_pixels or vector_render.MAX_RENDER_PIXELS)
        # From a memory source, not a *_buffer call: pyvips copies blob arguments, which for a
        # 33 MB PNG is 33 MB more per request. The caller keeps ``data`` alive while the image is.
        loader = getattr(pyvips.Image, spec.loader + "_source")
        img = loader(pyvips.Source.new_from_memory(data), **options)
        if spec.loader == "svgload" and img.width == img.height == 1 and sized_past_libvips(pyvips, data, options):
            raise UnprocessableImageError("SVG's size is past what can be rendered (2^31 px a side)")
        if whole and spec.loader == "jpegload":
            return jpeg.decode_whole(data, img, options.get("shrink", 1)) or img
        return img
    except ImageDecodeError as exc:
        if "resolution" in str(exc):
            raise ResolutionTooBigError(str(exc)) from exc
        raise UnprocessableImageError(f"can't decode {fmt}: {exc}") from exc
    except pyvips.Error as exc:
        raise UnprocessableImageError(f"can't decode {fmt}: {exc}") from exc


def check_dimensions(img: pyvips.Image, fmt: ImageFormat, limits: Limits, frames: int = 1) -> None:
    """imgproxy's security check: the frame's and the whole animation's resolution."""
    if not fmt.is_vector:
        check_size(img.width, page_height(img), limits, frames)


def check_size(width: int, height: int, limits: Limits, frames: int = 1) -> None:
    """:func:`check_dimensions` of a picture ``frames`` frames of ``width`` x ``height``, before
    it is made (the frames of a video's sprite or animation)."""
    if width <= 0 or height <= 0:
        raise UnprocessableImageError("image has no pixels")
    # The frame limit is for animations only (imgproxy's rule): a still image meets the source limit.
    frame_limit = (limits.max_frame_resolution if frames > 1 else 0) or limits.max_resolution
    if limits.max_resolution and width * height > frame_limit:
        raise ResolutionTooBigError(f"source resolution {width}x{height} exceeds the limit")
    if limits.max_resolution and frames > 1 and width * height * frames > limits.max_resolution * max(
            1, limits.max_frames):
        raise ResolutionTooBigError(f"animation {width}x{height}x{frames} exceeds the limit")


def prepare_svg(data: bytes, sanitize: bool) -> bytes:
    return sanitize_svg(data) if sanitize else data
