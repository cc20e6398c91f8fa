"""Output geometry through the real server: every resizing type, gravity and crop."""

from __future__ import annotations

import httpx
import numpy as np
import pytest
import pyvips

from tests.conftest import decode
from tests.servers import AppServer, Origin


@pytest.fixture(scope="module")
def coffee_url(origin: Origin, landscape_jpeg: bytes) -> str:
    return origin.add("/resize/coffee.jpg", landscape_jpeg)  # 600x400


def fetch(client: httpx.Client, server: AppServer, options: str, source: str) -> httpx.Response:
    return client.get(f"{server.base}/unsafe/{options}/plain/{source}")


@pytest.mark.parametrize(
    ("options", "size"),
    [
        ("rs:fit:300:300", (300, 200)),
        ("rs:fill:300:300", (300, 300)),
        ("rs:fill-down:300:300", (300, 300)),
        ("rs:fill-down:1000:500", (600, 300)),
        ("rs:force:300:300", (300, 300)),
        ("rs:auto:300:100", (300, 100)),
        ("rs:auto:100:300", (100, 67)),
        ("rs:fit:1200:1200", (600, 400)),
        ("rs:fit:1200:1200:1", (1200, 800)),
        ("rs:fit:1200:1200:0:1", (1200, 1200)),
        ("rs:fill:1200:1200:0:1:no", (1200, 1200)),
        ("rs:fill:300:300/dpr:2", (400, 400)),  # DPR never enlarges past the source
        ("rs:fill:100:100/dpr:2", (200, 200)),
        ("rs:fit:400:400/dpr:2", (600, 400)),
        # min sizes scale up, then the result is cropped to the asked size (imgproxy's rule)
        ("rs:fit:300:300/mw:900", (300, 300)),
        ("h:100/mw:300", (300, 100)),
        ("w:300/mh:300", (300, 300)),
        ("mw:900", (900, 600)),
        ("rs:fit:300:300/z:0.5", (150, 100)),
        ("w:300", (300, 200)),
        ("h:100", (150, 100)),
        ("c:200:200", (200, 200)),
        ("c:0.5:0.5/rs:fit:100:100", (100, 67)),
        ("rs:fit:300:300/exar:1", (300, 300)),
        ("rs:fill:300:300/exar:1", (300, 300)),
        ("rs:fit:300:300/pd:10", (320, 220)),
        ("rs:fit:300:300/pd:10:20:30:40/dpr:1", (360, 240)),
        ("rs:fit:300:300/rot:90", (200, 300)),
        ("rs:fit:300:300/rot:180/fl:1:1", (300, 200)),
        ("rs:fit:300:300/-/rs:fill:100:100", (100, 100)),
        ("rs:fill:300:300/-/c:150:150", (150, 150)),
    ],
)
def test_output_size(client: httpx.Client, server: AppServer, coffee_url: str, options: str,
                     size: tuple[int, int]) -> None:
    response = fetch(client, server, options, coffee_url)
    assert response.status_code == 200, response.text
    img = decode(response.content)
    assert (img.width, img.height) == size


def region_error(result: pyvips.Image, expected: pyvips.Image) -> float:
    a = np.ndarray(buffer=result.colourspace("srgb").extract_band(0, n=3).write_to_memory(),
                   dtype=np.uint8, shape=[result.height, result.width, 3]).astype(float)
    b = np.ndarray(buffer=expected.colourspace("srgb").extract_band(0, n=3).write_to_memory(),
                   dtype=np.uint8, shape=[expected.height, expected.width, 3]).astype(float)
    return float(np.abs(a - b).mean())


@pytest.mark.parametrize(
    ("options", "left", "top"),
    [
        ("rs:fill:100:400/g:we", 0, 0),
        ("rs:fill:100:400/g:ea", 500, 0),
        ("rs:fill:100:400/g:ce", 250, 0),
        ("rs:fill:100:400/g:we:50:0", 50, 0),
        ("rs:fill:100:400/g:ce:0.25:0", 400, 0),
        ("rs:fill:100:400/g:fp:0.9:0.5", 490, 0),
        ("rs:fill:100:400/g:fp:1:0.5", 500, 0),
        ("rs:fill:600:100/g:no", 0, 0),
        ("rs:fill:600:100/g:so", 0, 300),
        ("rs:fill:600:100/g:soea", 0, 300),
        ("c:100:100:nowe:10:20", 10, 20),
        ("c:100:100:soea", 500, 300),
    ],
)
def test_gravity_picks_the_region(client: httpx.Client, server: AppServer, coffee_url: str,
                                  landscape_jpeg: bytes, options: str, left: int, top: int) -> None:
    result = decode(fetch(client, server, options, coffee_url).content)
    source = pyvips.Image.new_from_buffer(landscape_jpeg, "")
    expected = source.crop(left, top, result.width, result.height)
    error = region_error(result, expected)
    assert error < 8, f"{options}: mean abs error {error:.1f}"
    # And the test can fail: a region 100 px away differs clearly.
    shifted_left = min(max(0, left + (100 if left < 300 else -100)), source.width - result.width)
    if shifted_left != left:
        assert region_error(result, source.crop(shifted_left, top, result.width, result.height)) > error + 3


def test_smart_crop_keeps_the_salient_object(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    # A real object (the astronaut photo, 200px) on the right of a flat grey canvas.
    from skimage import data

    from tests.conftest import rgb_image

    canvas = pyvips.Image.black(800, 300, bands=3) + 128
    subject = rgb_image(data.astronaut()).resize(200 / 512)
    composed = canvas.insert(subject, 560, 50).cast("uchar").copy(interpretation="srgb")
    url = origin.add("/resize/smart.jpg", bytes(composed.jpegsave_buffer(Q=92)))
    result = decode(fetch(client, server, "rs:fill:300:300/g:sm", url).content)
    expected = composed.crop(500, 0, 300, 300)
    assert (result.width, result.height) == (300, 300)
    assert region_error(result, expected) < 8
    assert region_error(result, composed.crop(250, 0, 300, 300)) > 20


@pytest.mark.parametrize("options", ["z:0.01", "rs:fit:1:1", "z:0.01/aq:dssim/f:jpg", "rs:fit:1:1/f:png"])
@pytest.mark.parametrize("saved", [".png", ".png[palette]", ".jpg"])
def test_a_grey_source_down_to_one_pixel(client: httpx.Client, server: AppServer, origin: Origin,
                                         options: str, saved: str) -> None:
    """A one-band image of one pixel is a NumPy array without axes to pyvips: sharpening,
    autoquality and the palette count still take it (they answered 500)."""
    grey = pyvips.Image.gaussnoise(64, 64, mean=128, sigma=40).cast("uchar").copy(interpretation="b-w")
    url = origin.add(f"/resize/grey-{saved.strip('.[]')}", grey.write_to_buffer(saved))
    response = fetch(client, server, options, url)
    assert response.status_code == 200
    assert (decode(response.content).width, decode(response.content).height) == (1, 1)
