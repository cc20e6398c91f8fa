"""Face detection with the bundled CenterFace model on real photos."""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import pyvips
from skimage import data

from imgproxy_py.detection import Box, Detection, DetectionConfig, DetectorSet

ASSETS = Path(__file__).parent / "assets" / "detection"

# Hand-checked face boxes (forehead to chin, ear to ear), drawn over the images and looked at.
ASTRONAUT_FACE = Box(180, 60, 90, 120)  # skimage.data.astronaut(), 512x512
HOPPER_FACE = Box(40, 25, 47, 53)  # hopper.jpg, 128x128
CAMERAMAN_FACE = Box(188, 108, 68, 92)  # skimage.data.camera(), 512x512, face in profile


@pytest.fixture(scope="module")
def detectors() -> DetectorSet:
    config, errors = DetectionConfig.from_env({})
    assert errors == []
    found = DetectorSet(config)
    assert found.errors == ()
    assert found.enabled
    return found


def vips(array: np.ndarray) -> pyvips.Image:
    return pyvips.Image.new_from_array(np.ascontiguousarray(array))


@pytest.fixture(scope="module")
def astronaut() -> pyvips.Image:
    return vips(data.astronaut())


@pytest.fixture(scope="module")
def hopper() -> pyvips.Image:
    return pyvips.Image.new_from_file(str(ASSETS / "hopper.jpg"))


def only_face(detections: tuple[Detection, ...]) -> Detection:
    assert len(detections) == 1, detections
    assert detections[0].class_name == "face"
    assert detections[0].class_id == 0
    return detections[0]


def test_class_names_start_with_face(detectors: DetectorSet) -> None:
    assert detectors.class_names == ("face",)
    assert detectors.class_weights == {"face": 1.0}


def test_astronaut_face_at_hand_checked_place(detectors: DetectorSet, astronaut: pyvips.Image) -> None:
    face = only_face(detectors.detect(astronaut))
    assert face.confidence > 0.8
    assert face.box.iou(ASTRONAUT_FACE) > 0.75
    # Landmarks: eyes above nose above mouth, all inside the box.
    (left_eye, right_eye, nose, mouth_left, mouth_right) = face.landmarks
    assert all(face.box.grow(1.05).contains(Box(x, y, 0, 0)) for x, y in face.landmarks)
    assert left_eye[0] < right_eye[0]
    assert max(left_eye[1], right_eye[1]) < nose[1] < min(mouth_left[1], mouth_right[1])


def test_hopper_face(detectors: DetectorSet, hopper: pyvips.Image) -> None:
    face = only_face(detectors.detect(hopper))
    assert face.confidence > 0.8
    assert face.box.iou(HOPPER_FACE) > 0.75


def test_cameraman_profile_face(detectors: DetectorSet) -> None:
    face = only_face(detectors.detect(vips(data.camera())))
    assert face.box.iou(CAMERAMAN_FACE) > 0.6


def test_lfw_faces_found_and_non_faces_not(detectors: DetectorSet) -> None:
    images = (data.lfw_subset() * 255).astype(np.uint8)  # 100 faces, then 100 non-faces, 25x25
    faces_found = sum(bool(detectors.detect(vips(image))) for image in images[:100])
    false_alarms = sum(bool(detectors.detect(vips(image))) for image in images[100:])
    assert faces_found >= 97
    assert false_alarms <= 2


def test_faces_filling_the_picture_need_the_coarse_pass() -> None:
    # Each LFW crop is a face from brow to chin, seen by the main pass at over 400 network
    # pixels: too large for CenterFace.  The coarse pass sees them at 160.
    config, errors = DetectionConfig.from_env({"IMGPROXY_FACE_DETECTION_COARSE_NET_SIZE": "0"})
    assert errors == []
    single_pass = DetectorSet(config)
    faces = (data.lfw_subset()[:100] * 255).astype(np.uint8)
    assert sum(bool(single_pass.detect(vips(image))) for image in faces) <= 90


@pytest.mark.parametrize("name", ["coffee", "rocket", "chelsea"])
def test_no_face_in_photos_without_people(detectors: DetectorSet, name: str) -> None:
    assert detectors.detect(vips(getattr(data, name)())) == ()


@pytest.mark.parametrize(
    ("width", "height", "left", "top"),
    [
        (1999, 601, 1700, 290),  # wide, face near the right edge
        (601, 1999, 40, 1650),  # tall, face near the bottom
        (3001, 1003, 90, 30),  # large and wide, face near the top-left corner
        (777, 777, 500, 480),
    ],
)
def test_coordinates_in_non_square_images(
    detectors: DetectorSet, hopper: pyvips.Image, width: int, height: int, left: int, top: int
) -> None:
    # Hopper scaled so that the face is about a twelfth of the picture's mean side: big
    # enough for the default network size, small enough to be off-centre.
    scale = (width * height) ** 0.5 / 12 / HOPPER_FACE.width
    portrait = hopper.resize(scale)
    background = vips(data.coffee()).resize(width / 600, vscale=height / 400)
    image = background.insert(portrait, left, top)
    assert (image.width, image.height) == (width, height)
    expected = HOPPER_FACE.scale(scale, scale)
    expected = Box(expected.left + left, expected.top + top, expected.width, expected.height)

    face = only_face(detectors.detect(image))
    assert face.box.iou(expected) > 0.7, (face.box, expected)


@pytest.mark.parametrize("turn", ["rot90", "rot180", "rot270"])
def test_coordinates_in_rotated_images(detectors: DetectorSet, astronaut: pyvips.Image, turn: str) -> None:
    # CenterFace still finds a sideways face, less tightly: compare centres, not boxes.
    size = astronaut.width
    x, y = ASTRONAUT_FACE.center
    expected = {
        "rot90": (size - y, x),
        "rot180": (size - x, size - y),
        "rot270": (y, size - x),
    }[turn]
    face = only_face(detectors.detect(getattr(astronaut, turn)()))
    found_x, found_y = face.box.center
    assert abs(found_x - expected[0]) < 25 and abs(found_y - expected[1]) < 25, (face.box, expected)


def test_odd_sized_image_is_clipped_to_its_bounds(detectors: DetectorSet, astronaut: pyvips.Image) -> None:
    # The face runs off the left and top edges: the box must stop at the image border.
    cropped = astronaut.crop(220, 100, 291, 157)
    face = only_face(detectors.detect(cropped))
    assert face.left == 0 and face.top == 0
    assert face.box.right <= cropped.width and face.box.bottom <= cropped.height
    assert face.width > 20 and face.height > 40


@pytest.mark.parametrize(
    "convert",
    [
        pytest.param(lambda image: image.colourspace("b-w"), id="grey"),
        pytest.param(
            lambda image: image.colourspace("b-w").copy(interpretation="multiband"), id="raw-1-band"
        ),
        pytest.param(lambda image: image.bandjoin(255), id="rgba"),
        pytest.param(lambda image: image.colourspace("b-w").bandjoin(255), id="grey-alpha"),
        pytest.param(lambda image: image.colourspace("rgb16"), id="rgb16"),
        pytest.param(lambda image: image.colourspace("grey16"), id="grey16"),
        pytest.param(lambda image: (image.cast("ushort") * 257).cast("ushort"), id="16-bit-labelled-srgb"),
        pytest.param(lambda image: image.cast("float") / 255, id="float-0-1"),
        pytest.param(lambda image: image.colourspace("scrgb"), id="scrgb"),
        pytest.param(lambda image: image.colourspace("cmyk"), id="cmyk"),
    ],
)
def test_any_band_count_and_format(detectors: DetectorSet, hopper: pyvips.Image, convert: object) -> None:
    image = convert(hopper)  # type: ignore[operator]
    face = only_face(detectors.detect(image))
    assert face.box.iou(HOPPER_FACE) > 0.75


def test_transparent_area_is_not_a_face(detectors: DetectorSet, hopper: pyvips.Image) -> None:
    # Colour under zero alpha is invisible: a face there must not count.
    hidden = hopper.bandjoin(pyvips.Image.black(128, 128).cast("uchar"))
    assert detectors.detect(hidden) == ()
    visible = hopper.bandjoin((pyvips.Image.black(128, 128) + 255).cast("uchar"))
    assert len(detectors.detect(visible)) == 1


def test_detect_leaves_the_image_alone(detectors: DetectorSet, astronaut: pyvips.Image) -> None:
    before = hashlib.sha256(astronaut.write_to_memory()).hexdigest()
    detectors.detect(astronaut)
    assert hashlib.sha256(astronaut.write_to_memory()).hexdigest() == before
    assert (astronaut.width, astronaut.height, astronaut.bands) == (512, 512, 3)


def test_detect_from_many_threads(
    detectors: DetectorSet, astronaut: pyvips.Image, hopper: pyvips.Image
) -> None:
    images = [astronaut, hopper, vips(data.coffee()), astronaut.fliphor()] * 3
    expected = [detectors.detect(image) for image in images]
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = list(pool.map(detectors.detect, images))
    assert found == expected
    assert [len(result) for result in found[:4]] == [1, 1, 0, 1]


def test_tiny_images_give_no_detections(detectors: DetectorSet) -> None:
    assert detectors.detect(pyvips.Image.black(1, 1)) == ()
    assert detectors.detect(pyvips.Image.black(3, 700)) == ()
