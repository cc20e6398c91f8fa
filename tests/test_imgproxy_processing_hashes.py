"""imgproxy's processing suites over its ``test-images`` (imgproxy v4 commit eef3b312, Apache-2.0):
background and flattening (``processing/flatten_test.go``), colour spaces, linear light, HDR and
watermark colour spaces (``colorspace_test.go``), watermark positions, offsets, opacity, scale and
DPR (``watermark_test.go``) and blur, sharpen and pixelate (``apply_filters_test.go``).

Each case is requested with the options imgproxy's test builds and the settings it sets, and must
give imgproxy's result size, colour interpretation (where its test checks one) and the hash its
test stores (``tests/assets/imgproxy/test-hashes``, verbatim): the SHA-256 of the pixels, or where
it stored a perceptual hash, that hash within imgproxy's 0.0005 (``tests/imgproxy_test_hashes.py``).

The sources are imgproxy's ``test-images`` repository, which has no licence and is not carried, so
these run when ``TEST_IMAGES_PATH`` names a checkout, as the format matrix does
(``test_imgproxy_matrix.py``); the stored hashes are checked on every run.  Like the pixel suite
(``test_imgproxy_pixels.py``) the server runs without imgproxy Pro's unsharp masking, which open
source imgproxy doesn't have.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
import pyvips

from tests.conftest import ASSETS
from tests.imgproxy_test_hashes import HASH_TYPE_DCT, dct_hash, distance, pixel_digest, read_digest, read_hash
from tests.servers import AppServer

TEST_IMAGES = os.environ.get("TEST_IMAGES_PATH", "")
HASHES = ASSETS / "imgproxy" / "test-hashes"
SUITES = ("TestFlatten", "TestColorspace", "TestWatermark", "TestApplyFilters")
MAX_DCT_DISTANCE = 0.0005  # imgproxy's, for these suites
OPEN_SOURCE = (("IMGPROXY_UNSHARP_MASKING_MODE", "none"),)
GREY, RED = (127, 127, 127), (255, 0, 0)  # imgproxy's color.Gray and color.Red


@dataclass(frozen=True)
class Case:
    hash_path: str  # under test-hashes: suite/test/case
    source: str  # under test-images
    options: str
    size: tuple[int, int]
    interpretation: str | None = None  # None where imgproxy's test checks none
    settings: tuple[tuple[str, str], ...] = ()


def hdr(on: bool) -> tuple[str, str]:
    return ("IMGPROXY_PRESERVE_HDR", "true" if on else "false")


def flatten_cases() -> Iterator[Case]:
    for name, source, background, fmt, interpretation in (
        ("32-bpp-red-jpeg", "bmp/32-bpp-with-alpha.bmp", RED, "jpeg", None),
        ("32-bpp-red-png", "bmp/32-bpp-with-alpha.bmp", RED, "png", None),
        ("32-bpp-none-jpeg", "bmp/32-bpp-with-alpha.bmp", None, "jpeg", None),
        ("32-bpp-none-png", "bmp/32-bpp-with-alpha.bmp", None, "png", None),
        ("16-bpp-gray-rgb16", "png/16-bpp.png", GREY, "png", "rgb16"),
        ("16-bpp-red-rgb16", "png/16-bpp.png", RED, "png", "rgb16"),
        ("8-bpp-grayscale-gray-bw", "png/8-bpp-grayscale.png", GREY, "png", "b-w"),
        ("8-bpp-grayscale-red-srgb", "png/8-bpp-grayscale.png", RED, "png", "srgb"),
        ("16-bpp-grayscale-gray-grey16", "png/16-bpp-grayscale.png", GREY, "png", "grey16"),
        ("16-bpp-grayscale-red-rgb16", "png/16-bpp-grayscale.png", RED, "png", "rgb16"),
        ("8-bpp-gray-srgb", "png/8-bpp.png", GREY, "png", "srgb"),
        ("8-bpp-red-srgb", "png/8-bpp.png", RED, "png", "srgb"),
    ):
        options = f"resize:fill:300:300/enlarge:1/padding:100/format:{fmt}"
        if background:
            options += "/background:{}:{}:{}".format(*background)
        yield Case(f"TestFlatten/TestBackground/{name}", source, options, (500, 500), interpretation, (hdr(True),))


def colorspace_cases() -> Iterator[Case]:
    fill = "resize:fill:100:100/enlarge:1/format:"
    for name, source, fmt, interpretation in (
        ("8-bpp-png-srgb", "png/8-bpp.png", "png", "srgb"),
        ("16-bpp-png-rgb16", "png/16-bpp.png", "png", "rgb16"),
        ("16-bpp-png-jpeg-srgb", "png/16-bpp.png", "jpeg", "srgb"),
        ("8-bpp-tiff-srgb", "tiff/8-bpp.tiff", "png", "srgb"),
        ("16-bpp-tiff-rgb16", "tiff/16-bpp.tiff", "png", "rgb16"),
        ("8-bpp-grayscale-png-bw", "png/8-bpp-grayscale.png", "png", "b-w"),
        ("16-bpp-grayscale-png-grey16", "png/16-bpp-grayscale.png", "png", "grey16"),
        ("16-bpp-grayscale-png-jpeg-bw", "png/16-bpp-grayscale.png", "jpeg", "b-w"),
        ("8-bpp-grayscale-tiff-bw", "tiff/8-bpp-grayscale.tiff", "png", "b-w"),
        ("16-bpp-grayscale-tiff-grey16", "tiff/16-bpp-grayscale.tiff", "png", "grey16"),
    ):
        yield Case(f"TestColorspace/TestColorspace/{name}", source, fill + fmt, (100, 100), interpretation,
                   (hdr(True),))
    for name, source, fmt, interpretation in (
        ("16-bpp-linear-png-rgb16", "png/16-bpp-linear.png", "png", "rgb16"),
        ("32-bpp-linear-tiff-rgb16", "tiff/32-bpp-linear.tiff", "png", "rgb16"),
        ("16-bpp-linear-png-jpeg-srgb", "png/16-bpp-linear.png", "jpeg", "srgb"),
        ("8-bpp-png-jpeg-srgb", "png/8-bpp.png", "jpeg", "srgb"),
    ):
        yield Case(f"TestColorspace/TestLinearColorspace/{name}_linear", source, fill + fmt, (100, 100),
                   interpretation, (hdr(True), ("IMGPROXY_USE_LINEAR_COLORSPACE", "true")))
    for name, source, interpretation in (
        ("16-bpp-png-srgb", "png/16-bpp.png", "srgb"),
        ("16-bpp-tiff-srgb", "tiff/16-bpp.tiff", "srgb"),
        ("16-bpp-grayscale-png-bw", "png/16-bpp-grayscale.png", "b-w"),
        ("16-bpp-grayscale-tiff-bw", "tiff/16-bpp-grayscale.tiff", "b-w"),
    ):
        yield Case(f"TestColorspace/TestDownscaleHDR/{name}_no_preserve_hdr", source, fill + "png", (100, 100),
                   interpretation, (hdr(False),))
    for name, source, mark, interpretation in (
        ("8-bpp-wm-16-bpp-srgb", "png/8-bpp.png", "png/16-bpp.png", "srgb"),
        ("8-bpp-wm-16-bpp-grayscale-srgb", "png/8-bpp.png", "png/16-bpp-grayscale.png", "srgb"),
        ("8-bpp-grayscale-wm-16-bpp-grayscale-bw", "png/8-bpp-grayscale.png", "png/16-bpp-grayscale.png", "b-w"),
        ("16-bpp-grayscale-wm-8-bpp-grayscale-grey16", "png/16-bpp-grayscale.png", "png/8-bpp-grayscale.png",
         "grey16"),
        ("16-bpp-grayscale-wm-16-bpp-rgb16", "png/16-bpp-grayscale.png", "png/16-bpp.png", "rgb16"),
        ("16-bpp-grayscale-wm-8-bpp-rgb16", "png/16-bpp-grayscale.png", "png/8-bpp.png", "rgb16"),
    ):
        watermark = str(Path(TEST_IMAGES, mark))
        yield Case(f"TestColorspace/TestWatermarkColorspace/{name}", source, fill + "png/watermark:0.5", (100, 100),
                   interpretation, (hdr(True), ("IMGPROXY_WATERMARK_PATH", watermark)))
    for name, option, setting, interpretation in (
        ("option-true-overrides-config-false", "true", False, "rgb16"),
        ("option-false-overrides-config-true", "false", True, "srgb"),
    ):
        yield Case(f"TestColorspace/TestPreserveHDROptionOverride/{name}", "png/16-bpp.png",
                   f"{fill}png/preserve_hdr:{option}", (100, 100), interpretation, (hdr(setting),))


def go_number(value: float) -> str:
    """Go's ``%v``/``%g`` of a float64: 1 is "1", 0.5 is "0.5"."""
    return f"{value:g}"


def watermark_cases() -> Iterator[Case]:
    """``TestWatermark``: imgproxy's ``geometry.png`` over its 24-bit BMP, written as PNG; a
    subtest whose name repeats gets Go's ``#01``."""
    mark = (("IMGPROXY_WATERMARK_PATH", str(ASSETS / "imgproxy" / "geometry.png")),)
    full, half = (1080, 902), (540, 451)
    cases: list[tuple[str, float, float, float, float, float]] = [  # position, opacity, x, y, scale, dpr
        *((p, 1, 0, 0, 0, 0) for p in ("ce", "no", "ea", "so", "we", "nowe", "noea", "sowe", "soea", "re")),
        *((p, 1, x, y, 0, dpr) for p in ("no", "re")
          for x, y, dpr in ((50, 0, 0), (0, 50, 0), (50, 50, 0), (50, 50, 0.5), (50, 50, 2))),
        ("re", 0, 0, 0, 0, 0), ("re", 0.5, 0, 0, 0, 0), ("re", 1, 0, 0, 0, 0), ("re", 1, 0, 0, 0.5, 0),
    ]
    seen: dict[str, int] = {}
    for position, opacity, x, y, scale, dpr in cases:
        name = f"{position}_opacity_{go_number(opacity)}"
        name += f"_offset_{go_number(x)}_{go_number(y)}" if x or y else ""
        name += f"_scale_{go_number(scale)}" if scale else ""
        name += f"_dpr_{go_number(dpr)}" if dpr else ""
        repeat = seen.get(name, 0)
        seen[name] = repeat + 1
        options = f"/{watermark_option(opacity, position, x, y, scale)}"
        options += f"/dpr:{go_number(dpr)}" if dpr else ""
        yield Case(f"TestWatermark/TestWatermark/{name}{f'#{repeat:02d}' if repeat else ''}", "bmp/24-bpp.bmp",
                   options.lstrip("/") + "/format:png", half if dpr == 0.5 else full, settings=mark)
    for dpr, size in ((0.5, (246, 115)), (2, (492, 229))):
        yield Case(f"TestWatermark/TestWatermarkAnimation/nowe_opacity_0.5_offset_10_20_dpr_{go_number(dpr)}",
                   "gif/gif.gif", f"{watermark_option(0.5, 'nowe', 10, 20, 0)}/dpr:{go_number(dpr)}", size,
                   settings=mark)


def watermark_option(opacity: float, position: str, x: float, y: float, scale: float) -> str:
    """imgproxy's ``OptionsBuilder``: unset arguments are empty, trailing empty ones dropped."""
    args = [go_number(opacity), position, go_number(x) if x else "", go_number(y) if y else "",
            go_number(scale) if scale else ""]
    while args[-1] == "":
        args.pop()
    return "watermark:" + ":".join(args)


def filter_cases() -> Iterator[Case]:
    for blur, sharpen, pixelate in ((10, 0, 0), (0, 10, 0), (0, 0, 10), (10, 10, 10)):
        parts = [f"blur_{blur:f}" if blur else "", f"sharpen_{sharpen:f}" if sharpen else "",
                 f"pixelate_{pixelate}" if pixelate else ""]
        yield Case(f"TestApplyFilters/TestEffects/{'_'.join(p for p in parts if p)}", "png/png.png",
                   f"blur:{blur:f}/sharpen:{sharpen:f}/pixelate:{pixelate}", (400, 400))


# imgproxy quantizes GIF results with its own quantizer (quantizr); libvips' wheel uses
# libimagequant, whose palette for the same picture differs.
DIVERGENCES = {
    "TestWatermark/TestWatermarkAnimation/nowe_opacity_0.5_offset_10_20_dpr_0.5": "GIF palette: libimagequant",
    "TestWatermark/TestWatermarkAnimation/nowe_opacity_0.5_offset_10_20_dpr_2": "GIF palette: libimagequant",
}
CASES = [*flatten_cases(), *colorspace_cases(), *watermark_cases(), *filter_cases()]


def params() -> Iterator[object]:
    for case in CASES:
        reason = DIVERGENCES.get(case.hash_path)
        marks = [pytest.mark.xfail(strict=True, reason=reason)] if reason else []
        yield pytest.param(case, id=case.hash_path, marks=marks)


def is_perceptual(stored: Path) -> bool:
    """Whether imgproxy stored a perceptual hash: its linear-light and watermark colour-space tests
    switch the suite's matcher to one, and the HDR-override test that runs after them keeps it."""
    return stored.read_bytes()[0] == HASH_TYPE_DCT


@pytest.fixture(scope="module")
def images_server(server_for: Callable[..., AppServer]) -> Callable[[Case], AppServer]:
    if not TEST_IMAGES:
        pytest.skip("TEST_IMAGES_PATH names no checkout of imgproxy's test-images")
    root = str(Path(TEST_IMAGES).resolve())
    return lambda case: server_for(IMGPROXY_LOCAL_FILESYSTEM_ROOT=root, **dict(OPEN_SOURCE + case.settings))


@pytest.mark.parametrize("case", list(params()))
def test_imgproxy_processing_hash(images_server: Callable[[Case], AppServer], client: httpx.Client,
                                  case: Case) -> None:
    server = images_server(case)
    response = client.get(f"{server.base}/unsafe/{case.options}/plain/local:///{case.source}", timeout=60)
    assert response.status_code == 200, response.text
    result = pyvips.Image.new_from_buffer(response.content, "")
    assert (result.width, result.height) == case.size
    if case.interpretation is not None:
        assert result.interpretation == case.interpretation
    stored = HASHES / case.hash_path / "test.hash"
    if is_perceptual(stored):
        assert distance(dct_hash(response.content), read_hash(stored)) <= MAX_DCT_DISTANCE
    else:
        assert pixel_digest(response.content) == read_digest(stored)


def test_every_case_has_its_stored_hash_and_every_hash_a_case() -> None:
    stored = {str(path.parent.relative_to(HASHES))
              for suite in SUITES for path in (HASHES / suite).glob("*/*/test.hash")}
    assert stored == {case.hash_path for case in CASES}
    assert len(CASES) == 68
    for case in CASES:
        path = HASHES / case.hash_path / "test.hash"
        if is_perceptual(path):
            assert read_hash(path).shape in ((64,), (192,))
        else:
            assert len(read_digest(path)) == 64
    perceptual = {case.hash_path.split("/")[1] for case in CASES
                  if is_perceptual(HASHES / case.hash_path / "test.hash")}
    assert perceptual == {"TestLinearColorspace", "TestWatermarkColorspace", "TestPreserveHDROptionOverride"}


def test_watermark_option_is_built_as_imgproxys_builder() -> None:
    assert watermark_option(1, "no", 0, 50, 0) == "watermark:1:no::50"
    assert watermark_option(0.5, "re", 0, 0, 0) == "watermark:0.5:re"
    assert watermark_option(1, "re", 0, 0, 0.5) == "watermark:1:re:::0.5"
