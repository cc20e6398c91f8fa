"""``scale_on_load``: the source decoded again at a smaller size where its decoder can skip
detail (the format record's ``shrink_on_load``), the scale left for ``scale`` adjusted."""

from __future__ import annotations

import pytest
import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs import load as loader
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.steps.crop import crop
from imgproxy_py.imaging.steps.scale import scale
from imgproxy_py.imaging.steps.scale_on_load import scale_on_load
from tests.steps.support import context, coordinates

F = ImageFormat
SVG = (b'<svg xmlns="http://www.w3.org/2000/svg" width="80" height="60">'
       b'<rect width="80" height="60" fill="red"/></svg>')


def encoded(fmt: ImageFormat) -> bytes:
    if fmt is F.SVG:
        return SVG
    img = coordinates(800, 600)
    return bytes(img.write_to_buffer(f".{fmt.extension}"))


@pytest.mark.parametrize(
    ("fmt", "url_options", "decoded", "result"),
    [
        (F.JPEG, "rs:fit:100:100", (100, 75), (100, 75)),  # DCT by 8
        (F.JPEG, "rs:fit:300:300", (400, 300), (300, 225)),  # by 2, the rest by scale
        (F.JPEG, "rs:fit:700:700", (800, 600), (700, 525)),  # less than 2: no re-decode
        (F.JPEG, "c:400:300/rs:fit:100:100", (200, 150), (100, 75)),  # by 4: the crop shrinks along
        (F.WEBP, "rs:fit:300:300", (300, 225), (300, 225)),  # any scale
        (F.PNG, "rs:fit:100:100", (800, 600), (100, 75)),  # PNG's decoder can't skip
        (F.SVG, "rs:fit:160:160", (160, 120), (160, 120)),  # vector: rendered larger, too
        (F.SVG, "rs:fit:40:40", (40, 30), (40, 30)),
    ],
)
def test_decoded_size(fmt: ImageFormat, url_options: str, decoded: tuple[int, int], result: tuple[int, int]) -> None:
    data = encoded(fmt)
    c = context(loader.load(data, fmt), url_options, source=(data, fmt), is_vector=fmt.is_vector)
    scale_on_load(c)
    assert (c.img.width, c.img.height) == decoded
    crop(c)
    scale(c)
    assert (c.img.width, c.img.height) == result


def test_off_when_disabled_or_no_longer_the_source() -> None:
    data = encoded(F.JPEG)
    off = ProcessingSettings(disable_shrink_on_load=True)
    c = context(loader.load(data, F.JPEG), "rs:fit:100:100", source=(data, F.JPEG), settings=off)
    scale_on_load(c)
    assert c.img.width == 800
    c = context(loader.load(data, F.JPEG), "rs:fit:100:100")  # trimmed, or a video frame: no source bytes
    scale_on_load(c)
    assert c.img.width == 800


def test_vector_sources_render_at_size_even_when_disabled() -> None:
    off = ProcessingSettings(disable_shrink_on_load=True)
    c = context(loader.load(SVG, F.SVG), "rs:fit:160:160", source=(SVG, F.SVG), settings=off, is_vector=True)
    scale_on_load(c)
    assert isinstance(c.img, pyvips.Image) and (c.img.width, c.img.height) == (160, 120)


def test_jpeg_decoded_whole_with_the_same_pixels() -> None:
    """The re-decode reads every pixel at once: a JPEG comes from the whole-image decoder
    (``codecs.jpeg``), pixel for pixel what libvips' own decode at that factor gives."""
    data = encoded(F.JPEG)
    c = context(loader.load(data, F.JPEG), "rs:fit:100:100", source=(data, F.JPEG))
    scale_on_load(c)
    assert "vips-sequential" not in c.img.get_fields()
    libvips = loader.load(data, F.JPEG, shrink=8, access="sequential")
    assert c.img.numpy().tobytes() == libvips.numpy().tobytes()
