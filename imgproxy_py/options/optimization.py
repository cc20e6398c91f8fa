"""Output optimization options: ``autoquality`` and the savers' ``png_options``, ``jpeg_options``,
``webp_options`` and ``avif_options``.

Their arguments become typed records (:class:`AutoQualityArgs`, :class:`PngArgs`) here, when
the URL is parsed; the encoder lays them over the output format's configured values.  An
autoquality whose values cannot work together (a minimum above the maximum) is a 404 now,
checked against every format's configured range, not a failure at encode time.
"""

from __future__ import annotations

import math
import re
from functools import cache
from typing import TYPE_CHECKING

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.grammar import Arg, Args, ArgType, Values
from imgproxy_py.options.model import AUTOQUALITY_METHODS, AutoQualityArgs, PngArgs
from imgproxy_py.options.registry import Family, Option, OptionsBuilder, Scope
from imgproxy_py.options.values_encoding import (
    AVIF_SUBSAMPLES,
    JPEG_QUANT_TABLES,
    WEBP_COMPRESSIONS,
    WEBP_PRESETS,
    AvifArgs,
    JpegArgs,
    WebpArgs,
)

if TYPE_CHECKING:
    from imgproxy_py.optimize.config import OptimizeConfig

# Formats autoquality applies to, whose configured quality ranges an aq option must fit.
AUTOQUALITY_FORMATS = ("jpeg", "webp", "avif")
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,18}")
# Go's strconv.ParseBool, which imgproxy uses for URL booleans.
_BOOL_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_BOOL_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _method(option: str, arg: str) -> str:
    if arg not in AUTOQUALITY_METHODS:
        raise InvalidURLError(f"Invalid {option}: {arg!r} (expected one of {', '.join(AUTOQUALITY_METHODS)})")
    return arg


def _boolean(option: str, arg: str) -> bool:
    # Stricter than the other options' booleans (which read anything else as false), as before.
    if arg in _BOOL_TRUE:
        return True
    if arg in _BOOL_FALSE:
        return False
    raise InvalidURLError(f"Invalid {option}: {arg!r} (expected true or false)")


def _integer(option: str, arg: str) -> int:
    text = arg.strip()
    # ASCII digits only (str.isdigit() takes "²", which int() refuses), and few enough of them
    # for int(): every integer here is a quality or a colour count.
    if not _INTEGER_RE.fullmatch(text):
        raise InvalidURLError(f"Invalid {option}: {arg!r} (expected an integer)")
    return int(text)


def _quality(option: str, arg: str) -> int:
    value = _integer(option, arg)
    if not 1 <= value <= 100:
        raise InvalidURLError(f"Invalid {option}: {arg!r} (expected 1-100)")
    return value


def _non_negative_number(option: str, arg: str) -> float:
    try:
        value = float(arg)
    except ValueError:
        raise InvalidURLError(f"Invalid {option}: {arg!r} (expected a number)") from None
    if not math.isfinite(value) or value < 0:
        raise InvalidURLError(f"Invalid {option}: {arg!r} (expected a number that is 0 or more)")
    return value


def _colors(option: str, arg: str) -> int:
    colors = _integer(option, arg)
    if not 2 <= colors <= 256:
        raise InvalidURLError(f"Invalid {option}: {arg!r} (expected 2-256)")
    return colors


AUTOQUALITY_ARGS = Args(
    Arg("method", ArgType(" ".join(f"`{m}`" for m in AUTOQUALITY_METHODS), _method), keep_if_empty=True),
    Arg("target", ArgType("number ≥ 0", _non_negative_number), keep_if_empty=True),
    Arg("min_quality", ArgType("integer 1-100", _quality), keep_if_empty=True),
    Arg("max_quality", ArgType("integer 1-100", _quality), keep_if_empty=True),
    Arg("allowed_error", ArgType("number ≥ 0", _non_negative_number), keep_if_empty=True),
)
PNG_OPTIONS_ARGS = Args(
    Arg("interlaced", ArgType("bool", _boolean), keep_if_empty=True),
    Arg("quantize", ArgType("bool", _boolean), keep_if_empty=True),
    Arg("quantization_colors", ArgType("integer 2-256", _colors), keep_if_empty=True),
)


def _choice(choices: tuple[str, ...]) -> ArgType[str]:
    def parse(option: str, arg: str) -> str:
        if arg not in choices:
            raise InvalidURLError(f"Invalid {option}: {arg!r} (expected one of {', '.join(choices)})")
        return arg

    return ArgType(" ".join(f"`{c}`" for c in choices), parse)


def _quant_table(option: str, arg: str) -> int:
    table = _integer(option, arg)
    if table not in JPEG_QUANT_TABLES:
        raise InvalidURLError(f"Invalid {option}: {arg!r} (expected 0-8)")
    return table


_BOOL = ArgType("bool", _boolean)
JPEG_OPTIONS_ARGS = Args(
    Arg("progressive", _BOOL, keep_if_empty=True),
    Arg("no_subsample", _BOOL, keep_if_empty=True),
    Arg("trellis_quant", _BOOL, keep_if_empty=True),
    Arg("overshoot_deringing", _BOOL, keep_if_empty=True),
    Arg("optimize_scans", _BOOL, keep_if_empty=True),
    Arg("quant_table", ArgType("integer 0-8", _quant_table), keep_if_empty=True),
)
WEBP_OPTIONS_ARGS = Args(
    Arg("compression", _choice(WEBP_COMPRESSIONS), keep_if_empty=True),
    Arg("smart_subsample", _BOOL, keep_if_empty=True),
    Arg("preset", _choice(WEBP_PRESETS), keep_if_empty=True),
)
AVIF_OPTIONS_ARGS = Args(Arg("subsample", _choice(AVIF_SUBSAMPLES), keep_if_empty=True))


def parse_autoquality(args: list[str]) -> AutoQualityArgs:
    return AutoQualityArgs(*AUTOQUALITY_ARGS.parse("autoquality", args)) if args else AutoQualityArgs()


def parse_png_options(args: list[str]) -> PngArgs:
    return PngArgs(*PNG_OPTIONS_ARGS.parse("png_options", args)) if args else PngArgs()


@cache
def _default_config() -> OptimizeConfig:
    # Imported here: the optimize package loads the image library, which URL building and the
    # CLI never need.  Only builders without a server config (grammar tests) get here.
    from imgproxy_py.optimize.config import OptimizeConfig

    return OptimizeConfig.from_env({})[0]


def _autoquality(b: OptionsBuilder, values: Values) -> None:
    record = AutoQualityArgs(*values)
    config = b.optimize or _default_config()
    # Every format's range: the output format is known only when encoding.
    for fmt in AUTOQUALITY_FORMATS:
        config.autoquality_defaults(fmt).with_args(record)
    b.out["autoquality"] = record


def _png_options(b: OptionsBuilder, values: Values) -> None:
    b.out["png_options"] = PngArgs(*values)


def _jpeg_options(b: OptionsBuilder, values: Values) -> None:
    b.out["jpeg_options"] = JpegArgs(*values)


def _webp_options(b: OptionsBuilder, values: Values) -> None:
    b.out["webp_options"] = WebpArgs(*values)


def _avif_options(b: OptionsBuilder, values: Values) -> None:
    b.out["avif_options"] = AvifArgs(*values)


F = Family.OPTIMIZATION

OPTIONS = (
    Option("autoquality", ("aq",), F, AUTOQUALITY_ARGS, _autoquality,
           "Choose the quality per image: `dssim` (a visual-difference target), `size` (bytes) or `ml`; "
           "empty arguments keep `IMGPROXY_AUTOQUALITY_*`.", "aq:dssim:0.02:60:85", Scope.OUTPUT),
    Option("png_options", ("pngo",), F, PNG_OPTIONS_ARGS, _png_options,
           "PNG interlacing and palette quantization; empty arguments keep `IMGPROXY_PNG_*`.",
           "pngo:0:1:64/f:png", Scope.OUTPUT),
    Option("jpeg_options", ("jpgo",), F, JPEG_OPTIONS_ARGS, _jpeg_options,
           "JPEG saving: progressive, no chroma subsampling, trellis quantisation, overshoot deringing, "
           "optimized scans (progressive only), quantisation table 0-8; empty arguments keep `IMGPROXY_JPEG_*`.",
           "jpgo:1:1:::1:3/f:jpg", Scope.OUTPUT),
    Option("webp_options", ("webpo",), F, WEBP_OPTIONS_ARGS, _webp_options,
           "WebP saving: `lossy`, `near_lossless` or `lossless` compression, smart subsampling, the encoder's "
           "preset; empty arguments keep `IMGPROXY_WEBP_*`.", "webpo:lossless/f:webp", Scope.OUTPUT),
    Option("avif_options", ("avifo",), F, AVIF_OPTIONS_ARGS, _avif_options,
           "AVIF chroma subsampling: `auto` (below quality 90), `on` or `off`; empty keeps "
           "`IMGPROXY_AVIF_SUBSAMPLE`.", "avifo:off/f:avif", Scope.OUTPUT),
)
