"""Colour adjustments through the server, on a real photo."""

from __future__ import annotations

import httpx
import numpy as np
import pyvips

from tests.servers import AppServer


def rgb(data: bytes) -> np.ndarray:
    img = pyvips.Image.new_from_buffer(data, "")
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, img.bands))


def mean_luma(pixels: np.ndarray) -> float:
    return float((pixels[..., :3].astype(float) @ [0.2126, 0.7152, 0.0722]).mean())


def test_brightness_raises_and_lowers_mean_luma(server: AppServer, client: httpx.Client) -> None:
    base = f"{server.base}/unsafe/rs:fit:200:200"
    plain, lighter, darker = (client.get(f"{base}{extra}/plain/local:///core/hopper.png@png")
                              for extra in ("", "/br:40", "/brightness:-40"))
    assert plain.status_code == lighter.status_code == darker.status_code == 200
    before = rgb(plain.content).astype(int)
    # Every channel moves by 40, clipped at 0 and 255: the mean luma moves by that, less what clips.
    for response, offset in ((lighter, 40), (darker, -40)):
        expected = mean_luma(np.clip(before + offset, 0, 255))
        assert abs(mean_luma(rgb(response.content)) - expected) < 1.0
    assert mean_luma(rgb(lighter.content)) - mean_luma(before) > 30
    assert client.get(f"{base}/br:300/plain/local:///core/hopper.png").status_code == 404


def test_brightness_keeps_the_size(server: AppServer, client: httpx.Client) -> None:
    response = client.get(f"{server.base}/unsafe/rs:fill:120:80/br:-255/plain/local:///core/hopper.png@png")
    img = pyvips.Image.new_from_buffer(response.content, "")
    assert (img.width, img.height) == (120, 80)
    assert np.asarray(img.colourspace("b-w").avg()) < 1.0  # -255 leaves black
