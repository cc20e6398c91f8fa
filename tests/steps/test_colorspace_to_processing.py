"""``colorspace_to_processing``: whatever the decoder gave, later steps get 8-bit sRGB; with
``preserve_hdr``, 16 bits where the result and the steps can hold them."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
import pyvips

from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.steps.colorspace_to_processing import colorspace_to_processing
from tests.steps.support import context, solid

GREY = solid(8, 8).extract_band(0).copy(interpretation="b-w")


@pytest.mark.parametrize(
    ("make", "bands"),
    [
        (lambda: solid(8, 8), 3),
        (lambda: solid(8, 8, (10, 20, 30, 128)), 4),  # alpha stays
        (lambda: GREY, 3),
        (lambda: GREY.bandjoin(255).copy(interpretation="b-w"), 4),
        (lambda: solid(8, 8).colourspace("rgb16"), 3),  # 16-bit
        (lambda: solid(8, 8).colourspace("cmyk"), 3),
        (lambda: solid(8, 8).colourspace("lab"), 3),
    ],
)
def test_srgb_uchar(make: Callable[[], pyvips.Image], bands: int) -> None:
    c = context(make(), out_format=ImageFormat.WEBP)  # no grey WebP: every source becomes sRGB
    colorspace_to_processing(c)
    assert (c.img.interpretation, c.img.format, c.img.bands) == ("srgb", "uchar", bands)


def test_colours_survive() -> None:
    c = context(solid(8, 8, (200, 100, 50)).colourspace("rgb16"))
    colorspace_to_processing(c)
    assert c.img(4, 4) == pytest.approx([200, 100, 50], abs=1)


def _hdr(img: pyvips.Image, url_options: str = "", out_format: ImageFormat = ImageFormat.PNG) -> pyvips.Image:
    c = context(img, url_options, out_format=out_format)
    c.out = replace(c.out, preserve_hdr=True)
    colorspace_to_processing(c)
    return c.img


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda: solid(8, 8).colourspace("rgb16"), ("rgb16", "ushort", 3)),
        (lambda: solid(8, 8).colourspace("scrgb"), ("rgb16", "ushort", 3)),  # float becomes RGB16
        (lambda: GREY.colourspace("grey16"), ("grey16", "ushort", 1)),  # grey stays grey
        (lambda: solid(8, 8), ("srgb", "uchar", 3)),  # 8-bit stays 8-bit
    ],
)
def test_preserve_hdr_keeps_depth(make: Callable[[], pyvips.Image], expected: tuple[str, str, int]) -> None:
    img = _hdr(make())
    assert (img.interpretation, img.format, img.bands) == expected


def test_preserve_hdr_keeps_the_colours() -> None:
    img = _hdr(solid(8, 8, (200, 100, 50)).colourspace("rgb16"))
    assert img(4, 4) == pytest.approx([200 * 257, 100 * 257, 50 * 257], abs=300)


@pytest.mark.parametrize(("url_options", "out_format"), [
    ("", ImageFormat.JPEG), ("", ImageFormat.WEBP), ("bl:1", ImageFormat.PNG), ("bg:ff0000/bga:0.5", ImageFormat.PNG)])
def test_preserve_hdr_falls_back_to_8_bits(url_options: str, out_format: ImageFormat) -> None:
    img = _hdr(solid(8, 8).colourspace("rgb16"), url_options, out_format)
    assert (img.interpretation, img.format) == ("srgb", "uchar")


@pytest.mark.parametrize("url_options", ["pd:4", "bg:ff0000", "ex:1", "exar:1", "wm:0.5"])
def test_preserve_hdr_keeps_margins_background_and_alpha(url_options: str) -> None:
    """As imgproxy 4: padding, extending, the background and watermarks work on 16 bits, alpha
    included."""
    assert _hdr(solid(8, 8).colourspace("rgb16"), url_options).format == "ushort"
    img = _hdr(solid(8, 8, (10, 20, 30, 128)).colourspace("rgb16"), url_options)
    assert (img.interpretation, img.format, img.bands) == ("rgb16", "ushort", 4)


def _kept(img: pyvips.Image, out_format: ImageFormat = ImageFormat.PNG, strip: bool = False) -> pyvips.Image:
    c = context(img, out_format=out_format)
    c.out = replace(c.out, strip_color_profile=strip)
    colorspace_to_processing(c)
    return c.img


P3_RED = solid(8, 8, (255, 0, 0)).icc_transform("p3", input_profile="srgb", intent="relative")


def test_scp_0_keeps_an_rgb_sources_numbers_and_profile() -> None:
    img = _kept(P3_RED)
    assert (img.interpretation, img.format, img.bands) == ("srgb", "uchar", 3)
    assert img.get("icc-profile-data") == P3_RED.get("icc-profile-data")
    assert img(4, 4) == P3_RED(4, 4)  # not converted: still P3 numbers
    sixteen = _kept(P3_RED.colourspace("rgb16"))  # 16 bits: scaled to 8, not converted
    assert sixteen.format == "uchar" and sixteen(4, 4) == pytest.approx(P3_RED(4, 4), abs=1)
    assert sixteen.get_typeof("icc-profile-data")


@pytest.mark.parametrize(
    ("make", "out_format", "strip"),
    [
        (lambda: P3_RED, ImageFormat.PNG, True),  # the default: applied and removed
        (lambda: P3_RED, ImageFormat.GIF, False),  # the result can't carry it
        (lambda: solid(8, 8, (255, 0, 0)).icc_transform("cmyk", input_profile="srgb"), ImageFormat.JPEG, False),
    ],
)
def test_otherwise_the_profile_is_applied(make: Callable[[], pyvips.Image], out_format: ImageFormat,
                                          strip: bool) -> None:
    img = _kept(make(), out_format, strip)
    assert (img.interpretation, img.bands) == ("srgb", 3) and not img.get_typeof("icc-profile-data")
    assert img(4, 4)[0] > 200 and max(img(4, 4)[1:]) < 60  # sRGB red again (CMYK's red is duller)


@pytest.mark.parametrize("out_format", [ImageFormat.PNG, ImageFormat.JPEG, ImageFormat.TIFF, ImageFormat.JXL,
                                        ImageFormat.ICO])
@pytest.mark.parametrize("make", [lambda: GREY, lambda: GREY.colourspace("grey16")])
def test_grey_stays_grey_where_the_result_can_hold_it(make: Callable[[], pyvips.Image],
                                                       out_format: ImageFormat) -> None:
    c = context(make(), "rs:fit:4:4/rot:90/br:10", out_format=out_format)  # geometry and brightness
    colorspace_to_processing(c)
    assert (c.img.interpretation, c.img.format, c.img.bands) == ("b-w", "uchar", 1)
    assert c.img(4, 4)[0] == pytest.approx(GREY(4, 4)[0], abs=1)


@pytest.mark.parametrize(
    ("make", "url_options", "out_format"),
    [
        (lambda: GREY, "", ImageFormat.WEBP),  # no grey WebP
        (lambda: GREY, "", ImageFormat.AVIF),
        (lambda: GREY.bandjoin(255).copy(interpretation="b-w"), "", ImageFormat.PNG),  # alpha
        (lambda: GREY, "bl:2", ImageFormat.PNG),  # a filter written for RGB
        (lambda: GREY, "g:sm", ImageFormat.PNG),  # smart crop and detection read colour
        (lambda: GREY, "c:4:4:obj:face", ImageFormat.PNG),
        (lambda: GREY.icc_transform("srgb", input_profile="srgb").colourspace("b-w"), "", ImageFormat.PNG),
        (lambda: GREY.cast("float").copy(interpretation="b-w"), "", ImageFormat.PNG),  # float grey
    ],
)
def test_otherwise_grey_becomes_srgb(make: Callable[[], pyvips.Image], url_options: str,
                                     out_format: ImageFormat) -> None:
    c = context(make(), url_options, out_format=out_format)
    colorspace_to_processing(c)
    assert (c.img.interpretation, c.img.format) == ("srgb", "uchar") and c.img.bands in (3, 4)


def test_best_format_and_color_profile_make_grey_srgb() -> None:
    for out in ({"best_format": True}, {"color_profile": "srgb"}):
        c = context(GREY, out_format=ImageFormat.PNG)
        c.out = replace(c.out, **out)
        colorspace_to_processing(c)
        assert c.img.bands == 3, out
