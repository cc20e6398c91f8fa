"""Geometry options: size, resizing, zoom, DPR, extend, padding, rotation and flips."""

from __future__ import annotations

from imgproxy_py.options.grammar import Arg, Args, Nested, Values
from imgproxy_py.options.gravity import EXTEND_GRAVITY_TYPES, gravity_tail
from imgproxy_py.options.model import ExtendOptions, Gravity, ResizingType
from imgproxy_py.options.primitives import (
    BOOL,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    RIGHT_ANGLE,
    choice_type,
)
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, set_pipe
from imgproxy_py.options.values_sharpness import ResizingAlgorithm

RESIZING_TYPE = choice_type({t.value: t for t in ResizingType})
RESIZING_ALGORITHM = choice_type({a.value: a for a in ResizingAlgorithm})
F = Family.GEOMETRY


# --- grammars the meta-options share: rs ends with s's arguments, s with ex's -----------

def _extend_options(values: Values) -> ExtendOptions:
    enabled, gravity = values
    return ExtendOptions(enabled, gravity or Gravity())


EXTEND_ARGS = Args(
    Arg("extend", BOOL),
    # "ex:1::5" has no gravity: an empty type keeps the default, whatever follows.
    tail=gravity_tail(EXTEND_GRAVITY_TYPES, label="gravity", max_count=3,
                      keep_if_empty=True),
)
SIZE_ARGS = Args(
    Arg("width", NON_NEGATIVE_INT, keep_if_empty=True),
    Arg("height", NON_NEGATIVE_INT, keep_if_empty=True),
    Arg("enlarge", BOOL, keep_if_empty=True),
    tail=Nested(EXTEND_ARGS, _extend_options, keep_if_empty=True),
)
RESIZE_ARGS = Args(Arg("resizing_type", RESIZING_TYPE, keep_if_empty=True), tail=Nested(SIZE_ARGS))


def _size(b: OptionsBuilder, values: Values) -> None:
    for field, value in zip(("width", "height", "enlarge", "extend"), values, strict=True):
        if value is not None:
            b.pipe[field] = value


def _resize(b: OptionsBuilder, values: Values) -> None:
    resizing_type, size = values
    if resizing_type is not None:
        b.pipe["resizing_type"] = resizing_type
    if size is not None:
        _size(b, size)


def _extend(b: OptionsBuilder, values: Values) -> None:
    b.pipe["extend"] = _extend_options(values)


def _extend_aspect_ratio(b: OptionsBuilder, values: Values) -> None:
    b.pipe["extend_aspect_ratio"] = _extend_options(values)


def _zoom(b: OptionsBuilder, values: Values) -> None:
    zoom_x, zoom_y = values
    b.pipe["zoom_x"], b.pipe["zoom_y"] = zoom_x, zoom_x if zoom_y is None else zoom_y


def _padding(b: OptionsBuilder, values: Values) -> None:
    # CSS shorthand: a missing right is the top, a missing bottom the top, a missing left the right.
    top, right, bottom, left = values
    if top is None:
        top = b.pipe_value("padding")[0]
    right = top if right is None else right
    bottom = top if bottom is None else bottom
    left = right if left is None else left
    b.pipe["padding"] = (top, right, bottom, left)


def _rotate(b: OptionsBuilder, values: Values) -> None:
    b.pipe["rotate"] = values[0] % 360


def _flip(b: OptionsBuilder, values: Values) -> None:
    horizontal, vertical = values
    if horizontal is not None:
        b.pipe["flip_horizontal"] = horizontal
    if vertical is not None:
        b.pipe["flip_vertical"] = vertical


OPTIONS = (
    Option("resize", ("rs",), F, RESIZE_ARGS, _resize,
           "Resizing type, width, height, enlarge and extend at once (`rt`, `w`, `h`, `el`, `ex`).",
           "rs:fill:300:200"),
    Option("size", ("s",), F, SIZE_ARGS, _size,
           "Width, height, enlarge and extend at once.", "s:300:200:1"),
    Option("resizing_type", ("rt",), F, Args(Arg("resizing_type", RESIZING_TYPE)), set_pipe("resizing_type"),
           "How the image meets the size: `fit` (default) inside it, `fill` covering it and cropped, "
           "`fill-down` as fill without enlarging, `force` stretched, `auto` fill or fit by orientation.",
           "rt:fill-down/w:300/h:200"),
    Option("resizing_algorithm", ("ra",), F, Args(Arg("algorithm", RESIZING_ALGORITHM)),
           set_pipe("resizing_algorithm"),
           "The libvips kernel that scales the image: `nearest`, `linear`, `cubic`, `lanczos2` or "
           "`lanczos3` (default).", "rs:fit:300:300/ra:nearest"),
    Option("width", ("w",), F, Args(Arg("width", NON_NEGATIVE_INT)), set_pipe("width"),
           "Result width in pixels; 0: from the height and the aspect ratio.", "w:300"),
    Option("height", ("h",), F, Args(Arg("height", NON_NEGATIVE_INT)), set_pipe("height"),
           "Result height in pixels; 0: from the width and the aspect ratio.", "h:200"),
    Option("min-width", ("mw",), F, Args(Arg("width", NON_NEGATIVE_INT)), set_pipe("min_width"),
           "The result is at least this wide: scaled up, then cropped to the asked size.",
           "rs:fit:100:100/mw:300"),
    Option("min-height", ("mh",), F, Args(Arg("height", NON_NEGATIVE_INT)), set_pipe("min_height"),
           "The result is at least this high: scaled up, then cropped to the asked size.",
           "rs:fit:100:100/mh:300"),
    Option("zoom", ("z",), F, Args(Arg("zoom_x", POSITIVE_FLOAT), Arg("zoom_y", POSITIVE_FLOAT)), _zoom,
           "Multiply the resized image's size; one value zooms both axes.", "rs:fit:300:300/z:1.5"),
    Option("dpr", (), F, Args(Arg("dpr", POSITIVE_FLOAT)), set_pipe("dpr"),
           "Multiply sizes, offsets and paddings for HiDPI screens (never past the source's size "
           "without `el:1`).", "rs:fit:300:300/dpr:2"),
    Option("enlarge", ("el",), F, Args(Arg("enlarge", BOOL)), set_pipe("enlarge"),
           "Allow a result larger than the source.", "rs:fit:1200:1200/el:1"),
    Option("extend", ("ex",), F, EXTEND_ARGS, _extend,
           "Pad the image up to the asked size, placed by the gravity (`fp:%x:%y` too).",
           "rs:fit:300:300/ex:1:so"),
    Option("extend_aspect_ratio", ("extend_ar", "exar"), F, EXTEND_ARGS, _extend_aspect_ratio,
           "Pad the image up to the asked aspect ratio.", "rs:fit:300:100/exar:1"),
    Option("padding", ("pd",), F,
           Args(*(Arg(side, NON_NEGATIVE_INT, keep_if_empty=True) for side in ("top", "right", "bottom", "left"))),
           _padding, "Padding around the result in CSS order; missing sides follow CSS rules.",
           "rs:fit:300:300/pd:10:20/bg:f5deb3"),
    Option("auto_rotate", ("ar",), F, Args(Arg("auto_rotate", BOOL)), set_pipe("auto_rotate"),
           "Rotate by the EXIF orientation (default `IMGPROXY_AUTO_ROTATE`, true).", "ar:0"),
    Option("rotate", ("rot",), F, Args(Arg("angle", RIGHT_ANGLE)), _rotate,
           "Rotate clockwise by a multiple of 90 degrees, after the EXIF rotation.", "rot:90"),
    Option("flip", ("fl",), F,
           Args(Arg("horizontal", BOOL, keep_if_empty=True), Arg("vertical", BOOL, keep_if_empty=True)), _flip,
           "Mirror left-right and/or upside down.", "fl:1:0"),
)
