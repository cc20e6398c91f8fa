"""``watermark_text``: Pango markup rendered by libvips' ``text`` (black ``sans 16``, as in
imgproxy), with bounds that a URL cannot talk its way past.

Markup sets sizes (``size``, ``font``, ``<big>``, ``letter_spacing``, ``line_height``...), and
cairo would allocate a surface of up to 32767x32767 for a few characters of it.  So the markup
is read as XML first: nesting is limited and every size-like attribute is clamped.  Then
libvips fits the text into a small box (it searches the resolution by layout alone, and
renders only that small image): text that fits the small box at 1/16 of the resolution fits
``MAX_TEXT_SIDE`` at full resolution, and only then is it rendered; otherwise it is refused
(422).  Lines wider than ``MAX_TEXT_SIDE`` wrap, even inside a word.
"""

from __future__ import annotations

import math
import re
import threading
import xml.etree.ElementTree as ET
from collections import OrderedDict

import pyvips

from imgproxy_py.errors import UnprocessableImageError

DEFAULT_FONT = "sans 16"
DPI = 72  # libvips' default resolution for text
MAX_TEXT_SIDE = 4096
MAX_CACHED_PIXELS = 4096 * 4096  # 64 MiB of RGBA
PROBE_FACTOR = 16  # the fitting box is this many times smaller each way
MAX_DEPTH = 4  # nested tags: each <big> or percentage multiplies the size again
MAX_POINTS = 128.0
MAX_PERCENT = 120.0
MAX_SPACING_POINTS = 64.0
MAX_LINE_HEIGHT = 2.0
PANGO_SCALE = 1024  # Pango units per point

_NUMBER = r"(\d+(?:\.\d+)?)"
_SIZE_ATTRS = ("size", "font_size")
_FONT_ATTRS = ("font", "font_desc")
_SPACING_ATTRS = ("letter_spacing", "rise", "baseline_shift")
_SIZE_KEYWORDS = ("xx-small", "x-small", "small", "medium", "large", "x-large", "xx-large", "smaller", "larger")
_SHIFT_KEYWORDS = ("none", "superscript", "subscript")


class _Rendered:
    """The texts rendered lately, up to ``MAX_CACHED_PIXELS`` in all: a watermark text is
    usually the same on many images, and an animation places it on every frame."""

    def __init__(self) -> None:
        self._images: OrderedDict[str, pyvips.Image] = OrderedDict()
        self._pixels = 0
        self._lock = threading.Lock()

    def get(self, markup: str) -> pyvips.Image | None:
        with self._lock:
            img = self._images.get(markup)
            if img is not None:
                self._images.move_to_end(markup)
            return img

    def put(self, markup: str, img: pyvips.Image) -> None:
        size = img.width * img.height
        with self._lock:
            if markup in self._images or size > MAX_CACHED_PIXELS:
                return
            while self._images and self._pixels + size > MAX_CACHED_PIXELS:
                _, old = self._images.popitem(last=False)
                self._pixels -= old.width * old.height
            self._images[markup] = img
            self._pixels += size


_rendered = _Rendered()


def render_text(markup: str) -> pyvips.Image:
    """The markup rendered as an sRGB image with alpha (422 for bad or oversized markup)."""
    img = _rendered.get(markup)
    if img is None:
        img = _render(markup)
        _rendered.put(markup, img)
    return img


def _render(markup: str) -> pyvips.Image:
    safe = sanitize(markup)
    box = MAX_TEXT_SIDE // PROBE_FACTOR
    try:
        _, fitted = pyvips.Image.text(safe, font=DEFAULT_FONT, width=box, height=box, wrap="word-char",
                                      autofit_dpi=True)
        if fitted["autofit_dpi"] * PROBE_FACTOR < DPI:
            raise UnprocessableImageError(f"watermark text renders larger than {MAX_TEXT_SIDE}x{MAX_TEXT_SIDE}")
        text = pyvips.Image.text(safe, font=DEFAULT_FONT, dpi=DPI, width=MAX_TEXT_SIDE, wrap="word-char",
                                 rgba=True)
    except pyvips.Error as exc:
        raise UnprocessableImageError(f"invalid watermark text: {exc}") from exc
    return text.copy(interpretation="srgb").copy_memory()


def sanitize(markup: str) -> str:
    """The markup with nesting checked and size-like attributes clamped (422 when it is not
    well-formed)."""
    try:
        root = ET.fromstring(f"<markup>{markup}</markup>")
    except ET.ParseError as exc:
        raise UnprocessableImageError(f"invalid watermark text markup: {exc}") from None
    _clamp(root, 0)
    inner = ET.tostring(root, encoding="unicode")
    return inner.removeprefix("<markup>").removesuffix("</markup>").removesuffix("<markup />")


def _clamp(element: ET.Element, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise UnprocessableImageError(f"watermark text nests tags deeper than {MAX_DEPTH}")
    for name, value in list(element.attrib.items()):
        element.set(name, _clamped(name, value.strip()))
    for child in element:
        _clamp(child, depth + 1)


def _clamped(name: str, value: str) -> str:
    """The value with its size bounded; a size-like value in a form that can't be bounded
    (exponents, units Pango reads some other way) is refused rather than passed on."""
    if name in _SIZE_ATTRS:
        if value in _SIZE_KEYWORDS:
            return value
        match = re.fullmatch(_NUMBER + r"(pt|%)?", value)
        if match:
            unit = match[2] or ""
            limit = {"": MAX_POINTS * PANGO_SCALE, "pt": MAX_POINTS, "%": MAX_PERCENT}[unit]
            return _cap(float(match[1]), limit) + unit
    elif name in _FONT_ATTRS:
        # A font description ends with its size, if it has one ("Serif Bold 20", "Sans 30px").
        family, _, last = value.rpartition(" ")
        match = re.fullmatch(_NUMBER + r"(px)?", last)
        if match:
            return f"{family} {_cap(float(match[1]), MAX_POINTS)}{match[2] or ''}".lstrip()
        if not re.search(r"\d", last):
            return value  # no size: the family and style alone
    elif name in _SPACING_ATTRS:
        if value in _SHIFT_KEYWORDS:
            return value
        match = re.fullmatch(r"([-+]?)" + _NUMBER + r"(pt)?", value)
        if match:
            limit = MAX_SPACING_POINTS if match[3] else MAX_SPACING_POINTS * PANGO_SCALE
            return match[1] + _cap(float(match[2]), limit) + (match[3] or "")
    elif name == "line_height":
        match = re.fullmatch(_NUMBER, value)
        if match:
            number = float(match[1])
            # Under 1024 it is a factor of the font's height, above it Pango units.
            limit = MAX_LINE_HEIGHT if number < PANGO_SCALE else MAX_LINE_HEIGHT * MAX_POINTS * PANGO_SCALE
            return _cap(number, limit)
    else:
        return value  # colours, families, styles: no size
    raise UnprocessableImageError(f"watermark text: {name}={value!r} is not a size this server can bound")


def _cap(number: float, limit: float) -> str:
    capped = min(number, limit)
    return str(int(capped)) if capped == math.floor(capped) else f"{capped:.3f}"
