"""``gradient``: transparent at ``start`` to the colour at ``opacity`` at ``stop``, along the
direction; one side changes, the other does not."""

from __future__ import annotations

import numpy as np
import pytest

from imgproxy_py.imaging.steps.gradient import gradient
from tests.steps.support import array, context, coordinates, solid

GREY = (128, 128, 128)


def run(url_options: str, size: tuple[int, int] = (100, 80), rgb: tuple[int, ...] = GREY) -> np.ndarray:
    c = context(solid(*size, rgb), url_options)
    gradient(c)
    assert (c.img.width, c.img.height) == size
    return array(c.img).astype(int)


@pytest.mark.parametrize(("direction", "clear", "dark"), [
    ("", (0, slice(None)), (-1, slice(None))),  # down by default
    (":down", (0, slice(None)), (-1, slice(None))),
    (":0", (0, slice(None)), (-1, slice(None))),
    (":up", (-1, slice(None)), (0, slice(None))),
    (":180", (-1, slice(None)), (0, slice(None))),
    (":right", (slice(None), 0), (slice(None), -1)),
    (":270", (slice(None), 0), (slice(None), -1)),
    (":left", (slice(None), -1), (slice(None), 0)),
    (":90", (slice(None), -1), (slice(None), 0)),
    (":-90", (slice(None), 0), (slice(None), -1)),  # = 270
])
def test_direction(direction: str, clear: tuple[object, object], dark: tuple[object, object]) -> None:
    out = run(f"gr:1:000{direction}")
    assert out[clear].mean() > 120  # the transparent side keeps (almost) its grey
    assert out[dark].mean() < 8  # the opaque side is (almost) black


def test_opacity_and_colour() -> None:
    out = run("gr:0.5:ff0000:down:0:0.5")
    assert list(out[-1, 0]) == [192, 64, 64]  # past stop: half red over the grey
    assert np.abs(out[0, 0] - 128).max() <= 1  # the first row's centre is just past start
    middle = out[20, 0]
    assert 128 < middle[0] < 192 and 64 < middle[1] < 128


def test_start_and_stop() -> None:
    out = run("gr:1:000:down:0.5:1")
    assert (out[:40] == 128).all()  # before start: untouched
    assert out[79, 0, 0] < 5
    hard = run("gr:1:000:down:0.5:0.5")
    assert (hard[:40] == 128).all() and (hard[40:] == 0).all()


def test_diagonal_corners() -> None:
    out = run("gr:1:000:225:0.1:0.9")  # between up (180) and right (270)
    assert out[-1, 0].mean() == 128 and out[0, -1].mean() == 0


def test_transparent_image_gets_the_layer() -> None:
    out = run("gr:1:00ff00", rgb=(10, 20, 30, 0))
    assert out[0, 0, 3] < 5 and list(out[-1, 0]) == [0, 255, 0, 255]


def test_off() -> None:
    image = coordinates(16, 16)
    c = context(image, "gr:0:ff0000")
    gradient(c)
    assert c.img is image
