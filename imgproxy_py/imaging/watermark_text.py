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
import xml.etree.ElementTree as ET

import pyvips

from imgproxy_py.errors import UnprocessableImageError

DEFAULT_FONT = "sans 16"
DPI = 72  # libvips' default resolution for text
MAX_TEXT_SIDE = 4096
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


def render_text(markup: str) -> pyvips.Image:
    """The markup rendered as an sRGB image with alpha (422 for bad or oversized markup)."""
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
    return text.copy(interpretation="srgb")


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
    if name in _SIZE_ATTRS:
        return _clamp_size(value)
    if name in _FONT_ATTRS:
        # A font description ends with its size ("Serif Bold 20", "Sans 30px").
        return re.sub(_NUMBER + r"(px)?$", lambda m: f"{_cap(float(m[1]), MAX_POINTS)}{m[2] or ''}", value)
    if name in _SPACING_ATTRS:
        return _clamp_signed(value, MAX_SPACING_POINTS)
    if name == "line_height":
        number = _float(value)
        if number is not None:
            # Under 1024 it is a factor of the font's height, above it Pango units.
            limit = MAX_LINE_HEIGHT if number < PANGO_SCALE else MAX_LINE_HEIGHT * MAX_POINTS * PANGO_SCALE
            return _cap(number, limit)
    return value


def _clamp_size(value: str) -> str:
    if value.isdigit():
        return _cap(float(value), MAX_POINTS * PANGO_SCALE)
    match = re.fullmatch(_NUMBER + r"(pt|%)", value)
    if match:
        return _cap(float(match[1]), MAX_POINTS if match[2] == "pt" else MAX_PERCENT) + match[2]
    return value  # a keyword (x-large, larger...), or what Pango itself refuses


def _clamp_signed(value: str, points: float) -> str:
    match = re.fullmatch(r"([-+]?)" + _NUMBER + r"(pt)?", value)
    if not match:
        return value
    limit = points if match[3] else points * PANGO_SCALE
    return match[1] + _cap(float(match[2]), limit) + (match[3] or "")


def _cap(number: float, limit: float) -> str:
    capped = min(number, limit)
    return str(int(capped)) if capped == math.floor(capped) else f"{capped:.3f}"


def _float(value: str) -> float | None:
    return float(value) if re.fullmatch(_NUMBER, value) else None
