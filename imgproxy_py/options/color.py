"""Colour and tone options of imgproxy Pro (declared in the effects family): ``background_alpha``,
``adjust``, ``contrast``, ``saturation``, ``monochrome``, ``duotone``, ``colorize`` and
``gradient``.  ``brightness`` is declared with the other effects in
:mod:`imgproxy_py.options.effects`.

``co``: imgproxy's docs give it both to ``contrast`` and to ``crop_objects``; its official
JavaScript client writes ``co:%contrast`` for contrast and ``c_obj:...`` for crop_objects.
Here ``co`` with one argument is contrast, as the client writes it; with more (a scale and
class names, as the docs' crop_objects section writes it) it is crop_objects, which also
answers to ``c_obj`` and to our ``cob``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options import detection
from imgproxy_py.options.grammar import Arg, Args, ArgType, Grammar, Values
from imgproxy_py.options.model import Color
from imgproxy_py.options.primitives import (
    BOOL,
    HEX_COLOR,
    NON_NEGATIVE_FLOAT,
    SIGNED_BYTE,
    UNIT_FLOAT,
    bad_argument,
    parse_float,
)
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, set_pipe
from imgproxy_py.options.values_color import GRADIENT_DIRECTIONS, Colorize, Duotone, Gradient, Monochrome

F = Family.EFFECTS
BLACK = Color(0, 0, 0)
WHITE = Color(255, 255, 255)
MONOCHROME_COLOR = Color(0xB3, 0xB3, 0xB3)  # imgproxy's default: "0:b3b3b3"
CROP_OBJECTS = next(o for o in detection.OPTIONS if o.name == "crop_objects")
# Allowing "co" (IMGPROXY_ALLOWED_PROCESSING_OPTIONS) allows contrast; crop_objects needs its own name.
CROP_OBJECTS_NAMES = frozenset({CROP_OBJECTS.name, *CROP_OBJECTS.aliases})


def _parse_direction(option: str, arg: str) -> float:
    if arg in GRADIENT_DIRECTIONS:
        return GRADIENT_DIRECTIONS[arg]
    try:
        return parse_float(option, arg) % 360
    except InvalidURLError:
        raise bad_argument(option, arg, "down, up, right, left or an angle in degrees") from None


DIRECTION = ArgType("`down` `up` `right` `left` or degrees", _parse_direction)
CONTRAST = Args(Arg("contrast", NON_NEGATIVE_FLOAT))


class _ContrastOrCropObjects(Grammar):
    """One argument: the contrast.  More: crop_objects' ``%scale:%class1:...`` (see above)."""

    max_count = None

    def parse(self, option: str, args: Sequence[str]) -> Values:
        if len(args) <= 1:
            return CONTRAST.parse(option, args)
        return (CROP_OBJECTS.grammar.parse(CROP_OBJECTS.name, args),)

    def doc(self) -> str:
        return CONTRAST.doc()


def _contrast(b: OptionsBuilder, values: Values) -> None:
    if isinstance(values[0], tuple):
        if b.allowed_options and not CROP_OBJECTS_NAMES & b.allowed_options:
            raise InvalidURLError("Forbidden processing option: crop_objects")
        CROP_OBJECTS.apply(b, values[0])
    else:
        b.pipe["contrast"] = values[0]


def _adjust(b: OptionsBuilder, values: Values) -> None:
    # Empty (or missing) arguments keep the current values.
    for name, value in zip(("brightness", "contrast", "saturation"), values, strict=True):
        if value is not None:
            b.pipe[name] = value


def _monochrome(b: OptionsBuilder, values: Values) -> None:
    intensity, color = values
    current: Monochrome | None = b.pipe_value("monochrome")
    color = color or (current.color if current else MONOCHROME_COLOR)
    b.pipe["monochrome"] = Monochrome(intensity, color) if intensity > 0 else None


def _duotone(b: OptionsBuilder, values: Values) -> None:
    intensity, dark, light = values
    current: Duotone | None = b.pipe_value("duotone")
    dark = dark or (current.dark if current else BLACK)
    light = light or (current.light if current else WHITE)
    b.pipe["duotone"] = Duotone(intensity, dark, light) if intensity > 0 else None


def _colorize(b: OptionsBuilder, values: Values) -> None:
    opacity, color, keep_alpha = values
    current: Colorize | None = b.pipe_value("colorize")
    color = color or (current.color if current else BLACK)
    keep_alpha = (current.keep_alpha if current else False) if keep_alpha is None else keep_alpha
    b.pipe["colorize"] = Colorize(opacity, color, keep_alpha) if opacity > 0 else None


def _gradient(b: OptionsBuilder, values: Values) -> None:
    opacity, color, angle, start, stop = values
    current: Gradient = b.pipe_value("gradient") or Gradient(0.0, BLACK)
    gradient = Gradient(opacity,
                        current.color if color is None else color,
                        current.angle if angle is None else angle,
                        current.start if start is None else start,
                        current.stop if stop is None else stop)
    b.pipe["gradient"] = gradient if opacity > 0 else None


def _optional(name: str, kind: ArgType[Any]) -> Arg:
    return Arg(name, kind, keep_if_empty=True)


OPTIONS = (
    Option("background_alpha", ("bga",), F, Args(Arg("alpha", UNIT_FLOAT)), set_pipe("background_alpha"),
           "With `background`: the background's opacity (0-1), so that transparent areas stay partly "
           "transparent in formats with alpha.", "rs:fit:300:300/ex:1/bg:f5deb3/bga:0.5/f:png"),
    Option("adjust", ("a",), F,
           Args(_optional("brightness", SIGNED_BYTE), _optional("contrast", NON_NEGATIVE_FLOAT),
                _optional("saturation", NON_NEGATIVE_FLOAT)),
           _adjust, "`brightness`, `contrast` and `saturation` at once; empty ones are left as they are.",
           "rs:fit:300:300/a:10:1.2:1.5"),
    Option("contrast", ("co",), F, _ContrastOrCropObjects(), _contrast,
           "Scale each colour channel's distance from mid-grey (1: unchanged, 0: flat grey). imgproxy's docs "
           "also name `crop_objects` `co`: `co` with more than one argument (`co:%scale:%class1:...`) is "
           "`crop_objects`.", "rs:fit:300:300/co:1.5"),
    Option("saturation", ("sa",), F, Args(Arg("saturation", NON_NEGATIVE_FLOAT)), set_pipe("saturation"),
           "Scale the colours' distance from their grey (1: unchanged, 0: greyscale).", "rs:fit:300:300/sa:1.8"),
    Option("monochrome", ("mc",), F, Args(Arg("intensity", UNIT_FLOAT), _optional("color", HEX_COLOR)),
           _monochrome, "Greyscale tinted on a black-`%color`-white palette (default `b3b3b3`: plain grey), "
           "blended in by `%intensity` (0-1, 0: off).", "rs:fit:300:300/mc:1:d4a373"),
    Option("duotone", ("dt",), F,
           Args(Arg("intensity", UNIT_FLOAT), _optional("color1", HEX_COLOR), _optional("color2", HEX_COLOR)),
           _duotone, "Dark areas to `%color1` (default black), light ones to `%color2` (default white), blended "
           "in by `%intensity` (0-1, 0: off).", "rs:fit:300:300/dt:1:1d3557:f1faee"),
    Option("colorize", ("col",), F,
           Args(Arg("opacity", UNIT_FLOAT), _optional("color", HEX_COLOR), _optional("keep_alpha", BOOL)),
           _colorize, "A `%color` layer (default black) of this opacity (0-1, 0: off) over the result; "
           "`%keep_alpha` 1 leaves the alpha channel as it was.", "rs:fit:300:300/col:0.3:ff0000"),
    Option("gradient", ("gr",), F,
           Args(Arg("opacity", UNIT_FLOAT), _optional("color", HEX_COLOR), _optional("direction", DIRECTION),
                _optional("start", UNIT_FLOAT), _optional("stop", UNIT_FLOAT)),
           _gradient, "A layer from transparent to `%color` (default black) at `%opacity` (0: off), along "
           "`%direction` (`down` by default, or clockwise degrees, 0 = down), from `%start` to `%stop` "
           "(0-1, default 0 and 1).", "rs:fit:300:300/gr:0.8:000:up:0:0.6"),
)
