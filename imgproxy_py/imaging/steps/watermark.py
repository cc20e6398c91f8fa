"""``watermark``: the watermark image placed, tiled (``re``) or tiled in a chessboard's order
(``ch``).  The image is the pipeline's ``watermark_text`` rendered, else its
``watermark_url`` (fetched before processing), else the configured one
(``dependencies.WatermarkSource``); it is sized, rotated and shadowed first."""

from __future__ import annotations

import pyvips

from imgproxy_py.errors import ResultTooBigError, UnprocessableImageError
from imgproxy_py.imaging import watermark_shape as shape
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.dependencies import WatermarkSource
from imgproxy_py.imaging.geometry import MAX_DIMENSION, calc_position, round_to_even, scale_to_even
from imgproxy_py.imaging.vips import ensure_alpha, has_alpha
from imgproxy_py.imaging.watermark_text import render_text
from imgproxy_py.options.model import Gravity, GravityType

TILED = (GravityType.REPLICATE, GravityType.CHESSBOARD)


def _source(c: Context) -> WatermarkSource | pyvips.Image | None:
    """The image to place: a decoded one, or a rendered text."""
    style = c.po.watermark_style
    if style.text:
        return render_text(style.text)
    if style.url:
        fetched = c.deps.fetched_watermarks
        data = fetched.images.get(style.url)
        if data is None:  # the server fetches every watermark_url before processing
            raise UnprocessableImageError(f"the watermark {style.url!r} was not fetched")
        return WatermarkSource(data, fetched.max_pixels)
    return c.deps.watermark


def _check_size(c: Context, size: tuple[int, int], what: str) -> None:
    limit = c.settings.max_result_resolution
    if max(size) > MAX_DIMENSION or (limit and size[0] * size[1] > limit):
        raise ResultTooBigError(f"{what} makes a {size[0]}x{size[1]} watermark")


def _sized(source: WatermarkSource | pyvips.Image, c: Context, width: int, height: int) -> pyvips.Image:
    opts, style = c.po.watermark, c.po.watermark_style
    wm = source.image if isinstance(source, WatermarkSource) else source
    if opts.scale > 0:
        box_w = max(1, scale_to_even(width, opts.scale))
        box_h = max(1, scale_to_even(height, opts.scale))
        factor, what = min(box_w / wm.width, box_h / wm.height), f"watermark scale {opts.scale}"
    elif style.width or style.height:
        # In CSS pixels, as the image's size is; a side asked for is at least a pixel.
        box_w = max(1, round(style.width * c.dpr_scale)) if style.width else 0
        box_h = max(1, round(style.height * c.dpr_scale)) if style.height else 0
        factor = shape.size_factor(wm.width, wm.height, box_w, box_h)
        what = f"watermark size {style.width}:{style.height}"
    else:
        return wm
    _check_size(c, (max(1, round(wm.width * factor)), max(1, round(wm.height * factor))), what)
    return source.scaled(factor) if isinstance(source, WatermarkSource) else shape.fit(wm, factor)


def _tiled(wm: pyvips.Image, c: Context, width: int, height: int) -> pyvips.Image:
    opts = c.po.watermark
    pad_x = round_to_even(opts.x * c.dpr_scale) if abs(opts.x) >= 1 else scale_to_even(width, opts.x)
    pad_y = round_to_even(opts.y * c.dpr_scale) if abs(opts.y) >= 1 else scale_to_even(height, opts.y)
    # A gap wider than the image leaves one tile in view, as the image's width does; a
    # negative one overlaps the tiles, down to one pixel of each.
    pad_x = max(1 - wm.width, min(pad_x, width))
    pad_y = max(1 - wm.height, min(pad_y, height))
    if pad_x or pad_y:
        wm = wm.embed(pad_x // 2, pad_y // 2, wm.width + pad_x, wm.height + pad_y,
                      extend="background", background=shape.transparent(wm))
    return shape.replicate(wm, width, height, chessboard=opts.position is GravityType.CHESSBOARD)


def _prepare(source: WatermarkSource | pyvips.Image, c: Context, width: int, height: int) -> pyvips.Image:
    """imgproxy's order: size, rotation, then the shadow, then the tiles' gaps."""
    style = c.po.watermark_style
    wm = _sized(source, c, width, height)
    wm = shape.rotate(wm, style.rotate)
    if style.shadow > 0:
        # As blur's: libvips takes a sigma up to 1000; the canvas the shadow needs is checked
        # before anything is built.
        sigma = min(style.shadow, shape.MAX_SHADOW_SIGMA)
        margin = shape.shadow_margin(sigma)
        _check_size(c, (wm.width + 2 * margin, wm.height + 2 * margin), f"watermark shadow {style.shadow}")
        wm = shape.add_shadow(wm, sigma)
    if c.po.watermark.position in TILED:
        wm = _tiled(wm, c, width, height)
    return wm


def watermark(c: Context) -> None:
    opacity = c.po.watermark.opacity * c.settings.watermark_opacity
    if opacity <= 0:
        return
    source = _source(c)
    if source is None:
        return
    img = c.img
    wm = _prepare(source, c, img.width, img.height)
    left = top = 0
    if c.po.watermark.position not in TILED:
        gravity = Gravity(c.po.watermark.position, c.po.watermark.x, c.po.watermark.y)
        left, top = calc_position(img.width, img.height, wm.width, wm.height, gravity, c.dpr_scale, True)
    if left >= img.width or top >= img.height or -left >= wm.width or -top >= wm.height:
        return
    if opacity < 1:
        colours = wm.bands - 1
        wm = wm.extract_band(0, n=colours).bandjoin(wm.extract_band(colours) * opacity)
    grey_watermark = isinstance(source, WatermarkSource) and source.grey
    if img.interpretation in ("b-w", "grey16") and not grey_watermark:
        # A grey image (kept grey, or 16-bit with preserve_hdr) under a colour watermark: RGB.
        img = img.colourspace("rgb16" if img.format == "ushort" else "srgb")
    had_alpha = has_alpha(img)
    base = ensure_alpha(img)
    # In the image's own space (sRGB, grey, 16-bit), back to its own format, as imgproxy does.
    space = img.interpretation if img.interpretation in ("b-w", "grey16", "rgb16") else "srgb"
    out = base.composite2(wm, "over", x=left, y=top, compositing_space=space).cast(img.format)
    c.img = out if had_alpha else out.extract_band(0, n=out.bands - 1)
