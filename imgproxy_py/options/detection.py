"""Parsers for the object-detection options (imgproxy Pro's names)."""

from __future__ import annotations

from dataclasses import replace

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.model import CropObjects, DetectionEffect, Gravity, GravityType
from imgproxy_py.options.primitives import (
    ensure_args,
    parse_bool,
    parse_choice,
    parse_float,
    parse_non_negative_float,
    parse_non_negative_int,
    parse_positive_float,
)
from imgproxy_py.options.registry import OptionRegistry, OptionsBuilder, Scope
from imgproxy_py.options.standard import COMPASS


def _classes(args: list[str]) -> tuple[str, ...]:
    return tuple(name for name in args if name and name != "all")


def register_detection_options(registry: OptionRegistry) -> None:
    register = registry.register

    @register("objects_position", "obj_pos", "op")
    def _objects_position(b: OptionsBuilder, args: list[str]) -> None:
        ensure_args("objects_position", args, maximum=3)
        kinds = {t.value: t for t in (*COMPASS, GravityType.FOCUS_POINT, GravityType.PROPORTIONAL)}
        kind = parse_choice("objects_position", args[0], kinds)
        x = parse_float("objects_position", args[1]) if len(args) > 1 and args[1] else 0.0
        y = parse_float("objects_position", args[2]) if len(args) > 2 and args[2] else 0.0
        if kind is GravityType.FOCUS_POINT and not (0 <= x <= 1 and 0 <= y <= 1):
            raise InvalidURLError("Invalid objects_position arguments: fp needs x and y in range 0-1")
        b.pipe["objects_position"] = Gravity(kind, x, y)

    # imgproxy names it crop_objects/co, but "co" is contrast there too; ours is "cob".
    @register("crop_objects", "cob")
    def _crop_objects(b: OptionsBuilder, args: list[str]) -> None:
        scale = parse_positive_float("crop_objects scale", args[0]) if args and args[0] else 1.0
        current: CropObjects = b.pipe_value("crop_objects") or CropObjects()
        b.pipe["crop_objects"] = replace(current, scale=scale, classes=_classes(args[1:]))

    # object_index:%n[:%fallback]: our extension.  Without %fallback a missing n-th object is
    # a 404 (a wrong face is worse than none); with it, crop_objects' own rule applies.
    @register("object_index", "oix")
    def _object_index(b: OptionsBuilder, args: list[str]) -> None:
        ensure_args("object_index", args, maximum=2)
        current: CropObjects = b.pipe_value("crop_objects") or CropObjects()
        fallback = len(args) > 1 and parse_bool("object_index", args[1])
        b.pipe["crop_objects"] = replace(current, index=parse_non_negative_int("object_index", args[0]),
                                         fallback=fallback)

    @register("blur_detections", "bd")
    def _blur_detections(b: OptionsBuilder, args: list[str]) -> None:
        sigma = parse_non_negative_float("blur_detections", args[0])
        b.pipe["blur_detections"] = DetectionEffect(sigma, _classes(args[1:])) if sigma > 0 else None

    @register("pixelate_detections", "pxd")
    def _pixelate_detections(b: OptionsBuilder, args: list[str]) -> None:
        size = parse_non_negative_int("pixelate_detections", args[0])
        b.pipe["pixelate_detections"] = DetectionEffect(size, _classes(args[1:])) if size > 1 else None

    @register("draw_detections", "dd")
    def _draw_detections(b: OptionsBuilder, args: list[str]) -> None:
        enabled = parse_bool("draw_detections", args[0])
        b.pipe["draw_detections"] = _classes(args[1:]) if enabled else None

    @register("detect_objects", "do", scope=Scope.OUTPUT)
    def _detect_objects(b: OptionsBuilder, args: list[str]) -> None:
        ensure_args("detect_objects", args, maximum=1)
        b.out["detect_objects"] = parse_bool("detect_objects", args[0])
