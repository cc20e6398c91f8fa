"""The ``/info`` options: their declaration type, the options of one request, and the builder.

An info option is declared once, as an :class:`InfoOption` with its default and how its
arguments make its value; a request's :class:`InfoRequestOptions` holds the values the URL
set and answers any option with ``options.get(DECLARATION)``, typed by the declaration.  So
adding an info option is its declaration (and the code that answers it), nothing else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar, cast

from imgproxy_py.errors import ForbiddenError, InvalidURLError
from imgproxy_py.options.grammar import Grammar, Values
from imgproxy_py.options.registry import Family, OptionRegistry

T = TypeVar("T")

# An info preset: (option name, args) pairs; /info has no chained pipelines.
InfoPreset = tuple[tuple[str, tuple[str, ...]], ...]


@dataclass(frozen=True)
class InfoOption(Generic[T]):
    """One info option.  ``value`` makes its new value from the parsed arguments and the
    current value.  A ``security``
    option (``msr``, ``msfs``) is a 403 unless ``IMGPROXY_ALLOW_SECURITY_OPTIONS`` is on."""

    name: str
    aliases: tuple[str, ...]
    grammar: Grammar
    value: Callable[[Values, T], T]
    default: T
    description: str
    example: str
    family: Family = Family.INFO
    source: str = "chelsea.jpg"
    security: bool = False

    def apply(self, b: InfoBuilder, values: Values) -> None:
        b.values[self.name] = self.value(values, b.get(self))


@dataclass(frozen=True)
class InfoPresetOption(InfoOption[tuple[str, ...]]):
    """``preset``: applies the named info presets where it stands."""

    def apply(self, b: InfoBuilder, values: Values) -> None:
        for name in values[0]:
            b.apply_preset(name)


@dataclass(frozen=True)
class InfoRequestOptions:
    """The info options of one request: the values its URL (and presets) set."""

    values: Mapping[str, Any] = field(default_factory=dict)
    used_presets: tuple[str, ...] = field(default=(), compare=False)

    def get(self, option: InfoOption[T]) -> T:
        return cast(T, self.values.get(option.name, option.default))


class InfoBuilder:
    """Mutable info options of one request while its URL is parsed."""

    def __init__(self, registry: OptionRegistry[InfoOption[Any]], presets: Mapping[str, InfoPreset] | None = None,
                 allowed_options: frozenset[str] = frozenset(), allow_security_options: bool = False) -> None:
        self.registry = registry
        self.presets = presets or {}
        self.allowed_options = allowed_options
        self.allow_security_options = allow_security_options
        self.values: dict[str, Any] = {}
        self.used_presets: list[str] = []
        self._preset_stack: list[str] = []

    def get(self, option: InfoOption[T]) -> T:
        return cast(T, self.values.get(option.name, option.default))

    def apply(self, name: str, args: Sequence[str], *, trusted: bool = False) -> None:
        spec = self.registry.lookup(name)
        if not trusted and self.allowed_options and not ({name, spec.name} & self.allowed_options):
            raise InvalidURLError(f"Forbidden info option: {name}")
        if spec.security and not self.allow_security_options:  # imgproxy checks presets too
            raise ForbiddenError(f"Security processing options are not allowed: {name}",
                                 public_message="Invalid URL")
        spec.apply(self, spec.grammar.parse(spec.name, args))

    def apply_preset(self, name: str) -> None:
        preset = self.presets.get(name)
        if preset is None:
            raise InvalidURLError(f"Unknown info preset: {name}")
        if name in self._preset_stack:
            return  # recursion: skipped, as for processing presets
        self.used_presets.append(name)
        self._preset_stack.append(name)
        try:
            for opt_name, args in preset:
                self.apply(opt_name, args, trusted=True)
        finally:
            self._preset_stack.pop()

    def apply_all(self, tokens: Iterable[tuple[str, Sequence[str]]]) -> None:
        for name, args in tokens:
            if name == "-":
                raise InvalidURLError("Chained pipelines do not apply to /info")
            self.apply(name, args)

    def build(self) -> InfoRequestOptions:
        return InfoRequestOptions(dict(self.values), tuple(self.used_presets))
