"""``watermark``: the watermark image placed by gravity, scaled, tiled, at an opacity."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.dependencies import PipelineDeps, WatermarkSource
from imgproxy_py.imaging.steps.watermark import watermark
from tests.steps.support import context, pixel, solid

BLUE = [0, 0, 255]
GREY = [128, 128, 128]


def mark() -> WatermarkSource:
    return WatermarkSource(bytes(solid(10, 10, (0, 0, 255)).pngsave_buffer()))


def marked(url_options: str, settings: ProcessingSettings | None = None,
           image: pyvips.Image | None = None) -> pyvips.Image:
    c = context(image or solid(100, 100), url_options, deps=PipelineDeps(watermark=mark()), settings=settings)
    watermark(c)
    return c.img


@pytest.mark.parametrize(
    ("url_options", "blue", "grey"),
    [
        ("wm:1:soea", [(95, 95)], [(5, 5), (50, 50)]),
        ("wm:1:nowe", [(5, 5)], [(95, 95)]),
        ("wm:1:ce", [(50, 50)], [(5, 5)]),
        ("wm:1:nowe:20:30", [(25, 35)], [(5, 5)]),
        ("wm:1:re", [(5, 5), (55, 55), (95, 95)], []),  # tiled without a gap
        ("wm:1:re:10:10", [(5, 5), (25, 25)], [(15, 15)]),  # with one
        ("wm:1:ce:0:0:0.5", [(30, 30), (70, 70)], [(20, 20)]),  # half the image's size
    ],
)
def test_placed(url_options: str, blue: list[tuple[int, int]], grey: list[tuple[int, int]]) -> None:
    img = marked(url_options)
    assert all(pixel(img, x, y) == BLUE for x, y in blue)
    assert all(pixel(img, x, y) == GREY for x, y in grey)
    assert (img.width, img.height, img.bands) == (100, 100, 3)


def test_opacity() -> None:
    half = pixel(marked("wm:0.5:nowe"), 5, 5)
    assert 50 < half[0] < 100 and 170 < half[2] < 210
    server_half = pixel(marked("wm:1:nowe", ProcessingSettings(watermark_opacity=0.5)), 5, 5)
    assert server_half == pytest.approx(half, abs=1)


def test_alpha_is_kept() -> None:
    img = marked("wm:1:nowe", image=solid(100, 100, (128, 128, 128, 255)))
    assert img.bands == 4 and pixel(img, 5, 5) == [*BLUE, 255]


@pytest.mark.parametrize(
    ("url_options", "deps", "settings"),
    [
        ("", PipelineDeps(watermark=None), None),  # no option
        ("wm:1:soea", PipelineDeps(), None),  # no watermark configured
        ("wm:1:soea", None, ProcessingSettings(watermark_opacity=0)),
    ],
)
def test_off(url_options: str, deps: PipelineDeps | None, settings: ProcessingSettings | None) -> None:
    image = solid(100, 100)
    c = context(image, url_options, deps=deps or PipelineDeps(watermark=mark()), settings=settings)
    watermark(c)
    assert c.img is image
