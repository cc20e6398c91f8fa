"""Every ``/info`` option, declared once, with imgproxy's names, defaults and grammar.

The answer's fields are documented in the README's ``/info`` section; what each option costs
(header only, the whole file, or decoded pixels) is decided in :mod:`imgproxy_py.info`.
"""

from __future__ import annotations

import time
from typing import Any

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.detection import OBJECTS_POSITION
from imgproxy_py.options.grammar import Arg, Args, ArgType, Repeated, Values
from imgproxy_py.options.gravity import CROP_GRAVITY_TYPES, gravity_tail
from imgproxy_py.options.info.model import InfoOption, InfoPresetOption
from imgproxy_py.options.model import CropOptions, Gravity, GravityType
from imgproxy_py.options.primitives import (
    BOOL,
    FLOAT,
    INT,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    STRING,
    bad_argument,
    choice_type,
)

HASHSUM_TYPES = ("md5", "sha1", "sha256", "sha512")


def _first(values: Values, current: Any) -> Any:
    return values[0]


def _flag(name: str, aliases: tuple[str, ...], default: bool, description: str, *,
          source: str = "chelsea.jpg") -> InfoOption[bool]:
    return InfoOption(name, aliases, Args(Arg(name, BOOL)), _first, default, description,
                      f"{aliases[0] if aliases else name}:{int(not default)}", source=source)


def _names(values: Values, current: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(values[0] or ())


def _pair(values: Values, current: tuple[bool, bool]) -> tuple[bool, bool]:
    enabled, second = values
    return enabled, current[1] if second is None else second


def _components(option: str, arg: str) -> int:
    value = NON_NEGATIVE_INT.parse(option, arg)
    if value > 9:
        raise bad_argument(option, arg, "number in range 0-9")
    return value


def _colors(option: str, arg: str) -> int:
    value = NON_NEGATIVE_INT.parse(option, arg)
    if value == 1 or value > 256:
        raise bad_argument(option, arg, "0, or a number in range 2-256")
    return value


def _expires(values: Values, current: int | None) -> int | None:
    timestamp: int = values[0]
    if 0 < timestamp < time.time():
        raise InvalidURLError("Expired URL")
    return timestamp if timestamp > 0 else None


def _crop(values: Values, current: CropOptions) -> CropOptions:
    width, height, gravity = values
    return CropOptions(width, 0.0 if height is None else height, gravity or Gravity())


def _objects_position(values: Values, current: Gravity) -> Gravity:
    kind, x, y = values
    x = 0.0 if x is None else x
    y = 0.0 if y is None else y
    if kind is GravityType.FOCUS_POINT and not (0 <= x <= 1 and 0 <= y <= 1):
        raise InvalidURLError("Invalid objects_position arguments: fp needs x and y in range 0-1")
    return Gravity(kind, x, y)


def _hashsum(values: Values, current: tuple[str, str]) -> tuple[str, str]:
    kind, expected = values
    if kind == "none":
        return "none", ""
    if not expected:
        raise InvalidURLError(f"Invalid hashsum arguments: {kind} needs the expected hex digest")
    try:
        bytes.fromhex(expected)
    except ValueError:
        raise bad_argument("hashsum", expected, "hex digest") from None
    return kind, expected.lower()


COMPONENTS = ArgType("integer 0-9", _components)
COLORS = ArgType("0 or 2-256", _colors)
HASHSUM_TYPE = choice_type({name: name for name in HASHSUM_TYPES})
HASHSUM_CHECK_TYPE = choice_type({name: name for name in ("none", *HASHSUM_TYPES)})

SIZE = _flag("size", ("s",), True, "The source file's size in bytes (`size`).")
FORMAT = _flag("format", ("f",), True, "The source's format and MIME type (`format`, `mime_type`).")
DIMENSIONS = _flag("dimensions", ("d",), True, "Width and height as shown (EXIF orientation applied) and the "
                   "EXIF orientation (`width`, `height`, `orientation`).")
EXIF = InfoOption("exif", (), Args(Arg("enabled", BOOL), Arg("canonical_names", BOOL, keep_if_empty=True)), _pair,
                  (True, False), "The EXIF metadata (`exif`), with readable or (second argument) canonical names.",
                  "exif:1:1")
IPTC = _flag("iptc", (), True, "The IPTC-IIM metadata (`iptc`) and Photoshop's resolution (`photoshop`).")
XMP = _flag("xmp", (), True, "The XMP metadata by namespace prefix (`xmp`).")
VIDEO_META = _flag("video_meta", ("vm",), True, "A video's container metadata and streams (`video_meta`, "
                   "`video_streams`).")
DETECT_OBJECTS = _flag("detect_objects", ("do",), False,
                       "Detected objects (`objects`: class, confidence, box relative to the image).",
                       source="astronaut.jpg")
CLASSIFY: InfoOption[tuple[int, tuple[str, ...]]] = InfoOption("classify", ("cl",), Args(Arg("top_k", NON_NEGATIVE_INT),
                                                tail=Repeated(Arg("class_name", STRING), skip=frozenset({""}))),
                      lambda values, current: (values[0], tuple(values[1] or ())), (0, ()),
                      "The best `top_k` classes of the classification model, optionally only these (`classes`).",
                      "cl:3")
COLORSPACE = _flag("colorspace", ("cs",), False, "The libvips interpretation: `srgb`, `cmyk`, `b-w`... "
                   "(`colorspace`).")
BANDS = _flag("bands", ("b",), False, "The number of bands (`bands`).")
SAMPLE_FORMAT = _flag("sample_format", ("sf",), False, "The band format: `uchar`, `ushort`, `float`... "
                      "(`sample_format`).")
PAGES_NUMBER = _flag("pages_number", ("pn",), False, "Pages or animation frames (`pages_number`).",
                     source="iss634.gif")
ALPHA = InfoOption("alpha", ("a",), Args(Arg("alpha", BOOL), Arg("check_transparency", BOOL, keep_if_empty=True)),
                   _pair, (False, False), "Whether there is an alpha channel (`alpha`) and, with the second "
                   "argument, a pixel that is not opaque (`transparency`).", "a:1:1", source="iss634.gif")
CROP = InfoOption("crop", ("c",), Args(Arg("width", NON_NEGATIVE_FLOAT), Arg("height", NON_NEGATIVE_FLOAT,
                                                                             keep_if_empty=True),
                                       tail=gravity_tail(CROP_GRAVITY_TYPES, label="gravity", max_count=33)),
                  _crop, CropOptions(0.0, 0.0, Gravity()),
                  "The crop `c` would cut (`crop`: left, top, width, height relative to the image).", "c:300:200:sm")
OBJECTS_POSITION_OPTION = InfoOption(
    "objects_position", ("obj_pos", "op"),
    Args(Arg("type", OBJECTS_POSITION), Arg("x_offset", FLOAT, keep_if_empty=True),
         Arg("y_offset", FLOAT, keep_if_empty=True)),
    _objects_position, Gravity(), "Where the objects sit in an `obj`/`objw` crop, as the processing option.",
    "op:nowe")
PALETTE = InfoOption("palette", ("p",), Args(Arg("colors", COLORS)), _first, 0,
                     "An RGBA palette of at most this many colours, 2-256 (`palette`); 0: none.", "p:8")
AVERAGE = InfoOption("average", ("avg",), Args(Arg("average", BOOL), Arg("ignore_transparent", BOOL,
                                                                          keep_if_empty=True)),
                     _pair, (False, True), "The average colour (`average`), by default without transparent "
                     "pixels.", "avg:1")
DOMINANT_COLORS = InfoOption("dominant_colors", ("dc",), Args(Arg("dominant_colors", BOOL),
                                                              Arg("build_missed", BOOL, keep_if_empty=True)),
                             _pair, (False, False), "Vibrant and muted dominant colours (`dominant_colors`).",
                             "dc:1:1")
BLURHASH = InfoOption("blurhash", ("bh",), Args(Arg("x_components", COMPONENTS), Arg("y_components", COMPONENTS),
                                                required=2),
                      lambda values, current: (values[0], values[1]), (0, 0),
                      "A BlurHash with these components, 1-9 (`blurhash`); 0: none.", "bh:4:3")
THUMB_HASH = _flag("thumb_hash", ("th",), False, "A ThumbHash, hex (`thumb_hash`).")
PERCEPTUAL_HASH = _flag("perceptual_hash", ("phash", "ph"), False, "A 64-bit DCT perceptual hash, hex "
                        "(`perceptual_hash`).")
HASHSUM_TYPES_TAIL = Repeated(Arg("hashsum_type", HASHSUM_TYPE), skip=frozenset({""}))
CALC_HASHSUMS: InfoOption[tuple[str, ...]] = InfoOption(
    "calc_hashsums", ("chs",), Args(tail=HASHSUM_TYPES_TAIL), _names, (),
    "Hex digests of the source file: `md5`, `sha1`, `sha256`, `sha512` (`hashsums`).", "chs:md5:sha256")
PAGE = InfoOption("page", ("pg",), Args(Arg("page", NON_NEGATIVE_INT)), _first, 0,
                  "The page or frame to describe, from 0 (as `page` above).", "pg:1/d:1", source="iss634.gif")
VIDEO_THUMBNAIL_SECOND = InfoOption("video_thumbnail_second", ("vts",), Args(Arg("second", NON_NEGATIVE_FLOAT)),
                                    _first, None, "The second of a video to describe.", "vts:3.5", source="")
VIDEO_THUMBNAIL_KEYFRAMES = InfoOption("video_thumbnail_keyframes", ("vtk",), Args(Arg("keyframes", BOOL)),
                                       _first, None, "Use the keyframe at or before that second.", "vtk:1",
                                       source="")
CACHEBUSTER = InfoOption("cachebuster", ("cb",), Args(Arg("string", STRING)), _first, "",
                         "Any text: changes the URL, not the answer.", "cb:v2")
BYPASS_CACHE = _flag("bypass_cache", ("bc",), False, "Fetch the source again, past the source cache; needs "
                     "`IMGPROXY_ALLOW_BYPASS_CACHE`.")
CACHE_TAGS: InfoOption[tuple[str, ...]] = InfoOption(
    "cache_tags", ("ct",), Args(tail=Repeated(Arg("tag", STRING), skip=frozenset({""}))), _names, (),
    "Tags for the answer's `Cache-Tag` / `x-amz-meta-cache-tag` headers (`IMGPROXY_CACHE_TAGS_FORMAT`).",
    "ct:cats:photos")
EXPIRES = InfoOption("expires", ("exp",), Args(Arg("timestamp", INT)), _expires, None,
                     "Unix time after which the URL is a 404 \"Expired URL\"; 0: never.", "exp:4102444800")
PRESET = InfoPresetOption("preset", ("pr",), Args(tail=Repeated(Arg("name", STRING))), _first, (),
                          "Apply named info presets (`IMGPROXY_INFO_PRESETS`) here.", "pr:basic")
HASHSUM = InfoOption("hashsum", ("hs",), Args(Arg("hashsum_type", HASHSUM_CHECK_TYPE),
                                              Arg("hashsum", STRING, keep_if_empty=True)),
                     _hashsum, ("none", ""), "Refuse (422) a source whose digest is not this one.",
                     "hs:none")
MAX_SRC_RESOLUTION = InfoOption("max_src_resolution", ("msr",), Args(Arg("resolution", NON_NEGATIVE_FLOAT)),
                                _first, None, "`IMGPROXY_MAX_SRC_RESOLUTION` (megapixels) for this URL; needs "
                                "`IMGPROXY_ALLOW_SECURITY_OPTIONS`.", "msr:50", security=True)
MAX_SRC_FILE_SIZE = InfoOption("max_src_file_size", ("msfs",), Args(Arg("size", NON_NEGATIVE_INT)),
                               _first, None, "`IMGPROXY_MAX_SRC_FILE_SIZE` (bytes) for this URL; needs "
                               "`IMGPROXY_ALLOW_SECURITY_OPTIONS`.", "msfs:10000000", security=True)

INFO_OPTIONS: tuple[InfoOption[Any], ...] = (
    SIZE, FORMAT, DIMENSIONS, EXIF, IPTC, XMP, VIDEO_META, DETECT_OBJECTS, CLASSIFY, COLORSPACE, BANDS,
    SAMPLE_FORMAT, PAGES_NUMBER, ALPHA, CROP, OBJECTS_POSITION_OPTION, PALETTE, AVERAGE, DOMINANT_COLORS,
    BLURHASH, THUMB_HASH, PERCEPTUAL_HASH, CALC_HASHSUMS, PAGE, VIDEO_THUMBNAIL_SECOND,
    VIDEO_THUMBNAIL_KEYFRAMES, CACHEBUSTER, BYPASS_CACHE, CACHE_TAGS, EXPIRES, PRESET, HASHSUM, MAX_SRC_RESOLUTION,
    MAX_SRC_FILE_SIZE,
)
