"""imgproxy Pro's unsharp masking settings (``IMGPROXY_UNSHARP_MASKING_*``), read once at start-up.

The ``unsharp_masking`` option's arguments are laid over these per request (its empty
arguments keep them).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from imgproxy_py.envreader import EnvReader
from imgproxy_py.go_numbers import DECIMAL
from imgproxy_py.options.values_sharpness import UnsharpMaskingArgs, UnsharpMaskingMode


def _positive(value: str) -> float:
    number = float(value) if DECIMAL.fullmatch(value) else math.nan
    if not math.isfinite(number) or number <= 0:
        raise ValueError(f"{value!r} is not a number greater than 0")
    return number


def _mode(value: str) -> UnsharpMaskingMode:
    try:
        return UnsharpMaskingMode(value.lower())
    except ValueError:
        raise ValueError(f"{value!r} is not one of {', '.join(m.value for m in UnsharpMaskingMode)}") from None


@dataclass(frozen=True)
class UnsharpMaskingConfig:
    mode: UnsharpMaskingMode = UnsharpMaskingMode.AUTO
    weight: float = 1.0  # how much the neighbours count: greater is sharper
    divider: float = 24.0  # the strength's divisor: smaller is sharper

    @staticmethod
    def from_env(r: EnvReader) -> UnsharpMaskingConfig:
        return UnsharpMaskingConfig(
            mode=r.parsed("IMGPROXY_UNSHARP_MASKING_MODE", UnsharpMaskingMode.AUTO, _mode),
            weight=r.parsed("IMGPROXY_UNSHARP_MASKING_WEIGHT", 1.0, _positive),
            divider=r.parsed("IMGPROXY_UNSHARP_MASKING_DIVIDER", 24.0, _positive),
        )

    def with_args(self, args: UnsharpMaskingArgs) -> UnsharpMaskingConfig:
        """These settings with what a URL's ``unsharp_masking`` gave laid over them."""
        return UnsharpMaskingConfig(
            self.mode if args.mode is None else args.mode,
            self.weight if args.weight is None else args.weight,
            self.divider if args.divider is None else args.divider,
        )
