"""Output optimisation settings: autoquality, PNG saving, and their URL options.

Names, meanings and defaults follow imgproxy (``IMGPROXY_AUTOQUALITY_*``, ``IMGPROXY_PNG_*``,
``autoquality``/``aq`` and ``png_options``/``pngo``).  ``OptimizeConfig.from_env`` collects every
problem instead of raising, so that start-up can list them all at once.  The URL options are
declared (and their arguments parsed into records) in :mod:`imgproxy_py.options.optimization`;
``with_args`` lays such a record over these settings.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType

from imgproxy_py.envreader import EnvReader
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.formats import format_by_name
from imgproxy_py.optimize.ml import find_model_path
from imgproxy_py.options.model import AUTOQUALITY_METHODS, AutoQualityArgs, PngArgs
from imgproxy_py.options.optimization import parse_autoquality, parse_png_options

METHODS = AUTOQUALITY_METHODS

DEFAULT_METHOD = "none"
DEFAULT_TARGET = 0.02
DEFAULT_MIN_QUALITY = 70
DEFAULT_MAX_QUALITY = 80
DEFAULT_ALLOWED_ERROR = 0.002
# imgproxy's defaults: AVIF's quality scale is harsher, 60-65 looks like JPEG's 70-80.
DEFAULT_FORMAT_MIN = MappingProxyType({"avif": 60})
DEFAULT_FORMAT_MAX = MappingProxyType({"avif": 65})

DEFAULT_PNG_COLORS = 256


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

    def with_args(self, args: AutoQualityArgs) -> AutoQualitySpec:
        """These settings with what a URL's ``aq`` gave laid over them; a combination that
        cannot work is an :class:`InvalidURLError`."""
        given = {k: v for k, v in vars(args).items() if v is not None}
        spec = replace(self, **given) if given else self
        problem = _spec_problem(spec)
        if problem:
            raise InvalidURLError(f"Invalid autoquality arguments: {problem}")
        return spec

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

    def with_args(self, args: PngArgs) -> PngSpec:
        """These settings with what a URL's ``pngo`` gave laid over them."""
        given = {k: v for k, v in vars(args).items() if v is not None}
        return replace(self, **given) if given else self

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
            models_dir = reader.path("IMGPROXY_MODELS_DIR")
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
    return base.with_args(parse_autoquality(list(args)))


def parse_png_options_args(args: Sequence[str], base: PngSpec) -> PngSpec:
    """``png_options:%interlaced:%quantize:%quantization_colors``; empty arguments keep ``base``."""
    if len(args) > 3:
        raise InvalidURLError(f"Invalid png_options arguments: {':'.join(args)!r} (at most 3 expected)")
    return base.with_args(parse_png_options(list(args)))
