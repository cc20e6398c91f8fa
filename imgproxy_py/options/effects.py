"""Effects options: background, blur, sharpen, pixelate, watermark, and imgproxy Pro's
unsharp masking, blur areas and progressive blur."""

from __future__ import annotations

from collections.abc import Sequence

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.color import DIRECTION  # gradient's: the same words and angles
from imgproxy_py.options.grammar import Arg, Args, Custom, OneOf, Values
from imgproxy_py.options.gravity import WATERMARK_POSITIONS
from imgproxy_py.options.model import Color, WatermarkOptions
from imgproxy_py.options.primitives import (
    BYTE,
    FLOAT,
    HEX_COLOR,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    SIGNED_BYTE,
    UNIT_FLOAT,
    choice_type,
    parse_unit_float,
)
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, set_pipe
from imgproxy_py.options.values_sharpness import (
    BlurArea,
    BlurAreas,
    ProgressiveBlur,
    UnsharpMaskingArgs,
    UnsharpMaskingMode,
)

F = Family.EFFECTS
POSITION = choice_type({t.value: t for t in WATERMARK_POSITIONS})
UNSHARP_MODE = choice_type({m.value: m for m in UnsharpMaskingMode})



def _background(b: OptionsBuilder, values: Values) -> None:
    # One value: a hex colour, or None for "bg:" (no background); three: r, g, b.
    b.pipe["background"] = values[0] if len(values) == 1 else Color(*values)


def _watermark(b: OptionsBuilder, values: Values) -> None:
    opacity, position, x, y, scale = values
    current: WatermarkOptions = b.pipe_value("watermark")
    b.pipe["watermark"] = WatermarkOptions(
        opacity,
        current.position if position is None else position,
        current.x if x is None else x,
        current.y if y is None else y,
        current.scale if scale is None else scale,
    )


def _unsharp_masking(b: OptionsBuilder, values: Values) -> None:
    # Each argument may be left empty: it keeps what an earlier ush (or the server) set.
    mode, weight, divider = values
    current: UnsharpMaskingArgs = b.pipe_value("unsharp_masking")
    b.pipe["unsharp_masking"] = UnsharpMaskingArgs(
        current.mode if mode is None else mode,
        current.weight if weight is None else weight,
        current.divider if divider is None else divider,
    )


def _parse_areas(option: str, args: Sequence[str]) -> tuple[BlurArea, ...]:
    if len(args) % 4:
        raise InvalidURLError(f"Invalid {option} arguments: an area takes left, top, width and height, "
                              f"got {len(args)} numbers")
    values = [parse_unit_float(f"{option} area", a) for a in args]
    return tuple(BlurArea(*values[i:i + 4]) for i in range(0, len(values), 4))


def _blur_areas(b: OptionsBuilder, values: Values) -> None:
    sigma, areas = values
    b.pipe["blur_areas"] = BlurAreas(sigma, areas or ()) if sigma > 0 and areas else None


def _progressive_blur(b: OptionsBuilder, values: Values) -> None:
    sigma, angle, start, stop = values
    # A stop before the start turns the ramp round, as gradient's does.
    start = 0.0 if start is None else start
    stop = 1.0 if stop is None else stop
    b.pipe["progressive_blur"] = ProgressiveBlur(sigma, angle or 0.0, start, stop) if sigma > 0 else None


OPTIONS = (
    Option("background", ("bg",), F,
           OneOf(Args(Arg("hex_color", HEX_COLOR, keep_if_empty=True)),
                 Args(Arg("r", BYTE), Arg("g", BYTE), Arg("b", BYTE))),
           _background, "Fill transparent areas (and extend, padding) with this colour; empty: none.",
           "rs:fit:300:300/ex:1/bg:f5deb3"),
    Option("blur", ("bl",), F, Args(Arg("sigma", NON_NEGATIVE_FLOAT)), set_pipe("blur"),
           "Gaussian blur of this sigma.", "bl:3"),
    Option("sharpen", ("sh",), F, Args(Arg("sigma", NON_NEGATIVE_FLOAT)), set_pipe("sharpen"),
           "Sharpen with this sigma.", "rs:fit:300:300/sh:0.7"),
    Option("pixelate", ("pix",), F, Args(Arg("size", NON_NEGATIVE_INT)), set_pipe("pixelate"),
           "Pixelate in blocks of this size.", "pix:10"),
    Option("brightness", ("br",), F, Args(Arg("brightness", SIGNED_BYTE)), set_pipe("brightness"),
           "Add this much (-255 to 255) to every colour channel.", "rs:fit:300:300/br:40"),
    Option("watermark", ("wm",), F,
           Args(Arg("opacity", UNIT_FLOAT), Arg("position", POSITION, keep_if_empty=True),
                Arg("x_offset", FLOAT, keep_if_empty=True), Arg("y_offset", FLOAT, keep_if_empty=True),
                Arg("scale", POSITIVE_FLOAT, keep_if_empty=True)),
           _watermark, "Put the watermark on the result: a compass position, `re` to tile it, `ch` to tile it "
           "in a chessboard's order.",
           "wm:0.5:soea:10:10:0.2"),
    Option("unsharp_masking", ("ush",), F,
           Args(Arg("mode", UNSHARP_MODE, keep_if_empty=True), Arg("weight", POSITIVE_FLOAT, keep_if_empty=True),
                Arg("divider", POSITIVE_FLOAT, keep_if_empty=True)),
           _unsharp_masking, "Unsharp masking: `auto` (when downscaling without `sh`), `none` or `always`, with "
           "its weight and divider; empty arguments keep `IMGPROXY_UNSHARP_MASKING_*`.",
           "rs:fit:300:300/ush:always:2:16"),
    Option("blur_areas", ("ba",), F,
           Args(Arg("sigma", NON_NEGATIVE_FLOAT),
                tail=Custom(_parse_areas, "%left1:%top1:%width1:%height1:...")),
           _blur_areas, "Gaussian blur of this sigma inside areas given as 0-1 fractions of the source's "
           "size (as displayed after EXIF rotation; they turn with `rot` and `fl`).",
           "rs:fit:300:300/ba:8:0.25:0.1:0.5:0.4"),
    Option("progressive_blur", ("pbl",), F,
           Args(Arg("sigma", NON_NEGATIVE_FLOAT), Arg("direction", DIRECTION, keep_if_empty=True),
                Arg("start", UNIT_FLOAT, keep_if_empty=True), Arg("stop", UNIT_FLOAT, keep_if_empty=True)),
           _progressive_blur, "A blur growing from none at `start` to `sigma` at `stop` (0-1, default 0 and 1) "
           "along `%direction`: `down` (default: the top sharp, the bottom blurred), `up`, `left`, `right` or "
           "clockwise degrees (0 = down).",
           "rs:fit:300:300/pbl:10:up:0.3:1"),
)
