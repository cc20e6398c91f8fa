"""Settings of video sources and of the best-frame search."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from imgproxy_py.envreader import EnvReader
from imgproxy_py.go_numbers import DECIMAL
from imgproxy_py.media import parse_byte_size

DEFAULT_MAX_FILE_SIZE = 512 * 1024 * 1024
# The expression classes of the face model (imgproxy_py.detection.expressions.LABELS, repeated here
# so that settings can be read without loading onnxruntime).
EXPRESSIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")
# What each expression is worth in the expression term when the weights name none.
DEFAULT_EXPRESSION_VALUES: Mapping[str, float] = MappingProxyType({"happy": 1.0, "surprise": 1.0})


@dataclass(frozen=True)
class BestFrameConfig:
    """How ``bestframe`` samples and ranks frames (lives here so ``VideoConfig`` can hold it)."""

    samples: int = 200
    span: float = 0.5
    weight_sharpness: float = 1.0
    weight_faces: float = 1.0
    weight_exposure: float = 0.5
    weight_expression: float = 1.0
    expression_values: Mapping[str, float] = field(default_factory=lambda: DEFAULT_EXPRESSION_VALUES)
    duplicate_threshold: float = 0.85
    trace_samples: int = 60  # frames sampled over the whole video for face traces

    @classmethod
    def from_reader(cls, reader: EnvReader) -> BestFrameConfig:
        samples = reader.integer("IMGPROXY_VIDEO_BEST_FRAME_SAMPLES", cls.samples, minimum=1, maximum=10_000)
        span = reader.parsed("IMGPROXY_VIDEO_BEST_FRAME_SPAN", cls.span, _parse_span)
        trace_samples = reader.integer("IMGPROXY_VIDEO_FACE_TRACE_SAMPLES", cls.trace_samples, minimum=1,
                                       maximum=10_000)
        weights = reader.parsed("IMGPROXY_VIDEO_BEST_FRAME_WEIGHTS", None, _parse_weights)
        threshold = reader.number(
            "IMGPROXY_VIDEO_BEST_FRAME_DUPLICATE_THRESHOLD", cls.duplicate_threshold, minimum=0.0, maximum=1.0
        )
        sharpness, faces, exposure = cls.weight_sharpness, cls.weight_faces, cls.weight_exposure
        expression, values = cls.weight_expression, DEFAULT_EXPRESSION_VALUES
        if weights is not None:
            sharpness = weights.get("sharpness", 0.0)
            faces = weights.get("faces", 0.0)
            exposure = weights.get("exposure", 0.0)
            expression = weights.get("expression", 0.0)
            named = {key.partition(".")[2]: value for key, value in weights.items() if key.startswith("expression.")}
            if named:
                values = MappingProxyType(named)
        return cls(
            samples=samples,
            span=span,
            weight_sharpness=sharpness,
            weight_faces=faces,
            weight_exposure=exposure,
            weight_expression=expression,
            expression_values=values,
            duplicate_threshold=threshold,
            trace_samples=trace_samples,
        )


def _parse_span(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a number") from None
    if not 0.0 < value <= 1.0:
        raise ValueError(f"{text!r} must be greater than 0 and at most 1 (the share of the video to sample)")
    return value


def _parse_weights(text: str) -> dict[str, float]:
    """``"sharpness=1,faces=1,exposure=0.5,expression=1,expression.happy=1"``; criteria left out
    weigh 0.  ``expression.<label>`` sets what a face with that expression is worth in the
    expression term (when none is given: happy and surprise 1, the others 0)."""
    known = ("sharpness", "faces", "exposure", "expression")
    labels = tuple(f"expression.{label}" for label in EXPRESSIONS)
    weights: dict[str, float] = {}
    for item in text.split(","):
        if not item.strip():
            continue
        name, sep, value = item.partition("=")
        name = name.strip().lower()
        if not sep or name not in known + labels:
            raise ValueError(f"{item.strip()!r} is not one of {', '.join(k + '=<weight>' for k in known)} "
                             f"or expression.<{'|'.join(EXPRESSIONS)}>=<value>")
        if not DECIMAL.fullmatch(value.strip()):
            raise ValueError(f"weight {value.strip()!r} of {name} is not a number")
        weight = float(value)
        if weight < 0 or not math.isfinite(weight):
            raise ValueError(f"weight of {name} must be a finite number >= 0")
        if name in labels and weight > 1:
            raise ValueError(f"{name} is what one face is worth, at most 1")
        weights[name] = weight
    if not any(weight for name, weight in weights.items() if name in known):
        raise ValueError("at least one weight must be greater than 0")
    return weights


@dataclass(frozen=True)
class VideoConfig:
    """Video limits and defaults.

    ``max_file_size`` and ``max_duration`` of 0 mean unlimited; ``decode_timeout`` bounds one
    extraction (or one best-frame search) on top of the request's own deadline.
    """

    enabled: bool = False
    thumbnail_second: float = 1.0
    thumbnail_keyframes: bool = False
    # Sprites and animations use keyframes only when their step is longer than the average
    # interval between keyframes (IMGPROXY_VIDEO_THUMBNAIL_TILE_AUTO_KEYFRAMES).
    tile_auto_keyframes: bool = False
    max_file_size: int = DEFAULT_MAX_FILE_SIZE
    max_duration: float = 3600.0
    decode_timeout: float = 10.0
    # How much of a file the demuxer reads to find its streams' parameters: bytes, and
    # milliseconds of media (0: FFmpeg's own heuristic).  Smaller saves memory on odd files, at
    # the risk of parameters not found; the containers we open declare theirs in their headers.
    probe_size: int = 5_000_000
    max_analyze_duration: int = 0
    best_frame: BestFrameConfig = field(default_factory=BestFrameConfig)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> tuple[VideoConfig, list[str]]:
        reader = EnvReader(env)
        config = cls(
            enabled=reader.boolean("IMGPROXY_ENABLE_VIDEO_THUMBNAILS", cls.enabled),
            thumbnail_second=reader.number("IMGPROXY_VIDEO_THUMBNAIL_SECOND", cls.thumbnail_second, minimum=0.0),
            thumbnail_keyframes=reader.boolean("IMGPROXY_VIDEO_THUMBNAIL_KEYFRAMES", cls.thumbnail_keyframes),
            tile_auto_keyframes=reader.boolean("IMGPROXY_VIDEO_THUMBNAIL_TILE_AUTO_KEYFRAMES",
                                               cls.tile_auto_keyframes),
            max_file_size=reader.parsed("IMGPROXY_MAX_VIDEO_FILE_SIZE", DEFAULT_MAX_FILE_SIZE, parse_byte_size),
            max_duration=reader.number("IMGPROXY_MAX_VIDEO_DURATION", cls.max_duration, minimum=0.0),
            decode_timeout=reader.number("IMGPROXY_VIDEO_DECODE_TIMEOUT", cls.decode_timeout, minimum=0.001),
            # FFmpeg's smallest probe is 32 bytes.
            probe_size=reader.integer("IMGPROXY_VIDEO_THUMBNAIL_PROBE_SIZE", cls.probe_size, minimum=32),
            max_analyze_duration=reader.integer("IMGPROXY_VIDEO_THUMBNAIL_MAX_ANALYZE_DURATION",
                                                cls.max_analyze_duration, minimum=0),
            best_frame=BestFrameConfig.from_reader(reader),
        )
        return config, reader.errors

    def demuxer_options(self) -> dict[str, str]:
        """FFmpeg's ``probesize`` and ``analyzeduration`` (microseconds) for these settings."""
        options = {"probesize": str(self.probe_size)}
        if self.max_analyze_duration:
            options["analyzeduration"] = str(self.max_analyze_duration * 1000)
        return options

    def deadline(self, deadline: float | None) -> float:
        """The earlier of the caller's ``time.monotonic()`` deadline and now + ``decode_timeout``."""
        own = time.monotonic() + self.decode_timeout
        return own if deadline is None else min(own, deadline)


