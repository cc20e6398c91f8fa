"""Typed readers for ``IMGPROXY_*`` environment variables.

Every subsystem builds its frozen config with one :class:`EnvReader`; a bad value is
recorded (not raised) so that start-up can report every problem at once.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from pathlib import Path
from typing import TypeVar

from imgproxy_py.go_numbers import DECIMAL, INTEGER

T = TypeVar("T")

_TRUE = {"1", "t", "true", "yes", "y", "on"}
_FALSE = {"0", "f", "false", "no", "n", "off", ""}


class TrackedEnv(Mapping[str, str]):
    """The environment, remembering every name looked up in it.

    Start-up reads every setting through one of these, so the names that nothing read (a typo
    such as ``IMGPROXY_QUALTY``, or a feature we lack) can be told apart afterwards.
    """

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = dict(env)
        self.read: set[str] = set()

    def __getitem__(self, name: str) -> str:
        self.read.add(name)
        return self._env[name]

    def __contains__(self, name: object) -> bool:
        if isinstance(name, str):
            self.read.add(name)
        return name in self._env

    def __iter__(self) -> Iterator[str]:
        return iter(self._env)

    def __len__(self) -> int:
        return len(self._env)


class EnvReader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self.env = env
        self.errors: list[str] = []

    def raw(self, name: str) -> str | None:
        value = self.env.get(name)
        return value.strip() if value is not None else None

    def has(self, name: str) -> bool:
        return bool(self.raw(name))

    def string(self, name: str, default: str = "") -> str:
        value = self.raw(name)
        return default if value is None else value

    def path(self, name: str) -> Path:
        """A file or folder setting with ``~`` expanded; a ``~user`` of no such user (or no home
        at all) is a problem of the setting, and the path is kept as written."""
        value = self.string(name)
        try:
            return Path(value).expanduser()
        except RuntimeError:
            self.errors.append(f"{name}: {value!r}: no home directory to expand '~' to")
            return Path(value)

    def boolean(self, name: str, default: bool) -> bool:
        value = self.raw(name)
        if value is None:
            return default
        low = value.lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        self.errors.append(f"{name}: {value!r} is not a boolean")
        return default

    def integer(self, name: str, default: int, *, minimum: int | None = None,
                maximum: int | None = None) -> int:
        value = self.raw(name)
        if value is None or value == "":
            return default
        if not INTEGER.fullmatch(value):
            self.errors.append(f"{name}: {value!r} is not an integer")
            return default
        number = int(value)
        return self._bounded(name, number, default, minimum, maximum)

    def number(self, name: str, default: float, *, minimum: float | None = None,
               maximum: float | None = None) -> float:
        value = self.raw(name)
        if value is None or value == "":
            return default
        number = float(value) if DECIMAL.fullmatch(value) else math.nan
        if not math.isfinite(number):  # not a decimal, or past a double ("1e999")
            self.errors.append(f"{name}: {value!r} is not a number")
            return default
        return self._bounded(name, number, default, minimum, maximum)

    def _bounded(self, name: str, number: T, default: T, minimum: object, maximum: object) -> T:
        if minimum is not None and number < minimum:  # type: ignore[operator]
            self.errors.append(f"{name}: {number} is less than {minimum}")
            return default
        if maximum is not None and number > maximum:  # type: ignore[operator]
            self.errors.append(f"{name}: {number} is greater than {maximum}")
            return default
        return number

    def choice(self, name: str, default: str, choices: Iterable[str]) -> str:
        """One of ``choices``, matched case-insensitively as imgproxy's enum settings are."""
        value = self.string(name, default).lower()
        allowed = tuple(choices)
        if value not in allowed:
            self.errors.append(f"{name}: {value!r} is not one of {', '.join(allowed)}")
            return default
        return value

    def string_list(self, name: str, default: tuple[str, ...] = (), sep: str = ",") -> tuple[str, ...]:
        value = self.raw(name)
        if value is None or value == "":
            return default
        return tuple(item.strip() for item in value.split(sep) if item.strip())

    def hex_list(self, name: str) -> tuple[bytes, ...]:
        out: list[bytes] = []
        for item in self.string_list(name):
            try:
                out.append(bytes.fromhex(item))
            except ValueError:
                self.errors.append(f"{name}: {item!r} is not a hex string")
        return tuple(out)

    def parsed(self, name: str, default: T, parse: Callable[[str], T]) -> T:
        """Read with a custom parser that raises ``ValueError`` with a reason."""
        value = self.raw(name)
        if value is None or value == "":
            return default
        try:
            return parse(value)
        except ValueError as exc:
            self.errors.append(f"{name}: {exc}")
            return default
