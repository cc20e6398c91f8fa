"""Output optimisation settings: autoquality, PNG saving, and their URL options.

Names, meanings and defaults follow imgproxy (``IMGPROXY_AUTOQUALITY_*``, ``IMGPROXY_PNG_*``,
``autoquality``/``aq`` and ``png_options``/``pngo``).  ``OptimizeConfig.from_env`` collects every
problem instead of raising, so that start-up can list them all at once; the URL parsers raise
:class:`InvalidURLError` with a message that names the bad argument.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.formats import format_by_name
from imgproxy_py.optimize.ml import find_model_path

METHODS = ("none", "dssim", "size", "ml")
_INTEGER_RE = re.compile(r"[+-]?[0-9]{1,18}")

DEFAULT_METHOD = "none"
DEFAULT_TARGET = 0.02
DEFAULT_MIN_QUALITY = 70
DEFAULT_MAX_QUALITY = 80
DEFAULT_ALLOWED_ERROR = 0.002
# imgproxy's defaults: AVIF's quality scale is harsher, 60-65 looks like JPEG's 70-80.
DEFAULT_FORMAT_MIN = MappingProxyType({"avif": 60})
DEFAULT_FORMAT_MAX = MappingProxyType({"avif": 65})

DEFAULT_PNG_COLORS = 256

# Go's strconv.ParseBool, which imgproxy uses for URL booleans.
_BOOL_TRUE = frozenset({"1", "t", "T", "TRUE", "true", "True"})
_BOOL_FALSE = frozenset({"0", "f", "F", "FALSE", "false", "False"})


def _number_text(value: float) -> str:
    """A short, stable spelling of a number for cache keys (``0.02``, ``10240``)."""
    return format(value, ".10g")


@dataclass(frozen=True)
class AutoQualitySpec:
    """One request's autoquality settings, imgproxy's ``autoquality`` option.

    ``target`` is a DSSIM value for ``dssim`` and ``ml``, a size in bytes for ``size``.
    ``allowed_error`` applies to ``dssim`` and ``ml`` only.
    """

    method: str = DEFAULT_METHOD
    target: float = DEFAULT_TARGET
    min_quality: int = DEFAULT_MIN_QUALITY
    max_quality: int = DEFAULT_MAX_QUALITY
    allowed_error: float = DEFAULT_ALLOWED_ERROR

    @property
    def enabled(self) -> bool:
        return self.method != "none"

    def canonical(self) -> str:
        # Settings a disabled spec carries change nothing, so they must not split cache keys.
        if not self.enabled:
            return "aq:none"
        parts = [
            "aq", self.method, _number_text(self.target), str(self.min_quality), str(self.max_quality),
        ]
        if self.method != "size":
            parts.append(_number_text(self.allowed_error))
        return ":".join(parts)


@dataclass(frozen=True)
class PngSpec:
    """imgproxy's advanced PNG compression settings (``png_options``)."""

    interlaced: bool = False
    quantize: bool = False
    colors: int = DEFAULT_PNG_COLORS

    def canonical(self) -> str:
        # Colours only matter when quantising; leave them out otherwise for stable keys.
        colors = str(self.colors) if self.quantize else "-"
        return f"pngo:{int(self.interlaced)}:{int(self.quantize)}:{colors}"


@dataclass(frozen=True)
class OptimizeConfig:
    autoquality: AutoQualitySpec = field(default_factory=AutoQualitySpec)
    format_min_quality: Mapping[str, int] = field(default_factory=lambda: DEFAULT_FORMAT_MIN)
    format_max_quality: Mapping[str, int] = field(default_factory=lambda: DEFAULT_FORMAT_MAX)
    # Pixels (width x height); 0 means no limit.  The variable is in megapixels, as imgproxy's
    # other resolution limits are.
    autoquality_max_resolution: int = 0
    png: PngSpec = field(default_factory=PngSpec)
    # The trained ``ml`` model, or None when there is none (``ml`` then works as ``dssim``).
    ml_model_path: Path | None = None

    def autoquality_defaults(self, fmt: str) -> AutoQualitySpec:
        """The configured autoquality spec with the per-format quality range applied."""
        name = _format_name(fmt)
        base = self.autoquality
        return replace(
            base,
            min_quality=self.format_min_quality.get(name, base.min_quality),
            max_quality=self.format_max_quality.get(name, base.max_quality),
        )

    @staticmethod
    def from_env(env: Mapping[str, str]) -> tuple[OptimizeConfig, list[str]]:
        reader = EnvReader(env)
        method = reader.string("IMGPROXY_AUTOQUALITY_METHOD", DEFAULT_METHOD).lower()
        if method not in METHODS:
            reader.errors.append(
                f"IMGPROXY_AUTOQUALITY_METHOD: {method!r} is not one of {', '.join(METHODS)}")
            method = DEFAULT_METHOD
        spec = AutoQualitySpec(
            method=method,
            target=reader.number("IMGPROXY_AUTOQUALITY_TARGET", DEFAULT_TARGET, minimum=0),
            min_quality=reader.integer("IMGPROXY_AUTOQUALITY_MIN", DEFAULT_MIN_QUALITY, minimum=1,
                                       maximum=100),
            max_quality=reader.integer("IMGPROXY_AUTOQUALITY_MAX", DEFAULT_MAX_QUALITY, minimum=1,
                                       maximum=100),
            allowed_error=reader.number("IMGPROXY_AUTOQUALITY_ALLOWED_ERROR", DEFAULT_ALLOWED_ERROR,
                                        minimum=0),
        )
        format_min = _format_quality_map(reader, "IMGPROXY_AUTOQUALITY_FORMAT_MIN", DEFAULT_FORMAT_MIN)
        format_max = _format_quality_map(reader, "IMGPROXY_AUTOQUALITY_FORMAT_MAX", DEFAULT_FORMAT_MAX)
        problem = _spec_problem(spec)
        if problem:
            reader.errors.append(f"IMGPROXY_AUTOQUALITY_*: {problem}")
        for name in sorted(set(format_min) | set(format_max)):
            low = format_min.get(name, spec.min_quality)
            high = format_max.get(name, spec.max_quality)
            if low > high:
                reader.errors.append(
                    f"IMGPROXY_AUTOQUALITY_FORMAT_MIN/MAX: {name} minimum {low} is above its maximum {high}")
        megapixels = reader.number("IMGPROXY_AUTOQUALITY_MAX_RESOLUTION", 0.0, minimum=0)
        png = PngSpec(
            interlaced=reader.boolean("IMGPROXY_PNG_INTERLACED", False),
            quantize=reader.boolean("IMGPROXY_PNG_QUANTIZE", False),
            colors=reader.integer("IMGPROXY_PNG_QUANTIZATION_COLORS", DEFAULT_PNG_COLORS, minimum=2,
                                  maximum=256),
        )
        models_dir = None
        if reader.has("IMGPROXY_MODELS_DIR"):
            models_dir = Path(reader.string("IMGPROXY_MODELS_DIR")).expanduser()
        config = OptimizeConfig(
            autoquality=spec,
            format_min_quality=MappingProxyType(format_min),
            format_max_quality=MappingProxyType(format_max),
            autoquality_max_resolution=round(megapixels * 1_000_000),
            png=png,
            ml_model_path=find_model_path(models_dir),
        )
        return config, reader.errors


def _format_name(fmt: str) -> str:
    known = format_by_name(fmt)
    return known.value if known is not None else fmt.lower()


def _format_quality_map(reader: EnvReader, name: str, default: Mapping[str, int]) -> dict[str, int]:
    """``avif=60,webp=70``; like imgproxy, a set variable replaces the default list."""
    raw = reader.raw(name)
    if raw is None:
        return dict(default)
    out: dict[str, int] = {}
    for item in reader.string_list(name):
        fmt_name, eq, value = item.partition("=")
        fmt = format_by_name(fmt_name.strip())
        value = value.strip()
        if not eq or fmt is None or not value.isdigit() or not 1 <= int(value) <= 100:
            reader.errors.append(f"{name}: {item!r} is not format=quality (quality 1-100)")
            continue
        out[fmt.value] = int(value)
    return out


def _spec_problem(spec: AutoQualitySpec) -> str:
    """Why the combination of values cannot work, or an empty string."""
    if spec.min_quality > spec.max_quality:
        return f"minimal quality {spec.min_quality} is above maximal quality {spec.max_quality}"
    if spec.method == "size" and spec.target < 1:
        return f"the size method's target is a size in bytes, {_number_text(spec.target)} is too small"
    return ""


def parse_autoquality_args(args: Sequence[str], base: AutoQualitySpec) -> AutoQualitySpec:
    """``autoquality:%method:%target:%min_quality:%max_quality:%allowed_error``.

    Every argument is optional; an empty or missing one keeps ``base``'s value.
    """
    if len(args) > 5:
        raise InvalidURLError(f"Invalid autoquality arguments: {':'.join(args)!r} (at most 5 expected)")
    padded = [*args, "", "", "", "", ""][:5]
    method_arg, target_arg, min_arg, max_arg, error_arg = padded
    spec = base
    if method_arg:
        if method_arg not in METHODS:
            raise InvalidURLError(
                f"Invalid autoquality method: {method_arg!r} (expected one of {', '.join(METHODS)})")
        spec = replace(spec, method=method_arg)
    if target_arg:
        spec = replace(spec, target=_non_negative_number("autoquality target", target_arg))
    if min_arg:
        spec = replace(spec, min_quality=_quality("autoquality min_quality", min_arg))
    if max_arg:
        spec = replace(spec, max_quality=_quality("autoquality max_quality", max_arg))
    if error_arg:
        spec = replace(spec, allowed_error=_non_negative_number("autoquality allowed_error", error_arg))
    problem = _spec_problem(spec)
    if problem:
        raise InvalidURLError(f"Invalid autoquality arguments: {problem}")
    return spec


def parse_png_options_args(args: Sequence[str], base: PngSpec) -> PngSpec:
    """``png_options:%interlaced:%quantize:%quantization_colors``; empty arguments keep ``base``."""
    if len(args) > 3:
        raise InvalidURLError(f"Invalid png_options arguments: {':'.join(args)!r} (at most 3 expected)")
    interlaced_arg, quantize_arg, colors_arg = [*args, "", "", ""][:3]
    spec = base
    if interlaced_arg:
        spec = replace(spec, interlaced=_boolean("png_options interlaced", interlaced_arg))
    if quantize_arg:
        spec = replace(spec, quantize=_boolean("png_options quantize", quantize_arg))
    if colors_arg:
        colors = _integer("png_options quantization_colors", colors_arg)
        if not 2 <= colors <= 256:
            raise InvalidURLError(
                f"Invalid png_options quantization_colors: {colors_arg!r} (expected 2-256)")
        spec = replace(spec, colors=colors)
    return spec


def _boolean(option: str, arg: str) -> bool:
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
