"""Turns the option tokens of an ``/info`` URL into :class:`InfoRequestOptions`.

Info options have a registry of their own: ``s`` is the source's size here, not a resize,
and processing options are unknown (a 404).  Info presets (``IMGPROXY_INFO_PRESETS`` and the
``IMGPROXY_INFO_PRESETS_PATH`` file) are their own too; a ``default`` one applies first, as
for processing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from imgproxy_py.errors import ImgproxyError
from imgproxy_py.options.info.config import InfoConfig
from imgproxy_py.options.info.declarations import INFO_OPTIONS
from imgproxy_py.options.info.model import InfoBuilder, InfoOption, InfoPreset, InfoRequestOptions
from imgproxy_py.options.presets import load_presets
from imgproxy_py.options.registry import OptionRegistry, build_registry

INFO_REGISTRY: OptionRegistry[InfoOption[Any]] = build_registry(INFO_OPTIONS, kind="info")


def load_info_presets(config: InfoConfig, presets_separator: str, arguments_separator: str,
                      problems: list[str], allow_security_options: bool = False) -> dict[str, InfoPreset]:
    """The info presets, each checked now: a bad one is a start-up problem, not a later 404."""
    found = load_presets(config.presets_inline, presets_separator, config.presets_path, arguments_separator,
                         problems, setting="IMGPROXY_INFO_PRESETS")
    presets: dict[str, InfoPreset] = {}
    for name, pipelines in found.items():
        if len(pipelines) != 1:
            problems.append(f"info preset {name!r}: chained pipelines do not apply to /info")
            continue
        presets[name] = pipelines[0]
    for name in presets:
        try:
            builder = InfoBuilder(INFO_REGISTRY, presets, allow_security_options=allow_security_options)
            builder.apply_preset(name)
        except ImgproxyError as exc:
            problems.append(f"info preset {name!r}: {exc}")
    return presets


class InfoOptionsParser:
    def __init__(self, presets: Mapping[str, InfoPreset] | None = None,
                 allowed_options: frozenset[str] = frozenset(),
                 registry: OptionRegistry[InfoOption[Any]] = INFO_REGISTRY, *,
                 allow_security_options: bool = False) -> None:
        self.presets = dict(presets or {})
        self.allowed_options = allowed_options
        self.registry = registry
        self.allow_security_options = allow_security_options

    @classmethod
    def from_config(cls, config: InfoConfig, presets_separator: str, arguments_separator: str,
                    problems: list[str], *, allow_security_options: bool = False) -> InfoOptionsParser:
        """``allow_security_options``: ``IMGPROXY_ALLOW_SECURITY_OPTIONS``, shared with image URLs."""
        presets = load_info_presets(config, presets_separator, arguments_separator, problems, allow_security_options)
        return cls(presets, config.allowed_options, allow_security_options=allow_security_options)

    def parse(self, tokens: Sequence[tuple[str, Sequence[str]]]) -> InfoRequestOptions:
        builder = InfoBuilder(self.registry, self.presets, self.allowed_options, self.allow_security_options)
        if "default" in self.presets:
            builder.apply_preset("default")
        builder.apply_all(tokens)
        return builder.build()
