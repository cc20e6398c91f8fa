"""imgproxy's own pixel expectations, matched exactly: 532 of its processing tests (imgproxy v4
commit eef3b312, Apache-2.0) store the SHA-256 of their result's pixels (8-bit sRGB with alpha,
``testutil/vips.c``); every one of them is requested here with the options imgproxy's test builds
and must give the same digest.  They cover fit/fill/fill-down with enlarge, extend,
extend_aspect_ratio, rotate, padding and max_result_dimension, crop and fill with every gravity,
offset and DPR, extend with gravity, padding with DPR, every rotation and flip of all eight EXIF
orientations with and without auto_rotate, and trim (threshold, colour, equal sides, alpha).
Sources and hashes: ``tests/assets/imgproxy`` (``PROVENANCE.md``).

imgproxy open source has no unsharp masking, so the server runs with
``IMGPROXY_UNSHARP_MASKING_MODE=none``; with Pro's default sharpening a downscaled result differs
by design."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
import pyvips

from tests.imgproxy_test_hashes import pixel_digest
from tests.servers import ASSETS, AppServer

CASES = json.loads((ASSETS / "imgproxy" / "pixel_hashes.json").read_text())


@pytest.fixture(scope="module")
def server(start_server: Callable[..., AppServer]) -> AppServer:
    return start_server(IMGPROXY_ALLOW_SECURITY_OPTIONS="true", IMGPROXY_UNSHARP_MASKING_MODE="none")


def test_the_cases_are_imgproxys() -> None:
    suites = {case["case"].split("/")[0] for case in CASES}
    assert len(CASES) == 532
    assert suites == {"TestProcessing", "TestCrop", "TestExtend", "TestPadding", "TestRotateAndFlip", "TestTrim"}


def test_digest_tells_pixels_apart() -> None:
    black = pyvips.Image.black(4, 4).colourspace("srgb").cast("uchar")
    one_off = black.draw_rect([0, 0, 1], 0, 0, 1, 1)
    assert pixel_digest(black.pngsave_buffer()) != pixel_digest(one_off.pngsave_buffer())
    assert pixel_digest(black.pngsave_buffer()) == pixel_digest(black.tiffsave_buffer())


@pytest.mark.parametrize(("source", "options", "sha256"), [(c["source"], c["options"], c["sha256"]) for c in CASES],
                         ids=[c["case"] for c in CASES])
def test_imgproxy_pixels(server: AppServer, client: httpx.Client, source: str, options: str, sha256: str) -> None:
    path = f"/unsafe/{options}/plain" if options else "/unsafe/plain"  # no option at all: no empty segment
    response = client.get(f"{server.base}{path}/local:///imgproxy/{source}")
    assert response.status_code == 200, response.text
    assert pixel_digest(response.content) == sha256
