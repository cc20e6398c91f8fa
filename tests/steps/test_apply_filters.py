"""``apply_filters``: blur and sharpen the colour bands (alpha is left alone), pixelate all of it."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.steps.apply_filters import apply_filters
from tests.steps.support import array, context, coordinates, noise


@pytest.mark.parametrize(
    ("url_options", "alpha_kept"),
    [("bl:3", True), ("sh:2", True), ("bl:5000", True), ("sh:50", True), ("pix:8", False),
     ("bl:2/sh:1/pix:4", False)],
)
def test_changes_the_colours_not_the_size(url_options: str, alpha_kept: bool) -> None:
    source = noise(64, 48).bandjoin(coordinates(64, 48).extract_band(0))  # alpha: 0 to 63
    c = context(source, url_options)
    apply_filters(c)
    out, before = array(c.img), array(source)
    assert out.shape == before.shape
    assert (out[:, :, :3] != before[:, :, :3]).any()
    assert bool((out[:, :, 3] == before[:, :, 3]).all()) is alpha_kept


def test_pixelate_makes_blocks() -> None:
    c = context(noise(64, 48), "pix:8")
    apply_filters(c)
    out = array(c.img)
    for top in range(0, 48, 8):
        for left in range(0, 64, 8):
            block = out[top:top + 8, left:left + 8, :3]
            assert (block == block[0, 0]).all()


@pytest.mark.parametrize("url_options", ["", "bl:0", "pix:1"])
def test_off(url_options: str) -> None:
    image = coordinates(64, 48)
    c = context(image, url_options)
    apply_filters(c)
    assert c.img is image
