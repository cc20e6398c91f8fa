"""How the URL builder spells option arguments, and the words options take.

The rules (they match imgproxy's official clients): booleans are ``1``/``0``; numbers lose a
zero fractional part and never use exponents; text may hold only characters that need no
escaping in a path, minus the ``:`` separator and ``%``; unset arguments are empty and
trailing empty ones are dropped.  The vocabularies below are what the server's declarations
accept (a test checks them against ``imgproxy_py.options``); this module imports nothing of
the server so that building URLs needs no image library.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Literal, TypeAlias, get_args

ResizingType = Literal["fit", "fill", "fill-down", "force", "auto"]
CompassGravity = Literal["no", "so", "ea", "we", "noea", "nowe", "soea", "sowe", "ce"]
GravityName = Literal["no", "so", "ea", "we", "noea", "nowe", "soea", "sowe", "ce", "sm", "obj"]
# "re" tiles the watermark, "ch" tiles it in a chessboard's order (imgproxy Pro).
WatermarkPosition = Literal["no", "so", "ea", "we", "noea", "nowe", "soea", "sowe", "ce", "re", "ch"]
ArgValue: TypeAlias = str | int | float | bool | None

# gradient's and progressive_blur's direction words (or clockwise degrees from down).
Direction = Literal["down", "up", "left", "right"]
RESIZING_TYPES: frozenset[str] = frozenset(get_args(ResizingType))
DIRECTIONS: frozenset[str] = frozenset(get_args(Direction))
COMPASS: frozenset[str] = frozenset(get_args(CompassGravity))
WATERMARK_POSITIONS: frozenset[str] = frozenset(get_args(WatermarkPosition))

# Characters an option argument may hold as is: RFC 3986 path characters minus the
# argument separator ":" and "%" (imgproxy does not unescape arguments).
ARG_RE = re.compile(r"[A-Za-z0-9._~!$&'()*+,;=@-]*")
NAME_RE = re.compile(r"[A-Za-z0-9_-]+")
HEX_COLOR_RE = re.compile(r"[0-9a-fA-F]{3}|[0-9a-fA-F]{6}")
EXTENSION_RE = re.compile(r"[A-Za-z0-9]+")


def fmt_bool(value: bool) -> str:
    return "1" if value else "0"


def fmt_num(value: int | float, what: str = "argument") -> str:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise TypeError(f"{what} must be a number, got {value!r}")
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        raise ValueError(f"{what} must be finite, got {value!r}")
    if value.is_integer():
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def fmt_str(value: str, what: str = "argument") -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a string, got {value!r}")
    if not ARG_RE.fullmatch(value):
        raise ValueError(
            f"{what} {value!r} has characters that cannot appear in an option argument "
            "(allowed: letters, digits and ._~!$&'()*+,;=@-)"
        )
    return value


def fmt_any(value: ArgValue, what: str = "argument") -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return fmt_bool(value)
    if isinstance(value, int | float):
        return fmt_num(value, what)
    return fmt_str(value, what)


def opt_bool(value: bool | None) -> str:
    return "" if value is None else fmt_bool(value)


def opt_num(value: int | float | None, what: str) -> str:
    return "" if value is None else fmt_num(value, what)


def int_arg(value: int, what: str, minimum: int | None = 0, maximum: int | None = None) -> str:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{what} must be an integer, got {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{what} must be >= {minimum}, got {value}")
    if maximum is not None and value > maximum:
        raise ValueError(f"{what} must be <= {maximum}, got {value}")
    return str(value)


def positive(value: int | float, what: str) -> str:
    text = fmt_num(value, what)
    if value <= 0:
        raise ValueError(f"{what} must be greater than 0, got {value!r}")
    return text


def non_negative(value: int | float, what: str) -> str:
    text = fmt_num(value, what)
    if value < 0:
        raise ValueError(f"{what} must be >= 0, got {value!r}")
    return text


def unit(value: int | float, what: str) -> str:
    text = fmt_num(value, what)
    if not 0 <= value <= 1:
        raise ValueError(f"{what} must be between 0 and 1, got {value!r}")
    return text


def hex_color(value: str, what: str) -> str:
    if not isinstance(value, str) or not HEX_COLOR_RE.fullmatch(value):
        raise ValueError(f"{what} must be a hex color like 'ffffff' or 'fff', got {value!r}")
    return value


def choice(value: str, allowed: frozenset[str], what: str) -> str:
    if value not in allowed:
        raise ValueError(f"{what} must be one of {', '.join(sorted(allowed))}; got {value!r}")
    return value


def direction_arg(direction: str | float | None, what: str) -> str:
    """A direction as ``gradient`` and ``progressive_blur`` take it: a word (``down``, ``up``,
    ``left``, ``right``) or clockwise degrees from down; None: empty (the server's default)."""
    if direction is None:
        return ""
    if isinstance(direction, str):
        return choice(direction, DIRECTIONS, what)
    return fmt_num(direction, what)


def rstrip_empty(args: Sequence[str]) -> tuple[str, ...]:
    """Drop trailing empty arguments."""
    out = list(args)
    while out and out[-1] == "":
        out.pop()
    return tuple(out)


def trim_args(args: Sequence[str]) -> tuple[str, ...]:
    """Drop trailing empty arguments, keeping one so that the segment keeps its ``:``."""
    return rstrip_empty(args) or ("",)


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode("ascii")

