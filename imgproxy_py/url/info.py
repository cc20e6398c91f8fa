"""``InfoOptions``: the options of an ``/info`` URL, a typed method per option."""

from __future__ import annotations

from typing import Literal

from imgproxy_py.url.arguments import (
    COMPASS,
    CompassGravity,
    choice,
    fmt_bool,
    fmt_str,
    int_arg,
    non_negative,
    opt_bool,
)
from imgproxy_py.url.chain import OptionChain
from imgproxy_py.url.gravity import Gravity, GravityLike, to_gravity

HashsumType = Literal["md5", "sha1", "sha256", "sha512"]
HASHSUM_TYPES = frozenset({"md5", "sha1", "sha256", "sha512"})


class InfoOptions(OptionChain):
    """Options of the ``/info`` endpoint, immutable like :class:`Options`.

    >>> str(InfoOptions().detect_objects().dimensions(False))
    'do:1/d:0'
    """

    def size(self, enabled: bool = True) -> InfoOptions:
        """``s:%bool``: the source file size."""
        return self._push("s", "size", fmt_bool(enabled))

    def format(self, enabled: bool = True) -> InfoOptions:
        """``f:%bool``: the format and MIME type."""
        return self._push("f", "format", fmt_bool(enabled))

    def dimensions(self, enabled: bool = True) -> InfoOptions:
        """``d:%bool``: width, height and orientation."""
        return self._push("d", "dimensions", fmt_bool(enabled))

    def exif(self, enabled: bool = True, canonical_names: bool | None = None) -> InfoOptions:
        """``exif:%enabled:%canonical_names``: EXIF, with readable or canonical tag names."""
        return self._push("exif", "exif", fmt_bool(enabled), opt_bool(canonical_names))

    def iptc(self, enabled: bool = True) -> InfoOptions:
        """``iptc:%bool``."""
        return self._push("iptc", "iptc", fmt_bool(enabled))

    def xmp(self, enabled: bool = True) -> InfoOptions:
        """``xmp:%bool``."""
        return self._push("xmp", "xmp", fmt_bool(enabled))

    def video_meta(self, enabled: bool = True) -> InfoOptions:
        """``vm:%bool``: video stream metadata."""
        return self._push("vm", "video_meta", fmt_bool(enabled))

    def detect_objects(self, enabled: bool = True) -> InfoOptions:
        """``do:%bool``: run object detection and return the boxes."""
        return self._push("do", "detect_objects", fmt_bool(enabled))

    def palette(self, colors: int) -> InfoOptions:
        """``p:%colors``: a palette of at most this many colours, 2-256 (0: none)."""
        if colors == 1:
            raise ValueError("palette colors must be 0 or 2-256")
        return self._push("p", "palette", int_arg(colors, "palette colors", 0, 256))

    def average(self, enabled: bool = True, ignore_transparent: bool | None = None) -> InfoOptions:
        """``avg:%bool:%ignore_transparent``: the average colour."""
        return self._push("avg", "average", fmt_bool(enabled), opt_bool(ignore_transparent))

    def dominant_colors(self, enabled: bool = True, build_missed: bool | None = None) -> InfoOptions:
        """``dc:%bool:%build_missed``."""
        return self._push("dc", "dominant_colors", fmt_bool(enabled), opt_bool(build_missed))

    def blurhash(self, x_components: int, y_components: int) -> InfoOptions:
        """``bh:%x_components:%y_components`` (0 disables)."""
        return self._push("bh", "blurhash", int_arg(x_components, "blurhash x components", 0, 9),
                          int_arg(y_components, "blurhash y components", 0, 9))

    def classify(self, top_k: int, *class_names: str) -> InfoOptions:
        """``cl:%top_k:%class_name...``: the best classes, optionally among these only."""
        return self._push("cl", "classify", int_arg(top_k, "classify top_k"),
                          *(fmt_str(c, "class name") for c in class_names))

    def colorspace(self, enabled: bool = True) -> InfoOptions:
        """``cs:%bool``: the libvips interpretation (``srgb``, ``cmyk``...)."""
        return self._push("cs", "colorspace", fmt_bool(enabled))

    def bands(self, enabled: bool = True) -> InfoOptions:
        """``b:%bool``: the number of bands."""
        return self._push("b", "bands", fmt_bool(enabled))

    def sample_format(self, enabled: bool = True) -> InfoOptions:
        """``sf:%bool``: the band format (``uchar``, ``ushort``...)."""
        return self._push("sf", "sample_format", fmt_bool(enabled))

    def pages_number(self, enabled: bool = True) -> InfoOptions:
        """``pn:%bool``: pages or animation frames."""
        return self._push("pn", "pages_number", fmt_bool(enabled))

    def alpha(self, enabled: bool = True, check_transparency: bool | None = None) -> InfoOptions:
        """``a:%alpha:%check_transparency``."""
        return self._push("a", "alpha", fmt_bool(enabled), opt_bool(check_transparency))

    def crop(self, width: float, height: float = 0, gravity: GravityLike | None = None) -> InfoOptions:
        """``c:%width:%height:%gravity``: the crop imgproxy would make, relative coordinates."""
        extra = to_gravity(gravity, "crop gravity").to_args() if gravity is not None else ()
        return self._push("c", "crop", non_negative(width, "crop width"), non_negative(height, "crop height"),
                          *extra)

    def objects_position(self, position: CompassGravity | Literal["prop"] | Gravity,
                         x_offset: float | None = None, y_offset: float | None = None) -> InfoOptions:
        """``op:%type:%x_offset:%y_offset``: where the objects sit in an ``obj``/``objw`` crop."""
        if isinstance(position, Gravity):
            if position.type not in COMPASS and position.type != "fp":
                raise ValueError("objects_position takes a compass or focus-point Gravity")
            return self._push("op", "objects_position", *position.to_args())
        if position == "prop":
            return self._push("op", "objects_position", "prop")
        return self._push("op", "objects_position", *Gravity.compass(position, x_offset, y_offset).to_args())

    def thumb_hash(self, enabled: bool = True) -> InfoOptions:
        """``th:%bool``: a ThumbHash (hex)."""
        return self._push("th", "thumb_hash", fmt_bool(enabled))

    def perceptual_hash(self, enabled: bool = True) -> InfoOptions:
        """``ph:%bool``: a 64-bit perceptual hash (hex)."""
        return self._push("ph", "perceptual_hash", fmt_bool(enabled))

    def calc_hashsums(self, *types: HashsumType) -> InfoOptions:
        """``chs:%type...``: digests of the source file."""
        return self._push("chs", "calc_hashsums", *(choice(t, HASHSUM_TYPES, "hashsum type") for t in types))

    def hashsum(self, hashsum_type: HashsumType | Literal["none"], hashsum: str = "") -> InfoOptions:
        """``hs:%type:%hashsum``: a 422 unless the source has this digest."""
        if hashsum_type == "none":
            return self._push("hs", "hashsum", "none")
        bytes.fromhex(hashsum)  # a ValueError here, not a 404 later
        return self._push("hs", "hashsum", choice(hashsum_type, HASHSUM_TYPES, "hashsum type"), hashsum)

    def max_src_resolution(self, megapixels: float) -> InfoOptions:
        """``msr:%megapixels`` (needs ``IMGPROXY_ALLOW_SECURITY_OPTIONS``)."""
        return self._push("msr", "max_src_resolution", non_negative(megapixels, "max_src_resolution"))

    def max_src_file_size(self, size: int) -> InfoOptions:
        """``msfs:%bytes`` (needs ``IMGPROXY_ALLOW_SECURITY_OPTIONS``)."""
        return self._push("msfs", "max_src_file_size", int_arg(size, "max_src_file_size"))

    def bypass_cache(self, enabled: bool = True) -> InfoOptions:
        """``bc:%bool``: fetch past the source cache (needs ``IMGPROXY_ALLOW_BYPASS_CACHE``)."""
        return self._push("bc", "bypass_cache", fmt_bool(enabled))

    def cache_tags(self, *tags: str) -> InfoOptions:
        """``ct:%tag...``: tags for the answer's cache-tag headers."""
        return self._push("ct", "cache_tags", *(fmt_str(t, "cache tag") for t in tags))
