"""URL-table rows of the color options (see tests/url_rows/__init__.py)."""

from __future__ import annotations

from imgproxy_py.options.model import Color
from imgproxy_py.options.values_color import Colorize, Duotone, Gradient, Monochrome
from tests.url_rows import Row

GREY = Color(0xB3, 0xB3, 0xB3)
BLACK, WHITE, RED = Color(0, 0, 0), Color(255, 255, 255), Color(255, 0, 0)

ROWS: list[Row] = [
    ("background_alpha", lambda o: o.background_alpha(0.25), {"background_alpha": 0.25}),
    ("adjust", lambda o: o.adjust(20, 1.5, 0), {"brightness": 20, "contrast": 1.5, "saturation": 0.0}),
    ("adjust", lambda o: o.adjust(saturation=2), {"brightness": 0, "contrast": 1.0, "saturation": 2.0}),
    ("contrast", lambda o: o.contrast(0.5), {"contrast": 0.5}),
    ("saturation", lambda o: o.saturation(1.25), {"saturation": 1.25}),
    ("monochrome", lambda o: o.monochrome(0.5), {"monochrome": Monochrome(0.5, GREY)}),
    ("monochrome", lambda o: o.monochrome(1, "f00"), {"monochrome": Monochrome(1.0, RED)}),
    ("duotone", lambda o: o.duotone(1, color2="ff0000"), {"duotone": Duotone(1.0, BLACK, RED)}),
    ("colorize", lambda o: o.colorize(0.3, keep_alpha=True), {"colorize": Colorize(0.3, BLACK, True)}),
    ("colorize", lambda o: o.colorize(0), {"colorize": None}),
    ("gradient", lambda o: o.gradient(0.8, "fff", "left", 0.25, 0.75),
     {"gradient": Gradient(0.8, WHITE, 90.0, 0.25, 0.75)}),
    ("gradient", lambda o: o.gradient(0.5, direction=-45.5), {"gradient": Gradient(0.5, BLACK, 314.5)}),
]
