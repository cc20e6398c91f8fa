"""What ``blur_detections``, ``pixelate`` of detections and ``draw_detections`` do to an image.

Every function returns a new image of the same size, band count and format; pixels outside the
detections' boxes are left exactly as they were.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence

import numpy as np
import pyvips

from imgproxy_py.deadline import REQUEST_DEADLINE
from imgproxy_py.detection import bitmap_font
from imgproxy_py.detection.types import Detection
from imgproxy_py.imaging.vips import materialized_every

logger = logging.getLogger("imgproxy_py.detection")

Region = tuple[int, int, int, int]

# Light line colours, one per class (cycled); every one reads against the dark outline.
PALETTE: tuple[tuple[int, int, int], ...] = (
    (255, 221, 0),
    (0, 230, 255),
    (120, 255, 120),
    (255, 140, 220),
    (255, 170, 60),
    (190, 160, 255),
    (255, 255, 255),
)
OUTLINE = (16, 16, 16)
# libvips's gaussblur refuses a larger sigma; a box blurred with this one is a smear already.
MAX_BLUR_SIGMA = 1000.0
LABEL_TEXT = (0, 0, 0)


def blur_detections(image: pyvips.Image, detections: Sequence[Detection], sigma: float) -> pyvips.Image:
    """Gaussian blur of strength ``sigma`` inside each detection's box."""
    if sigma <= 0:
        return image
    sigma = min(sigma, MAX_BLUR_SIGMA)
    # Blur a margin around the box too, so that the box edges are blurred like its centre
    # instead of fading to the sharp surroundings.
    margin = math.ceil(3 * sigma)

    def blur(region: pyvips.Image) -> pyvips.Image:
        if region.hasalpha():
            # Premultiplied, so that transparent pixels' colours do not bleed into visible ones.
            blurred = region.premultiply().gaussblur(sigma).unpremultiply()
            return blurred.cast(region.format)
        return region.gaussblur(sigma)

    return _apply_in_boxes(image, detections, blur, margin)


def pixelate_detections(image: pyvips.Image, detections: Sequence[Detection], size: int) -> pyvips.Image:
    """Square blocks of ``size`` pixels (each the average of its pixels) inside each box."""
    size = int(size)
    if size <= 1:
        return image

    def pixelate(region: pyvips.Image) -> pyvips.Image:
        width, height = region.width, region.height
        block = min(size, max(width, height))  # one block for the whole box at most
        # Blocks start at the box's corner; the last row and column are partial blocks, so
        # extend the region by copying its edge to whole blocks and crop afterwards.
        padded = region.embed(0, 0, math.ceil(width / block) * block, math.ceil(height / block) * block,
                              extend="copy")
        blocks = padded.shrink(block, block).cast(region.format)
        return blocks.zoom(block, block).crop(0, 0, width, height)

    return _apply_in_boxes(image, detections, pixelate, 0)


# Each box adds operations to one lazy image: one chain for all of them took quadratic time
# (5,000 faces blurred: 111 s; 500 drawn: 16 s).  No graph is deeper than this many boxes.
BOXES_PER_GRAPH = 32


def _bounded(result: pyvips.Image, done: int, total: int) -> pyvips.Image:
    return materialized_every(result, done, total, BOXES_PER_GRAPH, REQUEST_DEADLINE.get())


def _apply_in_boxes(
    image: pyvips.Image,
    detections: Sequence[Detection],
    effect: Callable[[pyvips.Image], pyvips.Image],
    margin: int,
) -> pyvips.Image:
    result = image
    boxes = _boxed(image, detections)
    for done, ((left, top, width, height), _) in enumerate(boxes, 1):
        outer_left, outer_top = max(0, left - margin), max(0, top - margin)
        outer_right = min(image.width, left + width + margin)
        outer_bottom = min(image.height, top + height + margin)
        # Always read from the source, so overlapping boxes are not treated twice.
        region = image.crop(outer_left, outer_top, outer_right - outer_left, outer_bottom - outer_top)
        treated = effect(region).crop(left - outer_left, top - outer_top, width, height)
        result = _bounded(result.insert(treated, left, top), done, len(boxes))
    return result


# -- drawing ---------------------------------------------------------------------------------


def draw_detections(image: pyvips.Image, detections: Sequence[Detection]) -> pyvips.Image:
    """A box outline and a ``name 0.93`` label per detection.

    The line is light with a dark outline on both sides and the label is dark text on a light
    filled background, so both read on dark and light photos.  Line width and text size grow
    with the image.  Grey images become sRGB so that the colours show.
    """
    boxes = _boxed(image, detections)
    if not boxes:
        return image
    canvas = _drawable(image)
    short_side = min(image.width, image.height)
    line = max(2, round(short_side / 250))
    outline = max(1, line // 2)
    text_size = int(min(64, max(11, round(short_side / 36))))
    ink = _Ink(canvas)

    result = canvas
    for done, (region, detection) in enumerate(boxes, 1):
        result = _bounded(_draw_box(result, region, line, outline, ink, _colour(detection)), done, len(boxes))
    # Labels after all boxes, so that no box line crosses a label.
    for done, ((left, top, _, _), detection) in enumerate(boxes, 1):
        label = _label_patch(detection.label, text_size, _colour(detection), outline, ink)
        label_left, label_top = _label_position(left, top, label, canvas)
        visible = label.crop(0, 0, min(label.width, canvas.width), min(label.height, canvas.height))
        result = _bounded(result.insert(visible, label_left, label_top), done, len(boxes))
    return result


def _boxed(image: pyvips.Image, detections: Sequence[Detection]) -> list[tuple[Region, Detection]]:
    pairs = [(detection.box.pixel_bounds(image.width, image.height), detection) for detection in detections]
    return [(region, detection) for region, detection in pairs if region[2] > 0 and region[3] > 0]


def _colour(detection: Detection) -> tuple[int, int, int]:
    return PALETTE[detection.class_id % len(PALETTE)]


_RGB_INTERPRETATIONS = ("srgb", "rgb16", "scrgb", "rgb", "multiband")
_DTYPES = {
    "uchar": np.uint8,
    "char": np.int8,
    "ushort": np.uint16,
    "short": np.int16,
    "uint": np.uint32,
    "int": np.int32,
    "float": np.float32,
    "double": np.float64,
}


def _drawable(image: pyvips.Image) -> pyvips.Image:
    """The image in an RGB space the palette means something in (grey, CMYK, Lab... converted)."""
    sixteen_bit = image.format == "ushort"
    if image.bands >= 3 and image.interpretation in _RGB_INTERPRETATIONS:
        return image
    if image.bands < 3 and image.interpretation not in ("b-w", "grey16"):
        image = image.copy(interpretation="grey16" if sixteen_bit else "b-w")
    return image.colourspace("rgb16" if sixteen_bit else "srgb")


class _Ink:
    """Colours as pixel values for the canvas' format and bands (alpha opaque, extra bands 0)."""

    def __init__(self, canvas: pyvips.Image) -> None:
        self.format = str(canvas.format)
        self.interpretation = canvas.interpretation
        self.dtype = np.dtype(_DTYPES.get(self.format, np.float64))
        self.scale = _format_scale(canvas)
        self.alpha = canvas.hasalpha()
        self.extra = max(0, canvas.bands - 3 - (1 if self.alpha else 0))

    def __call__(self, rgb: tuple[int, int, int]) -> np.ndarray:
        values = [channel * self.scale for channel in rgb] + [0.0] * self.extra
        if self.alpha:
            values.append(255 * self.scale)
        return np.array(values, dtype=self.dtype)

    def image(self, pixels: np.ndarray) -> pyvips.Image:
        built = pyvips.Image.new_from_array(np.ascontiguousarray(pixels, dtype=self.dtype))
        return built.cast(self.format).copy(interpretation=self.interpretation)


def _format_scale(canvas: pyvips.Image) -> float:
    if canvas.format in ("ushort", "short"):
        return 257.0
    if canvas.format in ("float", "double") and canvas.interpretation == "scrgb":
        return 1 / 255
    return 1.0


def _draw_box(
    canvas: pyvips.Image,
    region: Region,
    line: int,
    outline: int,
    ink: _Ink,
    colour: tuple[int, int, int],
) -> pyvips.Image:
    """Paint one box's ring into a copy of just the area it covers, and put that back."""
    left, top, width, height = region
    outer_left, outer_top = max(0, left - outline), max(0, top - outline)
    outer_right = min(canvas.width, left + width + outline)
    outer_bottom = min(canvas.height, top + height + outline)
    area = canvas.crop(outer_left, outer_top, outer_right - outer_left, outer_bottom - outer_top)
    pixels = np.array(area.numpy(), copy=True).reshape(area.height, area.width, area.bands)
    shift_x, shift_y = left - outer_left, top - outer_top
    _paint_ring(
        pixels,
        ink(OUTLINE),
        shift_x - outline,
        shift_y - outline,
        width + 2 * outline,
        height + 2 * outline,
        line + 2 * outline,
    )
    _paint_ring(pixels, ink(colour), shift_x, shift_y, width, height, line)
    return canvas.insert(ink.image(pixels), outer_left, outer_top)


def _paint_ring(
    pixels: np.ndarray, ink: np.ndarray, left: int, top: int, width: int, height: int, thickness: int
) -> None:
    thickness = max(1, min(thickness, width, height))
    _paint_rect(pixels, ink, left, top, width, thickness)
    _paint_rect(pixels, ink, left, top + height - thickness, width, thickness)
    _paint_rect(pixels, ink, left, top, thickness, height)
    _paint_rect(pixels, ink, left + width - thickness, top, thickness, height)


def _paint_rect(pixels: np.ndarray, ink: np.ndarray, left: int, top: int, width: int, height: int) -> None:
    x0, y0 = max(0, left), max(0, top)
    x1, y1 = min(pixels.shape[1], left + width), min(pixels.shape[0], top + height)
    if x0 < x1 and y0 < y1:
        pixels[y0:y1, x0:x1] = ink


def _label_position(left: int, top: int, label: pyvips.Image, canvas: pyvips.Image) -> tuple[int, int]:
    # Above the box when there is room, otherwise just inside its top edge.
    label_top = top - label.height
    if label_top < 0:
        label_top = min(top, max(0, canvas.height - label.height))
    label_left = min(left, max(0, canvas.width - label.width))
    return max(0, label_left), label_top


def _label_patch(text: str, size: int, background: tuple[int, int, int], border: int, ink: _Ink) -> pyvips.Image:
    """Dark text on a ``background`` tag with a dark border, in the canvas' format and bands."""
    mask = _text_mask(text, size)
    padding = max(2, size // 5)
    mask_height, mask_width = mask.shape[:2]
    height = mask_height + padding + 2 * border
    width = mask_width + 2 * padding + 2 * border
    coverage = np.zeros((height, width), dtype=np.float64)
    top, left = border + padding // 2, border + padding
    coverage[top : top + mask_height, left : left + mask_width] = mask / 255.0
    text_ink = ink(LABEL_TEXT).astype(np.float64)
    fill_ink = ink(background).astype(np.float64)
    pixels = fill_ink + (text_ink - fill_ink) * coverage[..., None]
    # The border goes on last, over the padding area.
    frame = np.ones((height, width), dtype=bool)
    frame[border : height - border, border : width - border] = False
    pixels[frame] = ink(OUTLINE)
    return ink.image(pixels)


_text_works: bool | None = None


def _text_mask(text: str, size: int) -> np.ndarray:
    """A uint8 coverage mask (255 = ink) of the text: libvips' text if it works, else the bitmap font."""
    global _text_works
    if _text_works is not False:
        try:
            rendered = pyvips.Image.text(text, font=f"sans bold {size}", dpi=72)
            mask = np.asarray(rendered.numpy(), dtype=np.uint8).reshape(rendered.height, rendered.width)
            usable = mask.shape[0] > 1 and mask.shape[1] > 1 and int(mask.max()) > 0
        except pyvips.Error as exc:
            usable = False
            logger.warning("libvips cannot render text (%s); labels use the built-in bitmap font", exc)
        if usable:
            _text_works = True
            return mask
        _text_works = False
    return bitmap_font.render(text, max(1, round(size / bitmap_font.GLYPH_HEIGHT)))
