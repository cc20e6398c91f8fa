"""Argument grammars of the delivery options: hashsum, the video frame options and the
security options (``options/values_delivery.py`` holds the values they build).

The security options are parsed whatever the settings say; whether a request may use them
(``IMGPROXY_ALLOW_SECURITY_OPTIONS``) is checked by the server (``server/checks.py``), so one
parser serves every configuration, the URL builder's tests included.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.grammar import Arg, Args, ArgType, Values
from imgproxy_py.options.primitives import (
    BOOL,
    FLOAT,
    NON_NEGATIVE_FLOAT,
    NON_NEGATIVE_INT,
    UNIT_FLOAT,
    bad_argument,
    parse_positive_int,
)
from imgproxy_py.options.registry import Apply, OptionsBuilder
from imgproxy_py.options.values_delivery import HashsumCheck, SecurityOverrides, VideoFrames

# Hex digits of each digest the hashsum option knows.
HASHSUM_LENGTHS = {"md5": 32, "sha1": 40, "sha256": 64, "sha512": 128}
_HEX = re.compile(r"[0-9a-fA-F]+")

# The most tiles or animation frames one URL may ask for: each is a seek and a decode of the
# video, so a URL must not be able to ask for thousands.
MAX_VIDEO_FRAMES = 100


def _parse_hashsum_type(option: str, arg: str) -> str:
    if arg != "none" and arg not in HASHSUM_LENGTHS:
        raise bad_argument(option, arg, "none, md5, sha1, sha256 or sha512")
    return arg


def _parse_hex(option: str, arg: str) -> str:
    if not _HEX.fullmatch(arg):
        raise bad_argument(option, arg, "hex digest")
    return arg.lower()


def _parse_megapixels(option: str, arg: str) -> int:
    return int(NON_NEGATIVE_FLOAT.parse(option, arg) * 1_000_000)


def _parse_frame_count(option: str, arg: str) -> int:
    value = parse_positive_int(option, arg)
    if value > MAX_VIDEO_FRAMES:
        raise bad_argument(option, arg, f"integer 1-{MAX_VIDEO_FRAMES}")
    return value


def _parse_tag(option: str, arg: str) -> str:
    # A tag ends up in a response header: a comma would split it, a control character break it.
    if not arg or "," in arg or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in arg):
        raise bad_argument(option, arg, "non-empty tag without commas")
    return arg


HASHSUM_TYPE = ArgType("none, md5, sha1, sha256, sha512", _parse_hashsum_type)
HEX_DIGEST = ArgType("hex digest", _parse_hex)
MEGAPIXELS = ArgType("megapixels ≥ 0", _parse_megapixels)
FRAME_COUNT = ArgType(f"integer 1-{MAX_VIDEO_FRAMES}", _parse_frame_count)
TAG = ArgType("tag", _parse_tag)

HASHSUM_GRAMMAR = Args(Arg("hashsum_type", HASHSUM_TYPE), Arg("hashsum", HEX_DIGEST, keep_if_empty=True))


def apply_hashsum(b: OptionsBuilder, values: Values) -> None:
    kind, digest = values
    if kind == "none":
        b.out["hashsum"] = None
        return
    if digest is None or len(digest) != HASHSUM_LENGTHS[kind]:
        raise InvalidURLError(f"Invalid hashsum: {HASHSUM_LENGTHS[kind]} hex digits expected for {kind}")
    b.out["hashsum"] = HashsumCheck(kind, digest)


def _frames_grammar(count_args: Sequence[Arg], size: str) -> Args:
    return Args(Arg("step", FLOAT), *count_args, Arg(f"{size}_width", NON_NEGATIVE_INT),
                Arg(f"{size}_height", NON_NEGATIVE_INT), Arg(f"extend_{size}", BOOL, keep_if_empty=True),
                Arg("trim", BOOL, keep_if_empty=True), Arg("fill", BOOL, keep_if_empty=True),
                Arg("focus_x", UNIT_FLOAT, keep_if_empty=True), Arg("focus_y", UNIT_FLOAT, keep_if_empty=True),
                required=len(count_args) + 3)


TILE_GRAMMAR = _frames_grammar((Arg("columns", FRAME_COUNT), Arg("rows", FRAME_COUNT)), "tile")
ANIMATION_GRAMMAR = _frames_grammar((Arg("delay", NON_NEGATIVE_INT), Arg("frames", FRAME_COUNT)), "frame")


def _frames(option: str, step: float, columns: int, rows: int, width: int, height: int, rest: Sequence[object],
            delay: int = 0) -> VideoFrames | None:
    if step == 0:
        return None  # imgproxy's "0: off"
    if columns * rows > MAX_VIDEO_FRAMES:
        raise InvalidURLError(f"Invalid {option} arguments: at most {MAX_VIDEO_FRAMES} tiles")
    if width == 0 and height == 0:
        raise InvalidURLError(f"Invalid {option} arguments: a width or a height is needed")
    extend, trim, fill, fx, fy = rest
    return VideoFrames(step, columns, rows, width, height, extend is True, trim is True, fill is True,
                       0.5 if fx is None else float(str(fx)), 0.5 if fy is None else float(str(fy)), delay)


def apply_video_tile(b: OptionsBuilder, values: Values) -> None:
    step, columns, rows, width, height, *rest = values
    b.out["video_tile"] = _frames("video_thumbnail_tile", step, columns, rows, width, height, rest)


def apply_video_animation(b: OptionsBuilder, values: Values) -> None:
    step, delay, frames, width, height, *rest = values
    b.out["video_animation"] = _frames("video_thumbnail_animation", step, frames, 1, width, height, rest, delay)


def set_security(field: str) -> Apply:
    """One security override into the request's ``security`` (the others are kept)."""

    def apply(b: OptionsBuilder, values: Values) -> None:
        current: SecurityOverrides = b.out_value("security")
        b.out["security"] = SecurityOverrides(**{**current.__dict__, field: values[0]})

    return apply


def apply_cache_tags(b: OptionsBuilder, values: Values) -> None:
    # Later uses add to the tags (presets and the URL may both give some), without repeats.
    tags = list(b.out_value("cache_tags"))
    tags += [t for t in dict.fromkeys(values[0] or ()) if t not in tags]
    b.out["cache_tags"] = tuple(tags)
