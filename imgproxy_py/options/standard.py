"""Parsers for imgproxy's open-source processing options.

Each parser follows the argument rules of imgproxy's own parser: empty arguments keep
the current value, extra arguments are an error, later options win.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.formats import ImageFormat, format_by_name
from imgproxy_py.options.model import (
    Color,
    CropOptions,
    ExtendOptions,
    Gravity,
    GravityType,
    ResizingType,
    TrimOptions,
    WatermarkOptions,
)
from imgproxy_py.options.primitives import (
    bad_argument,
    ensure_args,
    parse_base64,
    parse_bool,
    parse_byte,
    parse_choice,
    parse_float,
    parse_hex_color,
    parse_int,
    parse_non_negative_float,
    parse_non_negative_int,
    parse_positive_float,
    parse_quality,
    parse_unit_float,
)
from imgproxy_py.options.registry import OptionRegistry, OptionsBuilder, Scope

RESIZING_TYPES = {t.value: t for t in ResizingType}
COMPASS = (
    GravityType.NORTH, GravityType.SOUTH, GravityType.EAST, GravityType.WEST, GravityType.NORTH_EAST,
    GravityType.NORTH_WEST, GravityType.SOUTH_EAST, GravityType.SOUTH_WEST, GravityType.CENTER,
)
CROP_GRAVITY_TYPES = (*COMPASS, GravityType.SMART, GravityType.FOCUS_POINT, GravityType.OBJECTS,
                      GravityType.OBJECTS_WEIGHTED)
EXTEND_GRAVITY_TYPES = (*COMPASS, GravityType.FOCUS_POINT)
WATERMARK_POSITIONS = (*COMPASS, GravityType.REPLICATE)

registry = OptionRegistry()
register = registry.register


def parse_gravity(option: str, args: list[str], allowed: tuple[GravityType, ...]) -> Gravity:
    if not args or not args[0]:
        raise InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")
    choices = {t.value: t for t in allowed}
    gtype = parse_choice(option, args[0], choices)
    rest = args[1:]
    if gtype is GravityType.SMART:
        if rest:
            raise InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")
        return Gravity(gtype)
    if gtype is GravityType.OBJECTS:
        classes = tuple((name, 1.0) for name in rest if name and name != "all")
        return Gravity(gtype, classes=classes)
    if gtype is GravityType.OBJECTS_WEIGHTED:
        if len(rest) % 2:
            raise InvalidURLError(f"Invalid {option} arguments: each class needs a weight")
        pairs = tuple((rest[i], parse_non_negative_float(option, rest[i + 1])) for i in range(0, len(rest), 2))
        return Gravity(gtype, classes=pairs)
    if gtype is GravityType.FOCUS_POINT and len(rest) != 2:
        raise InvalidURLError(f"Invalid {option} arguments: fp needs x and y")
    if len(rest) > 2:
        raise InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")
    x = y = 0.0
    if rest and rest[0]:
        x = parse_float(f"{option} x offset", rest[0])
    if len(rest) > 1 and rest[1]:
        y = parse_float(f"{option} y offset", rest[1])
    if gtype is GravityType.FOCUS_POINT and not (0 <= x <= 1 and 0 <= y <= 1):
        raise bad_argument(option, ":".join(rest), "focus point coordinates in range 0-1")
    return Gravity(gtype, x, y)


# --- size -------------------------------------------------------------------------

@register("resizing_type", "rt")
def _resizing_type(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("resizing_type", args, maximum=1)
    b.pipe["resizing_type"] = parse_choice("resizing_type", args[0], RESIZING_TYPES)


@register("width", "w")
def _width(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("width", args, maximum=1)
    b.pipe["width"] = parse_non_negative_int("width", args[0])


@register("height", "h")
def _height(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("height", args, maximum=1)
    b.pipe["height"] = parse_non_negative_int("height", args[0])


@register("min-width", "mw")
def _min_width(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("min-width", args, maximum=1)
    b.pipe["min_width"] = parse_non_negative_int("min-width", args[0])


@register("min-height", "mh")
def _min_height(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("min-height", args, maximum=1)
    b.pipe["min_height"] = parse_non_negative_int("min-height", args[0])


@register("enlarge", "el")
def _enlarge(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("enlarge", args, maximum=1)
    b.pipe["enlarge"] = parse_bool("enlarge", args[0])


def _parse_extend(option: str, args: list[str]) -> ExtendOptions:
    ensure_args(option, args, maximum=4)
    enabled = parse_bool(option, args[0])
    gravity = Gravity()
    if len(args) > 1 and args[1]:
        gravity = parse_gravity(f"{option} gravity", args[1:], EXTEND_GRAVITY_TYPES)
    return ExtendOptions(enabled, gravity)


@register("extend", "ex")
def _extend(b: OptionsBuilder, args: list[str]) -> None:
    b.pipe["extend"] = _parse_extend("extend", args)


@register("extend_aspect_ratio", "extend_ar", "exar")
def _extend_ar(b: OptionsBuilder, args: list[str]) -> None:
    b.pipe["extend_aspect_ratio"] = _parse_extend("extend_aspect_ratio", args)


@register("size", "s")
def _size(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("size", args, maximum=7)
    if args[0]:
        _width(b, args[0:1])
    if len(args) > 1 and args[1]:
        _height(b, args[1:2])
    if len(args) > 2 and args[2]:
        _enlarge(b, args[2:3])
    if len(args) > 3 and args[3]:
        _extend(b, args[3:])


@register("resize", "rs")
def _resize(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("resize", args, maximum=8)
    if args[0]:
        _resizing_type(b, args[0:1])
    if len(args) > 1:
        _size(b, args[1:])


@register("zoom", "z")
def _zoom(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("zoom", args, maximum=2)
    zx = parse_positive_float("zoom", args[0])
    zy = parse_positive_float("zoom", args[1]) if len(args) > 1 else zx
    b.pipe["zoom_x"], b.pipe["zoom_y"] = zx, zy


@register("dpr")
def _dpr(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("dpr", args, maximum=1)
    b.pipe["dpr"] = parse_positive_float("dpr", args[0])


# --- geometry ---------------------------------------------------------------------

@register("gravity", "g")
def _gravity(b: OptionsBuilder, args: list[str]) -> None:
    b.pipe["gravity"] = parse_gravity("gravity", args, CROP_GRAVITY_TYPES)


@register("crop", "c")
def _crop(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("crop", args, maximum=2 + 1 + 32)
    width = parse_non_negative_float("crop width", args[0])
    height = parse_non_negative_float("crop height", args[1]) if len(args) > 1 and args[1] else 0.0
    gravity = parse_gravity("crop gravity", args[2:], CROP_GRAVITY_TYPES) if len(args) > 2 else None
    b.pipe["crop"] = CropOptions(width, height, gravity)


@register("trim", "t")
def _trim(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("trim", args, maximum=4)
    threshold = parse_float("trim threshold", args[0]) if args[0] else None
    color = parse_hex_color("trim color", args[1]) if len(args) > 1 and args[1] else None
    current: TrimOptions = b.pipe_value("trim")
    eq_h = parse_bool("trim", args[2]) if len(args) > 2 and args[2] else current.equal_horizontal
    eq_v = parse_bool("trim", args[3]) if len(args) > 3 and args[3] else current.equal_vertical
    b.pipe["trim"] = TrimOptions(threshold, color, eq_h, eq_v)


@register("padding", "pd")
def _padding(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("padding", args, maximum=4)
    top, right, bottom, left = b.pipe_value("padding")
    if args[0]:
        top = parse_non_negative_int("padding", args[0])
    right = parse_non_negative_int("padding", args[1]) if len(args) > 1 and args[1] else top
    bottom = parse_non_negative_int("padding", args[2]) if len(args) > 2 and args[2] else top
    left = parse_non_negative_int("padding", args[3]) if len(args) > 3 and args[3] else right
    b.pipe["padding"] = (top, right, bottom, left)


@register("auto_rotate", "ar")
def _auto_rotate(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("auto_rotate", args, maximum=1)
    b.pipe["auto_rotate"] = parse_bool("auto_rotate", args[0])


@register("rotate", "rot")
def _rotate(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("rotate", args, maximum=1)
    angle = parse_int("rotate", args[0])
    if angle % 90:
        raise InvalidURLError("Invalid rotate argument: rotation angle must be a multiple of 90")
    b.pipe["rotate"] = angle % 360


@register("flip", "fl")
def _flip(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("flip", args, maximum=2)
    if args[0]:
        b.pipe["flip_horizontal"] = parse_bool("flip", args[0])
    if len(args) > 1 and args[1]:
        b.pipe["flip_vertical"] = parse_bool("flip", args[1])


# --- colour and effects -----------------------------------------------------------

@register("background", "bg")
def _background(b: OptionsBuilder, args: list[str]) -> None:
    if len(args) == 1:
        b.pipe["background"] = parse_hex_color("background", args[0]) if args[0] else None
    elif len(args) == 3:
        b.pipe["background"] = Color(*(parse_byte("background", a) for a in args))
    else:
        raise InvalidURLError(f"Invalid background arguments: {':'.join(args)!r}")


@register("blur", "bl")
def _blur(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("blur", args, maximum=1)
    b.pipe["blur"] = parse_non_negative_float("blur", args[0])


@register("sharpen", "sh")
def _sharpen(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("sharpen", args, maximum=1)
    b.pipe["sharpen"] = parse_non_negative_float("sharpen", args[0])


@register("pixelate", "pix")
def _pixelate(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("pixelate", args, maximum=1)
    b.pipe["pixelate"] = parse_non_negative_int("pixelate", args[0])


@register("watermark", "wm")
def _watermark(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("watermark", args, maximum=5)
    current: WatermarkOptions = b.pipe_value("watermark")
    opacity = parse_unit_float("watermark opacity", args[0])
    position = current.position
    if len(args) > 1 and args[1]:
        position = parse_choice("watermark position", args[1], {t.value: t for t in WATERMARK_POSITIONS})
    x = parse_float("watermark x offset", args[2]) if len(args) > 2 and args[2] else current.x
    y = parse_float("watermark y offset", args[3]) if len(args) > 3 and args[3] else current.y
    scale = parse_positive_float("watermark scale", args[4]) if len(args) > 4 and args[4] else current.scale
    b.pipe["watermark"] = WatermarkOptions(opacity, position, x, y, scale)


# --- output -----------------------------------------------------------------------

def _single_output(name: str, field_name: str, parse: Callable[[str, str], object], *aliases: str) -> None:
    """Register a one-argument option of the request as a whole (``OutputOptions.field_name``)."""

    def parser(b: OptionsBuilder, args: list[str]) -> None:
        ensure_args(name, args, maximum=1)
        b.out[field_name] = parse(name, args[0])

    register(name, *aliases, scope=Scope.OUTPUT)(parser)


_single_output("strip_metadata", "strip_metadata", parse_bool, "sm")
_single_output("keep_copyright", "keep_copyright", parse_bool, "kcr")
_single_output("strip_color_profile", "strip_color_profile", parse_bool, "scp")
_single_output("enforce_thumbnail", "enforce_thumbnail", parse_bool, "eth")
_single_output("return_attachment", "return_attachment", parse_bool, "att")
_single_output("raw", "raw", parse_bool)
_single_output("disable_animation", "disable_animation", parse_bool, "da")
_single_output("quality", "quality", parse_quality, "q")
_single_output("max_bytes", "max_bytes", parse_non_negative_int, "mb")
_single_output("page", "page", parse_non_negative_int, "pg")
_single_output("video_thumbnail_second", "video_second", parse_non_negative_float, "vts")
_single_output("video_thumbnail_keyframes", "video_keyframes", parse_bool, "vtk")
_single_output("video_frame", "video_frame", parse_non_negative_int, "vf")
_single_output("video_thumbnail_best", "video_best", parse_bool, "vtb")
_single_output("representative_face", "representative_face", parse_bool, "rf")


@register("format_quality", "fq", scope=Scope.OUTPUT)
def _format_quality(b: OptionsBuilder, args: list[str]) -> None:
    if len(args) % 2:
        raise InvalidURLError(f"Invalid format_quality arguments: missing quality for {args[-1]!r}")
    merged = dict(b.out_value("format_quality"))
    for i in range(0, len(args), 2):
        fmt = format_by_name(args[i])
        if fmt is None:
            raise bad_argument("format_quality", args[i], "image format")
        merged[fmt] = parse_quality("format_quality", args[i + 1])
    b.out["format_quality"] = tuple(sorted(merged.items()))


def parse_format_name(option: str, arg: str) -> ImageFormat:
    fmt = format_by_name(arg)
    if fmt is None:
        raise bad_argument(option, arg, "supported image format")
    return fmt


@register("format", "f", "ext", scope=Scope.OUTPUT)
def _format(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("format", args, maximum=1)
    b.out["format"] = parse_format_name("format", args[0]) if args[0] else None


@register("skip_processing", "skp", scope=Scope.OUTPUT)
def _skip_processing(b: OptionsBuilder, args: list[str]) -> None:
    formats = list(b.out_value("skip_processing"))
    for arg in args:
        fmt = parse_format_name("skip_processing", arg)
        if fmt not in formats:
            formats.append(fmt)
    b.out["skip_processing"] = tuple(formats)


@register("cachebuster", "cb", scope=Scope.OUTPUT)
def _cachebuster(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("cachebuster", args, maximum=1)
    b.out["cachebuster"] = args[0]


@register("expires", "exp", scope=Scope.OUTPUT)
def _expires(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("expires", args, maximum=1)
    timestamp = parse_int("expires", args[0])
    if 0 < timestamp < time.time():
        raise InvalidURLError("Expired URL")
    b.out["expires"] = timestamp if timestamp > 0 else None


@register("filename", "fn", scope=Scope.OUTPUT)
def _filename(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("filename", args, maximum=2)
    encoded = len(args) > 1 and parse_bool("filename", args[1])
    b.out["filename"] = parse_base64("filename", args[0]) if encoded else args[0]


@register("fallback_image_url", "fiu", scope=Scope.OUTPUT)
def _fallback_image_url(b: OptionsBuilder, args: list[str]) -> None:
    ensure_args("fallback_image_url", args, maximum=1)
    b.out["fallback_image_url"] = parse_base64("fallback_image_url", args[0]) if args[0] else ""


@register("preset", "pr")
def _preset(b: OptionsBuilder, args: list[str]) -> None:
    for name in args:
        b.apply_preset(name)

