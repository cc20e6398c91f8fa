"""Effects options: background, blur, sharpen, pixelate and watermark."""

from __future__ import annotations

from imgproxy_py.options.grammar import Arg, Args, OneOf, Values
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
)
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, set_pipe

F = Family.EFFECTS
POSITION = choice_type({t.value: t for t in WATERMARK_POSITIONS})


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
)
