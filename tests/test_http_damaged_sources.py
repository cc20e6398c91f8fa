"""Sources whose pixel data is cut short or damaged while their header reads (an upload that
broke off, a flipped byte in transit): rendered from what they hold, as imgproxy renders them
with libvips' default tolerance, where thumbor (Pillow) and sharp refuse them.  A file whose
header or structure can't be read stays a 422."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import pyvips
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from skimage import data as skdata
from skimage.metrics import structural_similarity

from tests.conftest import asset, decode, rgb_image
from tests.servers import AppServer, Origin

PHOTO = rgb_image(skdata.astronaut())  # 512x512, a real photo


def grey(img: pyvips.Image) -> np.ndarray:
    flat = img.flatten() if img.hasalpha() else img
    return np.asarray(flat.colourspace("b-w").extract_band(0).numpy(), dtype=np.float64)


def encoded(suffix: str, **options: object) -> bytes:
    return bytes(PHOTO.write_to_buffer(suffix, **options))


def cut(blob: bytes, fraction: float) -> bytes:
    return blob[: int(len(blob) * fraction)]


@pytest.fixture(scope="module")
def damaged(origin: Origin) -> Origin:
    origin.add("/d/cut.jpg", cut(encoded(".jpg", Q=90), 0.5))
    origin.add("/d/cut-progressive.jpg", cut(encoded(".jpg", Q=90, interlace=True), 0.5))
    origin.add("/d/cut.png", cut(encoded(".png"), 0.5))
    origin.add("/d/cut.gif", cut(asset("iss634.gif").read_bytes(), 0.5))
    origin.add("/d/cut-header.jpg", encoded(".jpg", Q=90)[:40])
    origin.add("/d/cut.webp", cut(encoded(".webp", Q=90), 0.5))
    origin.add("/d/cut.tif", cut(encoded(".tif"), 0.5))
    return origin


def get(client: httpx.Client, server: AppServer, origin: Origin, options: str, path: str) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/{options}/plain/{origin.url(path)}")


def test_a_cut_jpeg_renders_its_first_half(client: httpx.Client, server: AppServer, damaged: Origin) -> None:
    response = get(client, server, damaged, "rs:fit:256:256", "/d/cut.jpg@png")
    assert response.status_code == 200
    result = grey(decode(response.content))
    assert result.shape == (256, 256)
    expected = grey(PHOTO.resize(0.5, kernel="lanczos3"))
    top = slice(0, 96)  # well inside the half the file still holds
    assert structural_similarity(result[top], expected[top], data_range=255) > 0.9
    assert result[-48:].std() < 2  # libjpeg fills what is missing with one flat colour


def test_a_cut_progressive_jpeg_renders_a_coarser_whole(client: httpx.Client, server: AppServer,
                                                        damaged: Origin) -> None:
    response = get(client, server, damaged, "rs:fit:128:128", "/d/cut-progressive.jpg@png")
    assert response.status_code == 200
    result = grey(decode(response.content))
    expected = grey(PHOTO.resize(0.25, kernel="lanczos3"))
    assert result.shape == expected.shape
    assert structural_similarity(result, expected, data_range=255) > 0.6  # the early scans cover it all


def test_a_cut_png_renders_its_first_half(client: httpx.Client, server: AppServer, damaged: Origin) -> None:
    response = get(client, server, damaged, "rs:fit:256:256/f:png", "/d/cut.png")
    assert response.status_code == 200
    result = grey(decode(response.content))
    expected = grey(PHOTO.resize(0.5, kernel="lanczos3"))
    assert result.shape == expected.shape
    assert structural_similarity(result[:96], expected[:96], data_range=255) > 0.9
    assert result[-48:].std() < 2


def test_a_cut_gif_renders_its_first_frame(client: httpx.Client, server: AppServer, damaged: Origin) -> None:
    # IMGPROXY_MAX_ANIMATION_FRAMES is 1 by default, as imgproxy's: the first frame of 42, which
    # the first half of the file holds.
    whole = decode(client.get(f"{server.base}/unsafe/rs:fit:100:100/f:png/plain/local:///core/iss634.gif").content)
    response = get(client, server, damaged, "rs:fit:100:100/f:png", "/d/cut.gif")
    assert response.status_code == 200
    result = decode(response.content)
    assert (result.width, result.height) == (whole.width, whole.height)
    assert structural_similarity(grey(result), grey(whole), data_range=255) > 0.99


def test_a_damaged_png_stream_renders(client: httpx.Client, server: AppServer) -> None:
    # Pillow's test file with a corrupt zlib stream in its IDAT: libpng decodes up to the damage.
    response = client.get(f"{server.base}/unsafe/rs:fit:64:64/f:png/plain/local:///core/broken_data_stream.png")
    assert response.status_code == 200
    result = decode(response.content)
    assert (result.width, result.height) == (64, 64)


def test_info_reads_a_cut_file(client: httpx.Client, server: AppServer, damaged: Origin) -> None:
    response = client.get(f"{server.base}/info/unsafe/plain/{damaged.url('/d/cut.jpg')}")
    assert response.status_code == 200
    assert (response.json()["width"], response.json()["height"]) == (512, 512)


@pytest.mark.parametrize("path", ["/d/cut-header.jpg", "/d/cut.webp", "/d/cut.tif"])
def test_what_libvips_can_not_read_is_422(client: httpx.Client, server: AppServer, damaged: Origin,
                                          path: str) -> None:
    # A header cut short, and formats whose decoders refuse a short file (libwebp, libtiff).
    assert get(client, server, damaged, "rs:fit:64:64", path).status_code == 422


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                  HealthCheck.too_slow])
@given(suffix=st.sampled_from([".jpg", ".png", ".gif", ".webp"]), fraction=st.floats(0.0, 1.0),
       flips=st.lists(st.tuples(st.floats(0.0, 1.0), st.integers(0, 255)), max_size=6))
def test_any_cut_or_flip_is_an_image_of_the_right_size_or_422(client: httpx.Client, server: AppServer,
                                                              origin: Origin, suffix: str, fraction: float,
                                                              flips: list[tuple[float, int]]) -> None:
    blob = bytearray(encoded(suffix))
    for where, value in flips:
        blob[min(int(where * len(blob)), len(blob) - 1)] = value
    url = origin.add(f"/d/any{suffix}", cut(bytes(blob), fraction) or b"\0")
    response = client.get(f"{server.base}/unsafe/rs:fit:128:128/plain/{url}@png")
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200:
        result = decode(response.content)
        assert max(result.width, result.height) == 128
