"""The frozen options of one request.

A request has one :class:`OutputOptions` (format, quality, metadata, headers: what
applies to the encoded result) and one or more :class:`PipelineOptions` (what each
chained pipeline does to the pixels).  Both are frozen; their ``canonical()`` string
lists every value that differs from the server's defaults in a fixed order, so equal
requests give equal strings whatever option spelling or order the URL used.  Cache keys
and ETags are built from it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, TypeVar

from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.numbers import canonical_number
from imgproxy_py.options.values_color import Colorize, Duotone, Gradient, Monochrome
from imgproxy_py.options.values_delivery import HashsumCheck, SecurityOverrides, VideoFrames
from imgproxy_py.options.values_encoding import AvifArgs, JpegArgs, WebpArgs
from imgproxy_py.options.values_sharpness import (
    BlurAreas,
    CropAspectRatio,
    ProgressiveBlur,
    ResizingAlgorithm,
    UnsharpMaskingArgs,
)
from imgproxy_py.options.values_watermarks import WatermarkStyle


class ResizingType(StrEnum):
    FIT = "fit"
    FILL = "fill"
    FILL_DOWN = "fill-down"
    FORCE = "force"
    AUTO = "auto"


class GravityType(StrEnum):
    NORTH = "no"
    SOUTH = "so"
    EAST = "ea"
    WEST = "we"
    NORTH_EAST = "noea"
    NORTH_WEST = "nowe"
    SOUTH_EAST = "soea"
    SOUTH_WEST = "sowe"
    CENTER = "ce"
    SMART = "sm"
    FOCUS_POINT = "fp"
    PROPORTIONAL = "prop"
    OBJECTS = "obj"
    OBJECTS_WEIGHTED = "objw"
    REPLICATE = "re"
    CHESSBOARD = "ch"  # watermarks only: tiles in a chessboard's order (imgproxy Pro)


@dataclass(frozen=True)
class Color:
    r: int
    g: int
    b: int

    def canonical(self) -> str:
        return f"{self.r:02x}{self.g:02x}{self.b:02x}"

    @property
    def rgb(self) -> list[float]:
        return [float(self.r), float(self.g), float(self.b)]


@dataclass(frozen=True)
class Gravity:
    type: GravityType = GravityType.CENTER
    x: float = 0.0
    y: float = 0.0
    # For obj/objw: (class name, weight) pairs; ("all", w) stands for every other class.
    classes: tuple[tuple[str, float], ...] = ()

    def canonical(self) -> str:
        parts = [self.type.value]
        if self.classes:
            parts += [f"{name}:{canonical_number(weight)}" for name, weight in self.classes]
        elif self.type is not GravityType.SMART:
            parts += [canonical_number(self.x), canonical_number(self.y)]
        return ":".join(parts)


@dataclass(frozen=True)
class ExtendOptions:
    enabled: bool = False
    gravity: Gravity = Gravity()


@dataclass(frozen=True)
class TrimOptions:
    threshold: float | None = None  # None: trim is off
    color: Color | None = None  # None: the top-left pixel's colour
    equal_horizontal: bool = False
    equal_vertical: bool = False

    @property
    def enabled(self) -> bool:
        return self.threshold is not None


@dataclass(frozen=True)
class WatermarkOptions:
    opacity: float = 0.0
    position: GravityType = GravityType.CENTER
    x: float = 0.0
    y: float = 0.0
    scale: float = 0.0


@dataclass(frozen=True)
class CropOptions:
    width: float = 0.0
    height: float = 0.0
    gravity: Gravity | None = None  # None: use the pipeline's gravity


@dataclass(frozen=True)
class DetectionEffect:
    """An effect applied inside detected boxes: ``amount`` is a sigma or a block size."""

    amount: float
    classes: tuple[str, ...] = ()  # empty: every class

    def canonical(self) -> str:
        return ":".join([canonical_number(self.amount), *self.classes])


@dataclass(frozen=True)
class CropObjects:
    scale: float = 1.0
    classes: tuple[str, ...] = ()
    index: int | None = None  # only the n-th detection, left to right; None: all of them
    # With ``index``: when there is no n-th detection, process as if nothing was found
    # (instead of a 404).
    fallback: bool = False

    def canonical(self) -> str:
        index = [] if self.index is None else [f"#{self.index}" + ("?" if self.fallback else "")]
        return ":".join([canonical_number(self.scale), *self.classes, *index])


AUTOQUALITY_METHODS = ("none", "dssim", "size", "ml")


@dataclass(frozen=True)
class AutoQualityArgs:
    """What an ``autoquality`` option gave; ``None`` keeps the server's value.

    The server's values depend on the output format (``IMGPROXY_AUTOQUALITY_FORMAT_MIN/MAX``),
    known only once the image is loaded, so the encoder lays these over them then.
    """

    method: str | None = None
    target: float | None = None
    min_quality: int | None = None
    max_quality: int | None = None
    allowed_error: float | None = None

    def canonical(self) -> str:
        return ":".join("" if v is None else _value(v) for v in dataclasses.astuple(self))


@dataclass(frozen=True)
class PngArgs:
    """What a ``png_options`` option gave; ``None`` keeps the server's value."""

    interlaced: bool | None = None
    quantize: bool | None = None
    colors: int | None = None

    def canonical(self) -> str:
        return ":".join("" if v is None else _value(v) for v in dataclasses.astuple(self))


@dataclass(frozen=True)
class Extension:
    """A plugin option's values, as its grammar parsed them."""

    name: str
    values: tuple[Any, ...]

    def canonical(self) -> str:
        return f"{self.name}({':'.join(_value(v) for v in self.values)})"


@dataclass(frozen=True)
class PipelineOptions:
    """What one pipeline does to the pixels (imgproxy's per-pipeline options)."""

    resizing_type: ResizingType = ResizingType.FIT
    resizing_algorithm: ResizingAlgorithm = ResizingAlgorithm.LANCZOS3  # imgproxy Pro
    width: int = 0
    height: int = 0
    min_width: int = 0
    min_height: int = 0
    zoom_x: float = 1.0
    zoom_y: float = 1.0
    dpr: float = 1.0
    enlarge: bool = False
    extend: ExtendOptions = ExtendOptions()
    extend_aspect_ratio: ExtendOptions = ExtendOptions()
    gravity: Gravity = Gravity()
    crop: CropOptions = CropOptions()
    crop_aspect_ratio: CropAspectRatio = field(default_factory=CropAspectRatio)  # imgproxy Pro
    trim: TrimOptions = TrimOptions()
    padding: tuple[int, int, int, int] = (0, 0, 0, 0)  # top, right, bottom, left
    auto_rotate: bool = True
    rotate: int = 0
    flip_horizontal: bool = False
    flip_vertical: bool = False
    background: Color | None = None
    blur: float = 0.0
    sharpen: float = 0.0
    pixelate: int = 0
    brightness: int = 0  # -255..255, added to the colour bands (imgproxy Pro)
    # imgproxy Pro's sharpness options: laid over IMGPROXY_UNSHARP_MASKING_* by the step.
    unsharp_masking: UnsharpMaskingArgs = field(default_factory=UnsharpMaskingArgs)
    blur_areas: BlurAreas | None = None
    progressive_blur: ProgressiveBlur | None = None
    # imgproxy Pro's colour and tone options (imgproxy_py/options/color.py); None: off.
    contrast: float = 1.0
    saturation: float = 1.0
    monochrome: Monochrome | None = None
    duotone: Duotone | None = None
    colorize: Colorize | None = None
    gradient: Gradient | None = None
    background_alpha: float = 1.0  # the opacity of ``background``
    watermark: WatermarkOptions = WatermarkOptions()
    # imgproxy Pro's wmu, wmt, wms, wmr and wmsh: the custom watermark and its shape.
    watermark_style: WatermarkStyle = field(default_factory=WatermarkStyle)
    # Object detection (imgproxy Pro's options, open here).
    objects_position: Gravity = Gravity()
    crop_objects: CropObjects | None = None
    blur_detections: DetectionEffect | None = None
    pixelate_detections: DetectionEffect | None = None
    draw_detections: tuple[str, ...] | None = None  # None: off; (): every class
    # Options that plugins declare (imgproxy_py.plugins): their parsed values by option name,
    # read by the plugins' steps with ``extension(name)``.
    extensions: tuple[Extension, ...] = ()

    def extension(self, name: str) -> tuple[Any, ...] | None:
        """The values a plugin option gave in this pipeline, or None when it is absent."""
        return next((e.values for e in self.extensions if e.name == name), None)

    @property
    def padding_enabled(self) -> bool:
        return any(self.padding)

    def canonical(self, defaults: PipelineOptions | None = None) -> str:
        return _canonical(self, defaults or PipelineOptions())


@dataclass(frozen=True)
class OutputOptions:
    """What applies to the request as a whole: encoding, metadata, response headers."""

    format: ImageFormat | None = None
    quality: int = 0  # 0: the format's default quality
    format_quality: tuple[tuple[ImageFormat, int], ...] = ()
    max_bytes: int = 0
    strip_metadata: bool = True
    keep_copyright: bool = True
    strip_color_profile: bool = True
    enforce_thumbnail: bool = False
    skip_processing: tuple[ImageFormat, ...] = ()
    raw: bool = False
    cachebuster: str = ""
    filename: str = ""
    return_attachment: bool = False
    page: int = 0
    pages: int = 1  # pages (frames, PDF pages) from ``page`` on, stacked when the result is a still image
    disable_animation: bool = False
    prefer_webp: bool = False
    enforce_webp: bool = False
    prefer_avif: bool = False
    enforce_avif: bool = False
    prefer_jxl: bool = False
    enforce_jxl: bool = False
    # ``format:best`` (or IMGPROXY_BEST_FORMAT_BY_DEFAULT): the smallest of the candidates.
    best_format: bool = False
    preserve_hdr: bool = False  # 16-bit sources stay 16-bit where the result can hold it
    fallback_image_url: str = ""
    detect_objects: bool = False  # /info only
    # Which picture of a video (or RAW) source to process.
    video_second: float | None = None  # None: IMGPROXY_VIDEO_THUMBNAIL_SECOND
    video_keyframes: bool | None = None
    video_frame: int | None = None  # exact, zero-based
    video_best: bool = False
    representative_face: bool = False
    autoquality: AutoQualityArgs | None = None  # laid over the output format's settings when encoding
    png_options: PngArgs | None = None
    # imgproxy Pro's encoding options (options.values_encoding): laid over IMGPROXY_JPEG/WEBP/AVIF_*.
    jpeg_options: JpegArgs | None = None
    webp_options: WebpArgs | None = None
    avif_options: AvifArgs | None = None
    dpi: float = 0.0  # 0: keep the image's (IMGPROXY_STRIP_METADATA_DPI when stripping)
    color_profile: str = ""  # srgb, cmyk or a file in IMGPROXY_COLOR_PROFILES_DIR; "": none
    style: str = ""  # CSS put into an SVG source before it is rendered
    # Video sprites and animations (imgproxy Pro); None: off.
    video_tile: VideoFrames | None = None
    video_animation: VideoFrames | None = None
    hashsum: HashsumCheck | None = None  # checked on the source's bytes before processing
    security: SecurityOverrides = field(default_factory=SecurityOverrides)  # over the IMGPROXY_MAX_* settings
    # None changes the result, so none is in cache keys or ETags: a bypassing request
    # refreshes the entries the plain URL reads, and URLs that differ in their expiry share
    # one (imgproxy 4.0.2 took ``expires`` out of its cache key); each answer's Cache-Control
    # is still capped by its own ``expires``.
    expires: int | None = field(default=None, compare=False)
    bypass_cache: bool = field(default=False, compare=False)
    cache_tags: tuple[str, ...] = field(default=(), compare=False)
    used_presets: tuple[str, ...] = field(default=(), compare=False)

    def quality_for(self, fmt: ImageFormat, server_default: int, format_defaults: dict[ImageFormat, int]) -> int:
        for name, q in self.format_quality:
            if name is fmt:
                return q
        if self.quality:
            return self.quality
        return format_defaults.get(fmt, server_default)

    def canonical(self, defaults: OutputOptions | None = None) -> str:
        return _canonical(self, defaults or OutputOptions())


@dataclass(frozen=True)
class RequestOptions:
    output: OutputOptions
    pipelines: tuple[PipelineOptions, ...]

    def canonical(self, output_defaults: OutputOptions, pipeline_defaults: PipelineOptions) -> str:
        pipes = "/-/".join(p.canonical(pipeline_defaults) for p in self.pipelines)
        return f"{self.output.canonical(output_defaults)}//{pipes}"


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float):
        return canonical_number(value)
    if isinstance(value, StrEnum):
        return value.value
    if hasattr(value, "canonical"):
        return str(value.canonical())
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return ":".join(_value(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, tuple):
        return ":".join(_value(v) for v in value)
    return str(value)


_FIELD_NAMES: dict[type, tuple[frozenset[str], tuple[str, ...]]] = {}


def _field_names(cls: type) -> tuple[frozenset[str], tuple[str, ...]]:
    """A dataclass's fields, and those its canonical form lists (``compare``) in their order."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        fields = dataclasses.fields(cls)
        names = _FIELD_NAMES[cls] = (frozenset(f.name for f in fields), tuple(f.name for f in fields if f.compare))
    return names


def _canonical(obj: Any, defaults: Any) -> str:
    values, default_values = vars(obj), vars(defaults)
    return "/".join(f"{name}:{_value(values[name])}" for name in _field_names(type(obj))[1]
                    if values[name] != default_values[name])


Options = TypeVar("Options", "PipelineOptions", "OutputOptions")


def with_changes(defaults: Options, changes: Mapping[str, Any]) -> Options:
    """``dataclasses.replace(defaults, **changes)`` for the options classes (no ``__post_init__``,
    every field set by ``__init__``), without running their ``__init__`` of some 45 fields: each
    is built in 1 µs instead of 11."""
    unknown = changes.keys() - _field_names(type(defaults))[0]
    if unknown:
        raise TypeError(f"{type(defaults).__name__} has no field {sorted(unknown)[0]!r}")
    built = object.__new__(type(defaults))
    vars(built).update(vars(defaults))
    vars(built).update(changes)
    return built
