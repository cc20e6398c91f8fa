"""IMGPROXY_PNG_UNLIMITED, IMGPROXY_SVG_UNLIMITED, IMGPROXY_TIFF_UNLIMITED: libvips' loaders keep
their safety limits unless the setting lifts them, as in imgproxy.  The limits met here are the
ones real files meet: an SVG with a large embedded photo (librsvg refuses XML nodes over 10 MB),
a TIFF written as one large compressed strip (libtiff works within 50 MB), a PNG with many text
chunks (libvips keeps the first 50)."""

from __future__ import annotations

import base64
import io
import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyvips
import tifffile

from imgproxy_py.config import read_config
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs.load import load
from tests.conftest import decode
from tests.servers import AppServer


def noise(height: int, width: int) -> np.ndarray:
    return np.random.default_rng(7).integers(0, 256, (height, width, 3), dtype=np.uint8)


def svg_with_embedded_photo() -> bytes:
    """A 200x100 red drawing with a 2000x2000 PNG embedded as a 17 MB data: URI on its right half."""
    png = pyvips.Image.new_from_array(noise(2000, 2000), interpretation="srgb").pngsave_buffer(compression=1)
    href = b"data:image/png;base64," + base64.b64encode(png)
    assert len(href) > 10 * 2**20
    return (b'<svg xmlns="http://www.w3.org/2000/svg" width="200" height="100">'
            b'<rect width="200" height="100" fill="red"/>'
            b'<image x="100" width="100" height="100" href="' + href + b'"/></svg>')


def tiff_in_one_strip() -> bytes:
    """A 6000x3000 deflated TIFF in a single 54 MB strip: libtiff needs more than 50 MB to read it."""
    out = io.BytesIO()
    tifffile.imwrite(out, noise(3000, 6000), compression="zlib", compressionargs={"level": 1}, rowsperstrip=3000)
    return bytes(out.getvalue())


def png_with_text_chunks(count: int) -> bytes:
    png = bytes(pyvips.Image.black(8, 8).cast("uchar").pngsave_buffer())

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    after_header = 8 + 25  # the signature and IHDR
    texts = b"".join(chunk(b"tEXt", b"note%d\x00text %d" % (i, i)) for i in range(count))
    return png[:after_header] + texts + png[after_header:]


def test_settings_are_read() -> None:
    config, problems = read_config({"IMGPROXY_PNG_UNLIMITED": "true", "IMGPROXY_TIFF_UNLIMITED": "1"})
    assert problems == []
    assert config.vips.unlimited == {ImageFormat.PNG, ImageFormat.TIFF}
    assert read_config({})[0].vips.unlimited == frozenset()


def test_png_text_chunks_past_fifty_only_when_unlimited() -> None:
    data = png_with_text_chunks(80)

    def comments(unlimited: frozenset[ImageFormat]) -> int:
        img = load(data, ImageFormat.PNG, unlimited=unlimited)
        return sum(name.startswith("png-comment-") for name in img.get_fields())

    assert comments(frozenset()) == 50
    assert comments(frozenset({ImageFormat.PNG})) == 80
    assert comments(frozenset({ImageFormat.TIFF})) == 50  # one format's switch is not another's


@pytest.fixture(scope="module")
def large_sources(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("unlimited")
    (folder / "photo.svg").write_bytes(svg_with_embedded_photo())
    (folder / "scan.tiff").write_bytes(tiff_in_one_strip())
    return folder


@pytest.mark.parametrize("unlimited", [False, True])
def test_through_the_server(large_sources: Path, start_server: Callable[..., AppServer], unlimited: bool) -> None:
    env = {"IMGPROXY_SVG_UNLIMITED": "true", "IMGPROXY_TIFF_UNLIMITED": "true"} if unlimited else {}
    server = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(large_sources), **env)
    with httpx.Client(base_url=server.base, timeout=60) as client:
        svg = client.get("/unsafe/rs:fit:100:50/f:png/plain/local:///photo.svg")
        tiff = client.get("/unsafe/rs:fit:600:600/f:png/plain/local:///scan.tiff")
        svg_info = client.get("/info/unsafe/plain/local:///photo.svg")
    if not unlimited:
        assert (svg.status_code, tiff.status_code, svg_info.status_code) == (422, 422, 422)
        return
    assert (svg.status_code, tiff.status_code, svg_info.status_code) == (200, 200, 200)
    drawing = decode(svg.content)
    assert (drawing.width, drawing.height) == (100, 50)
    assert drawing.getpoint(20, 25)[:3] == [255, 0, 0]  # the drawing's red half
    photo = drawing.extract_band(0, n=3).crop(55, 5, 40, 40)  # the photo's noise, averaged: grey
    assert all(100 < photo.extract_band(band).avg() < 155 for band in range(3))
    scan = decode(tiff.content)
    assert (scan.width, scan.height) == (600, 300)
    assert 100 < scan.avg() < 155  # uniform noise, averaged
    assert (svg_info.json()["width"], svg_info.json()["height"]) == (200, 100)
