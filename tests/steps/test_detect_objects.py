"""``detect_objects``: detect right after shrink-on-load, only when a later step will need the
detections and the image is a good size for the detector."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.steps.detect_objects import detect_objects, needs_detections
from tests.steps.support import FakeDetection, context, coordinates, face, with_detector


@pytest.mark.parametrize(
    ("url_options", "needed"),
    [
        ("rs:fill:100:400/g:obj:face", True),  # the result crop cuts something off
        ("rs:fill:100:400/g:objw:face:2", True),
        ("c:100:100:obj", True),  # the crop option, by object gravity
        ("rs:fit:100:400/g:obj:face", False),  # fit: nothing is cut
        ("rs:fill:100:400/g:ce", False),
        ("bd:10", True),
        ("pxd:8:face", True),
        ("dd:1", True),
        ("", False),
    ],
)
def test_needed(url_options: str, needed: bool) -> None:
    assert needs_detections(context(coordinates(600, 400), url_options)) is needed


@pytest.mark.parametrize(
    ("url_options", "fits", "calls"),
    [
        ("rs:fill:100:400/g:obj:face", True, 1),
        ("rs:fill:100:400/g:obj:face", False, 0),  # a later step decodes a better picture itself
        ("rs:fit:100:400/g:obj:face", True, 0),
    ],
)
def test_detects_when_needed_and_the_image_fits(url_options: str, fits: bool, calls: int) -> None:
    fake = FakeDetection((face(10, 10, 20, 20),), fits=fits)
    c = context(coordinates(600, 400), url_options, deps=with_detector(fake))
    detect_objects(c)
    assert fake.calls == calls
    assert (c.detections is not None) is (calls == 1)


def test_not_on_part_of_the_source_or_twice() -> None:
    fake = FakeDetection(())
    c = context(coordinates(600, 400), "bd:10", deps=with_detector(fake))
    c.full_view = False  # cropped or trimmed: the cache holds whole sources only
    detect_objects(c)
    c.full_view, c.detections = True, ()
    detect_objects(c)
    assert fake.calls == 0
