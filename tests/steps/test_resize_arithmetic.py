"""The resize arithmetic (``geometry.calc_params``) by imgproxy's rules, without pixels: the size
after ``scale`` and the pipeline's output size, for a 600x400 source.

The output sizes are the ones the server answers with (tests/test_http_resize.py).
"""

from __future__ import annotations

import math

import pytest

from imgproxy_py.errors import ResultTooBigError
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.geometry import (
    calc_crop_size,
    result_size,
    round_half_away,
    round_to_even,
    scale_int,
    scale_to_even,
)
from tests.steps.support import context, solid

SOURCE = solid(600, 400)


@pytest.mark.parametrize(
    ("url_options", "scaled", "result", "dpr"),
    [
        # Resizing types: fit inside, fill and crop, fill-down (never up), force, auto.
        ("rs:fit:300:300", (300, 200), (300, 200), 1.0),
        ("rs:fill:300:300", (450, 300), (300, 300), 1.0),
        ("rs:fill-down:300:300", (450, 300), (300, 300), 1.0),
        ("rs:fill-down:1000:500", (600, 400), (600, 300), 1.0),
        ("rs:force:300:300", (300, 300), (300, 300), 1.0),
        ("rs:force:1200:100", (600, 50), (600, 50), 1.0),
        ("rs:auto:300:100", (300, 200), (300, 100), 1.0),  # same orientation: fill
        ("rs:auto:100:300", (100, 67), (100, 67), 1.0),  # other orientation: fit
        # One side given: the other follows the aspect ratio.
        ("w:300", (300, 200), (300, 200), 1.0),
        ("h:100", (150, 100), (150, 100), 1.0),
        ("rs:fit:300:0", (300, 200), (300, 200), 1.0),
        ("rs:fill:0:100", (150, 100), (150, 100), 1.0),
        # Enlarge: off by default; extend fills the rest of the canvas instead.
        ("rs:fit:1200:1200", (600, 400), (600, 400), 1.0),
        ("rs:fit:1200:1200:1", (1200, 800), (1200, 800), 1.0),
        ("rs:fill:900:900:1", (1350, 900), (900, 900), 1.0),
        ("rs:fit:1200:1200:0:1", (600, 400), (1200, 1200), 1.0),
        ("rs:fill:1200:1200:0:1:no", (600, 400), (1200, 1200), 1.0),
        # DPR multiplies the target, and never enlarges past the source.
        ("rs:fill:300:300/dpr:2", (600, 400), (400, 400), 4 / 3),
        ("rs:fill:100:100/dpr:2", (300, 200), (200, 200), 2.0),
        ("rs:fit:400:400/dpr:2", (600, 400), (600, 400), 1.5),
        ("rs:fit:300:300:1/dpr:3", (900, 600), (900, 600), 3.0),
        ("rs:fit:300:300/dpr:0.5", (150, 100), (150, 100), 0.5),
        ("rs:fit:300:300:0:1/dpr:3", (600, 400), (600, 600), 2.0),
        # Minimum sizes scale up, then the result is cut to the asked size.
        ("rs:fit:300:300/mw:900", (900, 600), (300, 300), 1.0),
        ("h:100/mw:300", (300, 200), (300, 100), 1.0),
        ("w:300/mh:300", (450, 300), (300, 300), 1.0),
        ("mw:900", (900, 600), (900, 600), 1.0),
        ("mh:1200/el:1", (1800, 1200), (1800, 1200), 1.0),
        # Zoom multiplies the scale; without enlarge it can't go past the source.
        ("rs:fit:300:300/z:0.5", (150, 100), (150, 100), 1.0),
        ("z:2", (600, 400), (600, 400), 1.0),
        ("z:2/el:1", (1200, 800), (1200, 800), 1.0),
        # Crop before scaling: pixels, or a share of the source.
        ("c:200:200", (200, 200), (200, 200), 1.0),
        ("c:0.5:0.5/rs:fit:100:100", (100, 67), (100, 67), 1.0),
        ("rs:fill:300:300/c:300:300", (300, 300), (300, 300), 1.0),
        # Canvas options: extend to the aspect ratio, padding (scaled by the DPR).
        ("rs:fit:300:300/exar:1", (300, 200), (300, 300), 1.0),
        ("rs:fill:300:300/exar:1", (450, 300), (300, 300), 1.0),
        ("rs:fit:300:300/pd:10", (300, 200), (320, 220), 1.0),
        ("rs:fit:300:300/pd:10:20:30:40/dpr:1", (300, 200), (360, 240), 1.0),
        # Sizes are as displayed: a quarter turn swaps the source's sides.
        ("rs:fit:300:300/rot:90", (200, 300), (200, 300), 1.0),
        ("rs:fit:300:300/rot:180/fl:1:1", (300, 200), (300, 200), 1.0),
    ],
)
def test_sizes(url_options: str, scaled: tuple[int, int], result: tuple[int, int], dpr: float) -> None:
    c = context(SOURCE, url_options)
    assert (c.scaled_width, c.scaled_height) == scaled
    assert result_size(c, c.po) == result
    assert math.isclose(c.dpr_scale, dpr)


def test_vector_sources_enlarge_without_asking() -> None:
    c = context(SOURCE, "rs:fit:1200:1200", is_vector=True)
    assert (c.scaled_width, c.scaled_height) == (1200, 800)


@pytest.mark.parametrize(
    ("url_options", "limit", "result"),
    [
        ("rs:fit:1200:1200:1", 1000, (1000, 667)),
        ("rs:fit:300:300/pd:100", 300, (300, 240)),  # the padding counts too, and shrinks with the DPR
        ("rs:fit:300:300", 1000, (300, 200)),
    ],
)
def test_max_result_dimension_scales_down(url_options: str, limit: int, result: tuple[int, int]) -> None:
    c = context(SOURCE, url_options, settings=ProcessingSettings(max_result_dimension=limit))
    assert result_size(c, c.po) == result


@pytest.mark.parametrize("url_options", ["rs:force:20000000:100:1", "pd:20000000", "z:100000/el:1"])
def test_absurd_sizes_are_refused_before_any_pixel(url_options: str) -> None:
    with pytest.raises(ResultTooBigError):
        context(SOURCE, url_options)


@pytest.mark.parametrize(
    ("value", "half_away", "to_even"),
    [(0.5, 1, 0), (1.5, 2, 2), (2.5, 3, 2), (-0.5, -1, 0), (-1.5, -2, -2), (math.nan, 0, 0),
     (math.inf, 2**62, 2**62)],
)
def test_go_rounding(value: float, half_away: int, to_even: int) -> None:
    assert round_half_away(value) == half_away
    assert round_to_even(value) == to_even


@pytest.mark.parametrize(
    ("value", "scale", "scaled", "scaled_even"),
    [(0, 3.0, 0, 0), (5, 0.5, 3, 2), (7, 0.5, 4, 4), (9, 0.5, 5, 4), (3, 1.5, 5, 4)],
)
def test_scaling_integers(value: int, scale: float, scaled: int, scaled_even: int) -> None:
    assert scale_int(value, scale) == scaled
    assert scale_to_even(value, scale) == scaled_even


@pytest.mark.parametrize(
    ("size", "crop", "expected"),
    [(600, 0, 0), (600, 200, 200), (600, 0.5, 300), (600, 0.0001, 1), (600, 1, 1), (600, 1.5, 1)],
)
def test_crop_size(size: int, crop: float, expected: int) -> None:
    assert calc_crop_size(size, crop) == expected
