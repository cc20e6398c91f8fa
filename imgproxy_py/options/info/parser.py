"""Turns the option tokens of an ``/info`` URL into :class:`InfoRequestOptions`.

Info options have a registry of their own: ``s`` is the source's size here, not a resize,
and processing options are unknown (a 404).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imgproxy_py.errors import FeatureUnavailableError
from imgproxy_py.options.info.declarations import INFO_OPTIONS
from imgproxy_py.options.info.model import InfoBuilder, InfoOption, InfoPreset, InfoRequestOptions
from imgproxy_py.options.registry import OptionRegistry, build_registry

INFO_REGISTRY: OptionRegistry[InfoOption[Any]] = build_registry(INFO_OPTIONS, kind="info")


class InfoOptionsParser:
    def __init__(self, presets: Mapping[str, InfoPreset] | None = None,
                 allowed_options: frozenset[str] = frozenset(),
                 registry: OptionRegistry[InfoOption[Any]] = INFO_REGISTRY) -> None:
        # Until IMGPROXY_INFO_PRESETS and IMGPROXY_ALLOWED_INFO_OPTIONS exist, there are no info
        # presets, and the allowed processing options (whose list may name do, cb, exp, pr) apply.
        self.presets = dict(presets or {})
        self.allowed_options = allowed_options
        self.registry = registry

    def parse(self, tokens: Sequence[tuple[str, Sequence[str]]], *,
              answered_only: bool = True) -> InfoRequestOptions:
        """The options; with ``answered_only``, options the answer lacks are a 501 naming them."""
        builder = InfoBuilder(self.registry, self.presets, self.allowed_options)
        builder.apply_all(tokens)
        options = builder.build()
        if answered_only and options.unanswered:
            names = ", ".join(options.unanswered)
            raise FeatureUnavailableError(f"info options not answered yet: {names}")
        return options
