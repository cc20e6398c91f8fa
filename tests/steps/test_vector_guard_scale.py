"""``vector_guard_scale``: an SVG whose own size passes the source resolution limit is rendered
smaller, to fit it, and sized from there (imgproxy's ``vectorGuardScale``); scale-on-load then
renders it smaller again."""

from __future__ import annotations

import math

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.steps.crop import crop
from imgproxy_py.imaging.steps.scale import scale
from imgproxy_py.imaging.steps.scale_on_load import scale_on_load
from imgproxy_py.imaging.steps.vector_guard_scale import vector_guard_scale
from tests.steps.support import context, coordinates, pixel

SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="4000" height="2000">'
       b'<rect width="2000" height="2000" fill="red"/><rect x="2000" width="2000" height="2000" fill="blue"/></svg>')
LIMITED = ProcessingSettings(max_src_resolution=2_000_000)  # 4000x2000 is 8 MP: rendered at half


def guarded(url_options: str, settings: ProcessingSettings = LIMITED, data: bytes = SVG) -> tuple[int, int, float]:
    c = context(loader.load(data, ImageFormat.SVG), url_options, source=(data, ImageFormat.SVG),
                settings=settings, is_vector=True)
    vector_guard_scale(c)
    return c.img.width, c.img.height, c.vector_base_shrink


def test_a_vector_past_the_limit_is_rendered_to_fit_it() -> None:
    width, height, shrink = guarded("")
    assert (width, height) == (2000, 1000)
    assert math.isclose(shrink, 2.0)
    assert width * height <= LIMITED.max_src_resolution


def test_within_the_limit_or_without_one_nothing_changes() -> None:
    assert guarded("", ProcessingSettings(max_src_resolution=8_000_000)) == (4000, 2000, 1.0)
    assert guarded("", ProcessingSettings(max_src_resolution=0)) == (4000, 2000, 1.0)


def test_no_size_asked_comes_out_at_the_guarded_size() -> None:
    data = SVG
    c = context(loader.load(data, ImageFormat.SVG), "", source=(data, ImageFormat.SVG), settings=LIMITED,
                is_vector=True)
    for step in (vector_guard_scale, scale_on_load, crop, scale):
        step(c)
    assert (c.img.width, c.img.height) == (2000, 1000)
    assert pixel(c.img, 500, 500)[:3] == [255, 0, 0] and pixel(c.img, 1500, 500)[:3] == [0, 0, 255]


def test_scale_on_load_renders_smaller_again_from_the_guarded_size() -> None:
    data = SVG
    c = context(loader.load(data, ImageFormat.SVG), "rs:fit:400:400", source=(data, ImageFormat.SVG),
                settings=LIMITED, is_vector=True)
    vector_guard_scale(c)
    scale_on_load(c)
    assert (c.img.width, c.img.height) == (400, 200)  # rendered at the size asked, not resized
    crop(c)
    scale(c)
    assert (c.img.width, c.img.height) == (400, 200)


def test_only_vector_sources() -> None:
    img = coordinates(3000, 2000)
    data = bytes(img.write_to_buffer(".png"))
    c = context(img, "", source=(data, ImageFormat.PNG), settings=LIMITED)
    vector_guard_scale(c)
    assert (c.img.width, c.vector_base_shrink) == (3000, 1.0)


def test_scale_on_load_renders_no_more_than_the_limit_and_scale_enlarges_the_rest() -> None:
    small = (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="50">'
             b'<rect width="50" height="50" fill="red"/><rect x="50" width="50" height="50" fill="blue"/></svg>')
    c = context(loader.load(small, ImageFormat.SVG, lazy_vector=True), "rs:fit:4000:4000",
                source=(small, ImageFormat.SVG), settings=LIMITED, is_vector=True)
    vector_guard_scale(c)
    scale_on_load(c)
    assert (c.img.width, c.img.height) == (2000, 1000)  # 2 MP rendered (in a worker), not 8
    crop(c)
    scale(c)
    assert (c.img.width, c.img.height) == (4000, 2000)
    assert pixel(c.img, 1000, 500)[:3] == [255, 0, 0] and pixel(c.img, 3000, 500)[:3] == [0, 0, 255]
