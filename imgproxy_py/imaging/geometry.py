"""Size and position arithmetic, following imgproxy's processing exactly.

Kept free of I/O so that the numbers (which decide every output size) are easy to test.
"""

from __future__ import annotations

import math
from dataclasses import replace

import pyvips

from imgproxy_py.errors import ResultTooBigError
from imgproxy_py.imaging.context import Context
from imgproxy_py.imaging.crop_aspect_ratio import correct_crop_aspect_ratio
from imgproxy_py.imaging.vips import orientation, page_height
from imgproxy_py.options.model import Gravity, GravityType, PipelineOptions, ResizingType

G = GravityType

# libvips refuses coordinates past this (VIPS_MAX_COORD; later versions allow more).
MAX_DIMENSION = 10_000_000
# Go turns an infinite float into some int where Python raises: sizes and offsets that far out
# saturate here, and check_result_size refuses the images they would make.
_SATURATED = 2**62


def _saturate(x: float) -> float | None:
    """``x`` clamped to +-_SATURATED; None for NaN."""
    if math.isnan(x):
        return None
    return max(-_SATURATED, min(_SATURATED, x))


def round_half_away(x: float) -> int:
    """Go's math.Round: halves away from zero (Python's round() goes to even)."""
    value = _saturate(x)
    if value is None:
        return 0
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def round_to_even(x: float) -> int:
    """Go's math.RoundToEven, which Python's round() already is."""
    value = _saturate(x)
    return 0 if value is None else round(value)


def _div(a: float, b: float) -> float:
    """Go's float division: x/0 is an infinity (0/0 NaN) where Python raises."""
    if b:
        return a / b
    if a == 0 or math.isnan(a):
        return math.nan
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def scale_int(value: int, scale: float) -> int:
    """imgproxy's imath.Scale."""
    return 0 if value == 0 else round_half_away(value * scale)


def scale_to_even(value: int, scale: float) -> int:
    """imgproxy's imath.ScaleToEven (round half to even, not "to an even number")."""
    return 0 if value == 0 else round_to_even(value * scale)


def shrink_int(value: int, shrink: float) -> int:
    return 0 if value == 0 else round_half_away(value / shrink)


def shrink_to_even(value: int, shrink: float) -> int:
    return 0 if value == 0 else round_to_even(value / shrink)


def min_non_zero(a: int, b: int) -> int:
    if a == 0:
        return b
    if b == 0:
        return a
    return min(a, b)


def angle_flip(img: pyvips.Image, auto_rotate: bool) -> tuple[int, bool]:
    if not auto_rotate:
        return 0, False
    o = orientation(img)
    angle = {3: 180, 4: 180, 5: 90, 6: 90, 7: 270, 8: 270}.get(o, 0)
    return angle, o in (2, 4, 5, 7)


def extract_geometry(img: pyvips.Image, base_angle: int, auto_rotate: bool) -> tuple[int, int, int, bool]:
    width, height = img.width, page_height(img)
    angle, flip = angle_flip(img, auto_rotate)
    if (angle + base_angle) % 180:
        width, height = height, width
    return width, height, angle, flip


def calc_crop_size(orig: int, crop: float) -> int:
    if crop == 0:
        return 0
    if crop >= 1:
        return int(crop)
    return max(1, scale_int(orig, crop))


def _calc_scale(c: Context, width: int, height: int, po: PipelineOptions, is_vector: bool) -> None:
    wshrink = hshrink = 1.0
    src_w, src_h = float(width), float(height)
    dst_w = float(po.width) or src_w
    dst_h = float(po.height) or src_h
    if dst_w != src_w:
        wshrink = src_w / dst_w
    if dst_h != src_h:
        hshrink = src_h / dst_h
    if wshrink != 1 or hshrink != 1:
        rt = po.resizing_type
        if rt is ResizingType.AUTO:
            same_orientation = (src_w - src_h >= 0) == (dst_w - dst_h >= 0)
            rt = ResizingType.FILL if same_orientation else ResizingType.FIT
        if po.width == 0 and rt is not ResizingType.FORCE:
            wshrink = hshrink
        elif po.height == 0 and rt is not ResizingType.FORCE:
            hshrink = wshrink
        elif rt is ResizingType.FIT:
            wshrink = hshrink = max(wshrink, hshrink)
        elif rt in (ResizingType.FILL, ResizingType.FILL_DOWN):
            wshrink = hshrink = min(wshrink, hshrink)
    wshrink /= po.zoom_x
    hshrink /= po.zoom_y
    c.dpr_scale = po.dpr
    if not po.enlarge and not is_vector:
        min_shrink = min(wshrink, hshrink)
        if min_shrink < 1:
            wshrink = _div(wshrink, min_shrink)
            hshrink = _div(hshrink, min_shrink)
            # The target is out of reach without enlarging; a DPR below 1 would move
            # further away, so compensate, unless extend keeps the composition fixed.
            if not po.extend.enabled:
                c.dpr_scale = _div(c.dpr_scale, min_shrink)
        c.dpr_scale = min(c.dpr_scale, min(wshrink, hshrink))
    if po.min_width > 0:
        min_shrink = src_w / po.min_width
        if min_shrink < wshrink:
            hshrink = _div(hshrink, wshrink / min_shrink)
            wshrink = min_shrink
    if po.min_height > 0:
        min_shrink = src_h / po.min_height
        if min_shrink < hshrink:
            wshrink = _div(wshrink, hshrink / min_shrink)
            hshrink = min_shrink
    wshrink = _div(wshrink, c.dpr_scale)
    hshrink = _div(hshrink, c.dpr_scale)
    wshrink = min(wshrink, src_w)
    hshrink = min(hshrink, src_h)
    c.wscale = _div(1.0, wshrink)
    c.hscale = _div(1.0, hshrink)


def _calc_sizes(c: Context, width: int, height: int, po: PipelineOptions) -> None:
    c.target_width = scale_int(po.width, c.dpr_scale * po.zoom_x)
    c.target_height = scale_int(po.height, c.dpr_scale * po.zoom_y)
    c.scaled_width = scale_int(width, c.wscale)
    c.scaled_height = scale_int(height, c.hscale)
    c.result_crop_width, c.result_crop_height = c.target_width, c.target_height
    if po.resizing_type is ResizingType.FILL_DOWN and not po.enlarge and c.target_width and c.target_height:
        diff_w = c.target_width / c.scaled_width
        diff_h = c.target_height / c.scaled_height
        if diff_w > diff_h and diff_w > 1:
            c.result_crop_height = scale_int(c.scaled_width, c.target_height / c.target_width)
            c.result_crop_width = c.scaled_width
        elif diff_h > diff_w and diff_h > 1:
            c.result_crop_width = scale_int(c.scaled_height, c.target_width / c.target_height)
            c.result_crop_height = c.scaled_height
    c.extend_ar_width = c.extend_ar_height = 0
    if po.extend_aspect_ratio.enabled and c.target_width > 0 and c.target_height > 0:
        out_w = min_non_zero(c.scaled_width, c.result_crop_width)
        out_h = min_non_zero(c.scaled_height, c.result_crop_height)
        diff_w = c.target_width / out_w
        diff_h = c.target_height / out_h
        if diff_h > diff_w:
            c.extend_ar_height = scale_int(out_w, c.target_height / c.target_width)
            c.extend_ar_width = out_w
        elif diff_w > diff_h:
            c.extend_ar_width = scale_int(out_h, c.target_width / c.target_height)
            c.extend_ar_height = out_h


def result_size(c: Context, po: PipelineOptions) -> tuple[int, int]:
    """The pipeline's output size: after the crop to the result, extend and padding."""
    out_w = min_non_zero(c.scaled_width, c.result_crop_width)
    out_h = min_non_zero(c.scaled_height, c.result_crop_height)
    if po.extend.enabled:
        out_w, out_h = max(out_w, c.target_width), max(out_h, c.target_height)
    elif po.extend_aspect_ratio.enabled:
        out_w, out_h = max(out_w, c.extend_ar_width), max(out_h, c.extend_ar_height)
    top, right, bottom, left = po.padding
    out_w += scale_to_even(left, c.dpr_scale) + scale_to_even(right, c.dpr_scale)
    out_h += scale_to_even(top, c.dpr_scale) + scale_to_even(bottom, c.dpr_scale)
    return out_w, out_h


def _limit_scale(c: Context, width: int, height: int, po: PipelineOptions, max_dim: int) -> None:
    if max_dim <= 0:
        return
    out_w, out_h = result_size(c, po)
    if out_w > max_dim or out_h > max_dim:
        down = max_dim / max(out_w, out_h)
        c.wscale = max(c.wscale * down, 1.0 / width)
        c.hscale = max(c.hscale * down, 1.0 / height)
        c.dpr_scale *= down
        _calc_sizes(c, width, height, po)


def calc_params(c: Context, is_vector: bool = False, *, check: bool = True) -> None:
    """Compute every size of the context from the current image; trim calls it again.
    ``check``: refuse (422) a result too large (``check_result_size``)."""
    po = c.po
    c.src_width, c.src_height, c.angle, c.flip = extract_geometry(c.img, po.rotate, po.auto_rotate)
    c.crop_width = calc_crop_size(c.src_width, po.crop.width)
    c.crop_height = calc_crop_size(c.src_height, po.crop.height)
    c.crop_width, c.crop_height = correct_crop_aspect_ratio(c.src_width, c.src_height, c.crop_width,
                                                            c.crop_height, po.crop_aspect_ratio)
    c.crop_gravity = po.crop.gravity or po.gravity
    width = min_non_zero(c.crop_width, c.src_width)
    height = min_non_zero(c.crop_height, c.src_height)
    _calc_scale(c, width, height, po, is_vector)
    if not all(is_finite_positive(v) for v in (c.wscale, c.hscale, c.dpr_scale)):
        raise ResultTooBigError(f"no image size for scale {c.wscale}x{c.hscale} at DPR {c.dpr_scale}")
    _calc_sizes(c, width, height, po)
    _limit_scale(c, width, height, po, c.settings.max_result_dimension)
    if check:
        check_result_size(c)


def check_result_size(c: Context) -> None:
    """Refuse (422) what libvips can't address or the server shouldn't hold, before any pixel.

    Both the scaled image (smart crop and filters hold it in memory) and the final one count.
    """
    limit = c.settings.max_result_resolution
    for width, height in ((c.scaled_width, c.scaled_height), result_size(c, c.po)):
        if width > MAX_DIMENSION or height > MAX_DIMENSION or (limit and width * height > limit):
            raise ResultTooBigError(f"the options make a {width}x{height} image")


# --- positions ---------------------------------------------------------------------

def calc_position(width: int, height: int, inner_width: int, inner_height: int, gravity: Gravity,
                  dpr: float, allow_overflow: bool) -> tuple[int, int]:
    """Top-left of an ``inner`` box placed in a ``width``x``height`` area by ``gravity``."""
    if gravity.type is G.FOCUS_POINT:
        left = scale_to_even(width, gravity.x) - inner_width // 2
        top = scale_to_even(height, gravity.y) - inner_height // 2
    else:
        off_x = round_to_even(gravity.x * dpr) if abs(gravity.x) >= 1 else scale_to_even(width, gravity.x)
        off_y = round_to_even(gravity.y * dpr) if abs(gravity.y) >= 1 else scale_to_even(height, gravity.y)
        left = shrink_to_even(width - inner_width + 1, 2) + off_x
        top = shrink_to_even(height - inner_height + 1, 2) + off_y
        if gravity.type in (G.NORTH, G.NORTH_EAST, G.NORTH_WEST):
            top = off_y
        if gravity.type in (G.EAST, G.NORTH_EAST, G.SOUTH_EAST):
            left = width - inner_width - off_x
        if gravity.type in (G.SOUTH, G.SOUTH_EAST, G.SOUTH_WEST):
            top = height - inner_height - off_y
        if gravity.type in (G.WEST, G.NORTH_WEST, G.SOUTH_WEST):
            left = off_x
    if allow_overflow:
        min_x, max_x, min_y, max_y = -inner_width + 1, width - 1, -inner_height + 1, height - 1
    else:
        min_x, max_x, min_y, max_y = 0, width - inner_width, 0, height - inner_height
    return max(min_x, min(left, max_x)), max(min_y, min(top, max_y))


_ROTATION = {
    90: {G.NORTH: G.WEST, G.EAST: G.NORTH, G.SOUTH: G.EAST, G.WEST: G.SOUTH, G.NORTH_WEST: G.SOUTH_WEST,
         G.NORTH_EAST: G.NORTH_WEST, G.SOUTH_WEST: G.SOUTH_EAST, G.SOUTH_EAST: G.NORTH_EAST},
    180: {G.NORTH: G.SOUTH, G.EAST: G.WEST, G.SOUTH: G.NORTH, G.WEST: G.EAST, G.NORTH_WEST: G.SOUTH_EAST,
          G.NORTH_EAST: G.SOUTH_WEST, G.SOUTH_WEST: G.NORTH_EAST, G.SOUTH_EAST: G.NORTH_WEST},
    270: {G.NORTH: G.EAST, G.EAST: G.SOUTH, G.SOUTH: G.WEST, G.WEST: G.NORTH, G.NORTH_WEST: G.NORTH_EAST,
          G.NORTH_EAST: G.SOUTH_EAST, G.SOUTH_WEST: G.NORTH_WEST, G.SOUTH_EAST: G.SOUTH_WEST},
}
_FLIP_X = {G.EAST: G.WEST, G.WEST: G.EAST, G.NORTH_WEST: G.NORTH_EAST, G.NORTH_EAST: G.NORTH_WEST,
           G.SOUTH_WEST: G.SOUTH_EAST, G.SOUTH_EAST: G.SOUTH_WEST}
_FLIP_Y = {G.NORTH: G.SOUTH, G.SOUTH: G.NORTH, G.NORTH_WEST: G.SOUTH_WEST, G.NORTH_EAST: G.SOUTH_EAST,
           G.SOUTH_WEST: G.NORTH_WEST, G.SOUTH_EAST: G.NORTH_EAST}


def rotate_and_flip_gravity(g: Gravity, angle: int, flip_x: bool, flip_y: bool) -> Gravity:
    """Gravity in the coordinates of the unrotated image (crop happens before rotation)."""
    t, x, y = g.type, g.x, g.y
    angle %= 360
    if flip_x:
        t = _FLIP_X.get(t, t)
        if t in (G.CENTER, G.NORTH, G.SOUTH):
            x = -x
        elif t is G.FOCUS_POINT:
            x = 1 - x
    if flip_y:
        t = _FLIP_Y.get(t, t)
        if t in (G.CENTER, G.EAST, G.WEST):
            y = -y
        elif t is G.FOCUS_POINT:
            y = 1 - y
    if angle in _ROTATION:
        t = _ROTATION[angle].get(t, t)
        if angle == 90:
            if t in (G.CENTER, G.EAST, G.WEST):
                x, y = y, -x
            elif t is G.FOCUS_POINT:
                x, y = y, 1 - x
            else:
                x, y = y, x
        elif angle == 180:
            if t is G.CENTER:
                x, y = -x, -y
            elif t in (G.NORTH, G.SOUTH):
                x = -x
            elif t in (G.EAST, G.WEST):
                y = -y
            elif t is G.FOCUS_POINT:
                x, y = 1 - x, 1 - y
        elif angle == 270:
            if t in (G.CENTER, G.NORTH, G.SOUTH):
                x, y = -y, x
            elif t is G.FOCUS_POINT:
                x, y = 1 - y, x
            else:
                x, y = y, x
    return replace(g, type=t, x=x, y=y)


def is_finite_positive(value: float) -> bool:
    return math.isfinite(value) and value > 0
