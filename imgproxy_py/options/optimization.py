"""Parsers for output optimization: ``autoquality`` and ``png_options``.

Arguments are checked here (a bad one is a 404) but kept raw: their defaults depend on the
output format (``IMGPROXY_AUTOQUALITY_FORMAT_MIN/MAX``), known only once the image is loaded.
"""

from __future__ import annotations

from imgproxy_py.optimize import OptimizeConfig, parse_autoquality_args, parse_png_options_args
from imgproxy_py.options.registry import OptionRegistry, OptionsBuilder, Scope

# Used when a builder has no config (tests of the grammar alone).
_DEFAULTS = OptimizeConfig.from_env({})[0]


def _config(b: OptionsBuilder) -> OptimizeConfig:
    config = b.settings.get("optimize")
    return config if isinstance(config, OptimizeConfig) else _DEFAULTS


def register_optimization_options(registry: OptionRegistry) -> None:
    register = registry.register

    @register("autoquality", "aq", scope=Scope.OUTPUT)
    def _autoquality(b: OptionsBuilder, args: list[str]) -> None:
        config = _config(b)
        # Checked against every format's defaults: the format is known only when encoding.
        for fmt in ("jpeg", "webp", "avif"):
            parse_autoquality_args(list(args), config.autoquality_defaults(fmt))
        b.out["autoquality"] = tuple(args)

    @register("png_options", "pngo", scope=Scope.OUTPUT)
    def _png_options(b: OptionsBuilder, args: list[str]) -> None:
        parse_png_options_args(list(args), _config(b).png)
        b.out["png_options"] = tuple(args)
