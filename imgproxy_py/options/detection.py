"""Object-detection options (imgproxy Pro's names, open here).  Gravity's ``obj``/``objw``
types are declared with ``g`` in :mod:`imgproxy_py.options.cropping`."""

from __future__ import annotations

from dataclasses import replace

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.grammar import Arg, Args, Repeated, Values
from imgproxy_py.options.gravity import COMPASS
from imgproxy_py.options.model import CropObjects, DetectionEffect, Gravity, GravityType
from imgproxy_py.options.output import output_option
from imgproxy_py.options.primitives import (
    BOOL,
    FLOAT,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    POSITIVE_FLOAT,
    STRING,
    choice_type,
)
from imgproxy_py.options.registry import Family, Option, OptionsBuilder

F = Family.DETECTION
OBJECTS_POSITION = choice_type({t.value: t for t in (*COMPASS, GravityType.FOCUS_POINT, GravityType.PROPORTIONAL)})
# Class names; none, empty ones and "all" mean every class.
CLASSES = Repeated(Arg("class", STRING), skip=frozenset({"", "all"}))


def _objects_position(b: OptionsBuilder, values: Values) -> None:
    kind, x, y = values
    x = 0.0 if x is None else x
    y = 0.0 if y is None else y
    if kind is GravityType.FOCUS_POINT and not (0 <= x <= 1 and 0 <= y <= 1):
        raise InvalidURLError("Invalid objects_position arguments: fp needs x and y in range 0-1")
    b.pipe["objects_position"] = Gravity(kind, x, y)


def _crop_objects(b: OptionsBuilder, values: Values) -> None:
    scale, classes = values
    current: CropObjects = b.pipe_value("crop_objects") or CropObjects()
    b.pipe["crop_objects"] = replace(current, scale=1.0 if scale is None else scale, classes=classes or ())


def _object_index(b: OptionsBuilder, values: Values) -> None:
    index, fallback = values
    current: CropObjects = b.pipe_value("crop_objects") or CropObjects()
    b.pipe["crop_objects"] = replace(current, index=index, fallback=bool(fallback))


def _blur_detections(b: OptionsBuilder, values: Values) -> None:
    sigma, classes = values
    b.pipe["blur_detections"] = DetectionEffect(sigma, classes or ()) if sigma > 0 else None


def _pixelate_detections(b: OptionsBuilder, values: Values) -> None:
    size, classes = values
    b.pipe["pixelate_detections"] = DetectionEffect(size, classes or ()) if size > 1 else None


def _draw_detections(b: OptionsBuilder, values: Values) -> None:
    enabled, classes = values
    b.pipe["draw_detections"] = (classes or ()) if enabled else None


OPTIONS = (
    Option("objects_position", ("obj_pos", "op"), F,
           Args(Arg("type", OBJECTS_POSITION), Arg("x_offset", FLOAT, keep_if_empty=True),
                Arg("y_offset", FLOAT, keep_if_empty=True)),
           _objects_position, "Where the detected objects sit in an `obj`/`objw` crop: a compass type with "
           "offsets, `fp:%x:%y`, or `prop` (as in the source).", "rs:fill:300:300/g:obj:face/op:no",
           source="astronaut.jpg"),
    # imgproxy's docs name it crop_objects/co, but "co" is contrast there too; its JavaScript
    # client writes "c_obj", ours "cob"; "co" with a class list comes here (options/color.py).
    Option("crop_objects", ("c_obj", "cob"), F, Args(Arg("scale", POSITIVE_FLOAT, keep_if_empty=True), tail=CLASSES),
           _crop_objects, "Crop to the detected objects grown by `%scale`, then resize as asked; nothing "
           "found: normal processing. `co` is contrast, but `co:%scale:%class1:...` (with classes) lands "
           "here.", "cob:1.5:face/rs:fit:300:300", source="astronaut.jpg"),
    # object_index:%n[:%fallback]: our extension.  Without %fallback a missing n-th object is
    # a 404 (a wrong face is worse than none); with it, crop_objects' own rule applies.
    Option("object_index", ("oix",), F, Args(Arg("index", NON_NEGATIVE_INT), Arg("fallback", BOOL)),
           _object_index, "With `crop_objects`, only the n-th detection from the left; fewer: a 404, or with "
           "`%fallback` 1 normal processing.", "cob:1.8:face/oix:0", source="astronaut.jpg"),
    Option("blur_detections", ("bd",), F, Args(Arg("sigma", NON_NEGATIVE_FLOAT), tail=CLASSES), _blur_detections,
           "Blur the detected objects.", "bd:20:face", source="astronaut.jpg"),
    Option("pixelate_detections", ("pxd",), F, Args(Arg("size", NON_NEGATIVE_INT), tail=CLASSES),
           _pixelate_detections, "Pixelate the detected objects.", "pxd:16:face", source="astronaut.jpg"),
    Option("draw_detections", ("dd",), F, Args(Arg("draw", BOOL), tail=CLASSES), _draw_detections,
           "Draw the boxes of detected objects with class name and confidence.", "dd:1",
           source="astronaut.jpg"),
    output_option("detect_objects", ("do",), F, Arg("detect_objects", BOOL), "detect_objects",
                  "For `/info` (which has its own `do`); image URLs accept it and only check that "
                  "detection is installed.", "do:1", "astronaut.jpg"),
)
