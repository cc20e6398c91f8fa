"""Turns option tokens from the URL into frozen :class:`RequestOptions`.

It owns the server's option defaults (from config), the presets and the allowed-options
list, and applies them in imgproxy's order: client hints and ``default`` preset first,
then the URL's options, then the extension from the source URL.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from imgproxy_py.config import Config
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.options.catalog import registry as standard_registry
from imgproxy_py.options.info.parser import InfoOptionsParser
from imgproxy_py.options.model import OutputOptions, PipelineOptions, RequestOptions
from imgproxy_py.options.presets import load_presets
from imgproxy_py.options.registry import Option, OptionRegistry, OptionsBuilder, PresetPipelines
from imgproxy_py.resources import bundled_presets_file


@dataclass(frozen=True)
class ClientFeatures:
    """What the request's headers say about the client (Accept, client hints)."""

    accepts_webp: bool = False
    accepts_avif: bool = False
    accepts_jxl: bool = False
    dpr: float = 0.0
    width: int = 0


class OptionsParser:
    def __init__(self, config: Config, registry: OptionRegistry[Option] | None = None,
                 errors: list[str] | None = None) -> None:
        self.config = config
        self.registry = registry or standard_registry
        proc = config.processing
        self.output_defaults = OutputOptions(
            strip_metadata=proc.strip_metadata,
            keep_copyright=proc.keep_copyright,
            strip_color_profile=proc.strip_color_profile,
            enforce_thumbnail=proc.enforce_thumbnail,
            return_attachment=proc.return_attachment,
            skip_processing=proc.skip_processing_formats,
            best_format=config.formats.best.by_default,
            preserve_hdr=config.formats.preserve_hdr,
        )
        self.pipeline_defaults = PipelineOptions(auto_rotate=proc.auto_rotate)
        problems = errors if errors is not None else []
        # The shipped presets (thumbnail, preview, the media routes' ...) are there unless the
        # admin turns them off; none of them is `default`, so no plain imgproxy URL changes.
        sources = config.presets
        self.presets: dict[str, PresetPipelines] = load_presets(
            sources.inline, sources.separator, sources.path, config.url.arguments_separator, problems,
            bundled_presets_file() if sources.bundled else None)
        self.max_chained_pipelines = sources.max_chained_pipelines
        # /info's options: a registry of their own (held here, beside the processing ones).
        self.info = InfoOptionsParser.from_config(
            config.info, sources.separator, config.url.arguments_separator, problems,
            allow_security_options=config.security.allow_security_options)
        self._validate_presets(problems)

    def _validate_presets(self, problems: list[str]) -> None:
        for name in self.presets:
            try:
                builder = self._builder()
                builder.apply_preset(name)
                builder.build()
            except InvalidURLError as exc:
                problems.append(f"preset {name!r}: {exc}")

    def _builder(self) -> OptionsBuilder:
        return OptionsBuilder(self.registry, self.output_defaults, self.pipeline_defaults, self.presets,
                              self.config.security.allowed_processing_options, self.config.optimize)

    def parse(self, tokens: Sequence[tuple[str, Sequence[str]]], extension: str = "",
              features: ClientFeatures | None = None) -> RequestOptions:
        b = self._builder()
        proc = self.config.processing
        if features is not None:
            if features.accepts_webp and (proc.auto_webp or proc.enforce_webp):
                b.out["prefer_webp"] = True
                b.out["enforce_webp"] = proc.enforce_webp
            if features.accepts_avif and (proc.auto_avif or proc.enforce_avif):
                b.out["prefer_avif"] = True
                b.out["enforce_avif"] = proc.enforce_avif
            formats = self.config.formats
            if features.accepts_jxl and (formats.auto_jxl or formats.enforce_jxl):
                b.out["prefer_jxl"] = True
                b.out["enforce_jxl"] = formats.enforce_jxl
            if features.dpr > 0:
                b.pipe["dpr"] = min(features.dpr, 8.0)
            if features.width > 0:
                b.pipe["width"] = max(1, round(features.width / (features.dpr or 1.0)))
        if "default" in self.presets:
            b.apply_preset("default")
        b.apply_all(tokens)
        if self.max_chained_pipelines and len(b.pipelines) > self.max_chained_pipelines:
            raise InvalidURLError(f"Too many chained pipelines: {len(b.pipelines)} "
                                  f"(maximum {self.max_chained_pipelines})")
        if extension and not b.out_value("raw"):
            b.apply("format", [extension], trusted=True)
        return b.build()

    def canonical(self, options: RequestOptions) -> str:
        return options.canonical(self.output_defaults, self.pipeline_defaults)
