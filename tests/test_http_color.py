"""Colour and tone options through the server, on a real photo (``hopper.png``, 128x128 RGB):
each effect measured on the pixels that come back, refused forms answered 404 naming the
problem."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import pyvips

from tests.servers import AppServer, Origin

PHOTO = "plain/local:///core/hopper.png@png"
Pixels = npt.NDArray[np.float64]


def pixels(response: httpx.Response) -> Pixels:
    assert response.status_code == 200, response.text
    img = pyvips.Image.new_from_buffer(response.content, "")
    raw = np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, img.bands))
    return raw.astype(float)


def luma(p: Pixels) -> Pixels:
    return p[..., :3] @ [0.2126, 0.7152, 0.0722]


def chroma(p: Pixels) -> Pixels:
    return np.ptp(p[..., :3], axis=2)


def fetch(server: AppServer, client: httpx.Client, options: str, source: str = PHOTO) -> Pixels:
    return pixels(client.get(f"{server.base}/unsafe/rs:fit:96:96/{options}/{source}"))


@pytest.fixture(scope="module")
def plain(server: AppServer, client: httpx.Client) -> Pixels:
    return fetch(server, client, "cb:plain")


def test_brightness_through_adjust_raises_mean_luma(server: AppServer, client: httpx.Client, plain: Pixels) -> None:
    assert luma(fetch(server, client, "a:40")).mean() - luma(plain).mean() > 30
    # Darkening clips at black, which takes part of the 40 from the darkest pixels: more of it on
    # the downscaled photo's crisper edges (imgproxy Pro's default unsharp masking).
    assert luma(fetch(server, client, "adjust:-40::")).mean() - luma(plain).mean() < -25


@pytest.mark.parametrize("options", ["co:1.6", "contrast:1.6", "a::1.6"])
def test_contrast_widens_the_luma_spread(server: AppServer, client: httpx.Client, plain: Pixels,
                                         options: str) -> None:
    assert luma(fetch(server, client, options)).std() > 1.15 * luma(plain).std()  # less what clips
    assert luma(fetch(server, client, "co:0.5")).std() < 0.6 * luma(plain).std()
    flat = fetch(server, client, "co:0")
    assert np.ptp(flat) <= 1  # every channel at mid-grey


def test_saturation(server: AppServer, client: httpx.Client, plain: Pixels) -> None:
    grey = fetch(server, client, "sa:0")
    assert chroma(grey).max() <= 1 < chroma(plain).mean()
    assert abs(luma(grey).mean() - luma(plain).mean()) < 1  # lightness kept
    assert chroma(fetch(server, client, "saturation:2")).mean() > 1.5 * chroma(plain).mean()
    assert chroma(fetch(server, client, "a:::0.5")).mean() < 0.6 * chroma(plain).mean()


def test_monochrome(server: AppServer, client: httpx.Client, plain: Pixels) -> None:
    grey = fetch(server, client, "mc:1")
    assert chroma(grey).max() == 0  # equal channels
    assert np.abs(luma(grey) - luma(plain)).mean() < 1.5
    tinted = fetch(server, client, "monochrome:1:ff8000")
    r, g, b = (tinted[..., i].mean() for i in range(3))
    assert r > g > b  # orange
    assert abs(luma(tinted).mean() - luma(plain).mean()) < 3
    half = fetch(server, client, "mc:0.5")
    assert abs(chroma(half).mean() - chroma(plain).mean() / 2) < 1.5


def test_duotone_maps_dark_and_light_to_its_colours(server: AppServer, client: httpx.Client,
                                                    plain: Pixels) -> None:
    out = fetch(server, client, "dt:1:ff0000:0000ff")
    order = np.argsort(luma(plain).ravel())
    flat = out.reshape(-1, out.shape[2])
    darkest, lightest = flat[order[:200]].mean(axis=0), flat[order[-200:]].mean(axis=0)
    assert darkest[0] > 3 * darkest[2]  # the dark areas red
    assert lightest[2] > 3 * lightest[0]  # the light ones blue
    assert flat[:, 1].max() == 0  # nothing but red and blue
    assert np.array_equal(out, fetch(server, client, "duotone:1:f00:00f"))


@pytest.mark.parametrize(("options", "rgb", "opacity"), [
    ("col:0.4:00ff00", (0, 255, 0), 0.4), ("colorize:1:ff0000", (255, 0, 0), 1.0), ("col:0.25", (0, 0, 0), 0.25),
])
def test_colorize_moves_the_mean_toward_the_colour(server: AppServer, client: httpx.Client, plain: Pixels,
                                                   options: str, rgb: tuple[int, ...], opacity: float) -> None:
    out = fetch(server, client, options)
    expected = plain[..., :3].mean(axis=(0, 1)) * (1 - opacity) + np.array(rgb) * opacity
    assert np.abs(out[..., :3].mean(axis=(0, 1)) - expected).max() < 1


@pytest.mark.parametrize(("options", "dark", "kept"), [
    ("gr:1", np.s_[-1, :], np.s_[0, :]),
    ("gradient:1:000:up", np.s_[0, :], np.s_[-1, :]),
    ("gr:1:000:left", np.s_[:, 0], np.s_[:, -1]),
    ("gr:1:000:90", np.s_[:, 0], np.s_[:, -1]),
    ("gr:1:000:right:0:0.5", np.s_[:, -48:], np.s_[:, 0]),
])
def test_gradient_darkens_one_side_only(server: AppServer, client: httpx.Client, plain: Pixels,
                                        options: str, dark: tuple[object, ...], kept: tuple[object, ...]) -> None:
    out = fetch(server, client, options)
    assert out[dark].max() == 0
    assert np.abs(out[kept] - plain[kept]).max() <= 3


def test_gradient_colour_and_opacity(server: AppServer, client: httpx.Client, plain: Pixels) -> None:
    out = fetch(server, client, "gr:0.5:ff0000:down:0.5:0.5")
    top, bottom = out[:40], out[-40:]
    assert np.array_equal(top, plain[:40])
    expected = plain[-40:, :, :3] * 0.5 + np.array([255, 0, 0]) * 0.5
    assert np.abs(bottom[..., :3] - expected).max() <= 1


def test_background_alpha_makes_the_background_translucent(server: AppServer, client: httpx.Client) -> None:
    base = f"{server.base}/unsafe/rs:fit:96:48/ex:1/bg:ff0000"
    translucent = pixels(client.get(f"{base}/bga:0.5/{PHOTO}"))
    assert translucent.shape == (48, 96, 4)
    assert list(translucent[24, 2]) == [255, 0, 0, 128]  # the extended area: the background, half opaque
    assert translucent[24, 48, 3] == 255  # the photo stays opaque
    for alpha, expected in (("0", 0), ("0.25", 64)):
        assert pixels(client.get(f"{base}/background_alpha:{alpha}/{PHOTO}"))[24, 2, 3] == expected
    opaque = pixels(client.get(f"{base}/bga:1/{PHOTO}"))
    assert opaque.shape == (48, 96, 3) and list(opaque[24, 2]) == [255, 0, 0]
    # No alpha in JPEG: the background is laid on opaque, as without bga.
    jpeg = pixels(client.get(f"{base}/bga:0.5/plain/local:///core/hopper.png@jpg"))
    assert jpeg.shape[2] == 3 and jpeg[24, 2, 0] > 240 and jpeg[24, 2, 1] < 15


SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64">'
       b'<rect width="64" height="64" fill="#2040ff"/></svg>')


def test_a_translucent_background_picks_a_preferred_format_with_alpha(
        start_server: Callable[..., AppServer], origin: Origin, client: httpx.Client) -> None:
    # A rasterized SVG can't be written back as SVG: the first preferred format that can hold
    # what the result needs; an opaque background allows JPEG, a translucent one needs PNG.
    server = start_server(IMGPROXY_ALWAYS_RASTERIZE_SVG="true")
    source = "plain/" + origin.add("/color/square.svg", SVG, headers={"Content-Type": "image/svg+xml"})
    translucent = client.get(f"{server.base}/unsafe/rs:fit:96:48/ex:1/bg:ff0000/bga:0.5/{source}")
    opaque = client.get(f"{server.base}/unsafe/rs:fit:96:48/ex:1/bg:ff0000/{source}")
    assert translucent.headers["content-type"] == "image/png"
    assert list(pixels(translucent)[24, 2]) == [255, 0, 0, 128]
    assert opaque.headers["content-type"] == "image/jpeg"


def test_co_is_contrast_and_with_classes_crop_objects(server: AppServer, client: httpx.Client) -> None:
    # imgproxy's docs write co for both: one argument is contrast, a class list crop_objects.
    portrait = "plain/local:///detection/hopper.jpg@png"  # the face: about x 40-87, y 25-78
    contrast = pixels(client.get(f"{server.base}/unsafe/co:1.2/{portrait}"))
    assert contrast.shape[:2] == (128, 128)
    cropped = client.get(f"{server.base}/unsafe/co:1.2:face/{portrait}")
    height, width = pixels(cropped).shape[:2]
    assert 45 <= width <= 80 and 45 <= height <= 80
    for spelling in ("c_obj:1.2:face", "crop_objects:1.2:face", "cob:1.2:face"):
        assert client.get(f"{server.base}/unsafe/{spelling}/{portrait}").content == cropped.content


@pytest.mark.parametrize(("options", "named"), [
    ("a:300", "brightness"), ("a::-1", "contrast"), ("co:x", "contrast"), ("sa:-1", "saturation"),
    ("mc:2", "monochrome"), ("mc:1:red", "monochrome"), ("dt:1:fff:12", "duotone"), ("col:1.5", "colorize"),
    ("col:0.5:f00:1:2", "colorize"), ("gr:1::sideways", "gradient"), ("gr:1:::2", "gradient"),
    ("bga:2", "background_alpha"),
])
def test_refused_forms_are_404_naming_the_problem(server: AppServer, client: httpx.Client, options: str,
                                                  named: str) -> None:
    response = client.get(f"{server.base}/unsafe/{options}/{PHOTO}")
    assert response.status_code == 404
    assert named in response.text
