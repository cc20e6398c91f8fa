"""imgproxy Pro's watermark options: which image ``watermark`` places (``wmu``, ``wmt``) and
how it is shaped first (``wms``, ``wmr``, ``wmsh``).  They are effects, documented with
``watermark``; they live here so that the effects module stays small."""

from __future__ import annotations

import dataclasses

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.grammar import Arg, Args, Values
from imgproxy_py.options.primitives import BASE64, INT, NON_NEGATIVE_FLOAT, NON_NEGATIVE_INT
from imgproxy_py.options.registry import Family, Option, OptionsBuilder
from imgproxy_py.options.values_watermarks import MAX_WATERMARK_TEXT, WatermarkStyle

F = Family.EFFECTS
# The demo's watermark URL (base64 of local:///pil123p.png) for the examples.
_DEMO_URL = "bG9jYWw6Ly8vcGlsMTIzcC5wbmc"


def _style(b: OptionsBuilder, **changes: object) -> None:
    current: WatermarkStyle = b.pipe_value("watermark_style")
    b.pipe["watermark_style"] = dataclasses.replace(current, **changes)  # type: ignore[arg-type]


def _url(b: OptionsBuilder, values: Values) -> None:
    _style(b, url=values[0] or "")


def _text(b: OptionsBuilder, values: Values) -> None:
    text = values[0] or ""
    if len(text) > MAX_WATERMARK_TEXT:
        raise InvalidURLError(f"Invalid watermark_text argument: longer than {MAX_WATERMARK_TEXT} characters")
    _style(b, text=text)


def _size(b: OptionsBuilder, values: Values) -> None:
    width, height = values
    _style(b, width=width or 0, height=height or 0)


def _rotate(b: OptionsBuilder, values: Values) -> None:
    _style(b, rotate=values[0])


def _shadow(b: OptionsBuilder, values: Values) -> None:
    _style(b, shadow=values[0])


OPTIONS = (
    Option("watermark_url", ("wmu",), F, Args(Arg("url", BASE64, keep_if_empty=True)), _url,
           "Use the image at this URL (URL-safe base64) as the watermark; empty: the configured one.",
           f"wm:0.8:soea:10:10/wmu:{_DEMO_URL}"),
    Option("watermark_text", ("wmt",), F, Args(Arg("text", BASE64, keep_if_empty=True)), _text,
           "Render this Pango markup (URL-safe base64; black `sans 16` by default) as the watermark.",
           "wm:1:soea:10:10/wmt:PGI-aW1ncHJveHk8L2I-"),
    Option("watermark_size", ("wms",), F,
           Args(Arg("width", NON_NEGATIVE_INT, keep_if_empty=True),
                Arg("height", NON_NEGATIVE_INT, keep_if_empty=True)),
           _size, "Fit the watermark in this box, enlarging it if needed (0: from the aspect ratio); "
           "when `wm`'s scale is 0.", f"wm:0.8:ce/wmu:{_DEMO_URL}/wms:300:0"),
    Option("watermark_rotate", ("wm_rot", "wmr"), F, Args(Arg("angle", INT)), _rotate,
           "Rotate the watermark by this many degrees, clockwise.", f"wm:0.8:ce/wmu:{_DEMO_URL}/wmr:30"),
    Option("watermark_shadow", ("wmsh",), F, Args(Arg("sigma", NON_NEGATIVE_FLOAT)), _shadow,
           "Give the watermark a shadow blurred with this sigma; 0: none.",
           "wm:1:ce/wmt:PHNwYW4gZm9yZWdyb3VuZD0id2hpdGUiIHNpemU9IjQ4MDAwIj5pbWdwcm94eTwvc3Bhbj4/wmsh:4"),
)
