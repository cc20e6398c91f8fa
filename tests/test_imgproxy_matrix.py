"""imgproxy's format matrix (``integration_test/matrix_test.go``, imgproxy v4 commit eef3b312,
Apache-2.0): every file of its ``testdata/test-images`` converted to every format with no other
option (``/plain/local:///<folder>/<file>@<format>``), each result's perceptual hash
(``tests/imgproxy_test_hashes.py``) compared with the one imgproxy's test stores
(``tests/assets/imgproxy/test-hashes/TestMatrix``, verbatim).

``test-images`` is a separate repository without a licence, so it is not carried here: the matrix
runs when ``TEST_IMAGES_PATH`` names a checkout of https://github.com/imgproxy/test-images, as
imgproxy's SVG suite runs when ``TEST_SVG_PATH`` names its corpus (``test_imgproxy_svg.py``).
The hash itself is checked on every run (the tests at the end).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import numpy as np
import pytest
import pyvips

from tests.conftest import ASSETS, asset
from tests.imgproxy_test_hashes import dct_hash, distance, read_hash
from tests.servers import AppServer

TEST_IMAGES = os.environ.get("TEST_IMAGES_PATH", "")
HASHES = ASSETS / "imgproxy" / "test-hashes" / "TestMatrix" / "TestMatrix"
FOLDERS = {"gif": "gif", "jpeg": "jpg", "heic": "heif", "jxl": "jxl", "svg": "svg", "tiff": "tiff", "webp": "webp",
           "bmp": "bmp", "ico": "ico"}
EXTENSIONS = {"jpeg": "jpg"}
MAX_DISTANCE = 0.5  # imgproxy's
# Encoders whose output depends on the library build, measured on this matrix: GIF's palette
# (libimagequant here, imgproxy's own quantizer there; up to 13.3), HEIC (x265 on images as
# small as 73x43; up to 2.6) and WebP (up to 1.3).  A wrong decode, entry or alpha is far above.
TOLERANCE = {"gif": 16.0, "heic": 3.0, "webp": 3.0}
DIVERGENCES = {
    ("bmp", "16-bpp.bmp"): "a 5-6-5 BMP: imgproxy shifts each field up (31 -> 248), we widen it to the full "
                           "range (31 -> 255) as browsers and Pillow do; 3% brighter at most",
    ("ico", "single-bmp.ico"): "a 4-bit BMP icon: we apply its AND mask (transparent background, as Windows and "
                               "browsers draw it); imgproxy decodes the entry as a plain BMP, opaque",
    ("ico", "multi-png.ico"): "two 256x256 32-bit entries: we take the first of the largest and deepest, "
                              "imgproxy the last 256x256 one (the two are the same picture here)",
}


def cases() -> Iterator[object]:
    for source in sorted(FOLDERS):
        for hash_file in sorted(HASHES.glob(f"{source}/*/*.hash")):
            target, name = hash_file.parent.name, hash_file.name.removesuffix(".hash")
            reason = DIVERGENCES.get((source, name))
            marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
            yield pytest.param(source, target, name, id=f"{source}/{target}/{name}", marks=marks)


@pytest.fixture(scope="module")
def matrix_server(start_server: Callable[..., AppServer]) -> AppServer:
    if not TEST_IMAGES:
        pytest.skip("TEST_IMAGES_PATH names no checkout of imgproxy's test-images")
    return start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(Path(TEST_IMAGES).resolve()),
                        IMGPROXY_MAX_ANIMATION_FRAMES="999")


@pytest.mark.parametrize(("source", "target", "name"), list(cases()))
def test_matrix(matrix_server: AppServer, client: httpx.Client, source: str, target: str, name: str) -> None:
    folder = FOLDERS[source]
    if not (Path(TEST_IMAGES) / folder / name).is_file():
        pytest.skip(f"{folder}/{name} is not in this test-images checkout")
    url = f"{matrix_server.base}/unsafe/plain/local:///{folder}/{name}@{EXTENSIONS.get(target, target)}"
    response = client.get(url, timeout=60)
    assert response.status_code == 200, response.text
    measured = distance(dct_hash(response.content), read_hash(HASHES / source / target / f"{name}.hash"))
    assert measured <= TOLERANCE.get(target, MAX_DISTANCE), measured


def test_every_stored_hash_is_a_dct_hash_of_one_or_three_channels() -> None:
    lengths = {len(read_hash(path)) for path in HASHES.glob("*/*/*.hash")}
    assert lengths == {64, 192}


def test_the_hash_tells_a_round_trip_from_a_colour_change() -> None:
    data = asset("hopper.png").read_bytes()
    png = pyvips.Image.new_from_buffer(data, "")
    same = dct_hash(bytes(png.tiffsave_buffer()))
    assert distance(dct_hash(data), same) == pytest.approx(0.0, abs=1e-6)
    assert distance(dct_hash(data), dct_hash(bytes(png.jpegsave_buffer(Q=95)))) < MAX_DISTANCE
    warmer = (png * [1.0, 1.0, 0.97]).cast("uchar")  # 3% less blue
    assert distance(dct_hash(data), dct_hash(bytes(warmer.pngsave_buffer()))) > MAX_DISTANCE
    grey = dct_hash(bytes(png.colourspace("b-w").pngsave_buffer()))
    assert grey.shape == (64,) and np.all(np.isfinite(grey))
