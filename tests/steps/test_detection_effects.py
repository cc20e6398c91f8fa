"""``detection_effects``: blur, pixelate or outline the detections of the asked classes only."""

from __future__ import annotations

import pytest

from imgproxy_py.imaging.steps.detection_effects import detection_effects
from tests.steps.support import FakeDetection, array, context, coordinates, face, noise, with_detector

FOUND = (face(20, 20, 20, 20), face(60, 10, 10, 10, name="dog"))


@pytest.mark.parametrize(
    ("url_options", "face_changes", "dog_changes"),
    [
        ("bd:5:face", True, False),
        ("pxd:5:face", True, False),
        ("bd:5:dog", False, True),
        ("bd:5", True, True),  # every class
    ],
)
def test_only_the_asked_classes(url_options: str, face_changes: bool, dog_changes: bool) -> None:
    source = noise(100, 60)
    c = context(source, url_options, deps=with_detector(FakeDetection(FOUND)))
    detection_effects(c)
    diff = (array(c.img) != array(source)).any(axis=2)
    assert bool(diff[25:35, 25:35].any()) is face_changes  # inside the face
    assert bool(diff[12:18, 62:68].any()) is dog_changes  # inside the dog
    assert not diff[45:, :].any()  # far from both


def test_draw_outlines_the_box() -> None:
    source = noise(100, 60)
    c = context(source, "dd:1:face", deps=with_detector(FakeDetection(FOUND)))
    detection_effects(c)
    diff = (array(c.img) != array(source)).any(axis=2)
    assert diff[20, 20:40].any() and diff[20:40, 20].any()  # the face's top and left sides
    assert not diff[45:, :].any()  # nothing around the dog or away from the face


def test_off_without_a_detector_or_an_effect() -> None:
    image = coordinates(100, 60)
    c = context(image, "bd:5")
    detection_effects(c)
    assert c.img is image
    fake = FakeDetection(FOUND)
    c = context(image, "rs:fit:50:50", deps=with_detector(fake))
    detection_effects(c)
    assert c.img is image and fake.calls == 0
