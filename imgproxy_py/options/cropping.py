"""Cropping options: gravity, crop and trim."""

from __future__ import annotations

from imgproxy_py.options.grammar import Arg, Args, Values
from imgproxy_py.options.gravity import CROP_GRAVITY_TYPES, gravity_tail
from imgproxy_py.options.model import CropOptions, TrimOptions
from imgproxy_py.options.primitives import BOOL, FLOAT, HEX_COLOR, NON_NEGATIVE_FLOAT
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, set_pipe
from imgproxy_py.options.values_sharpness import CropAspectRatio

F = Family.CROPPING

GRAVITY_DOC = "%type:%x_offset:%y_offset"


def _crop(b: OptionsBuilder, values: Values) -> None:
    width, height, gravity = values
    b.pipe["crop"] = CropOptions(width, 0.0 if height is None else height, gravity)


def _crop_aspect_ratio(b: OptionsBuilder, values: Values) -> None:
    ratio, enlarge = values
    b.pipe["crop_aspect_ratio"] = CropAspectRatio(ratio, bool(enlarge))


def _trim(b: OptionsBuilder, values: Values) -> None:
    threshold, color, equal_hor, equal_ver = values
    current: TrimOptions = b.pipe_value("trim")
    b.pipe["trim"] = TrimOptions(
        threshold, color,
        current.equal_horizontal if equal_hor is None else equal_hor,
        current.equal_vertical if equal_ver is None else equal_ver,
    )


OPTIONS = (
    Option("gravity", ("g",), F, Args(tail=gravity_tail(CROP_GRAVITY_TYPES, doc=GRAVITY_DOC)), set_pipe("gravity"),
           "Where `fill` and `crop` cut: `no so ea we noea nowe soea sowe ce` with offsets (pixels, or "
           "relative below 1), `sm` (smart crop: libvips' attention, or the advanced one with "
           "`IMGPROXY_SMART_CROP_ADVANCED`), `fp:%x:%y`, `obj:%class...`, `objw:%class:%weight...`.",
           "rs:fill:300:300/g:nowe:10:10"),
    Option("crop", ("c",), F,
           Args(Arg("width", NON_NEGATIVE_FLOAT), Arg("height", NON_NEGATIVE_FLOAT, keep_if_empty=True),
                tail=gravity_tail(CROP_GRAVITY_TYPES, label="gravity", max_count=33)),
           _crop, "Crop before resizing (pixels, or relative below 1); gravity as `g`, default the pipeline's.",
           "c:0.5:0.5:ce"),
    Option("crop_aspect_ratio", ("crop_ar", "car"), F,
           Args(Arg("aspect_ratio", NON_NEGATIVE_FLOAT), Arg("enlarge", BOOL, keep_if_empty=True)),
           _crop_aspect_ratio, "Correct the crop area (the whole image without `c`) to this width/height "
           "ratio, shrinking it, or growing it with `enlarge` as far as the image allows; 0: off.",
           "c:0.6:0.6/car:1.5/rs:fit:300:300"),
    Option("trim", ("t",), F,
           Args(Arg("threshold", FLOAT, keep_if_empty=True), Arg("color", HEX_COLOR, keep_if_empty=True),
                Arg("equal_hor", BOOL, keep_if_empty=True), Arg("equal_ver", BOOL, keep_if_empty=True)),
           _trim, "Remove a border of one colour (default: the top-left pixel's; transparency counts as "
           "`ff00ff`, as in imgproxy), optionally the same on opposite sides.", "t:10:ffffff"),
)
