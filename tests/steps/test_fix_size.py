"""``fix_size``: a result larger than its format can hold (the format record's limits) is
scaled down to fit rather than failing to save."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.steps.fix_size import fix_size
from tests.steps.support import context

F = ImageFormat


@pytest.mark.parametrize(
    ("fmt", "size", "fixed"),
    [
        (F.WEBP, (20000, 100), (16383, 82)),
        (F.AVIF, (100, 20000), (82, 16384)),
        (F.ICO, (512, 384), (256, 192)),
        (F.GIF, (70000, 10), (65535, 9)),
        (F.GIF, (20000, 20000), (16384, 16384)),  # at most 4 * 1024 * 1024 * 64 pixels
        (F.WEBP, (16383, 16383), (16383, 16383)),
        (F.PNG, (20000, 100), (20000, 100)),
        (F.JPEG, (70000, 100), (70000, 100)),
    ],
)
def test_scaled_to_the_format(fmt: ImageFormat, size: tuple[int, int], fixed: tuple[int, int]) -> None:
    # libvips is lazy: only the sizes are worked out, no pixel of these images.
    unlimited = ProcessingSettings(max_result_resolution=0)
    c = context(pyvips.Image.black(*size, bands=3), out_format=fmt, settings=unlimited)
    fix_size(c)
    assert (c.img.width, c.img.height) == fixed
