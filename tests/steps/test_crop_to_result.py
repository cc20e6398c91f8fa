"""``crop_to_result``: the scaled image cut to the requested size by ``gravity``; object
gravity asks the detector, and falls back when it finds nothing."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.dependencies import PipelineDeps
from imgproxy_py.imaging.steps.crop_to_result import crop_to_result
from imgproxy_py.imaging.steps.scale import scale
from imgproxy_py.options.model import GravityType
from tests.steps.support import FakeDetection, context, coordinates, face, pixel, with_detector


@pytest.mark.parametrize(
    ("url_options", "size", "top_left"),
    [
        # fill 600x400 to these sizes needs no scaling: only the crop (tests/test_http_resize.py).
        ("rs:fill:100:400/g:we", (100, 400), (0, 0)),
        ("rs:fill:100:400/g:ea", (100, 400), (500, 0)),
        ("rs:fill:100:400/g:ce", (100, 400), (250, 0)),
        ("rs:fill:100:400/g:we:50:0", (100, 400), (50, 0)),
        ("rs:fill:100:400/g:ce:0.25:0", (100, 400), (400, 0)),
        ("rs:fill:100:400/g:fp:0.9:0.5", (100, 400), (490, 0)),
        ("rs:fill:600:100/g:so", (600, 100), (0, 300)),
        ("rs:fill-down:1000:500", (600, 300), (0, 50)),  # fill-down: the aspect ratio, not the size
    ],
)
def test_cut(url_options: str, size: tuple[int, int], top_left: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options)
    crop_to_result(c)
    assert (c.img.width, c.img.height) == size
    assert pixel(c.img, 0, 0)[:2] == [v % 256 for v in top_left]


def test_fit_leaves_nothing_to_cut() -> None:
    c = context(coordinates(600, 400), "rs:fit:100:400")
    scale(c)
    scaled = c.img
    crop_to_result(c)
    assert c.img is scaled and (c.img.width, c.img.height) == (100, 67)


def test_object_gravity_centres_the_detection() -> None:
    detector = FakeDetection((face(400, 100, 50, 50),))
    c = context(coordinates(600, 400), "rs:fill:100:400/g:obj:face", deps=with_detector(detector))
    crop_to_result(c)
    assert pixel(c.img, 0, 0)[:2] == [375 % 256, 0]
    assert detector.calls == 1


@pytest.mark.parametrize(
    ("fallback", "left"),
    [(GravityType.CENTER, 250), (GravityType.SMART, None)],
)
def test_object_gravity_falls_back(fallback: GravityType, left: int | None) -> None:
    c = context(coordinates(600, 400), "rs:fill:100:400/g:obj:face", deps=with_detector(FakeDetection(()), fallback))
    crop_to_result(c)
    assert (c.img.width, c.img.height) == (100, 400)
    if left is not None:
        assert pixel(c.img, 0, 0)[0] == left


def test_object_gravity_without_a_detector_is_the_fallback() -> None:
    c = context(coordinates(600, 400), "rs:fill:100:400/g:obj:face",
                deps=PipelineDeps(object_fallback=GravityType.CENTER))
    crop_to_result(c)
    assert pixel(c.img, 0, 0)[0] == 250
