"""imgproxy Pro's advanced smart crop through the real server: ``g:sm`` places the window by the
feature map with ``IMGPROXY_SMART_CROP_ADVANCED``, ``/info``'s ``crop`` names the same place, and
without the setting libvips' attention decides as before."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyvips

from tests.conftest import decode
from tests.servers import AppServer, Origin

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"
SIDE = 307  # 60% of the 512x512 portrait


@pytest.fixture(scope="module")
def portrait() -> pyvips.Image:
    return pyvips.Image.new_from_file(str(DEMO / "astronaut.jpg")).copy_memory()


@pytest.fixture(scope="module")
def portrait_url(origin: Origin, portrait: pyvips.Image) -> str:
    # Lossless, so that a crop of it can be found in it pixel for pixel.
    return origin.add("/smart/astronaut.png", bytes(portrait.pngsave_buffer()))


def pixels(img: pyvips.Image) -> np.ndarray:
    img = img.extract_band(0, n=3)
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, 3))


def located(result: pyvips.Image, source: pyvips.Image) -> tuple[int, int]:
    """Where in ``source`` the crop ``result`` was cut: the one place a patch from its middle
    matches exactly."""
    part, whole = pixels(result), pixels(source)
    y, x = part.shape[0] // 2, part.shape[1] // 2
    patch = part[y:y + 12, x:x + 12]
    windows = np.lib.stride_tricks.sliding_window_view(whole, patch.shape)[..., 0, :, :, :]
    found = np.argwhere((windows == patch).all(axis=(2, 3, 4)))
    assert len(found) == 1, found
    return int(found[0][1]) - x, int(found[0][0]) - y


def face_box(client: httpx.Client, server: AppServer, url: str) -> tuple[float, float, float, float]:
    objects = client.get(f"{server.base}/info/unsafe/do:1/plain/{url}").json()["objects"]
    faces = [o for o in objects if o["class_name"] == "face"]
    assert len(faces) == 1, objects
    face = faces[0]
    return face["left"] * 512, face["top"] * 512, (face["left"] + face["width"]) * 512, \
        (face["top"] + face["height"]) * 512


def holds(window: tuple[int, int], box: tuple[float, float, float, float]) -> bool:
    left, top = window
    return left <= box[0] and box[2] <= left + SIDE and top <= box[1] and box[3] <= top + SIDE


def test_advanced_smart_crop_keeps_the_face_where_attention_keeps_the_helmet(
        client: httpx.Client, start_server: Callable[..., AppServer], server: AppServer, portrait: pyvips.Image,
        portrait_url: str) -> None:
    advanced = start_server(IMGPROXY_SMART_CROP_ADVANCED="true")
    face = face_box(client, advanced, portrait_url)
    path = f"/unsafe/c:{SIDE}:{SIDE}:sm/f:png/plain/{portrait_url}"
    answer = client.get(advanced.base + path)
    assert answer.status_code == 200
    result = decode(answer.content)
    assert (result.width, result.height) == (SIDE, SIDE)
    window = located(result, portrait)
    assert holds(window, face), (window, face)
    # /info's crop is the same window (measured on its own copy of the pixels: a pixel or two).
    info = client.get(f"{advanced.base}/info/unsafe/c:{SIDE}:{SIDE}:sm/plain/{portrait_url}").json()["crop"]
    assert abs(info["left"] * 512 - window[0]) <= 2 and abs(info["top"] * 512 - window[1]) <= 2, (info, window)
    assert info["width"] * 512 == pytest.approx(SIDE, abs=0.5)

    attention = located(decode(client.get(server.base + path).content), portrait)
    assert not holds(attention, face), attention  # the plain setting: libvips' choice, as before


def test_center_of_mass_mode(client: httpx.Client, start_server: Callable[..., AppServer], portrait: pyvips.Image,
                             portrait_url: str) -> None:
    centred = start_server(IMGPROXY_SMART_CROP_ADVANCED="true", IMGPROXY_SMART_CROP_ADVANCED_MODE="center_of_mass")
    face = face_box(client, centred, portrait_url)
    best = start_server(IMGPROXY_SMART_CROP_ADVANCED="true")
    path = f"/unsafe/c:{SIDE}:{SIDE}:sm/f:png/plain/{portrait_url}"
    left, top = located(decode(client.get(centred.base + path).content), portrait)
    assert located(decode(client.get(best.base + path).content), portrait) != (left, top)
    centre_x, centre_y = (face[0] + face[2]) / 2, (face[1] + face[3]) / 2
    assert left <= centre_x <= left + SIDE and top <= centre_y <= top + SIDE, ((left, top), face)


def test_fill_with_smart_gravity_uses_it_after_the_resize(client: httpx.Client,
                                                         start_server: Callable[..., AppServer],
                                                         portrait_url: str) -> None:
    """The README's example: a 400x100 banner cut from the portrait resized to 400x400 holds the
    face from its top edge down past the eyes and nose (the face box's upper 60%)."""
    advanced = start_server(IMGPROXY_SMART_CROP_ADVANCED="true")
    face = face_box(client, advanced, portrait_url)
    banner = decode(client.get(f"{advanced.base}/unsafe/rs:fill:400:100/g:sm/f:png/plain/{portrait_url}").content)
    assert (banner.width, banner.height) == (400, 100)
    resized = decode(client.get(f"{advanced.base}/unsafe/rs:fit:400:400/f:png/plain/{portrait_url}").content)
    errors = [(np.abs(pixels(resized)[top:top + 100].astype(int) - pixels(banner).astype(int)).mean(), top)
              for top in range(0, 301)]
    top = min(errors)[1]
    scale = 400 / 512
    assert top <= face[1] * scale and (face[1] + (face[3] - face[1]) * 0.6) * scale <= top + 100, (top, face)


def test_plain_smart_crop_cuts_libvips_window_and_moves_detections(
        client: httpx.Client, server: AppServer, origin: Origin, portrait: pyvips.Image) -> None:
    """Without the setting ``g:sm`` cuts the window libvips' ``smartcrop(attention)`` cuts, and a
    detection effect after it uses the detections made before the cut, moved with the image: one
    inference, and only the face's pixels change."""
    # Bytes of their own, so that no other test's detection of the portrait is cached for them.
    url = origin.add("/smart/astronaut-effects.png", bytes(portrait.pngsave_buffer(compression=1)))
    _, found = portrait.smartcrop(400, 400, interesting="attention", attention_x=True, attention_y=True)
    expected = (min(max(0, found["attention_x"] - 200), 112), min(max(0, found["attention_y"] - 200), 112))
    plain = decode(client.get(f"{server.base}/unsafe/c:400:400:sm/f:png/plain/{url}").content)
    assert (plain.width, plain.height) == (400, 400) and located(plain, portrait) == expected

    objects = server.services.processor.deps.objects
    before = objects.inferences
    blurred = decode(client.get(f"{server.base}/unsafe/c:400:400:sm/bd:20:face/f:png/plain/{url}").content)
    assert objects.inferences == before + 1  # on the whole image; none again on the cut
    left, top, right, bottom = face_box(client, server, url)
    box = (int(left) - expected[0], int(top) - expected[1], int(right) - expected[0] + 1, int(bottom) - expected[1] + 1)
    assert min(box[:2]) >= 0 and max(box[2:]) <= 400, box  # the face is in the window
    changed = np.abs(pixels(blurred).astype(int) - pixels(plain).astype(int)).max(axis=2) > 0
    inside = np.zeros_like(changed)
    inside[box[1]:box[3], box[0]:box[2]] = True
    assert changed[inside].mean() > 0.5 and not changed[~inside].any()
