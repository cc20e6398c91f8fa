"""The gravity value that ``g``, ``c``, ``ex``, ``exar`` and ``op`` take, for the URL builder."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TypeAlias

from imgproxy_py.url.arguments import (
    COMPASS,
    CompassGravity,
    GravityName,
    choice,
    fmt_bool,
    fmt_str,
    non_negative,
    opt_num,
    rstrip_empty,
    unit,
)


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
        choice(type, COMPASS, "gravity type")
        return cls(type, rstrip_empty((opt_num(x_offset, "gravity x offset"),
                                        opt_num(y_offset, "gravity y offset"))))

    @classmethod
    def smart(cls) -> Gravity:
        """``sm``: libvips picks the most interesting area."""
        return cls("sm")

    @classmethod
    def focus_point(cls, x: float, y: float) -> Gravity:
        """``fp:x:y`` with coordinates between 0 and 1."""
        return cls("fp", (unit(x, "focus point x"), unit(y, "focus point y")))

    @classmethod
    def objects(cls, *class_names: str) -> Gravity:
        """``obj:class...``: centre on detected objects (all of them when no class is given)."""
        return cls("obj", tuple(fmt_str(c, "class name") for c in class_names))

    @classmethod
    def objects_weighted(cls, weights: Mapping[str, float] | Iterable[tuple[str, float]]) -> Gravity:
        """``objw:class:weight...``: like :meth:`objects`, with a weight per class."""
        pairs = weights.items() if isinstance(weights, Mapping) else weights
        args: list[str] = []
        for name, weight in pairs:
            args += [fmt_str(name, "class name"), non_negative(weight, "class weight")]
        if not args:
            raise ValueError("objects_weighted needs at least one class and weight")
        return cls("objw", tuple(args))

    def to_args(self) -> tuple[str, ...]:
        return (self.type, *self.args)


GravityLike: TypeAlias = Gravity | GravityName


def to_gravity(value: GravityLike, what: str = "gravity") -> Gravity:
    if isinstance(value, Gravity):
        return value
    if value == "sm":
        return Gravity.smart()
    if value == "obj":
        return Gravity.objects()
    if value in COMPASS:
        return Gravity(value)
    raise ValueError(
        f"{what} must be a Gravity or one of {', '.join(sorted(COMPASS | {'sm', 'obj'}))}; got {value!r}"
    )


def extendto_gravity(value: GravityLike) -> Gravity:
    gravity = to_gravity(value, "extend gravity")
    if gravity.type not in COMPASS and gravity.type != "fp":
        raise ValueError(f"extend gravity cannot be {gravity.type!r} (sm, obj and objw are not allowed)")
    return gravity


def extend_args(extend: bool | None, gravity: GravityLike | None) -> tuple[str, ...]:
    if gravity is not None and not extend:
        raise ValueError("an extend gravity needs extend=True")
    if extend is None:
        return ("",)
    return (fmt_bool(extend), *(extendto_gravity(gravity).to_args() if gravity is not None else ()))

