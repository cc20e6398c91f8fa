"""The gravity argument that ``g``, ``c``, ``ex`` and ``exar`` share, with imgproxy's rules.

``%type:%x_offset:%y_offset`` for the compass types, ``sm`` alone, ``fp:%x:%y`` with
coordinates in 0-1, ``obj:%class...`` and ``objw:%class:%weight...``.  Which types an option
takes differs (an extend has no smart gravity; a watermark position adds ``re`` and ``ch``).
"""

from __future__ import annotations

from collections.abc import Sequence

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.grammar import Custom
from imgproxy_py.options.model import Gravity, GravityType
from imgproxy_py.options.primitives import bad_argument, parse_choice, parse_float, parse_non_negative_float

COMPASS = (
    GravityType.NORTH, GravityType.SOUTH, GravityType.EAST, GravityType.WEST, GravityType.NORTH_EAST,
    GravityType.NORTH_WEST, GravityType.SOUTH_EAST, GravityType.SOUTH_WEST, GravityType.CENTER,
)
CROP_GRAVITY_TYPES = (*COMPASS, GravityType.SMART, GravityType.FOCUS_POINT, GravityType.OBJECTS,
                      GravityType.OBJECTS_WEIGHTED)
EXTEND_GRAVITY_TYPES = (*COMPASS, GravityType.FOCUS_POINT)
WATERMARK_POSITIONS = (*COMPASS, GravityType.REPLICATE, GravityType.CHESSBOARD)


def parse_gravity(option: str, args: Sequence[str], allowed: tuple[GravityType, ...]) -> Gravity:
    if not args or not args[0]:
        raise InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")
    choices = {t.value: t for t in allowed}
    gtype = parse_choice(option, args[0], choices)
    rest = args[1:]
    if gtype is GravityType.SMART:
        if rest:
            raise InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")
        return Gravity(gtype)
    if gtype is GravityType.OBJECTS:
        classes = tuple((name, 1.0) for name in rest if name and name != "all")
        return Gravity(gtype, classes=classes)
    if gtype is GravityType.OBJECTS_WEIGHTED:
        if len(rest) % 2:
            raise InvalidURLError(f"Invalid {option} arguments: each class needs a weight")
        pairs = tuple((rest[i], parse_non_negative_float(option, rest[i + 1])) for i in range(0, len(rest), 2))
        return Gravity(gtype, classes=pairs)
    if gtype is GravityType.FOCUS_POINT and len(rest) != 2:
        raise InvalidURLError(f"Invalid {option} arguments: fp needs x and y")
    if len(rest) > 2:
        raise InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")
    x = y = 0.0
    if rest and rest[0]:
        x = parse_float(f"{option} x offset", rest[0])
    if len(rest) > 1 and rest[1]:
        y = parse_float(f"{option} y offset", rest[1])
    if gtype is GravityType.FOCUS_POINT and not (0 <= x <= 1 and 0 <= y <= 1):
        raise bad_argument(option, ":".join(rest), "focus point coordinates in range 0-1")
    return Gravity(gtype, x, y)


def gravity_tail(allowed: tuple[GravityType, ...], *, label: str = "", doc: str = "%gravity",
                 max_count: int | None = None, keep_if_empty: bool = False) -> Custom:
    """A gravity at the end of an argument list; ``label`` names it in error messages
    ("crop gravity")."""

    def parse(option: str, args: Sequence[str]) -> Gravity:
        return parse_gravity(f"{option} {label}" if label else option, args, allowed)

    return Custom(parse, doc, max_count=max_count, keep_if_empty=keep_if_empty)
