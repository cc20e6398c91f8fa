"""Option declarations, the registry built from them, and the builder that options write into.

Each option is declared once, as an :class:`Option` in the module of its family (geometry,
cropping, effects, output, meta, video, detection, optimization): names, argument grammar,
what it does to the options being built, a one-line description and an example.
:func:`build_registry` turns a list of declarations into an :class:`OptionRegistry`; nothing
registers itself on import.  The URL tokenizer hands ``(name, args)`` pairs to
:meth:`OptionsBuilder.apply`; an unknown name is a 404, never skipped.  Options write into
the builder, which knows the current chained pipeline and freezes everything into
:class:`RequestOptions` at the end.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.grammar import Grammar, Values
from imgproxy_py.options.model import Extension, OutputOptions, PipelineOptions, RequestOptions, with_changes

if TYPE_CHECKING:  # the optimize package imports the image library; the grammar must not
    from imgproxy_py.optimize.config import OptimizeConfig


class Scope(StrEnum):
    PIPELINE = "pipeline"  # applies to the chained pipeline it appears in
    OUTPUT = "output"  # applies to the request as a whole


class Family(StrEnum):
    """Where an option is declared (``imgproxy_py/options/<family>.py``) and documented."""

    GEOMETRY = "geometry"
    CROPPING = "cropping"
    EFFECTS = "effects"
    OUTPUT = "output"
    META = "meta"
    VIDEO = "video"
    DETECTION = "detection"
    OPTIMIZATION = "optimization"
    INFO = "info"


class Declaration(Protocol):
    """What the registry, the docs and the table tests read from any kind of option."""

    @property
    def name(self) -> str: ...
    @property
    def aliases(self) -> tuple[str, ...]: ...
    @property
    def family(self) -> Family: ...
    @property
    def grammar(self) -> Grammar: ...
    @property
    def description(self) -> str: ...
    @property
    def example(self) -> str: ...
    @property
    def source(self) -> str: ...


D = TypeVar("D", bound=Declaration)
Apply = Callable[["OptionsBuilder", Values], None]


@dataclass(frozen=True)
class Option:
    """One processing option.  ``apply`` gets the values ``grammar`` parsed."""

    name: str
    aliases: tuple[str, ...]
    family: Family
    grammar: Grammar
    apply: Apply
    description: str
    example: str  # an options path that uses it, shown on ``source``: "rs:fill:300:200"
    scope: Scope = Scope.PIPELINE
    source: str = "chelsea.jpg"  # a demo image (imgproxy_py/demo/)


# A preset is a list of pipelines, each a list of (option name, args).
PresetPipelines = tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]


class OptionRegistry(Generic[D]):
    """Declarations by every name they answer to; read-only once built."""

    def __init__(self, declarations: tuple[D, ...], by_name: Mapping[str, D], kind: str) -> None:
        self._declarations = declarations
        self._by_name = dict(by_name)
        self.kind = kind

    def lookup(self, name: str) -> D:
        spec = self._by_name.get(name)
        if spec is None:
            raise InvalidURLError(f"Unknown {self.kind} option: {name}")
        return spec

    def get(self, name: str) -> D | None:
        return self._by_name.get(name)

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def declarations(self) -> tuple[D, ...]:
        """In declaration order (the docs' order)."""
        return self._declarations

    def specs(self) -> list[D]:
        """By full name."""
        return sorted(self._declarations, key=lambda s: s.name)


def build_registry(declarations: Iterable[D], kind: str = "processing") -> OptionRegistry[D]:
    """The one place a registry comes from.  Two options may not share a name."""
    ordered = tuple(declarations)
    by_name: dict[str, D] = {}
    for spec in ordered:
        for key in (spec.name, *spec.aliases):
            if key in by_name:
                raise ValueError(f"{kind} option name {key!r} declared twice")
            by_name[key] = spec
    return OptionRegistry(ordered, by_name, kind)


# --- what most options do with their values --------------------------------------

def set_extension(name: str) -> Apply:
    """A plugin option's values into the current pipeline's ``extensions`` (a later use of the
    same option replaces the earlier one, as for built-in options)."""

    def apply(b: OptionsBuilder, values: Values) -> None:
        kept = tuple(e for e in b.pipe_value("extensions") if e.name != name)
        b.pipe["extensions"] = (*kept, Extension(name, tuple(values)))

    return apply


def set_pipe(field: str) -> Apply:
    """The first value into the current pipeline's ``field``."""

    def apply(b: OptionsBuilder, values: Values) -> None:
        b.pipe[field] = values[0]

    return apply


def set_out(field: str) -> Apply:
    """The first value into the request's ``OutputOptions.field``."""

    def apply(b: OptionsBuilder, values: Values) -> None:
        b.out[field] = values[0]

    return apply


class OptionsBuilder:
    """Mutable options of one request while its URL is parsed.

    ``out`` and the current pipeline's dict map dataclass field names to values; fields
    left unset keep the server's defaults.
    """

    def __init__(
        self,
        registry: OptionRegistry[Option],
        output_defaults: OutputOptions,
        pipeline_defaults: PipelineOptions,
        presets: dict[str, PresetPipelines] | None = None,
        allowed_options: frozenset[str] = frozenset(),
        optimize: OptimizeConfig | None = None,
    ) -> None:
        self.registry = registry
        # What aq/pngo arguments are checked against (None: the built-in defaults).
        self.optimize = optimize
        self.output_defaults = output_defaults
        self.pipeline_defaults = pipeline_defaults
        self.presets = presets or {}
        self.allowed_options = allowed_options
        self.out: dict[str, Any] = {}
        self.pipelines: list[dict[str, Any]] = [{}]
        self.index = 0
        self.used_presets: list[str] = []
        self._preset_stack: list[str] = []

    # --- reading and writing -------------------------------------------------------
    @property
    def pipe(self) -> dict[str, Any]:
        return self.pipelines[self.index]

    def pipe_value(self, name: str) -> Any:
        return self.pipe.get(name, getattr(self.pipeline_defaults, name))

    def out_value(self, name: str) -> Any:
        return self.out.get(name, getattr(self.output_defaults, name))

    def next_pipeline(self) -> None:
        self.index += 1
        while len(self.pipelines) <= self.index:
            self.pipelines.append({})

    # --- applying options ----------------------------------------------------------
    def apply(self, name: str, args: Sequence[str], *, trusted: bool = False) -> None:
        spec = self.registry.lookup(name)
        if not trusted and self.allowed_options and not self._allowed(spec, name):
            raise InvalidURLError(f"Forbidden processing option: {name}")
        spec.apply(self, spec.grammar.parse(spec.name, args))

    def _allowed(self, spec: Option, name: str) -> bool:
        return name in self.allowed_options or spec.name in self.allowed_options

    def apply_preset(self, name: str) -> None:
        """Apply a named preset at the current pipeline, as imgproxy merges them.

        A preset's first pipeline applies to the current one, its second to the next,
        and so on; options that the URL gives later for those pipelines win.
        """
        pipelines = self.presets.get(name)
        if pipelines is None:
            raise InvalidURLError(f"Unknown preset: {name}")
        if name in self._preset_stack:
            return  # recursion: imgproxy logs and skips it
        self.used_presets.append(name)
        self._preset_stack.append(name)
        start = self.index
        try:
            for offset, options in enumerate(pipelines):
                self.index = start + offset
                while len(self.pipelines) <= self.index:
                    self.pipelines.append({})
                for opt_name, args in options:
                    self.apply(opt_name, args, trusted=True)
        finally:
            self.index = start
            self._preset_stack.pop()

    def apply_all(self, options: Iterable[tuple[str, Sequence[str]]]) -> None:
        for name, args in options:
            if name == "-":
                self.next_pipeline()
            else:
                self.apply(name, args)

    # --- freezing ------------------------------------------------------------------
    def build(self) -> RequestOptions:
        try:
            output = with_changes(self.output_defaults, {**self.out, "used_presets": tuple(self.used_presets)})
            pipelines = tuple(with_changes(self.pipeline_defaults, p) for p in self.pipelines)
        except TypeError as exc:  # an option wrote a field that does not exist: a bug, not bad input
            raise RuntimeError(f"option parser wrote an unknown field: {exc}") from exc
        return RequestOptions(output=output, pipelines=pipelines)
