"""``crop_objects``: a crop around the detections (grown by the scale), before any scaling."""

from __future__ import annotations

import pytest

from imgproxy_py.detection import Detection
from imgproxy_py.errors import ObjectNotFoundError
from imgproxy_py.imaging.steps.crop_objects import crop_objects
from tests.steps.support import FakeDetection, context, coordinates, face, with_detector

FACES = (face(300, 100, 40, 40), face(100, 200, 20, 20))
SCENE = (*FACES, face(500, 50, 60, 80, name="dog"))


@pytest.mark.parametrize(
    ("url_options", "found", "crop_size"),
    [
        ("cob:1:face", SCENE, (240, 120)),  # both faces: x 100-340, y 100-220
        ("cob:2:face", SCENE, (460, 240)),  # grown twice about the centre, cut at the left edge
        ("cob:1:dog", SCENE, (60, 80)),
        ("cob:1", SCENE, (460, 170)),  # every class: x 100-560, y 50-220
        ("cob:1:face/oix:0", SCENE, (20, 20)),  # the leftmost face
        ("cob:1:face/oix:1", SCENE, (40, 40)),
        ("cob:1:cat", SCENE, (0, 0)),  # nothing found: no crop, normal processing
        ("cob:1:face/oix:2:1", SCENE, (0, 0)),  # no third face, and a fallback asked for
    ],
)
def test_crop_around_the_detections(url_options: str, found: tuple[Detection, ...],
                                    crop_size: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options, deps=with_detector(FakeDetection(found)))
    crop_objects(c)
    assert (c.crop_width, c.crop_height) == crop_size  # the crop step cuts it, before scaling


def test_a_missing_nth_object_is_not_found() -> None:
    c = context(coordinates(600, 400), "cob:1:face/oix:2", deps=with_detector(FakeDetection(SCENE)))
    with pytest.raises(ObjectNotFoundError):
        crop_objects(c)


def test_the_crop_is_sized_again() -> None:
    c = context(coordinates(600, 400), "cob:1:face/oix:1/rs:fit:20:20", deps=with_detector(FakeDetection(SCENE)))
    crop_objects(c)
    assert (c.scaled_width, c.scaled_height) == (20, 20)


def test_without_a_detector_or_the_option_nothing_happens() -> None:
    c = context(coordinates(600, 400), "cob:1:face")
    crop_objects(c)
    assert c.crop_width == 0
    fake = FakeDetection(SCENE)
    c = context(coordinates(600, 400), "rs:fit:100:100", deps=with_detector(fake))
    crop_objects(c)
    assert fake.calls == 0
