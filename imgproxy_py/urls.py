"""Build and sign imgproxy URLs from Python, with no server and no image library needed.

Usage::

    >>> from imgproxy_py.urls import ImgproxyURL, Options, build_url
    >>> opts = Options().resize("fill", 300, 400, False).gravity("sm")
    >>> build_url(opts, "http://example.com/images/curiosity.jpg", key="736563726574",
    ...           salt="68656C6C6F", source="base64", chunk_size=16, extension="png")
    '/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png'

    >>> imgproxy = ImgproxyURL(base="https://img.example.com")   # no key: unsigned
    >>> imgproxy.build(Options().width(300).quality(80), "https://example.com/a b.jpg")
    'https://img.example.com/insecure/w:300/q:80/plain/https%3A%2F%2Fexample.com%2Fa%20b.jpg'

What the builder emits, and why (it matches imgproxy's official client libraries):

* Short option names (``rs``, ``g``, ``q``...), as imgproxy's Ruby and JavaScript clients
  do by default; ``full_names=True`` switches to the long ones.
* Booleans as ``1``/``0`` (the Ruby client and imgproxy's documentation examples; imgproxy
  also accepts ``t``/``true``, which the JavaScript client sends).  Numbers with no
  fractional part lose it (``2.0`` -> ``2``); no exponent notation.
* Unset arguments are left empty and trailing empty arguments are trimmed
  (``g:nowe::10``, ``t:10::1``), as in imgproxy's documentation; an option never loses its
  ``:`` (an option segment without one would be read as the start of the source URL).
* Options appear in the order they were added; adding one twice emits it twice (imgproxy
  applies options in order, so the later one wins).  :meth:`Options.then` inserts the
  ``-`` segment of a chained pipeline.
* Plain source URLs are used as they are unless they contain a character that is unsafe
  in a URL path (``%``, ``?``, ``#``, ``@``, space, non-ASCII, control characters, quotes,
  ``<>\\^`{|}``); then the whole URL is percent-encoded, as imgproxy's Ruby client does.
  ``escape_plain="always"`` always encodes.  An extension follows ``@``.
* Base64 sources are URL-safe Base64 without padding, unsplit by default (the JavaScript
  client); ``chunk_size=16`` splits them as the documentation and the Ruby client do.  An
  extension follows ``.``.
* Encrypted sources go under ``/enc/`` (see :mod:`imgproxy_py.security.encryption` for the
  deterministic IV).
* Unsigned URLs carry the ``insecure`` placeholder (imgproxy accepts any signature when
  no key is configured; the Ruby client uses ``unsafe``: set ``unsigned_signature``).
"""

from __future__ import annotations

import base64
import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, Self, TypeAlias, cast, get_args
from urllib.parse import quote

from imgproxy_py.security.encryption import encrypt_source_url, parse_encryption_key
from imgproxy_py.security.signature import sign_path

__all__ = [
    "ArgValue",
    "CompassGravity",
    "Gravity",
    "GravityLike",
    "ImgproxyURL",
    "InfoOptions",
    "KeyLike",
    "Option",
    "Options",
    "ResizingType",
    "SourceMode",
    "WatermarkPosition",
    "build_info_url",
    "build_url",
    "escape_plain_url",
    "parse_key_salt",
    "sign",
]

ResizingType = Literal["fit", "fill", "fill-down", "force", "auto"]
CompassGravity = Literal["no", "so", "ea", "we", "noea", "nowe", "soea", "sowe", "ce"]
GravityName = Literal["no", "so", "ea", "we", "noea", "nowe", "soea", "sowe", "ce", "sm", "obj"]
WatermarkPosition = Literal["no", "so", "ea", "we", "noea", "nowe", "soea", "sowe", "ce", "re", "ch"]
SourceMode = Literal["plain", "base64", "encrypted"]
EscapeMode = Literal["auto", "always"]
ArgValue: TypeAlias = str | int | float | bool | None
KeyLike: TypeAlias = str | bytes | Sequence[str | bytes] | None

_RESIZING_TYPES: frozenset[str] = frozenset(get_args(ResizingType))
_COMPASS: frozenset[str] = frozenset(get_args(CompassGravity))
_WATERMARK_POSITIONS: frozenset[str] = frozenset(get_args(WatermarkPosition))

# Characters an option argument may hold as is: RFC 3986 path characters minus the
# argument separator ":" and "%" (imgproxy does not unescape arguments).
_ARG_RE = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=@-]*")
_NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
_HEX_COLOR_RE = re.compile(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}")
_EXTENSION_RE = re.compile(r"[A-Za-z0-9]+")
# A plain source URL made only of these goes into the path unescaped.
_PLAIN_SAFE_RE = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=:/\[\]-]*")


# --- argument formatting ------------------------------------------------------------

def _fmt_bool(value: bool) -> str:
    return "1" if value else "0"


def _fmt_num(value: int | float, what: str = "argument") -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _fmt_str(value: str, what: str = "argument") -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {value!r}")
    if not _ARG_RE.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} has characters that cannot appear in an option argument "
            "(allowed: letters, digits and ._~!$&'()*+,;=@-)"
        )
    return value


def _fmt_any(value: ArgValue, what: str = "argument") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _fmt_bool(value)
    if isinstance(value, int | float):
        return _fmt_num(value, what)
    return _fmt_str(value, what)


def _opt_bool(value: bool | None) -> str:
    return "" if value is None else _fmt_bool(value)


def _opt_num(value: int | float | None, what: str) -> str:
    return "" if value is None else _fmt_num(value, what)


def _int(value: int, what: str, minimum: int | None = 0, maximum: int | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{what} must be <= {maximum}, got {value}")
    return str(value)


def _positive(value: int | float, what: str) -> str:
    text = _fmt_num(value, what)
    if value <= 0:
        raise ValueError(f"{what} must be greater than 0, got {value!r}")
    return text


def _non_negative(value: int | float, what: str) -> str:
    text = _fmt_num(value, what)
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    return text


def _unit(value: int | float, what: str) -> str:
    text = _fmt_num(value, what)
    if not 0 <= value <= 1:
        raise ValueError(f"{what} must be between 0 and 1, got {value!r}")
    return text


def _hex_color(value: str, what: str) -> str:
    if not isinstance(value, str) or not _HEX_COLOR_RE.fullmatch(value):
        raise ValueError(f"{what} must be a hex color like 'ffffff' or 'fff', got {value!r}")
    return value


def _choice(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(sorted(allowed))}; got {value!r}")
    return value


def _rstrip_empty(args: Sequence[str]) -> tuple[str, ...]:
    """Drop trailing empty arguments."""
    out = list(args)
    while out and out[-1] == "":
        out.pop()
    return tuple(out)


def _trim(args: Sequence[str]) -> tuple[str, ...]:
    """Drop trailing empty arguments, keeping one so that the segment keeps its ``:``."""
    return _rstrip_empty(args) or ("",)


def _b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")


# --- gravity ------------------------------------------------------------------------

@dataclass(frozen=True)
class Gravity:
    """A gravity value, as the ``gravity`` option and the gravity parts of others take it.

    >>> Gravity.compass("nowe", 10, 5).to_args()
    ('nowe', '10', '5')
    >>> Gravity.focus_point(0.25, 0.75).to_args()
    ('fp', '0.25', '0.75')
    """

    type: str
    args: tuple[str, ...] = ()

    @classmethod
    def compass(cls, type: CompassGravity, x_offset: float | None = None,
                y_offset: float | None = None) -> Gravity:
        """``no``/``so``/``ea``/``we``/``noea``/``nowe``/``soea``/``sowe``/``ce`` with offsets."""
        _choice(type, _COMPASS, "gravity type")
        return cls(type, _rstrip_empty((_opt_num(x_offset, "gravity x offset"),
                                        _opt_num(y_offset, "gravity y offset"))))

    @classmethod
    def smart(cls) -> Gravity:
        """``sm``: libvips picks the most interesting area."""
        return cls("sm")

    @classmethod
    def focus_point(cls, x: float, y: float) -> Gravity:
        """``fp:x:y`` with coordinates between 0 and 1."""
        return cls("fp", (_unit(x, "focus point x"), _unit(y, "focus point y")))

    @classmethod
    def objects(cls, *class_names: str) -> Gravity:
        """``obj:class...``: centre on detected objects (all of them when no class is given)."""
        return cls("obj", tuple(_fmt_str(c, "class name") for c in class_names))

    @classmethod
    def objects_weighted(cls, weights: Mapping[str, float] | Iterable[tuple[str, float]]) -> Gravity:
        """``objw:class:weight...``: like :meth:`objects`, with a weight per class."""
        pairs = weights.items() if isinstance(weights, Mapping) else weights
        args: list[str] = []
        for name, weight in pairs:
            args += [_fmt_str(name, "class name"), _non_negative(weight, "class weight")]
        if not args:
            raise ValueError("objects_weighted needs at least one class and weight")
        return cls("objw", tuple(args))

    def to_args(self) -> tuple[str, ...]:
        return (self.type, *self.args)


GravityLike: TypeAlias = Gravity | GravityName


def _gravity(value: GravityLike, what: str = "gravity") -> Gravity:
    if isinstance(value, Gravity):
        return value
    if value == "sm":
        return Gravity.smart()
    if value == "obj":
        return Gravity.objects()
    if value in _COMPASS:
        return Gravity(value)
    raise ValueError(
        f"{what} must be a Gravity or one of {', '.join(sorted(_COMPASS | {'sm', 'obj'}))}; got {value!r}"
    )


def _extend_gravity(value: GravityLike) -> Gravity:
    gravity = _gravity(value, "extend gravity")
    if gravity.type not in _COMPASS and gravity.type != "fp":
        raise ValueError(f"extend gravity cannot be {gravity.type!r} (sm, obj and objw are not allowed)")
    return gravity


def _extend_args(extend: bool | None, gravity: GravityLike | None) -> tuple[str, ...]:
    if gravity is not None and not extend:
        raise ValueError("an extend gravity needs extend=True")
    if extend is None:
        return ("",)
    return (_fmt_bool(extend), *(_extend_gravity(gravity).to_args() if gravity is not None else ()))


# --- option chains ------------------------------------------------------------------

@dataclass(frozen=True)
class Option:
    """One ``name:arg:...`` segment: its short and long name and its formatted arguments."""

    short: str
    long: str
    args: tuple[str, ...]

    def render(self, full_names: bool = False) -> str:
        return ":".join(((self.long if full_names else self.short), *self.args))


@dataclass(frozen=True)
class _OptionChain:
    pipelines: tuple[tuple[Option, ...], ...] = field(default=((),))

    def _push(self, short: str, long: str, *args: str) -> Self:
        option = Option(short, long, _trim(args))
        return type(self)((*self.pipelines[:-1], (*self.pipelines[-1], option)))

    def add(self, name: str, *args: ArgValue) -> Self:
        """Any option by name, for those without a method (or a server's own options).

        Arguments are formatted like the typed methods do: ``True`` -> ``1``, ``None`` -> empty.

        >>> str(Options().add("sa", 1.5).add("hs", "md5", "abc"))
        'sa:1.5/hs:md5:abc'
        """
        if not isinstance(name, str) or not _NAME_RE.fullmatch(name) or name == "-":
            raise ValueError(f"invalid option name {name!r}")
        return self._push(name, name, *(_fmt_any(a, f"{name} argument") for a in args))

    def segments(self, *, full_names: bool = False) -> list[str]:
        """The path segments, with ``-`` between chained pipelines (empty pipelines skipped)."""
        out: list[str] = []
        for pipeline in self.pipelines:
            if not pipeline:
                continue
            if out:
                out.append("-")
            out.extend(option.render(full_names) for option in pipeline)
        return out

    def to_path(self, *, full_names: bool = False) -> str:
        """``/seg/seg...`` (empty string when there are no options)."""
        return "".join("/" + s for s in self.segments(full_names=full_names))

    def __str__(self) -> str:
        return "/".join(self.segments())

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"

    def __bool__(self) -> bool:
        return any(self.pipelines)

    # Options that processing and info URLs share.
    def cachebuster(self, value: str) -> Self:
        """``cb:%string``: changes the URL (and so every cache key) without changing the result."""
        return self._push("cb", "cachebuster", _fmt_str(value, "cachebuster"))

    def expires(self, when: int | _dt.datetime) -> Self:
        """``exp:%timestamp``: the URL stops working after this Unix time (or aware datetime)."""
        if isinstance(when, _dt.datetime):
            if when.tzinfo is None:
                raise ValueError("expires needs a timezone-aware datetime")
            when = int(when.timestamp())
        return self._push("exp", "expires", _int(when, "expires", minimum=None))

    def preset(self, *names: str) -> Self:
        """``pr:%name...``: apply server-side presets."""
        if not names:
            raise ValueError("preset needs at least one name")
        return self._push("pr", "preset", *(_fmt_str(n, "preset name") for n in names))

    def page(self, page: int) -> Self:
        """``pg:%page``: the page (PDF, TIFF) or frame (GIF, WebP) to use, from 0."""
        return self._push("pg", "page", _int(page, "page"))

    def video_thumbnail_second(self, second: float) -> Self:
        """``vts:%second``: the video timestamp to take the thumbnail from."""
        return self._push("vts", "video_thumbnail_second", _non_negative(second, "video thumbnail second"))

    def video_thumbnail_keyframes(self, enabled: bool = True) -> Self:
        """``vtk:%bool``: use only keyframes for video thumbnails."""
        return self._push("vtk", "video_thumbnail_keyframes", _fmt_bool(enabled))


class Options(_OptionChain):
    """Processing options, immutable: every method returns a new object.

    >>> base = Options().resize("fill", 300, 200).gravity("sm")
    >>> str(base.quality(80))
    'rs:fill:300:200/g:sm/q:80'
    >>> str(base.then().trim(10))
    'rs:fill:300:200/g:sm/-/t:10'
    """

    def then(self) -> Options:
        """Start a chained pipeline (a ``-`` segment): later options apply to its result."""
        if not self.pipelines[-1]:
            raise ValueError("then() needs at least one option in the current pipeline")
        return Options((*self.pipelines, ()))

    # --- size -------------------------------------------------------------------
    def resize(self, resizing_type: ResizingType = "fit", width: int = 0, height: int = 0,
               enlarge: bool | None = None, extend: bool | None = None,
               extend_gravity: GravityLike | None = None) -> Options:
        """``rs:%type:%width:%height:%enlarge:%extend``: the resize meta-option."""
        _choice(resizing_type, _RESIZING_TYPES, "resizing type")
        return self._push("rs", "resize", resizing_type, _int(width, "width"), _int(height, "height"),
                          _opt_bool(enlarge), *_extend_args(extend, extend_gravity))

    def size(self, width: int = 0, height: int = 0, enlarge: bool | None = None,
             extend: bool | None = None, extend_gravity: GravityLike | None = None) -> Options:
        """``s:%width:%height:%enlarge:%extend``: the size meta-option."""
        return self._push("s", "size", _int(width, "width"), _int(height, "height"),
                          _opt_bool(enlarge), *_extend_args(extend, extend_gravity))

    def resizing_type(self, resizing_type: ResizingType) -> Options:
        """``rt:%type``: ``fit``, ``fill``, ``fill-down``, ``force`` or ``auto``."""
        return self._push("rt", "resizing_type", _choice(resizing_type, _RESIZING_TYPES, "resizing type"))

    def width(self, width: int) -> Options:
        """``w:%width`` (0: from the height and the aspect ratio)."""
        return self._push("w", "width", _int(width, "width"))

    def height(self, height: int) -> Options:
        """``h:%height`` (0: from the width and the aspect ratio)."""
        return self._push("h", "height", _int(height, "height"))

    def min_width(self, width: int) -> Options:
        """``mw:%width``."""
        return self._push("mw", "min-width", _int(width, "min width"))

    def min_height(self, height: int) -> Options:
        """``mh:%height``."""
        return self._push("mh", "min-height", _int(height, "min height"))

    def zoom(self, x: float, y: float | None = None) -> Options:
        """``z:%zoom_x_y`` or ``z:%zoom_x:%zoom_y``."""
        args = [_positive(x, "zoom")]
        if y is not None:
            args.append(_positive(y, "zoom y"))
        return self._push("z", "zoom", *args)

    def dpr(self, dpr: float) -> Options:
        """``dpr:%dpr``: multiply dimensions (and offsets, paddings) for HiDPI screens."""
        return self._push("dpr", "dpr", _positive(dpr, "dpr"))

    def enlarge(self, enabled: bool = True) -> Options:
        """``el:%bool``: allow making images larger than the source."""
        return self._push("el", "enlarge", _fmt_bool(enabled))

    def extend(self, enabled: bool = True, gravity: GravityLike | None = None) -> Options:
        """``ex:%bool:%gravity``: pad the image up to the requested size."""
        return self._push("ex", "extend", *_extend_args(enabled, gravity))

    def extend_aspect_ratio(self, enabled: bool = True, gravity: GravityLike | None = None) -> Options:
        """``exar:%bool:%gravity``: pad the image up to the requested aspect ratio."""
        return self._push("exar", "extend_aspect_ratio", *_extend_args(enabled, gravity))

    # --- geometry -----------------------------------------------------------------
    def gravity(self, gravity: GravityLike, x_offset: float | None = None,
                y_offset: float | None = None) -> Options:
        """``g:%type:%x_offset:%y_offset``; ``gravity("sm")``, ``gravity("obj")`` or a :class:`Gravity`."""
        if x_offset is not None or y_offset is not None:
            if isinstance(gravity, Gravity) or gravity not in _COMPASS:
                raise ValueError("gravity offsets need a compass gravity type (no, so, ea, ...)")
            value = Gravity.compass(cast(CompassGravity, gravity), x_offset, y_offset)
        else:
            value = _gravity(gravity)
        return self._push("g", "gravity", *value.to_args())

    def gravity_focus_point(self, x: float, y: float) -> Options:
        """``g:fp:%x:%y``."""
        return self._push("g", "gravity", *Gravity.focus_point(x, y).to_args())

    def gravity_objects(self, *class_names: str) -> Options:
        """``g:obj:%class...``."""
        return self._push("g", "gravity", *Gravity.objects(*class_names).to_args())

    def gravity_objects_weighted(self, weights: Mapping[str, float] | Iterable[tuple[str, float]]) -> Options:
        """``g:objw:%class:%weight...``."""
        return self._push("g", "gravity", *Gravity.objects_weighted(weights).to_args())

    def objects_position(self, position: CompassGravity | Literal["prop"] | Gravity,
                         x_offset: float | None = None, y_offset: float | None = None) -> Options:
        """``op:%type:%x_offset:%y_offset``, ``op:prop`` or ``op:fp:%x:%y`` (a focus-point Gravity)."""
        if isinstance(position, Gravity):
            wrong_type = position.type not in _COMPASS and position.type != "fp"
            if wrong_type or x_offset is not None or y_offset is not None:
                raise ValueError("objects_position takes a compass or focus-point Gravity without offsets")
            return self._push("op", "objects_position", *position.to_args())
        if position == "prop":
            if x_offset is not None or y_offset is not None:
                raise ValueError("objects_position 'prop' takes no offsets")
            return self._push("op", "objects_position", "prop")
        return self._push("op", "objects_position", *Gravity.compass(position, x_offset, y_offset).to_args())

    def crop(self, width: float, height: float = 0, gravity: GravityLike | None = None) -> Options:
        """``c:%width:%height:%gravity``: crop before resizing (values < 1 are relative)."""
        extra = _gravity(gravity, "crop gravity").to_args() if gravity is not None else ()
        return self._push("c", "crop", _non_negative(width, "crop width"),
                          _non_negative(height, "crop height"), *extra)

    def trim(self, threshold: float, color: str | None = None, equal_hor: bool | None = None,
             equal_ver: bool | None = None) -> Options:
        """``t:%threshold:%color:%equal_hor:%equal_ver``: remove the surrounding background."""
        return self._push("t", "trim", _fmt_num(threshold, "trim threshold"),
                          "" if color is None else _hex_color(color, "trim color"),
                          _opt_bool(equal_hor), _opt_bool(equal_ver))

    def padding(self, top: int, right: int | None = None, bottom: int | None = None,
                left: int | None = None) -> Options:
        """``pd:%top:%right:%bottom:%left`` (CSS order; omitted sides follow CSS rules)."""
        return self._push("pd", "padding", _int(top, "padding"),
                          *("" if v is None else _int(v, "padding") for v in (right, bottom, left)))

    def auto_rotate(self, enabled: bool = True) -> Options:
        """``ar:%bool``: rotate by the EXIF orientation."""
        return self._push("ar", "auto_rotate", _fmt_bool(enabled))

    def rotate(self, angle: int) -> Options:
        """``rot:%angle``: a multiple of 90 degrees."""
        text = _int(angle, "rotate angle", minimum=None)
        if angle % 90:
            raise ValueError(f"rotate angle must be a multiple of 90, got {angle}")
        return self._push("rot", "rotate", text)

    def flip(self, horizontal: bool | None = None, vertical: bool | None = None) -> Options:
        """``fl:%horizontal:%vertical``."""
        if horizontal is None and vertical is None:
            raise ValueError("flip needs horizontal and/or vertical")
        return self._push("fl", "flip", _opt_bool(horizontal), _opt_bool(vertical))

    # --- colour and effects -------------------------------------------------------
    def background(self, color: str | tuple[int, int, int] | None) -> Options:
        """``bg:%hex`` or ``bg:%r:%g:%b``; ``None`` gives ``bg:`` (no background)."""
        if color is None:
            return self._push("bg", "background", "")
        if isinstance(color, str):
            return self._push("bg", "background", _hex_color(color, "background"))
        if len(color) != 3:
            raise ValueError(f"background needs (r, g, b), got {color!r}")
        return self._push("bg", "background", *(_int(c, "background channel", 0, 255) for c in color))

    def blur(self, sigma: float) -> Options:
        """``bl:%sigma``: gaussian blur."""
        return self._push("bl", "blur", _non_negative(sigma, "blur sigma"))

    def sharpen(self, sigma: float) -> Options:
        """``sh:%sigma``."""
        return self._push("sh", "sharpen", _non_negative(sigma, "sharpen sigma"))

    def pixelate(self, size: int) -> Options:
        """``pix:%size``."""
        return self._push("pix", "pixelate", _int(size, "pixelate size"))

    def watermark(self, opacity: float, position: WatermarkPosition | None = None,
                  x_offset: float | None = None, y_offset: float | None = None,
                  scale: float | None = None) -> Options:
        """``wm:%opacity:%position:%x_offset:%y_offset:%scale``."""
        return self._push(
            "wm", "watermark", _unit(opacity, "watermark opacity"),
            "" if position is None else _choice(position, _WATERMARK_POSITIONS, "watermark position"),
            _opt_num(x_offset, "watermark x offset"), _opt_num(y_offset, "watermark y offset"),
            "" if scale is None else _non_negative(scale, "watermark scale"),
        )

    # --- detections ---------------------------------------------------------------
    def crop_objects(self, scale_factor: float, *class_names: str) -> Options:
        """``cob:%scale_factor:%class...``: crop to the detected objects (all when no class is given)."""
        return self._push("cob", "crop_objects", _positive(scale_factor, "crop_objects scale factor"),
                          *(_fmt_str(c, "class name") for c in class_names))

    def blur_detections(self, sigma: float, *class_names: str) -> Options:
        """``bd:%sigma:%class...``: blur detected objects."""
        return self._push("bd", "blur_detections", _non_negative(sigma, "blur_detections sigma"),
                          *(_fmt_str(c, "class name") for c in class_names))

    def pixelate_detections(self, size: int, *class_names: str) -> Options:
        """``pxd:%size:%class...``: pixelate detected objects."""
        return self._push("pxd", "pixelate_detections", _int(size, "pixelate_detections size"),
                          *(_fmt_str(c, "class name") for c in class_names))

    def draw_detections(self, *class_names: str, draw: bool = True) -> Options:
        """``dd:%draw:%class...``: draw the boxes of detected objects."""
        return self._push("dd", "draw_detections", _fmt_bool(draw),
                          *(_fmt_str(c, "class name") for c in class_names))

    # --- output -------------------------------------------------------------------
    def strip_metadata(self, enabled: bool = True) -> Options:
        """``sm:%bool``."""
        return self._push("sm", "strip_metadata", _fmt_bool(enabled))

    def keep_copyright(self, enabled: bool = True) -> Options:
        """``kcr:%bool``."""
        return self._push("kcr", "keep_copyright", _fmt_bool(enabled))

    def strip_color_profile(self, enabled: bool = True) -> Options:
        """``scp:%bool``."""
        return self._push("scp", "strip_color_profile", _fmt_bool(enabled))

    def enforce_thumbnail(self, enabled: bool = True) -> Options:
        """``eth:%bool``: use the thumbnail embedded in HEIC/AVIF sources."""
        return self._push("eth", "enforce_thumbnail", _fmt_bool(enabled))

    def quality(self, quality: int) -> Options:
        """``q:%quality`` (1-100; 0 means the configured default)."""
        return self._push("q", "quality", _int(quality, "quality", 0, 100))

    def format_quality(self, qualities: Mapping[str, int | None]) -> Options:
        """``fq:%format:%quality...``; formats whose quality is ``None`` are skipped."""
        args: list[str] = []
        for fmt, quality in qualities.items():
            if quality is not None:
                args += [_fmt_str(fmt, "format"), _int(quality, "quality", 0, 100)]
        if not args:
            raise ValueError("format_quality needs at least one format and quality")
        return self._push("fq", "format_quality", *args)

    def autoquality(self, method: str | None = None, target: float | None = None,
                    min_quality: int | None = None, max_quality: int | None = None,
                    allowed_error: float | None = None) -> Options:
        """``aq:%method:%target:%min_quality:%max_quality:%allowed_error``."""
        return self._push(
            "aq", "autoquality", "" if method is None else _fmt_str(method, "autoquality method"),
            _opt_num(target, "autoquality target"),
            "" if min_quality is None else _int(min_quality, "min quality", 0, 100),
            "" if max_quality is None else _int(max_quality, "max quality", 0, 100),
            _opt_num(allowed_error, "autoquality allowed error"),
        )

    def max_bytes(self, max_bytes: int) -> Options:
        """``mb:%bytes``: degrade quality until the result fits."""
        return self._push("mb", "max_bytes", _int(max_bytes, "max_bytes"))

    def png_options(self, interlaced: bool | None = None, quantize: bool | None = None,
                    quantization_colors: int | None = None) -> Options:
        """``pngo:%interlaced:%quantize:%quantization_colors``."""
        colors = ("" if quantization_colors is None
                  else _int(quantization_colors, "quantization colors", 2, 256))
        return self._push("pngo", "png_options", _opt_bool(interlaced), _opt_bool(quantize), colors)

    def format(self, extension: str) -> Options:
        """``f:%extension``: the output format (the URL's extension does the same)."""
        if not _EXTENSION_RE.fullmatch(extension):
            raise ValueError(f"invalid format {extension!r}")
        return self._push("f", "format", extension)

    def skip_processing(self, *extensions: str) -> Options:
        """``skp:%extension...``: return sources of these formats unprocessed."""
        if not extensions:
            raise ValueError("skip_processing needs at least one format")
        return self._push("skp", "skip_processing", *(_fmt_str(e, "format") for e in extensions))

    def raw(self, enabled: bool = True) -> Options:
        """``raw:%bool``: stream the source unprocessed and unchecked."""
        return self._push("raw", "raw", _fmt_bool(enabled))

    def filename(self, name: str, *, encode: bool | None = None) -> Options:
        """``fn:%filename`` or ``fn:%base64:1``, for the ``Content-Disposition`` header.

        ``encode=None`` sends the name as is when it is made of safe characters only, and
        URL-safe Base64 (with the ``1`` flag) otherwise.
        """
        if encode is None:
            encode = not _ARG_RE.fullmatch(name)
        if encode:
            return self._push("fn", "filename", _b64(name), "1")
        return self._push("fn", "filename", _fmt_str(name, "filename"))

    def return_attachment(self, enabled: bool = True) -> Options:
        """``att:%bool``: ``Content-Disposition: attachment``."""
        return self._push("att", "return_attachment", _fmt_bool(enabled))

    def disable_animation(self, enabled: bool = True) -> Options:
        """``da:%bool``: treat animated sources as still images."""
        return self._push("da", "disable_animation", _fmt_bool(enabled))

    def fallback_image_url(self, url: str) -> Options:
        """``fiu:%base64_url``: the image to serve when the source cannot be had."""
        return self._push("fiu", "fallback_image_url", _b64(url))

    # --- video --------------------------------------------------------------------
    def video_frame(self, frame: int) -> Options:
        """``vf:%frame``: take the thumbnail from this frame number."""
        return self._push("vf", "video_frame", _int(frame, "video frame"))

    def video_thumbnail_best(self, enabled: bool = True) -> Options:
        """``vtb:%bool``: pick the most representative frame as the thumbnail."""
        return self._push("vtb", "video_thumbnail_best", _fmt_bool(enabled))


class InfoOptions(_OptionChain):
    """Options of the ``/info`` endpoint, immutable like :class:`Options`.

    >>> str(InfoOptions().detect_objects().dimensions(False))
    'do:1/d:0'
    """

    def size(self, enabled: bool = True) -> InfoOptions:
        """``s:%bool``: the source file size."""
        return self._push("s", "size", _fmt_bool(enabled))

    def format(self, enabled: bool = True) -> InfoOptions:
        """``f:%bool``: the format and MIME type."""
        return self._push("f", "format", _fmt_bool(enabled))

    def dimensions(self, enabled: bool = True) -> InfoOptions:
        """``d:%bool``: width, height and orientation."""
        return self._push("d", "dimensions", _fmt_bool(enabled))

    def exif(self, enabled: bool = True) -> InfoOptions:
        """``exif:%bool``."""
        return self._push("exif", "exif", _fmt_bool(enabled))

    def iptc(self, enabled: bool = True) -> InfoOptions:
        """``iptc:%bool``."""
        return self._push("iptc", "iptc", _fmt_bool(enabled))

    def xmp(self, enabled: bool = True) -> InfoOptions:
        """``xmp:%bool``."""
        return self._push("xmp", "xmp", _fmt_bool(enabled))

    def video_meta(self, enabled: bool = True) -> InfoOptions:
        """``vm:%bool``: video stream metadata."""
        return self._push("vm", "video_meta", _fmt_bool(enabled))

    def detect_objects(self, enabled: bool = True) -> InfoOptions:
        """``do:%bool``: run object detection and return the boxes."""
        return self._push("do", "detect_objects", _fmt_bool(enabled))

    def palette(self, colors: int) -> InfoOptions:
        """``p:%colors``: a palette of this many colours (0: none)."""
        return self._push("p", "palette", _int(colors, "palette colors"))

    def average(self, enabled: bool = True, ignore_transparent: bool | None = None) -> InfoOptions:
        """``avg:%bool:%ignore_transparent``: the average colour."""
        return self._push("avg", "average", _fmt_bool(enabled), _opt_bool(ignore_transparent))

    def dominant_colors(self, enabled: bool = True, build_missed: bool | None = None) -> InfoOptions:
        """``dc:%bool:%build_missed``."""
        return self._push("dc", "dominant_colors", _fmt_bool(enabled), _opt_bool(build_missed))

    def blurhash(self, x_components: int, y_components: int) -> InfoOptions:
        """``bh:%x_components:%y_components`` (0 disables)."""
        return self._push("bh", "blurhash", _int(x_components, "blurhash x components", 0, 9),
                          _int(y_components, "blurhash y components", 0, 9))


# --- keys, escaping, signing --------------------------------------------------------

def _parse_secret(value: KeyLike, what: str) -> bytes | None:
    if value is None:
        return None
    if isinstance(value, bytes | bytearray):
        return bytes(value) or None
    if isinstance(value, str):
        first = value.split(",")[0].strip()
        if not first:
            return None
        try:
            return bytes.fromhex(first)
        except ValueError:
            raise ValueError(f"{what} must be hex-encoded") from None
    items = list(value)
    return _parse_secret(items[0], what) if items else None


def parse_key_salt(key: KeyLike, salt: KeyLike) -> tuple[bytes, bytes] | None:
    """The key/salt pair that signs: raw ``bytes``, or hex strings (the first of a comma list,
    as in ``IMGPROXY_KEY``), or sequences of those (the first one signs).

    ``None`` when neither is given; ``ValueError`` when only one is.
    """
    raw_key = _parse_secret(key, "key")
    raw_salt = _parse_secret(salt, "salt")
    if raw_key is None and raw_salt is None:
        return None
    if raw_key is None or raw_salt is None:
        raise ValueError("signing needs both a key and a salt")
    return raw_key, raw_salt


def _check_signature_size(size: int) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 32:
        raise ValueError(f"signature size must be between 1 and 32, got {size!r}")
    return size


def sign(path: str, key: KeyLike, salt: KeyLike, size: int = 32) -> str:
    """``/%signature/%path``: sign a path (everything after the signature segment).

    >>> sign("/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg",
    ...      "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881",
    ...      "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5")
    '/m3k5QADfcKPDj-SDI2AIogZbC3FlAXszuwhtWXYqavc/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg'
    """
    pair = parse_key_salt(key, salt)
    if pair is None:
        raise ValueError("signing needs a key and a salt")
    if not path.startswith("/"):
        path = "/" + path
    return f"/{sign_path(pair[0], pair[1], path, _check_signature_size(size))}{path}"


def escape_plain_url(url: str, mode: EscapeMode = "auto") -> str:
    """A source URL for ``/plain/``: unchanged when safe, else wholly percent-encoded.

    >>> escape_plain_url("https://images.test/image.jpg?version=123")
    'https%3A%2F%2Fimages.test%2Fimage.jpg%3Fversion%3D123'
    """
    if mode not in ("auto", "always"):
        raise ValueError(f"escape mode must be 'auto' or 'always', got {mode!r}")
    if mode == "always" or not _PLAIN_SAFE_RE.fullmatch(url):
        return quote(url, safe="")
    return url


def _chunk(text: str, size: int | None) -> str:
    if not size:
        return text
    return "/".join(text[i:i + size] for i in range(0, len(text), size))


@dataclass(frozen=True)
class ImgproxyURL:
    """A reusable URL builder for one imgproxy server.

    ``key``/``salt``: hex strings (first of a comma list), raw bytes, or sequences of
    those (the first pair signs); both ``None`` gives unsigned URLs.  ``base`` is the
    server's origin plus any path prefix (``https://img.example.com`` or ``""`` for just
    the path).  ``source`` picks the source URL form; ``encrypted`` needs
    ``encryption_key`` (hex or raw bytes).
    """

    base: str = ""
    key: KeyLike = field(default=None, repr=False)
    salt: KeyLike = field(default=None, repr=False)
    signature_size: int = 32
    source: SourceMode = "plain"
    encryption_key: bytes | str | None = field(default=None, repr=False)
    chunk_size: int | None = None
    unsigned_signature: str = "insecure"
    escape_plain: EscapeMode = "auto"
    full_names: bool = False
    _pair: tuple[bytes, bytes] | None = field(init=False, repr=False, compare=False, default=None)
    _enc_key: bytes | None = field(init=False, repr=False, compare=False, default=None)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_pair", parse_key_salt(self.key, self.salt))
        _check_signature_size(self.signature_size)
        if self.source not in ("plain", "base64", "encrypted"):
            raise ValueError(f"source must be 'plain', 'base64' or 'encrypted', got {self.source!r}")
        if self.encryption_key is not None and self.encryption_key != "":
            object.__setattr__(self, "_enc_key", parse_encryption_key(self.encryption_key))
        if self.chunk_size is not None and (isinstance(self.chunk_size, bool) or self.chunk_size < 1):
            raise ValueError(f"chunk size must be a positive integer, got {self.chunk_size!r}")
        if not self.unsigned_signature or "/" in self.unsigned_signature:
            raise ValueError("unsigned_signature must be a non-empty string without '/'")
        if self.escape_plain not in ("auto", "always"):
            raise ValueError(f"escape_plain must be 'auto' or 'always', got {self.escape_plain!r}")

    @property
    def signed(self) -> bool:
        return self._pair is not None

    def sign_path(self, path: str) -> str:
        """``/%signature%path`` (or the unsigned placeholder) for a path starting with ``/``."""
        if self._pair is None:
            return f"/{self.unsigned_signature}{path}"
        return f"/{sign_path(self._pair[0], self._pair[1], path, self.signature_size)}{path}"

    def _source_segment(self, source_url: str, source: SourceMode, extension: str | None,
                        filename: str | None, iv: bytes | None) -> str:
        if extension == "":
            extension = None
        if extension is not None and not _EXTENSION_RE.fullmatch(extension):
            raise ValueError(f"invalid extension {extension!r}")
        if source == "plain":
            if filename is not None:
                raise ValueError("filename_in_base64 needs a base64 or encrypted source URL")
            escaped = escape_plain_url(source_url, self.escape_plain)
            return f"plain/{escaped}" + (f"@{extension}" if extension else "")
        if source == "base64":
            body = _chunk(_b64(source_url), self.chunk_size)
        elif source == "encrypted":
            if self._enc_key is None:
                raise ValueError("encrypted source URLs need an encryption_key")
            body = "enc/" + _chunk(encrypt_source_url(source_url, self._enc_key, iv), self.chunk_size)
        else:
            raise ValueError(f"source must be 'plain', 'base64' or 'encrypted', got {source!r}")
        if extension:
            body += f".{extension}"
        if filename is not None:
            if not filename:
                raise ValueError("filename_in_base64 must not be empty")
            body += "/" + quote(filename, safe="")
        return body

    def _path(self, options: _OptionChain | str | None, source_url: str, source: SourceMode | None,
              extension: str | None, filename: str | None, iv: bytes | None) -> str:
        if isinstance(options, str):
            opts = "".join("/" + s for s in options.strip("/").split("/") if s)
        elif options is None:
            opts = ""
        else:
            opts = options.to_path(full_names=self.full_names)
        src = self._source_segment(source_url, source or self.source, extension, filename, iv)
        return self.sign_path(f"{opts}/{src}")

    def build(self, options: Options | str | None, source_url: str, *, extension: str | None = None,
              source: SourceMode | None = None, filename_in_base64: str | None = None,
              encryption_iv: bytes | None = None) -> str:
        """The processing URL.  ``options`` may also be a ready ``"rs:fit:300:0/q:80"`` string.

        ``filename_in_base64`` appends an SEO filename segment after a base64 or encrypted
        source (for servers with ``IMGPROXY_BASE64_URL_INCLUDES_FILENAME``).
        """
        path = self._path(options, source_url, source, extension, filename_in_base64, encryption_iv)
        return self.base.rstrip("/") + path

    def info(self, options: InfoOptions | str | None, source_url: str, *, source: SourceMode | None = None,
             filename_in_base64: str | None = None, encryption_iv: bytes | None = None) -> str:
        """The ``/info`` URL (the signature covers the path after it, as for processing URLs)."""
        path = self._path(options, source_url, source, None, filename_in_base64, encryption_iv)
        return self.base.rstrip("/") + "/info" + path


def build_url(options: Options | str | None, source_url: str, *, key: KeyLike = None,
              salt: KeyLike = None, signature_size: int = 32, source: SourceMode = "plain",
              encryption_key: bytes | str | None = None, encryption_iv: bytes | None = None,
              extension: str | None = None, base: str = "", filename_in_base64: str | None = None,
              chunk_size: int | None = None, unsigned_signature: str = "insecure",
              escape_plain: EscapeMode = "auto", full_names: bool = False) -> str:
    """One processing URL; see :class:`ImgproxyURL` for the parameters.

    >>> build_url(Options().resize("fit", 300, 300), "http://img.example.com/pretty/image.jpg")
    '/insecure/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg'
    """
    builder = ImgproxyURL(base=base, key=key, salt=salt, signature_size=signature_size, source=source,
                          encryption_key=encryption_key, chunk_size=chunk_size,
                          unsigned_signature=unsigned_signature, escape_plain=escape_plain,
                          full_names=full_names)
    return builder.build(options, source_url, extension=extension, filename_in_base64=filename_in_base64,
                         encryption_iv=encryption_iv)


def build_info_url(options: InfoOptions | str | None, source_url: str, *, key: KeyLike = None,
                   salt: KeyLike = None, signature_size: int = 32, source: SourceMode = "plain",
                   encryption_key: bytes | str | None = None, encryption_iv: bytes | None = None,
                   base: str = "", filename_in_base64: str | None = None, chunk_size: int | None = None,
                   unsigned_signature: str = "insecure", escape_plain: EscapeMode = "auto",
                   full_names: bool = False) -> str:
    """One ``/info`` URL; see :class:`ImgproxyURL` for the parameters."""
    builder = ImgproxyURL(base=base, key=key, salt=salt, signature_size=signature_size, source=source,
                          encryption_key=encryption_key, chunk_size=chunk_size,
                          unsigned_signature=unsigned_signature, escape_plain=escape_plain,
                          full_names=full_names)
    return builder.info(options, source_url, filename_in_base64=filename_in_base64,
                        encryption_iv=encryption_iv)
