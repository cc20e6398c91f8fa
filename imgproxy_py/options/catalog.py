"""Every processing option: the declarations of each family, in the docs' order, and the
registry the server parses URLs with.  A new option goes in its family's ``OPTIONS``."""

from __future__ import annotations

from imgproxy_py.options import (
    color,
    cropping,
    detection,
    effects,
    geometry,
    meta,
    optimization,
    output,
    video,
    watermarks,
)
from imgproxy_py.options.registry import Option, OptionRegistry, build_registry

PROCESSING_OPTIONS: tuple[Option, ...] = (
    *geometry.OPTIONS,
    *cropping.OPTIONS,
    *effects.OPTIONS,
    *watermarks.OPTIONS,
    *color.OPTIONS,
    *output.OPTIONS,
    *optimization.OPTIONS,
    *meta.OPTIONS,
    *video.OPTIONS,
    *detection.OPTIONS,
)

registry: OptionRegistry[Option] = build_registry(PROCESSING_OPTIONS)

__all__ = ["PROCESSING_OPTIONS", "registry"]
