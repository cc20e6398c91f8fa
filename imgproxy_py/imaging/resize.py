"""Size steps: trim, shrink-on-load and scale."""

from __future__ import annotations

import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging import load as loader
from imgproxy_py.imaging.colour import colorspace_to_processing, has_alpha
from imgproxy_py.imaging.context import Context, materialize
from imgproxy_py.imaging.geometry import calc_params, extract_geometry, scale_int, shrink_int
from imgproxy_py.imaging.objects import scale_detections


def trim(c: Context) -> None:
    t = c.po.trim
    if not t.enabled:
        return
    colorspace_to_processing(c)
    img = c.img = materialize(c.img, c.deadline)  # read twice: to find the edges, then to crop
    probe = img.flatten(background=[255, 255, 255]) if has_alpha(img) else img
    background = t.color.rgb if t.color is not None else probe(0, 0)[:3]
    # libvips takes no negative threshold (it would use its default, 10, as for 0 here).
    threshold = t.threshold if t.threshold and t.threshold > 0 else 10.0
    left, top, width, height = probe.find_trim(threshold=threshold, background=background)
    if width <= 0 or height <= 0:
        return  # a uniform image: imgproxy leaves it as it is
    if t.equal_horizontal:
        right = img.width - (left + width)
        left = min(left, right)
        width = img.width - 2 * left
    if t.equal_vertical:
        bottom = img.height - (top + height)
        top = min(top, bottom)
        height = img.height - 2 * top
    c.img = materialize(img.crop(left, top, width, height), c.deadline)
    c.source_data = None  # the decode no longer matches the source bytes
    c.full_view = False
    c.detections = None
    calc_params(c)


def _jpeg_shrink(shrink: float) -> int:
    for factor in (8, 4, 2):
        if shrink >= factor:
            return factor
    return 1


def scale_on_load(c: Context) -> None:
    """Decode again at a smaller size when the decoder can skip detail (JPEG, WebP, SVG)."""
    fmt, data = c.source_format, c.source_data
    if data is None or fmt is None or (c.settings.disable_shrink_on_load and not fmt.is_vector):
        return
    wshrink = c.src_width / max(1, scale_int(c.src_width, c.wscale))
    hshrink = c.src_height / max(1, scale_int(c.src_height, c.hscale))
    preshrink = min(wshrink, hshrink)
    if fmt.is_vector:
        if preshrink == 1:
            return
    elif preshrink <= 1 or fmt not in (ImageFormat.JPEG, ImageFormat.WEBP):
        return
    if fmt is ImageFormat.JPEG:
        preshrink = _jpeg_shrink(preshrink)
        if preshrink == 1:
            return
    img = loader.load(data, fmt, shrink=preshrink, page=c.page, access="sequential")
    new_w, new_h, angle, flip = extract_geometry(img, c.po.rotate, c.po.auto_rotate)
    wpre = c.src_width / new_w
    hpre = c.src_height / new_h
    if c.detections is not None:
        scale_detections(c, img.width / c.img.width, img.height / c.img.height)
    c.img, c.angle, c.flip = img, angle, flip
    c.wscale *= wpre
    c.hscale *= hpre
    if new_w == scale_int(new_w, c.wscale):
        c.wscale = 1.0
    if new_h == scale_int(new_h, c.hscale):
        c.hscale = 1.0
    if c.crop_width:
        c.crop_width = max(1, shrink_int(c.crop_width, wpre))
    if c.crop_height:
        c.crop_height = max(1, shrink_int(c.crop_height, hpre))
    g = c.crop_gravity
    if g.type.value != "fp":
        from dataclasses import replace

        x = round(g.x / wpre) if abs(g.x) >= 1 else g.x
        y = round(g.y / hpre) if abs(g.y) >= 1 else g.y
        c.crop_gravity = replace(g, x=x, y=y)


def resize_image(img: pyvips.Image, wscale: float, hscale: float) -> pyvips.Image:
    """libvips resize (lanczos3), premultiplied so that transparent pixels don't bleed."""
    if has_alpha(img):
        out = img.premultiply().resize(wscale, vscale=hscale, kernel="lanczos3").unpremultiply()
        return out.cast("uchar")
    return img.resize(wscale, vscale=hscale, kernel="lanczos3")


def scale(c: Context) -> None:
    if c.wscale == 1 and c.hscale == 1:
        return
    wscale, hscale = c.wscale, c.hscale
    if (c.angle + c.po.rotate) % 180 == 90:
        wscale, hscale = hscale, wscale
    img = c.img
    if c.settings.use_linear_colorspace:
        img = resize_image(img.colourspace("scrgb"), wscale, hscale).colourspace("srgb")
    else:
        img = resize_image(img, wscale, hscale)
    c.img = img
    scale_detections(c, wscale, hscale)
