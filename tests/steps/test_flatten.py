"""``flatten``: transparency onto the background colour, when asked for or when the output
format has no alpha."""

from __future__ import annotations

import pytest

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.steps.flatten import flatten
from tests.steps.support import context, pixel, solid

F = ImageFormat
CLEAR = solid(4, 4, (10, 20, 30, 0))


@pytest.mark.parametrize(
    ("url_options", "fmt", "result"),
    [
        ("", F.JPEG, [255, 255, 255]),  # no alpha in JPEG: the default background
        ("", F.BMP, [10, 20, 30, 0]),  # a 32-bit BMP keeps it, as in imgproxy 4
        ("bg:255:0:0", F.PNG, [255, 0, 0]),  # asked for
        ("bg:00ff00", F.WEBP, [0, 255, 0]),
        ("", F.PNG, [10, 20, 30, 0]),  # kept
        ("", F.GIF, [10, 20, 30, 0]),
    ],
)
def test_background(url_options: str, fmt: ImageFormat, result: list[int]) -> None:
    c = context(CLEAR, url_options, out_format=fmt)
    flatten(c)
    assert pixel(c.img, 0, 0) == result


def test_server_default_background() -> None:
    settings = ProcessingSettings(background_default=(0.0, 0.0, 255.0))
    c = context(CLEAR, out_format=F.JPEG, settings=settings)
    flatten(c)
    assert pixel(c.img, 0, 0) == [0, 0, 255]


def test_opaque_images_stay() -> None:
    image = solid(4, 4)
    c = context(image, "bg:255:0:0", out_format=F.JPEG)
    flatten(c)
    assert c.img is image


@pytest.mark.parametrize(("url_options", "fmt", "result"), [
    ("bg:255:0:0/bga:0.5", F.PNG, [255, 0, 0, 128]),  # the background, half transparent
    ("bg:255:0:0/bga:0", F.PNG, [0, 0, 0, 0]),
    ("bg:255:0:0/bga:1", F.PNG, [255, 0, 0]),  # opaque: flattened as before
    ("bg:255:0:0/bga:0.5", F.JPEG, [255, 0, 0]),  # no alpha in JPEG
    ("bga:0.5", F.PNG, [10, 20, 30, 0]),  # without background: nothing to do
])
def test_background_alpha(url_options: str, fmt: ImageFormat, result: list[int]) -> None:
    c = context(CLEAR, url_options, out_format=fmt)
    flatten(c)
    assert pixel(c.img, 0, 0) == result


def test_background_alpha_under_half_transparent_pixels() -> None:
    c = context(solid(4, 4, (0, 0, 255, 128)), "bg:ff0000/bga:0.5", out_format=F.PNG)
    flatten(c)
    r, g, b, a = pixel(c.img, 0, 0)
    # a = 0.5 + 0.5 * 0.5; the colour is blue (weight 0.5) and red (weight 0.25), normalised.
    assert abs(a - 191) <= 1 and abs(r - 85) <= 1 and g == 0 and abs(b - 170) <= 1


def test_sixteen_bits_and_grey() -> None:
    """As imgproxy 4: a 16-bit image keeps its depth (the colour scaled to it), a grey one stays
    grey on a grey background and becomes RGB on a colour one."""
    rgb16 = CLEAR.colourspace("rgb16")
    c = context(rgb16, "bg:255:0:0", out_format=F.PNG)
    flatten(c)
    assert (c.img.format, pixel(c.img, 0, 0)) == ("ushort", [65535, 0, 0])
    grey = CLEAR.colourspace("b-w")
    for url_options, expected in (("bg:127:127:127", ("b-w", [127])), ("bg:255:0:0", ("srgb", [255, 0, 0]))):
        c = context(grey, url_options, out_format=F.PNG)
        flatten(c)
        assert (c.img.interpretation, pixel(c.img, 0, 0)) == expected, url_options
    grey16 = CLEAR.colourspace("grey16")
    c = context(grey16, "bg:127:127:127", out_format=F.PNG)
    flatten(c)
    assert (c.img.interpretation, c.img.format, pixel(c.img, 0, 0)) == ("grey16", "ushort", [127 * 257])
