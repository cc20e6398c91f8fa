"""The option registry and the builder that parsers write into.

Every option parser is registered under its full name and its short names.  The URL
tokenizer hands ``(name, args)`` pairs to :meth:`OptionRegistry.apply`; an unknown name
is a 404, never skipped.  Parsers write into an :class:`OptionsBuilder`, which knows the
current chained pipeline and freezes everything into :class:`RequestOptions` at the end.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.model import OutputOptions, PipelineOptions, RequestOptions


class Scope(StrEnum):
    PIPELINE = "pipeline"  # applies to the chained pipeline it appears in
    OUTPUT = "output"  # applies to the request as a whole


Parser = Callable[["OptionsBuilder", list[str]], None]


@dataclass(frozen=True)
class OptionSpec:
    name: str
    aliases: tuple[str, ...]
    parse: Parser
    scope: Scope


# A preset is a list of pipelines, each a list of (option name, args).
PresetPipelines = tuple[tuple[tuple[str, tuple[str, ...]], ...], ...]


class OptionRegistry:
    def __init__(self) -> None:
        self._by_name: dict[str, OptionSpec] = {}

    def register(self, name: str, *aliases: str, scope: Scope = Scope.PIPELINE) -> Callable[[Parser], Parser]:
        def decorator(parse: Parser) -> Parser:
            spec = OptionSpec(name, aliases, parse, scope)
            for key in (name, *aliases):
                if key in self._by_name:
                    raise ValueError(f"option name {key!r} registered twice")
                self._by_name[key] = spec
            return parse

        return decorator

    def lookup(self, name: str) -> OptionSpec:
        spec = self._by_name.get(name)
        if spec is None:
            raise InvalidURLError(f"Unknown processing option: {name}")
        return spec

    def names(self) -> list[str]:
        return sorted(self._by_name)

    def specs(self) -> list[OptionSpec]:
        return sorted({id(s): s for s in self._by_name.values()}.values(), key=lambda s: s.name)


class OptionsBuilder:
    """Mutable options of one request while its URL is parsed.

    ``out`` and the current pipeline's dict map dataclass field names to values; fields
    left unset keep the server's defaults.
    """

    def __init__(
        self,
        registry: OptionRegistry,
        output_defaults: OutputOptions,
        pipeline_defaults: PipelineOptions,
        presets: dict[str, PresetPipelines] | None = None,
        allowed_options: frozenset[str] = frozenset(),
        settings: dict[str, Any] | None = None,
    ) -> None:
        self.registry = registry
        # Subsystem configs some parsers check arguments against (e.g. "optimize").
        self.settings = settings or {}
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
        spec.parse(self, list(args))

    def _allowed(self, spec: OptionSpec, name: str) -> bool:
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
            output = dataclasses.replace(self.output_defaults, **self.out,
                                         used_presets=tuple(self.used_presets))
            pipelines = tuple(dataclasses.replace(self.pipeline_defaults, **p) for p in self.pipelines)
        except TypeError as exc:  # a parser wrote a field that does not exist: a bug, not bad input
            raise RuntimeError(f"option parser wrote an unknown field: {exc}") from exc
        return RequestOptions(output=output, pipelines=pipelines)
