"""Processing options: the typed model, the option registry and the preset registry."""

from imgproxy_py.options.model import (
    Color,
    ExtendOptions,
    Gravity,
    GravityType,
    OutputOptions,
    PipelineOptions,
    RequestOptions,
    ResizingType,
    TrimOptions,
    WatermarkOptions,
)

__all__ = [
    "Color",
    "ExtendOptions",
    "Gravity",
    "GravityType",
    "OutputOptions",
    "PipelineOptions",
    "RequestOptions",
    "ResizingType",
    "TrimOptions",
    "WatermarkOptions",
]
