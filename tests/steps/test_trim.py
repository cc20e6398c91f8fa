"""``trim``: the border of the background colour goes, and the sizes are worked out again."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy_py.imaging.steps.trim import trim
from tests.steps.support import context, solid


def framed(box: tuple[int, int, int, int] = (20, 10, 30, 40)) -> pyvips.Image:
    """A red box on a 100x80 white background."""
    left, top, width, height = box
    return solid(100, 80, (255, 255, 255)).draw_rect([255, 0, 0], left, top, width, height, fill=True)


@pytest.mark.parametrize(
    ("url_options", "size"),
    [
        ("t:10", (30, 40)),
        ("t:10:FFFFFF", (30, 40)),  # the colour given, not read from the corner
        ("t:10::1", (60, 40)),  # equal horizontal: as much off the right as off the left (20)
        ("t:10::0:1", (30, 60)),  # equal vertical: 10 off the top and the bottom
        ("t:10::1:1", (60, 60)),
    ],
)
def test_trimmed_size(url_options: str, size: tuple[int, int]) -> None:
    c = context(framed(), url_options)
    trim(c)
    assert (c.img.width, c.img.height) == size
    assert (c.src_width, c.src_height) == size  # sized again from the trimmed image
    assert not c.full_view and c.source_data is None  # shrink-on-load can't re-decode it any more


def test_sizes_follow_the_trimmed_image() -> None:
    c = context(framed(), "t:10/rs:fit:15:15")
    trim(c)
    assert (c.scaled_width, c.scaled_height) == (11, 15)


def test_uniform_and_untrimmed_images_stay() -> None:
    plain = solid(100, 80, (255, 255, 255))
    c = context(plain, "t:10")
    trim(c)
    assert (c.img.width, c.img.height) == (100, 80)
    image = framed()
    c = context(image)
    trim(c)
    assert c.img is image
