"""``colorspace_to_processing``: whatever the decoder gave, later steps get 8-bit sRGB."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import pyvips

from imgproxy_py.imaging.steps.colorspace_to_processing import colorspace_to_processing
from tests.steps.support import context, solid

GREY = solid(8, 8).extract_band(0).copy(interpretation="b-w")


@pytest.mark.parametrize(
    ("make", "bands"),
    [
        (lambda: solid(8, 8), 3),
        (lambda: solid(8, 8, (10, 20, 30, 128)), 4),  # alpha stays
        (lambda: GREY, 3),
        (lambda: GREY.bandjoin(255).copy(interpretation="b-w"), 4),
        (lambda: solid(8, 8).colourspace("rgb16"), 3),  # 16-bit
        (lambda: solid(8, 8).colourspace("cmyk"), 3),
        (lambda: solid(8, 8).colourspace("lab"), 3),
    ],
)
def test_srgb_uchar(make: Callable[[], pyvips.Image], bands: int) -> None:
    c = context(make())
    colorspace_to_processing(c)
    assert (c.img.interpretation, c.img.format, c.img.bands) == ("srgb", "uchar", bands)


def test_colours_survive() -> None:
    c = context(solid(8, 8, (200, 100, 50)).colourspace("rgb16"))
    colorspace_to_processing(c)
    assert c.img(4, 4) == pytest.approx([200, 100, 50], abs=1)
