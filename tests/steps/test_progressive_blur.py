"""``progressive_blur``: no blur on the sharp side, the full sigma on the other, growing in
between; directions by name or angle; ``start``/``stop`` bound the ramp."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from imgproxy_py.imaging.steps.progressive_blur import progress, progressive_blur
from imgproxy_py.options.values_sharpness import ProgressiveBlur
from tests.sharpness_support import detail
from tests.steps.support import array, context, noise

SIZE = 120
BAND = 8  # the strips compared: the first and last BAND pixels across the direction


Box = tuple[int, int, int, int]
ALL = slice(None)


def strips(direction: str) -> tuple[Box, Box, tuple[slice, slice]]:
    """The sharp side's box, the blurred side's box, and the outermost line of the sharp side."""
    first_rows, last_rows = (0, 0, SIZE, BAND), (0, SIZE - BAND, SIZE, BAND)
    first_cols, last_cols = (0, 0, BAND, SIZE), (SIZE - BAND, 0, BAND, SIZE)
    return {"down": (first_rows, last_rows, (slice(0, 1), ALL)),
            "up": (last_rows, first_rows, (slice(-1, None), ALL)),
            "right": (first_cols, last_cols, (ALL, slice(0, 1))),
            "left": (last_cols, first_cols, (ALL, slice(-1, None)))}[direction]


@pytest.mark.parametrize(("url_direction", "direction"),
                         [("", "down"), ("down", "down"), ("up", "up"), ("right", "right"), ("left", "left"),
                          ("0", "down"), ("90", "left"), ("180", "up"), ("270", "right"), ("-90", "right"),
                          ("down:1:0", "up"), ("left:1:0", "right")])  # a stop before the start turns it round
def test_sharp_side_and_blurred_side(url_direction: str, direction: str) -> None:
    source = noise(SIZE, SIZE)
    c = context(source, f"pbl:4:{url_direction}")
    progressive_blur(c)
    sharp, blurred, edge = strips(direction)
    # The sharp side keeps most of its detail, the other side loses nearly all of it.
    assert detail(c.img, sharp) > 0.5 * detail(source, sharp)
    assert detail(c.img, blurred) < 0.05 * detail(source, blurred)
    # The outermost pixels of the sharp side are the source's, give or take a rounding.
    assert np.abs(array(c.img)[edge].astype(int) - array(source)[edge].astype(int)).mean() < 3


def test_blur_grows_steadily() -> None:
    source = noise(SIZE, SIZE)
    c = context(source, "pbl:4")
    progressive_blur(c)
    energies = [detail(c.img, (0, top, SIZE, 20)) for top in range(0, SIZE, 20)]
    assert all(a > b for a, b in itertools.pairwise(energies))


def test_start_and_stop_bound_the_ramp() -> None:
    source = noise(SIZE, SIZE)
    c = context(source, "pbl:4:down:0.5:0.6")
    progressive_blur(c)
    after, before = array(c.img), array(source)
    assert np.array_equal(after[:55], before[:55])  # before start: untouched
    assert detail(c.img, (0, 80, SIZE, 40)) < 0.1 * detail(source, (0, 80, SIZE, 40))


def test_progress_map() -> None:
    ramp = np.ndarray(buffer=progress(100, 10, ProgressiveBlur(5, 270, 0.2, 0.7)).write_to_memory(),
                      dtype=np.float32, shape=(10, 100))
    assert ramp[:, :20].max() == 0 and ramp[:, 70:].min() == 1
    assert np.all(np.diff(ramp[0, 20:70]) > 0)
    diagonal = np.ndarray(buffer=progress(50, 50, ProgressiveBlur(5, 315)).write_to_memory(),
                          dtype=np.float32, shape=(50, 50))
    assert diagonal[0, 0] < 0.05 and diagonal[49, 49] > 0.95  # 315 degrees: towards the bottom right


def test_size_and_alpha_kept() -> None:
    source = noise(80, 60).bandjoin(noise(80, 60, seed=3).extract_band(0))
    c = context(source, "pbl:6:up")
    progressive_blur(c)
    assert (c.img.width, c.img.height, c.img.bands) == (80, 60, 4)
    assert np.array_equal(array(c.img)[..., 3], array(source)[..., 3])


@pytest.mark.parametrize("url_options", ["", "pbl:0", "pbl:0:up:0.1:0.2"])
def test_off(url_options: str) -> None:
    source = noise(30, 30)
    c = context(source, url_options)
    progressive_blur(c)
    assert c.img is source
