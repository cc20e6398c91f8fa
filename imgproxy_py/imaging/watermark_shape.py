"""What imgproxy Pro does to a watermark before it is placed: its size (``wms``), its rotation
(``wmr``), its shadow (``wmsh``) and chessboard tiling (position ``ch``).

Every function takes a watermark with alpha (sRGB, grey, 8 or 16 bits) and returns one of the
same space and format."""

from __future__ import annotations

import math

import pyvips

from imgproxy_py.imaging.vips import resize

MAX_SHADOW_SIGMA = 1000.0


def transparent(wm: pyvips.Image) -> list[float]:
    """A transparent pixel of ``wm``: zero in each band."""
    return [0.0] * wm.bands


def size_factor(wm_width: int, wm_height: int, box_width: int, box_height: int) -> float:
    """The factor that fits the watermark in the box, enlarging it if needed; a 0 side is
    taken from the other and the aspect ratio (1.0 when both are 0)."""
    if box_width and box_height:
        return min(box_width / wm_width, box_height / wm_height)
    if box_width:
        return box_width / wm_width
    if box_height:
        return box_height / wm_height
    return 1.0


def rotate(wm: pyvips.Image, angle: int) -> pyvips.Image:
    """Rotated clockwise; the canvas grows to hold the rotated corners, transparent outside."""
    angle %= 360
    if angle == 0:
        return wm
    if angle % 90 == 0:
        return wm.rot(f"d{angle}")
    # Premultiplied, so that the edge pixels interpolate towards transparent, not black.
    out = wm.premultiply().rotate(angle, background=transparent(wm)).unpremultiply()
    return out.cast(wm.format)


def shadow_margin(sigma: float) -> int:
    """How far the shadow reaches past the watermark: 3 sigma hold all but 0.3 % of it."""
    return math.ceil(3 * sigma)


def add_shadow(wm: pyvips.Image, sigma: float) -> pyvips.Image:
    """A black shadow under the watermark: its alpha blurred with ``sigma``.  The canvas grows
    by the blur's reach so that the shadow is not clipped."""
    margin = shadow_margin(sigma)
    canvas = wm.embed(margin, margin, wm.width + 2 * margin, wm.height + 2 * margin,
                      extend="background", background=transparent(wm))
    colours = wm.bands - 1
    blurred = canvas.extract_band(colours).gaussblur(sigma, precision="approximate").cast(wm.format)
    black = canvas.new_from_image([0] * colours).copy(interpretation=wm.interpretation).cast(wm.format)
    shadow = black.bandjoin(blurred)
    return shadow.composite2(canvas, "over", compositing_space=wm.interpretation).cast(wm.format)


def fit(wm: pyvips.Image, factor: float) -> pyvips.Image:
    return wm if factor == 1.0 else resize(wm, factor, factor)


def replicate(tile: pyvips.Image, width: int, height: int, chessboard: bool = False) -> pyvips.Image:
    """Tiles over ``width`` x ``height``, centred as imgproxy centres them: an odd number of
    tiles each way, one of them at the centre.  In a chessboard's order every other tile is
    left empty, the centre one filled."""
    across = math.ceil(width / tile.width)
    down = math.ceil(height / tile.height)
    across += 1 - across % 2
    down += 1 - down % 2
    left = (across * tile.width - width) // 2
    top = (down * tile.height - height) // 2
    if not chessboard:
        return tile.replicate(across, down).crop(left, top, width, height)
    # The board's top-left tile is filled; start one tile in when the centre's parity differs.
    shift = (across // 2 + down // 2) % 2
    board = _board(tile).replicate(math.ceil((across + shift) / 2), math.ceil(down / 2))
    return board.crop(left + shift * tile.width, top, width, height)


def _board(tile: pyvips.Image) -> pyvips.Image:
    """Two tiles on a 2x2 board, top-left and bottom-right."""
    empty = tile.new_from_image(transparent(tile)).copy(interpretation=tile.interpretation)
    top = tile.join(empty, "horizontal")
    bottom = empty.join(tile, "horizontal")
    return top.join(bottom, "vertical")
