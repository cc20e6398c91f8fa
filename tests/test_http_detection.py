"""Face gravity, crop_objects, detection effects and /info through the real server,
with the real CenterFace model on real photos."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import pyvips

from tests.conftest import decode, rgb_image
from tests.servers import AppServer, Origin


def to_array(img: pyvips.Image) -> np.ndarray:
    img = img.colourspace("srgb").extract_band(0, n=3)
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=[img.height, img.width, 3]).astype(float)


@pytest.fixture(scope="module")
def scene() -> pyvips.Image:
    """A wide real scene (coffee) with the astronaut's portrait on the right: the face is
    at about x 925-1000, y 20-100 of 1200x400."""
    from skimage import data

    background = rgb_image(data.coffee()).resize(2.0).crop(0, 0, 1200, 400)
    portrait = rgb_image(data.astronaut()).resize(400 / 512)
    return background.insert(portrait, 800, 0).copy(interpretation="srgb")


@pytest.fixture(scope="module")
def scene_url(origin: Origin, scene: pyvips.Image) -> str:
    return origin.add("/detection/scene.jpg", bytes(scene.jpegsave_buffer(Q=92)))


def best_offset(result: pyvips.Image, scene: pyvips.Image) -> int:
    """Where in the scene a full-height strip of the result came from."""
    strip = to_array(result)
    whole = to_array(scene)
    errors = [(np.abs(whole[:, x:x + result.width] - strip).mean(), x)
              for x in range(0, scene.width - result.width + 1, 5)]
    return min(errors)[1]


def test_face_gravity_keeps_the_face(client: httpx.Client, server: AppServer, scene: pyvips.Image,
                                     scene_url: str) -> None:
    face = decode(client.get(f"{server.base}/unsafe/rs:fill:150:400/g:obj:face/plain/{scene_url}").content)
    centre = decode(client.get(f"{server.base}/unsafe/rs:fill:150:400/g:ce/plain/{scene_url}").content)
    assert (face.width, face.height) == (150, 400)
    left = best_offset(face, scene)
    assert 850 <= left <= 925, left  # the window holds x 925-1000
    assert best_offset(centre, scene) == 525


def test_one_inference_per_source(client: httpx.Client, server: AppServer, origin: Origin,
                                  scene: pyvips.Image) -> None:
    url = origin.add("/detection/once.jpg", bytes(scene.jpegsave_buffer(Q=90)))
    objects = server.services.processor.services["objects"]
    before = objects.inferences
    response = client.get(f"{server.base}/unsafe/rs:fill:150:400/g:obj:face/bd:10/dd:1/plain/{url}")
    assert response.status_code == 200
    client.get(f"{server.base}/unsafe/rs:fill:300:300/g:obj:face/plain/{url}")
    client.get(f"{server.base}/unsafe/rs:fill:100:100/g:objw:face:2:all:1/pxd:8/plain/{url}")
    assert objects.inferences == before + 1


def test_crop_objects(client: httpx.Client, server: AppServer, scene_url: str) -> None:
    response = client.get(f"{server.base}/unsafe/cob:1.2:face/plain/{scene_url}")
    img = decode(response.content)
    # About the face box (about 80x80) grown by 1.2: far smaller than the 1200x400 scene.
    assert 60 <= img.width <= 160 and 60 <= img.height <= 160
    plain = decode(client.get(f"{server.base}/unsafe/cob:1.2:dog/plain/{scene_url}").content)
    assert (plain.width, plain.height) == (1200, 400)  # nothing found: normal processing


def test_blur_and_pixelate_only_inside_faces(client: httpx.Client, server: AppServer, scene_url: str) -> None:
    base = to_array(decode(client.get(f"{server.base}/unsafe/f:png/plain/{scene_url}").content))
    for option in ("bd:12:face", "pxd:12:face"):
        out = to_array(decode(client.get(f"{server.base}/unsafe/{option}/f:png/plain/{scene_url}").content))
        diff = np.abs(out - base).mean(axis=2)
        assert diff[:, :850].max() == 0, option  # the coffee side is untouched
        assert diff[30:90, 935:990].mean() > 5, option  # the face is changed


def test_draw_detections_draws_boxes(client: httpx.Client, server: AppServer, scene_url: str) -> None:
    base = to_array(decode(client.get(f"{server.base}/unsafe/f:png/plain/{scene_url}").content))
    out = to_array(decode(client.get(f"{server.base}/unsafe/dd:1/f:png/plain/{scene_url}").content))
    changed = np.abs(out - base).mean(axis=2) > 30
    ys, xs = np.nonzero(changed)
    assert changed.sum() > 200
    assert xs.min() > 850 and ys.max() < 160  # drawn around the face only


def test_info_endpoint(client: httpx.Client, server: AppServer, scene_url: str) -> None:
    info = client.get(f"{server.base}/info/unsafe/do:1/plain/{scene_url}").json()
    assert (info["width"], info["height"], info["format"]) == (1200, 400, "jpeg")
    faces = [d for d in info["detections"] if d["class_name"] == "face"]
    assert len(faces) == 1 and faces[0]["confidence"] > 0.5
    cx = faces[0]["left"] + faces[0]["width"] / 2
    assert 0.76 < cx < 0.84  # x about 960 of 1200
    plain = client.get(f"{server.base}/info/unsafe/plain/{scene_url}").json()
    assert "detections" not in plain


def test_info_is_signed_like_images(client: httpx.Client, start_server, origin: Origin) -> None:  # type: ignore[no-untyped-def]
    signed = start_server(IMGPROXY_KEY="736563726574", IMGPROXY_SALT="68656C6C6F")
    assert client.get(f"{signed.base}/info/unsafe/plain/local:///core/hopper.jpg").status_code == 403


def test_exif_rotated_face(client: httpx.Client, server: AppServer, origin: Origin, scene: pyvips.Image) -> None:
    # The same scene stored rotated with EXIF orientation 6: face gravity must still find it.
    stored = scene.rot270().copy()
    stored.set_type(pyvips.GValue.gint_type, "orientation", 6)
    url = origin.add("/detection/rotated.jpg", bytes(stored.jpegsave_buffer(Q=92)))
    result = decode(client.get(f"{server.base}/unsafe/rs:fill:150:400/g:obj:face/plain/{url}").content)
    assert (result.width, result.height) == (150, 400)
    assert 850 <= best_offset(result, scene) <= 925


def test_no_face_falls_back_to_smart_crop(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    # A face-free PNG, cropped without scaling: detection reads the sequentially decoded image
    # first, and the smart crop that follows must read the copy it left, not the spent source.
    from skimage import data

    coffee = rgb_image(data.coffee())
    url = origin.add("/detection/coffee.png", bytes(coffee.pngsave_buffer(compression=1)))
    objects = client.get(f"{server.base}/unsafe/rs:fill:200:400/g:obj:face/plain/{url}")
    smart = client.get(f"{server.base}/unsafe/rs:fill:200:400/g:sm/plain/{url}")
    assert objects.status_code == smart.status_code == 200
    assert (decode(objects.content).width, decode(objects.content).height) == (200, 400)
    assert objects.content == smart.content


# The cameraman (scikit-image) looks right into his camera: his face box, drawn by hand, runs
# from the ear (x 188) to the nose (x 256).  In a 337x224 window from (175, 54), a 1:3 crop is
# 74 px wide: 6 px to spare, and the detector's own box starts after the ear.
CAMERA_WINDOW = (175, 54, 337, 224)
CAMERA_FACE_X = (188 - 175, 256 - 175)


@pytest.mark.parametrize("orientation", [1, 6])
def test_a_turned_head_keeps_its_ear(client: httpx.Client, server: AppServer, origin: Origin,
                                     orientation: int) -> None:
    from skimage import data

    window = rgb_image(data.camera()).crop(*CAMERA_WINDOW)
    stored = window if orientation == 1 else window.rot270().copy()
    if orientation != 1:
        stored.set_type(pyvips.GValue.gint_type, "orientation", orientation)
    url = origin.add(f"/detection/camera-{orientation}.jpg", bytes(stored.jpegsave_buffer(Q=95)))
    result = decode(client.get(f"{server.base}/unsafe/rs:fill:74:224/g:obj:face/plain/{url}").content)
    assert (result.width, result.height) == (74, 224)
    strip = result.extract_band(0).numpy().astype(float)
    whole = window.numpy().astype(float)
    left = min(range(window.width - 74 + 1), key=lambda x: np.abs(whole[:, x:x + 74] - strip).mean())
    assert left <= CAMERA_FACE_X[0] and left + 74 >= CAMERA_FACE_X[1], left
