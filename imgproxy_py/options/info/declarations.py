"""Every ``/info`` option, declared once, with imgproxy's names.

The answer holds ``format``, ``width``, ``height`` and (with ``detect_objects``) the
detections; the options whose answer is still to come are declared with ``answered=False``:
their URLs parse (so the Python builder and the server agree on them) and ``/info`` answers
501 naming them, instead of an answer that silently lacks what was asked.
"""

from __future__ import annotations

import time
from typing import Any

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.grammar import Arg, Args, ArgType, Repeated, Values
from imgproxy_py.options.info.model import InfoOption, InfoPresetOption
from imgproxy_py.options.primitives import BOOL, INT, NON_NEGATIVE_FLOAT, NON_NEGATIVE_INT, STRING, bad_argument


def _first(values: Values, current: Any) -> Any:
    return values[0]


def _flag(name: str, aliases: tuple[str, ...], default: bool, description: str, *,
          answered: bool = False, source: str = "chelsea.jpg") -> InfoOption[bool]:
    return InfoOption(name, aliases, Args(Arg(name, BOOL)), _first, default, description,
                      f"{aliases[0] if aliases else name}:{int(not default)}", answered, source=source)


def _pair(values: Values, current: tuple[bool, bool]) -> tuple[bool, bool]:
    enabled, second = values
    return enabled, current[1] if second is None else second


def _components(option: str, arg: str) -> int:
    value = NON_NEGATIVE_INT.parse(option, arg)
    if value > 9:
        raise bad_argument(option, arg, "number in range 0-9")
    return value


def _expires(values: Values, current: int | None) -> int | None:
    timestamp: int = values[0]
    if 0 < timestamp < time.time():
        raise InvalidURLError("Expired URL")
    return timestamp if timestamp > 0 else None


COMPONENTS = ArgType("integer 0-9", _components)

SIZE = _flag("size", ("s",), True, "The source file's size in bytes.")
FORMAT = _flag("format", ("f",), True, "The source's format and MIME type.")
DIMENSIONS = _flag("dimensions", ("d",), True, "Width, height and EXIF orientation.")
EXIF = _flag("exif", (), False, "The EXIF metadata.")
IPTC = _flag("iptc", (), False, "The IPTC metadata.")
XMP = _flag("xmp", (), False, "The XMP metadata.")
VIDEO_META = _flag("video_meta", ("vm",), False, "The video stream's metadata.")
DETECT_OBJECTS = _flag("detect_objects", ("do",), False,
                       "Detected objects (class, confidence, box relative to the image).", answered=True,
                       source="astronaut.jpg")
PALETTE = InfoOption("palette", ("p",), Args(Arg("colors", NON_NEGATIVE_INT)), _first, 0,
                     "A palette of this many colours; 0: none.", "p:8", answered=False)
AVERAGE = InfoOption("average", ("avg",), Args(Arg("average", BOOL), Arg("ignore_transparent", BOOL,
                                                                          keep_if_empty=True)),
                     _pair, (False, True), "The average colour, by default without transparent pixels.",
                     "avg:1", answered=False)
DOMINANT_COLORS = InfoOption("dominant_colors", ("dc",), Args(Arg("dominant_colors", BOOL),
                                                              Arg("build_missed", BOOL, keep_if_empty=True)),
                             _pair, (False, False), "Vibrant and muted dominant colours.", "dc:1",
                             answered=False)
BLURHASH = InfoOption("blurhash", ("bh",), Args(Arg("x_components", COMPONENTS), Arg("y_components", COMPONENTS),
                                                required=2),
                      lambda values, current: (values[0], values[1]), (0, 0),
                      "A BlurHash with these components; 0: none.", "bh:4:3", answered=False)
PAGE = InfoOption("page", ("pg",), Args(Arg("page", NON_NEGATIVE_INT)), _first, 0,
                  "The page or frame to describe, from 0.", "pg:1", answered=False, source="iss634.gif")
VIDEO_THUMBNAIL_SECOND = InfoOption("video_thumbnail_second", ("vts",), Args(Arg("second", NON_NEGATIVE_FLOAT)),
                                    _first, None, "The second of a video to describe.", "vts:3.5",
                                    answered=False, source="")
VIDEO_THUMBNAIL_KEYFRAMES = InfoOption("video_thumbnail_keyframes", ("vtk",), Args(Arg("keyframes", BOOL)),
                                       _first, None, "Use the keyframe at or before that second.", "vtk:1",
                                       answered=False, source="")
CACHEBUSTER = InfoOption("cachebuster", ("cb",), Args(Arg("string", STRING)), _first, "",
                         "Any text: changes the URL, not the answer.", "cb:v2")
EXPIRES = InfoOption("expires", ("exp",), Args(Arg("timestamp", INT)), _expires, None,
                     "Unix time after which the URL is a 404 \"Expired URL\"; 0: never.", "exp:4102444800")
PRESET = InfoPresetOption("preset", ("pr",), Args(tail=Repeated(Arg("name", STRING))), _first, (),
                          "Apply named info presets here (none can be configured yet: any name is a 404).",
                          "pr:basic")

INFO_OPTIONS: tuple[InfoOption[Any], ...] = (
    SIZE, FORMAT, DIMENSIONS, EXIF, IPTC, XMP, VIDEO_META, DETECT_OBJECTS, PALETTE, AVERAGE, DOMINANT_COLORS,
    BLURHASH, PAGE, VIDEO_THUMBNAIL_SECOND, VIDEO_THUMBNAIL_KEYFRAMES, CACHEBUSTER, EXPIRES, PRESET,
)
