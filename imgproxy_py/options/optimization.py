"""Parsers for output optimization: ``autoquality`` and ``png_options``.

Arguments are checked here (a bad one is a 404) but kept raw: their defaults depend on the
output format (``IMGPROXY_AUTOQUALITY_FORMAT_MIN/MAX``), known only once the image is loaded.
"""

from __future__ import annotations

from imgproxy_py.optimize import OptimizeConfig, parse_autoquality_args, parse_png_options_args
from imgproxy_py.options.registry import OptionRegistry, OptionsBuilder, Scope

# Only the argument rules are used at parse time; env defaults apply when encoding.
_RULES = OptimizeConfig.from_env({})[0]


def register_optimization_options(registry: OptionRegistry) -> None:
    register = registry.register

    @register("autoquality", "aq", scope=Scope.OUTPUT)
    def _autoquality(b: OptionsBuilder, args: list[str]) -> None:
        parse_autoquality_args(list(args), _RULES.autoquality_defaults("jpeg"))
        b.out["autoquality"] = tuple(args)

    @register("png_options", "pngo", scope=Scope.OUTPUT)
    def _png_options(b: OptionsBuilder, args: list[str]) -> None:
        parse_png_options_args(list(args), _RULES.png)
        b.out["png_options"] = tuple(args)
