"""Argument grammars: how the ``arg:arg:...`` of one option become typed values.

A declaration's grammar is made of typed arguments (:class:`Arg`, whose :class:`ArgType`
wraps one primitive parser) and at most one variadic tail (class names, a gravity, format
and quality pairs).  Parsing checks the count, parses each argument and returns one value
per declared argument, plus one for the tail: ``None`` for an argument that is missing or,
when the argument says so, empty.  An option's ``apply`` thus only ever sees typed values.

The same objects render the ``%width:%height`` grammar that the README tables show.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from imgproxy_py.errors import InvalidURLError

T = TypeVar("T")

# What a grammar gives an option's apply: one value per declared argument (and tail).
Values = tuple[Any, ...]


@dataclass(frozen=True)
class ArgType(Generic[T]):
    """A primitive parser and the words the docs use for what it takes."""

    doc: str
    parse: Callable[[str, str], T]  # (label for the error message, raw argument) -> value


@dataclass(frozen=True)
class Arg:
    name: str
    type: ArgType[Any]
    # imgproxy's "empty keeps the current value": "" gives None instead of a parse error.
    keep_if_empty: bool = False

    def parse(self, label: str, raw: str | None) -> Any:
        if raw is None or (raw == "" and self.keep_if_empty):
            return None
        return self.type.parse(label, raw)

    def doc(self) -> str:
        return f"%{self.name}"


def bad_count(option: str, args: Sequence[str]) -> InvalidURLError:
    return InvalidURLError(f"Invalid {option} arguments: {':'.join(args)!r}")


class Tail(ABC):
    """The variadic end of an argument list."""

    # None: any number of arguments.
    max_count: int | None = None
    # An empty first argument of the tail means "no tail" (None) instead of a parse error.
    keep_if_empty: bool = False

    @abstractmethod
    def parse(self, option: str, args: Sequence[str]) -> Any: ...

    @abstractmethod
    def doc(self) -> str: ...


class Grammar(Tail):
    """A whole argument list; a grammar can also be the tail of another one (``rs`` ends
    with ``s``'s arguments, ``s`` with ``ex``'s)."""



class Args(Grammar):
    """Positional arguments, then an optional tail."""

    def __init__(self, *args: Arg, tail: Tail | None = None, keep_if_empty: bool = False, required: int = 1) -> None:
        self.args = args
        self.tail = tail
        self.keep_if_empty = keep_if_empty
        # How many arguments must be there (a URL segment always has one, maybe empty).
        self.required = required
        if tail is None:
            self.max_count = len(args)
        elif tail.max_count is None:
            self.max_count = None
        else:
            self.max_count = len(args) + tail.max_count

    def _label(self, option: str, arg: Arg) -> str:
        # "Invalid width argument" for w, "zoom_y" for z's second one, "trim color" for t's.
        if arg.name == option or (len(self.args) == 1 and self.tail is None):
            return option
        if arg.name.startswith(option):
            return arg.name
        return f"{option} {arg.name}"

    def parse(self, option: str, args: Sequence[str]) -> Values:
        if len(args) < self.required or (self.max_count is not None and len(args) > self.max_count):
            raise bad_count(option, args)
        values: list[Any] = []
        for i, arg in enumerate(self.args):
            values.append(arg.parse(self._label(option, arg), args[i] if i < len(args) else None))
        if self.tail is not None:
            rest = args[len(self.args):]
            if not rest or (self.tail.keep_if_empty and not rest[0]):
                values.append(None)
            else:
                values.append(self.tail.parse(option, rest))
        return tuple(values)

    def doc(self) -> str:
        parts = [a.doc() for a in self.args]
        if self.tail is not None:
            parts.append(self.tail.doc())
        return ":".join(parts)


class OneOf(Grammar):
    """Alternative argument lists told apart by their count (``bg:%hex`` or ``bg:%r:%g:%b``)."""

    def __init__(self, *choices: Args) -> None:
        self.choices = choices
        counts = [c.max_count for c in choices]
        self.max_count = None if None in counts else max(c for c in counts if c is not None)

    def parse(self, option: str, args: Sequence[str]) -> Values:
        for choice in self.choices:
            if len(args) == len(choice.args) and choice.tail is None:
                return choice.parse(option, args)
        raise bad_count(option, args)

    def doc(self) -> str:
        return " | ".join(c.doc() for c in self.choices)


class Repeated(Tail):
    """Every remaining argument, each of one type; ``skip`` values are left out (``all`` and
    empty class names mean "every class")."""

    def __init__(self, arg: Arg, skip: frozenset[str] = frozenset()) -> None:
        self.arg = arg
        self.skip = skip

    def parse(self, option: str, args: Sequence[str]) -> tuple[Any, ...]:
        return tuple(self.arg.parse(option, a) for a in args if a not in self.skip)

    def doc(self) -> str:
        return f"{self.arg.doc()}1:{self.arg.doc()}2:..."


class Pairs(Tail):
    """``%a:%b`` pairs, as many as given (``fq:webp:70:avif:50``)."""

    def __init__(self, first: Arg, second: Arg) -> None:
        self.first = first
        self.second = second

    def parse(self, option: str, args: Sequence[str]) -> tuple[tuple[Any, Any], ...]:
        if len(args) % 2:
            raise InvalidURLError(f"Invalid {option} arguments: missing {self.second.name} for {args[-1]!r}")
        return tuple((self.first.parse(option, args[i]), self.second.parse(option, args[i + 1]))
                     for i in range(0, len(args), 2))

    def doc(self) -> str:
        return f"{self.first.doc()}1:{self.second.doc()}1:..."


class Nested(Tail):
    """Another option's whole grammar as a tail, built into one value (``s``'s ``%extend``)."""

    def __init__(self, grammar: Grammar, build: Callable[[Values], Any] = lambda v: v,
                 keep_if_empty: bool = False) -> None:
        self.grammar = grammar
        self.build = build
        self.keep_if_empty = keep_if_empty
        self.max_count = grammar.max_count

    def parse(self, option: str, args: Sequence[str]) -> Any:
        return self.build(self.grammar.parse(option, args))

    def doc(self) -> str:
        return self.grammar.doc()


class Custom(Tail):
    """A tail with rules of its own, such as a gravity (``fp:%x:%y``, ``obj:%class...``)."""

    def __init__(self, parse: Callable[[str, Sequence[str]], Any], doc: str, max_count: int | None = None,
                 keep_if_empty: bool = False) -> None:
        self._parse = parse
        self._doc = doc
        self.max_count = max_count
        self.keep_if_empty = keep_if_empty

    def parse(self, option: str, args: Sequence[str]) -> Any:
        return self._parse(option, args)

    def doc(self) -> str:
        return self._doc
