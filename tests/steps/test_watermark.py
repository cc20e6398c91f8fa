"""``watermark``: the watermark image placed by gravity, scaled, tiled, at an opacity; imgproxy
Pro's URL and text watermarks, sized, rotated, shadowed and tiled in a chessboard's order."""

from __future__ import annotations

import numpy as np
import pytest
import pyvips

from imgproxy_py.errors import ResolutionTooBigError, ResultTooBigError, UnprocessableImageError
from imgproxy_py.imaging.context import ProcessingSettings
from imgproxy_py.imaging.dependencies import FetchedWatermarks, PipelineDeps, WatermarkSource
from imgproxy_py.imaging.steps.watermark import watermark
from imgproxy_py.imaging.watermark_text import render_text, sanitize
from imgproxy_py.url.arguments import b64
from tests.steps.support import array, context, pixel, solid

BLUE = [0, 0, 255]
GREY = [128, 128, 128]


def mark() -> WatermarkSource:
    return WatermarkSource(bytes(solid(10, 10, (0, 0, 255)).pngsave_buffer()))


def marked(url_options: str, settings: ProcessingSettings | None = None,
           image: pyvips.Image | None = None) -> pyvips.Image:
    c = context(image or solid(100, 100), url_options, deps=PipelineDeps(watermark=mark()), settings=settings)
    watermark(c)
    return c.img


@pytest.mark.parametrize(
    ("url_options", "blue", "grey"),
    [
        ("wm:1:soea", [(95, 95)], [(5, 5), (50, 50)]),
        ("wm:1:nowe", [(5, 5)], [(95, 95)]),
        ("wm:1:ce", [(50, 50)], [(5, 5)]),
        ("wm:1:nowe:20:30", [(25, 35)], [(5, 5)]),
        ("wm:1:re", [(5, 5), (55, 55), (95, 95)], []),  # tiled without a gap
        ("wm:1:re:10:10", [(5, 5), (25, 25)], [(15, 15)]),  # with one
        ("wm:1:ce:0:0:0.5", [(30, 30), (70, 70)], [(20, 20)]),  # half the image's size
    ],
)
def test_placed(url_options: str, blue: list[tuple[int, int]], grey: list[tuple[int, int]]) -> None:
    img = marked(url_options)
    assert all(pixel(img, x, y) == BLUE for x, y in blue)
    assert all(pixel(img, x, y) == GREY for x, y in grey)
    assert (img.width, img.height, img.bands) == (100, 100, 3)


def test_opacity() -> None:
    half = pixel(marked("wm:0.5:nowe"), 5, 5)
    assert 50 < half[0] < 100 and 170 < half[2] < 210
    server_half = pixel(marked("wm:1:nowe", ProcessingSettings(watermark_opacity=0.5)), 5, 5)
    assert server_half == pytest.approx(half, abs=1)


def test_opacity_is_not_rounded_before_blending() -> None:
    """As imgproxy: the watermark's alpha times the opacity stays fractional (255 * 0.3 = 76.5,
    not 76), so 30% blue over grey 128 is 128 * 0.7 + 255 * 0.3 = 166.1 in blue."""
    assert pixel(marked("wm:0.3:nowe"), 5, 5) == [89, 89, 166]


def test_alpha_is_kept() -> None:
    img = marked("wm:1:nowe", image=solid(100, 100, (128, 128, 128, 255)))
    assert img.bands == 4 and pixel(img, 5, 5) == [*BLUE, 255]


@pytest.mark.parametrize(
    ("url_options", "deps", "settings"),
    [
        ("", PipelineDeps(watermark=None), None),  # no option
        ("wm:1:soea", PipelineDeps(), None),  # no watermark configured
        ("wm:1:soea", None, ProcessingSettings(watermark_opacity=0)),
    ],
)
def test_off(url_options: str, deps: PipelineDeps | None, settings: ProcessingSettings | None) -> None:
    image = solid(100, 100)
    c = context(image, url_options, deps=deps or PipelineDeps(watermark=mark()), settings=settings)
    watermark(c)
    assert c.img is image


# --- imgproxy Pro's custom watermarks: wmu, wmt, wms, wmr, wmsh and the chessboard ---------

MAGENTA = (255, 0, 255)
MARK_URL = "http://origin/mark.png"


def fetched(width: int = 40, height: int = 20, max_pixels: int = 0) -> PipelineDeps:
    """Deps as the server makes them for a request whose watermark_url is MARK_URL."""
    data = bytes(solid(width, height, MAGENTA).pngsave_buffer())
    return PipelineDeps(watermark=mark(), fetched_watermarks=FetchedWatermarks({MARK_URL: data}, max_pixels))


def with_url(url_options: str) -> str:
    return f"{url_options}/wmu:{b64(MARK_URL)}"


def footprint(img: pyvips.Image, background: tuple[int, ...] = (128, 128, 128)) -> tuple[int, int, int, int]:
    """left, top, width, height of the pixels that differ from the background."""
    changed = np.abs(array(img).astype(int) - background).max(axis=2) > 8
    ys, xs = np.nonzero(changed)
    if not len(xs):
        return 0, 0, 0, 0
    return int(xs.min()), int(ys.min()), int(xs.max() - xs.min() + 1), int(ys.max() - ys.min() + 1)


def custom(url_options: str, deps: PipelineDeps | None = None, size: tuple[int, int] = (200, 200)) -> pyvips.Image:
    c = context(solid(*size), url_options, deps=deps or fetched())
    watermark(c)
    return c.img


def test_url_watermark_replaces_the_configured_one() -> None:
    img = custom(with_url("wm:1:nowe"))
    assert pixel(img, 5, 5) == list(MAGENTA) and footprint(img) == (0, 0, 40, 20)


@pytest.mark.parametrize(
    ("url_options", "size"),
    [
        ("wms:100:0", (100, 50)),  # height from the aspect ratio, enlarged
        ("wms:0:10", (20, 10)),  # width from the aspect ratio, reduced
        ("wms:100:100", (100, 50)),  # fit: the box's narrower side wins
        ("wms:0:0", (40, 20)),  # unchanged
        ("wms:50:0/rs:fit:100:100/dpr:2", (100, 50)),  # CSS pixels, times the DPR
    ],
)
def test_size(url_options: str, size: tuple[int, int]) -> None:
    assert footprint(custom(with_url(f"wm:1:nowe/{url_options}"), size=(300, 300)))[2:] == size


def test_scale_wins_over_size() -> None:
    # wms only applies when wm's scale is 0: scale 0.5 of 200x200 fits the 40x20 mark in 100x100.
    assert footprint(custom(with_url("wm:1:nowe:0:0:0.5/wms:10:0")))[2:] == (100, 50)


def test_size_past_the_result_limit_is_refused() -> None:
    c = context(solid(20, 20), with_url("wm:1:nowe/wms:30000:0"), deps=fetched(),
                settings=ProcessingSettings(max_result_resolution=10_000))
    with pytest.raises(ResultTooBigError):
        watermark(c)


@pytest.mark.parametrize(
    ("angle", "size"),
    [(0, (40, 20)), (90, (20, 40)), (-90, (20, 40)), (180, (40, 20)), (360, (40, 20)), (45, (43, 43))],
)
def test_rotation_footprint(angle: int, size: tuple[int, int]) -> None:
    width, height = footprint(custom(with_url(f"wm:1:ce/wmr:{angle}")))[2:]
    assert abs(width - size[0]) <= 2 and abs(height - size[1]) <= 2


def test_rotation_is_clockwise() -> None:
    # A 100x50 bar rotated by 30 degrees clockwise: its left end rises, its right end falls;
    # its top corner is 31 px left of its centre, its bottom corner 31 px right.
    img = custom(with_url("wm:1:nowe/wms:100:0/wmr:30"), size=(300, 300))
    left, top, width, height = footprint(img)
    centre, bottom = left + width // 2, top + height - 1
    assert pixel(img, centre - 31, top + 2) == list(MAGENTA) and pixel(img, centre + 31, top + 2) == GREY
    assert pixel(img, centre + 31, bottom - 2) == list(MAGENTA) and pixel(img, centre - 31, bottom - 2) == GREY


def test_shadow_darkens_around_the_mark() -> None:
    white = bytes(solid(40, 20, (255, 255, 255)).pngsave_buffer())
    deps = PipelineDeps(fetched_watermarks=FetchedWatermarks({MARK_URL: white}))
    plain, shadowed = custom(with_url("wm:1:ce"), deps), custom(with_url("wm:1:ce/wmsh:3"), deps)
    left, top, _, height = footprint(plain)
    assert pixel(shadowed, left + 5, top + 5) == [255, 255, 255]  # the mark is on top
    middle = top + height // 2
    nearest, near = pixel(shadowed, left - 1, middle), pixel(shadowed, left - 3, middle)
    assert nearest[0] < near[0] < 120 and near[0] == near[1] == near[2]  # black, fading outwards
    assert pixel(shadowed, left - 15, top + height // 2) == GREY  # beyond 3 sigma: untouched
    assert pixel(shadowed, 5, 5) == GREY


def test_chessboard_fills_every_other_cell_around_the_centre() -> None:
    # 20x10 tiles, centred as imgproxy centres replicated ones: 11x21 of them over 200x200, the
    # one at the centre filled (its centre at the image's), its neighbours empty.
    img = custom(with_url("wm:1:ch/wms:20:0"))
    for i in range(-4, 5):
        for j in range(-9, 10):
            inside = pixel(img, 100 + i * 20, 100 + j * 10)
            assert inside == (list(MAGENTA) if (i + j) % 2 == 0 else GREY), (i, j)


@pytest.mark.parametrize("size", [(200, 200), (180, 200), (200, 190), (170, 170)])
def test_chessboard_centre_is_filled_whatever_the_tile_count(size: tuple[int, int]) -> None:
    img = custom(with_url("wm:1:ch/wms:20:0"), size=size)
    centre_x, centre_y = size[0] // 2, size[1] // 2
    assert pixel(img, centre_x, centre_y) == list(MAGENTA)
    assert pixel(img, centre_x + 20, centre_y) == GREY and pixel(img, centre_x, centre_y + 10) == GREY


def test_replicated_tiles_are_centred() -> None:
    # A 40x20 mark with a 20 px gap across: 60x20 tiles, 5 across 200 px (an odd count), the
    # centre one at 70-129 with its mark at 80-119, centred on the image.
    img = custom(with_url("wm:1:re:20:0"))
    assert pixel(img, 80, 100) == list(MAGENTA) and pixel(img, 119, 100) == list(MAGENTA)
    assert pixel(img, 79, 100) == GREY and pixel(img, 120, 100) == GREY  # the gaps either side
    assert pixel(img, 59, 100) == list(MAGENTA) and pixel(img, 140, 100) == list(MAGENTA)  # the next marks


def test_chessboard_gaps() -> None:
    # 20x10 tiles with 10x10 gaps: 30x20 cells, every other one filled, the marks at their centres.
    img = custom(with_url("wm:1:ch:10:10/wms:20:0"))
    assert pixel(img, 100, 100) == list(MAGENTA) and pixel(img, 130, 120) == list(MAGENTA)
    assert pixel(img, 130, 100) == GREY and pixel(img, 100, 120) == GREY
    assert pixel(img, 100, 108) == GREY and pixel(img, 113, 100) == GREY  # the gaps


def test_text_watermark() -> None:
    img = custom("wm:1:soea/wmt:" + b64('<span foreground="#ff0000" size="20000">Hi</span>'))
    left, top, width, height = footprint(img)
    assert left + width == 200 and top + height == 200  # in the corner
    assert 15 < width < 60 and 10 < height < 40
    assert np.any(np.all(array(img)[top:, left:] == [255, 0, 0], axis=2))  # in red


def test_text_is_black_sans_16_by_default() -> None:
    img = custom("wm:1:nowe/wmt:" + b64("imgproxy"))
    width, height = footprint(img)[2:]
    assert 50 < width < 90 and 10 <= height <= 20
    assert array(img).min() == 0  # black


def test_text_wins_over_url() -> None:
    img = custom(with_url("wm:1:nowe") + "/wmt:" + b64("x"))
    assert not np.any(np.all(array(img) == list(MAGENTA), axis=2))


@pytest.mark.parametrize(
    ("markup", "match"),
    [
        ("<b>unclosed", "markup"),
        ("<blink>x</blink>", "invalid watermark text"),
        ("<big>" * 5 + "x" + "</big>" * 5, "deeper"),
        ('<span size="128pt">' + "W\n" * 40 + "</span>", "larger"),
        ("   ", "invalid watermark text"),
        ('<span font="Sans 1e9">x</span>', "bound"),  # sizes in forms that can't be clamped
        ('<span size="-5">x</span>', "bound"),
        ('<span line_height="1e30">x</span>', "bound"),
    ],
)
def test_bad_text_is_unprocessable(markup: str, match: str) -> None:
    with pytest.raises(UnprocessableImageError, match=match):
        custom("wm:1:ce/wmt:" + b64(markup))


@pytest.mark.parametrize(
    ("markup", "safe"),
    [
        ('<span size="2000000000">A</span>', '<span size="131072">A</span>'),
        ('<span font_size="900pt">A</span>', '<span font_size="128pt">A</span>'),
        ('<span size="1000%">A</span>', '<span size="120%">A</span>'),
        ('<span font="Serif Bold 90000">A</span>', '<span font="Serif Bold 128">A</span>'),
        ('<span font_desc="Sans 900px">A</span>', '<span font_desc="Sans 128px">A</span>'),
        ('<span letter_spacing="-99999999">A</span>', '<span letter_spacing="-65536">A</span>'),
        ('<span rise="900pt">A</span>', '<span rise="64pt">A</span>'),
        ('<span line_height="50">A</span>', '<span line_height="2">A</span>'),
        ('<span size="x-large" foreground="red">A &amp; B</span>',
         '<span size="x-large" foreground="red">A &amp; B</span>'),
        ('<span font="Sans Bold" rise="superscript">A</span>', '<span font="Sans Bold" rise="superscript">A</span>'),
        ("plain", "plain"),
    ],
)
def test_markup_sizes_are_clamped(markup: str, safe: str) -> None:
    assert sanitize(markup) == safe


def test_url_watermark_not_fetched_is_unprocessable() -> None:
    with pytest.raises(UnprocessableImageError, match="not fetched"):
        custom(with_url("wm:1:ce"), PipelineDeps())


def test_url_watermark_past_the_resolution_limit_is_refused() -> None:
    with pytest.raises(ResolutionTooBigError):
        custom(with_url("wm:1:ce"), fetched(max_pixels=40 * 20 - 1))
    assert footprint(custom(with_url("wm:1:ce"), fetched(max_pixels=40 * 20)))[2:] == (40, 20)


def test_no_wm_no_custom_watermark() -> None:
    image = solid(50, 50)
    c = context(image, with_url("wmsh:2") + "/wmt:" + b64("x"), deps=fetched())
    watermark(c)
    assert c.img is image


def test_rendered_text_is_reused() -> None:
    # The same text on many images (or on every frame of an animation) is rendered once.
    first = render_text("<i>reused</i>")
    assert render_text("<i>reused</i>") is first and render_text("<i>other</i>") is not first


def test_a_shadow_past_the_result_limit_is_refused_before_it_is_built() -> None:
    c = context(solid(20, 20), with_url("wm:1:ce/wmsh:99999999"), deps=fetched(),
                settings=ProcessingSettings(max_result_resolution=1_000_000))
    with pytest.raises(ResultTooBigError, match="shadow"):
        watermark(c)


def test_svg_watermark_is_sanitized_and_bounded() -> None:
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40" height="20"><script>alert(1)</script>'
           b'<rect width="40" height="20" fill="#ff00ff"/></svg>')
    deps = PipelineDeps(fetched_watermarks=FetchedWatermarks({MARK_URL: svg}, max_pixels=800))
    assert footprint(custom(with_url("wm:1:ce"), deps))[2:] == (40, 20)
    # One past the limit is rendered to fit it (imgproxy's vector guard), not refused nor made whole.
    huge = (b'<svg xmlns="http://www.w3.org/2000/svg" width="40000" height="20000">'
            b'<rect width="40000" height="20000" fill="#ff00ff"/></svg>')
    fetched_huge = PipelineDeps(fetched_watermarks=FetchedWatermarks({MARK_URL: huge}, 800))
    assert footprint(custom(with_url("wm:1:ce"), fetched_huge))[2:] == (40, 20)
    # ...and rendered again from there when scaled: half the image's width is 25 px here.
    assert footprint(custom(with_url("wm:1:ce:0:0:0.5"), fetched_huge, size=(50, 50)))[2:] == (25, 13)


def test_a_vector_watermark_is_rendered_at_its_size_not_enlarged() -> None:
    # A 20x20 disc made 200x200: rendered again at that scale its edge is a pixel or two of
    # anti-aliasing (about 600 pixels around); enlarged from 20 px it would be a ramp ten
    # pixels wide (about 7000).
    svg = (b'<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20">'
           b'<circle cx="10" cy="10" r="10" fill="#ff00ff"/></svg>')
    deps = PipelineDeps(fetched_watermarks=FetchedWatermarks({MARK_URL: svg}))
    img = custom(with_url("wm:1:ce/wms:200:200"), deps, size=(300, 300))
    assert footprint(img)[2:] == (200, 200)
    red = array(img)[..., 0].astype(int)  # 128 outside, 255 on the disc
    assert np.count_nonzero((red > 135) & (red < 248)) < 1500


def test_grey_and_sixteen_bit_images_keep_their_space() -> None:
    """Composited in the image's own space and format, as imgproxy 4 does: a grey watermark keeps
    a grey image grey, a colour one makes it RGB, and 16 bits stay 16, the watermark's included
    (1000/65535 would be 1028 after a trip through 8 bits)."""
    grey_mark = WatermarkSource(bytes(solid(10, 10, (64, 64, 64)).colourspace("b-w").pngsave_buffer()))
    deep_mark = WatermarkSource(bytes((pyvips.Image.black(10, 10) + 1000).cast("ushort")
                                      .copy(interpretation="grey16").pngsave_buffer()))
    grey = solid(100, 100).colourspace("b-w")
    for source, image, expected in (
        (grey_mark, grey, ("b-w", "uchar", 1, [64])),
        (mark(), grey, ("srgb", "uchar", 3, BLUE)),
        (mark(), solid(100, 100).colourspace("rgb16"), ("rgb16", "ushort", 3, [0, 0, 65535])),
        (deep_mark, grey.colourspace("grey16"), ("grey16", "ushort", 1, [1000])),
    ):
        c = context(image, "wm:1:ce", deps=PipelineDeps(watermark=source))
        watermark(c)
        assert (c.img.interpretation, c.img.format, c.img.bands, pixel(c.img, 50, 50)) == expected
    # Rotation, shadow and the chessboard keep a 16-bit grey watermark's space too.
    c = context(grey.colourspace("grey16"), "wm:1:ch/wmr:30/wmsh:2", deps=PipelineDeps(watermark=deep_mark))
    watermark(c)
    assert (c.img.interpretation, c.img.format, c.img.bands) == ("grey16", "ushort", 1)
