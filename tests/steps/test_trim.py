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


def test_an_svg_is_rendered_for_trim_not_read_from_its_first_decode() -> None:
    """The first decode of an SVG only describes it (``lazy_vector``): trim renders it (in a
    worker the deadline can stop) and trims that."""
    from imgproxy_py.formats import ImageFormat
    from imgproxy_py.imaging.codecs import load as loader

    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="100" height="80">'
           b'<rect width="100" height="80" fill="white"/><rect x="20" y="10" width="30" height="40" fill="red"/></svg>')
    lazy = loader.load(svg, ImageFormat.SVG, lazy_vector=True)
    # Its pixels drawn black where the first decode is read instead: trim would find other edges.
    c = context(lazy.copy(interpretation="srgb") * 0, "t:10", source=(svg, ImageFormat.SVG), is_vector=True)
    trim(c)
    assert (c.img.width, c.img.height) == (30, 40)
    assert c.img(15, 20)[:3] == [255, 0, 0]
