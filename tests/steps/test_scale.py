"""``scale``: the image resized by the factors ``calc_params`` worked out."""

from __future__ import annotations

import numpy as np
import pytest

from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.steps.scale import scale
from tests.sharpness_support import photo
from tests.steps.support import FakeDetection, array, context, coordinates, face, with_detector


@pytest.mark.parametrize(
    ("url_options", "size"),
    [
        ("rs:fit:300:300", (300, 200)),
        ("rs:force:300:100", (300, 100)),
        ("rs:fill:300:300", (450, 300)),
        ("rs:fit:1200:1200:1", (1200, 800)),
        # Scaled before rotate_and_flip: the stored image, sides not yet swapped.
        ("rs:fit:300:300/rot:90", (300, 200)),
        ("rs:force:100:300/rot:90", (300, 100)),
    ],
)
def test_scaled_size(url_options: str, size: tuple[int, int]) -> None:
    c = context(coordinates(600, 400), url_options)
    scale(c)
    assert (c.img.width, c.img.height) == size


def test_no_scale_keeps_the_image() -> None:
    image = coordinates(600, 400)
    c = context(image, "w:600")
    scale(c)
    assert c.img is image


def test_linear_light_gives_the_same_size() -> None:
    c = context(coordinates(600, 400), "rs:fit:300:300", settings=ProcessingSettings(use_linear_colorspace=True))
    scale(c)
    assert (c.img.width, c.img.height, c.img.bands) == (300, 200, 3)


def test_linear_light_keeps_the_images_own_space() -> None:
    """Back from linear light to the space the image came in, as imgproxy does: RGB16 keeps
    its 16 bits (preserve_hdr), grey stays one band."""
    linear = ProcessingSettings(use_linear_colorspace=True)
    for space, expected in (("rgb16", ("rgb16", "ushort", 3)), ("b-w", ("b-w", "uchar", 1))):
        c = context(coordinates(600, 400).colourspace(space), "rs:fit:300:300", settings=linear)
        scale(c)
        assert (c.img.interpretation, c.img.format, c.img.bands) == expected, space


def test_detections_scale_along() -> None:
    c = context(coordinates(600, 400), "rs:fit:300:300", deps=with_detector(FakeDetection(())))
    c.detections = (face(100, 100, 50, 50),)
    scale(c)
    assert c.detections[0].box.left == pytest.approx(50) and c.detections[0].box.width == pytest.approx(25)


# libvips enlarges with an interpolator: bicubic for every kernel past linear.
@pytest.mark.parametrize(("url_options", "distinct"), [("rs:fit:47:47", 5), ("rs:fit:218:218:1", 3)])
def test_resizing_algorithms(url_options: str, distinct: int) -> None:
    # Nearest neighbour only copies source pixels; the other kernels blend them, each its own way.
    source = photo()
    colours = set(map(tuple, array(source).reshape(-1, 3)))
    results = {}
    for algorithm in ("nearest", "linear", "cubic", "lanczos2", "lanczos3"):
        c = context(source, f"{url_options}/ra:{algorithm}")
        scale(c)
        assert (c.img.width, c.img.height) == (c.scaled_width, c.scaled_height)
        results[algorithm] = array(c.img)
        new = sum(tuple(p) not in colours for p in results[algorithm].reshape(-1, 3))
        assert (new == 0) == (algorithm == "nearest")
    assert len({r.tobytes() for r in results.values()}) == distinct
    default = context(source, url_options)
    scale(default)
    assert np.array_equal(array(default.img), results["lanczos3"])


def test_opaque_alpha_resizes_as_without_it() -> None:
    """As imgproxy's resize: premultiplied, back to 8 bits, resized, unpremultiplied.  An
    opaque alpha channel then changes nothing in the colours, to the last bit."""
    source = photo()
    with_alpha = source.bandjoin(255)
    results = []
    for image in (source, with_alpha):
        c = context(image, "rs:fit:47:47")
        scale(c)
        results.append(array(c.img)[:, :, :3])
    assert np.array_equal(results[0], results[1])
