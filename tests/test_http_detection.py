"""Face gravity, crop_objects, detection effects and /info through the real server,
with the real CenterFace model on real photos."""

from __future__ import annotations

from collections.abc import Callable

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
    objects = server.services.processor.deps.objects
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
    faces = [d for d in info["objects"] if d["class_name"] == "face"]
    assert len(faces) == 1 and faces[0]["confidence"] > 0.5
    cx = faces[0]["left"] + faces[0]["width"] / 2
    assert 0.76 < cx < 0.84  # x about 960 of 1200
    plain = client.get(f"{server.base}/info/unsafe/plain/{scene_url}").json()
    assert "objects" not in plain


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


def test_a_thumbnail_is_cropped_by_the_faces_of_the_photo(client: httpx.Client, server: AppServer,
                                                         origin: Origin) -> None:
    # A 4000x1200 photo: a 62 px face near the left end, a colour wheel (which smart crop
    # prefers) near the right.  The 20x60 thumbnail shows the face 3 px wide, too small to be
    # found there: the detector looks at the source, decoded again at its own working size.
    from skimage import data

    background = rgb_image(data.coffee()).resize(6.7).crop(0, 0, 4000, 1200)
    portrait = rgb_image(data.astronaut()).resize(350 / 512)
    wheel = rgb_image(data.colorwheel()).resize(900 / 370)
    scene = background.insert(portrait, 100, 0).insert(wheel, 2900, 150).copy(interpretation="srgb")
    face_x = (100 + 180 * 350 / 512, 100 + 270 * 350 / 512)  # the astronaut's face box, scaled
    url = origin.add("/detection/wide.jpg", bytes(scene.jpegsave_buffer(Q=90)))
    result = decode(client.get(f"{server.base}/unsafe/rs:fill:20:60/g:obj:face/plain/{url}").content)
    assert (result.width, result.height) == (20, 60)
    scale = 60 / 1200
    thumbnail, strip = to_array(scene.resize(scale)), to_array(result)
    left = min(range(200 - 20 + 1), key=lambda x: np.abs(thumbnail[:, x:x + 20] - strip).mean()) / scale
    assert left <= face_x[0] and face_x[1] <= left + 20 / scale, (left, face_x)


def test_only_full_size_detections_are_cached(client: httpx.Client, server: AppServer, origin: Origin,
                                              scene: pyvips.Image) -> None:
    objects = server.services.processor.deps.objects
    # A 3000x1000 PNG: too large to hold in memory for detection, and it cannot be decoded
    # smaller.  A thumbnail's detection is then made on the thumbnail, and must not stand in
    # for the photo's.
    png = origin.add("/detection/cache.png", bytes(scene.resize(2.5).pngsave_buffer(compression=1)))
    before = objects.inferences
    for size in ("60:40", "61:40", "300:400", "150:400"):
        assert client.get(f"{server.base}/unsafe/rs:fill:{size}/g:obj:face/plain/{png}").status_code == 200
    assert objects.inferences == before + 3  # once per thumbnail, once for the large sizes
    jpeg = origin.add("/detection/cache.jpg", bytes(scene.jpegsave_buffer(Q=91)))  # bytes no other test uses
    before = objects.inferences
    for size in ("60:40", "150:400"):
        assert client.get(f"{server.base}/unsafe/rs:fill:{size}/g:obj:face/plain/{jpeg}").status_code == 200
    assert objects.inferences == before + 1  # a JPEG is detected at the working size, whatever the output


def test_rotation_and_the_detection_cache(client: httpx.Client, server: AppServer, origin: Origin,
                                          scene: pyvips.Image) -> None:
    url = origin.add("/detection/rotate.jpg", bytes(scene.jpegsave_buffer(Q=92)))
    # First a rotated request (rot:90 turns the 1200x400 scene into 400x1200, the face near
    # the bottom), then a plain one that reuses its detections.
    rotated = decode(client.get(f"{server.base}/unsafe/rot:90/rs:fill:400:150/g:obj:face/plain/{url}").content)
    assert (rotated.width, rotated.height) == (400, 150)
    turned = scene.rot90()
    strip = to_array(rotated)
    whole = to_array(turned)
    top = min(range(0, turned.height - 150 + 1, 5),
              key=lambda y: np.abs(whole[y:y + 150, :] - strip).mean())
    assert 850 <= top <= 925, top  # rows 925-1000 hold the face
    plain = decode(client.get(f"{server.base}/unsafe/rs:fill:150:400/g:obj:face/plain/{url}").content)
    assert 850 <= best_offset(plain, scene) <= 925


def test_no_detection_when_nothing_is_cropped(client: httpx.Client, server: AppServer, origin: Origin,
                                             scene: pyvips.Image) -> None:
    objects = server.services.processor.deps.objects
    url = origin.add("/detection/fit.jpg", bytes(scene.jpegsave_buffer(Q=89)))  # bytes no other test uses
    before = objects.inferences
    # fit keeps the whole picture: object gravity has nothing to place.
    response = client.get(f"{server.base}/unsafe/rs:fit:300:300/g:obj:face/plain/{url}")
    assert response.status_code == 200 and (decode(response.content).width, decode(response.content).height) == (
        300, 100)
    assert objects.inferences == before
    client.get(f"{server.base}/unsafe/rs:fill:300:300/g:obj:face/plain/{url}")
    assert objects.inferences == before + 1


def test_smart_crop_face_detection(client: httpx.Client, start_server: Callable[..., AppServer], origin: Origin,
                                   scene: pyvips.Image) -> None:
    """IMGPROXY_SMART_CROP_FACE_DETECTION: g:sm keeps the face as g:obj:face does; off, it
    runs no detector (libvips' attention alone)."""
    url = origin.add("/detection/smart-faces.jpg", bytes(scene.jpegsave_buffer(Q=91)))
    faces_first = start_server(IMGPROXY_SMART_CROP_FACE_DETECTION="true")
    objects = faces_first.services.processor.deps.objects
    smart = client.get(f"{faces_first.base}/unsafe/rs:fill:150:400/g:sm/plain/{url}")
    assert smart.status_code == 200 and objects.inferences == 1
    assert 850 <= best_offset(decode(smart.content), scene) <= 925
    face = client.get(f"{faces_first.base}/unsafe/rs:fill:150:400/g:obj:face/plain/{url}")
    assert face.content == smart.content
    plain = start_server()
    plain_objects = plain.services.processor.deps.objects
    attention = client.get(f"{plain.base}/unsafe/rs:fill:150:400/g:sm/plain/{url}")
    assert attention.status_code == 200 and plain_objects.inferences == 0
    assert best_offset(decode(attention.content), scene) < 700  # attention alone picks the coffee
    # Without faces the setting changes nothing: libvips' attention decides.
    coffee = origin.add("/detection/smart-coffee.jpg", bytes(scene.crop(0, 0, 700, 400).jpegsave_buffer(Q=91)))
    assert (client.get(f"{faces_first.base}/unsafe/rs:fill:150:400/g:sm/plain/{coffee}").content
            == client.get(f"{plain.base}/unsafe/rs:fill:150:400/g:sm/plain/{coffee}").content)


def test_max_ml_concurrency_serves_the_same_faces(client: httpx.Client, start_server: Callable[..., AppServer],
                                                  server: AppServer, scene_url: str) -> None:
    """IMGPROXY_MAX_ML_CONCURRENCY=1: inferences take turns; the crops are the same."""
    limited = start_server(IMGPROXY_MAX_ML_CONCURRENCY="1")
    path = f"/unsafe/rs:fill:150:400/g:obj:face/plain/{scene_url}"
    one = client.get(limited.base + path)
    assert one.status_code == 200 and one.content == client.get(server.base + path).content
