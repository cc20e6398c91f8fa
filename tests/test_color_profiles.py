"""Colour spaces through the server.  ``strip_color_profile``: by default a source's embedded
profile is applied (the result is sRGB and carries none); with ``scp:0`` or
``IMGPROXY_STRIP_COLOR_PROFILE=false`` an RGB source keeps its own colour space and profile, as
imgproxy keeps them, so a Display P3 photo's saturated colours reach wide-gamut screens.  A grey
source stays grey in PNG, JPEG, TIFF, JPEG XL and ICO results, as imgproxy 4 keeps it."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
import pyvips

from imgproxy_py.imaging.codecs import load as loader
from tests.servers import ASSETS, AppServer, Origin
from tests.test_http_encoding import icc_description, icc_of

# sRGB's pure red, written in Display P3 numbers (libvips' built-in "p3" profile).
P3_RED = (234, 51, 35)


def p3_source(fmt: str) -> tuple[bytes, bytes]:
    """A 64x48 saturated-red picture in Display P3 numbers with the P3 profile embedded, and
    that profile."""
    red = pyvips.Image.black(64, 48, bands=3).new_from_image([255, 0, 0]).cast("uchar").copy(interpretation="srgb")
    p3 = red.icc_transform("p3", input_profile="srgb", intent="relative")
    profile = bytes(p3.get("icc-profile-data"))
    data = p3.jpegsave_buffer(Q=95) if fmt == "jpg" else p3.pngsave_buffer()
    return bytes(data), profile


def centre(data: bytes) -> list[float]:
    img = pyvips.Image.new_from_buffer(data, "")
    return [float(v) for v in img.getpoint(img.width // 2, img.height // 2)[:3]]


def close(pixel: list[float], expected: tuple[int, int, int], tolerance: float = 6) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel, expected, strict=True))


@pytest.mark.parametrize("fmt", ["jpg", "png"])
def test_the_profile_is_applied_by_default_and_kept_with_scp_0(client: httpx.Client, server: AppServer,
                                                               origin: Origin, fmt: str) -> None:
    data, profile = p3_source(fmt)
    url = origin.add(f"/profiles/p3.{fmt}", data)
    assert close(centre(data), P3_RED)  # the source really holds P3 numbers
    converted = client.get(f"{server.base}/unsafe/rs:fit:32:32/plain/{url}")
    assert converted.status_code == 200
    assert icc_of(converted.content) is None and close(centre(converted.content), (255, 0, 0))
    for out in ("jpg", "png", "webp"):
        kept = client.get(f"{server.base}/unsafe/rs:fit:32:32/scp:0/plain/{url}@{out}")
        assert kept.status_code == 200, kept.text
        assert icc_of(kept.content) == profile, out
        assert "P3" in icc_description(profile)
        assert close(centre(kept.content), P3_RED), (out, centre(kept.content))


def test_gif_results_and_non_rgb_sources_are_converted(client: httpx.Client, server: AppServer,
                                                       origin: Origin) -> None:
    data, _ = p3_source("jpg")
    url = origin.add("/profiles/p3-for-gif.jpg", data)
    gif = client.get(f"{server.base}/unsafe/rs:fit:32:32/scp:0/plain/{url}@gif")  # GIF holds no profile
    assert gif.status_code == 200 and close(centre(gif.content), (255, 0, 0), tolerance=12)
    cmyk = pyvips.Image.black(40, 30, bands=3).new_from_image([255, 0, 0]).cast("uchar")
    cmyk_url = origin.add("/profiles/cmyk.jpg", bytes(cmyk.copy(interpretation="srgb")
                                                      .icc_transform("cmyk", input_profile="srgb").jpegsave_buffer()))
    result = client.get(f"{server.base}/unsafe/rs:fit:20:20/scp:0/plain/{cmyk_url}@png")
    assert result.status_code == 200 and icc_of(result.content) is None
    assert pyvips.Image.new_from_buffer(result.content, "").bands == 3


def test_a_kept_profile_is_the_input_of_color_profile(client: httpx.Client, server: AppServer,
                                                      origin: Origin) -> None:
    data, _ = p3_source("png")
    url = origin.add("/profiles/p3-to-srgb.png", data)
    result = client.get(f"{server.base}/unsafe/rs:fit:32:32/scp:0/cp:srgb/plain/{url}@png")
    assert result.status_code == 200
    profile = icc_of(result.content)
    assert profile is not None and "sRGB" in icc_description(profile)
    assert close(centre(result.content), (255, 0, 0))  # converted from P3, not read as sRGB


def test_the_setting_turns_it_on_for_every_url(client: httpx.Client, start_server: Callable[..., AppServer],
                                               origin: Origin) -> None:
    server = start_server(IMGPROXY_STRIP_COLOR_PROFILE="false")
    data, profile = p3_source("jpg")
    url = origin.add("/profiles/p3-setting.jpg", data)
    kept = client.get(f"{server.base}/unsafe/rs:fit:32:32/plain/{url}")
    assert icc_of(kept.content) == profile and close(centre(kept.content), P3_RED)
    stripped = client.get(f"{server.base}/unsafe/rs:fit:32:32/scp:1/plain/{url}")
    assert icc_of(stripped.content) is None and close(centre(stripped.content), (255, 0, 0))


@pytest.mark.parametrize(("fmt", "out"), [("png", "png"), ("jpg", "jpg"), ("png", "jpg"), ("png", "tiff"),
                                          ("jpg", "jxl"), ("png", "ico")])
def test_a_grey_source_stays_grey(client: httpx.Client, server: AppServer, origin: Origin, fmt: str,
                                  out: str) -> None:
    grey = pyvips.Image.new_from_file(str(ASSETS / "core" / "hopper.jpg")).colourspace("b-w")
    url = origin.add(f"/profiles/grey.{fmt}", bytes(grey.write_to_buffer(f".{fmt}")))
    kept = client.get(f"{server.base}/unsafe/rs:fit:64:64/plain/{url}@{out}")
    img = loader.load(kept.content, loader.detect_format(kept.content))  # JPEG XL and ICO: our own loaders
    assert kept.status_code == 200 and (img.bands, img.interpretation) == (1, "b-w")
    rgb = client.get(f"{server.base}/unsafe/rs:fit:64:64/plain/{url}@webp")  # WebP has no grey
    assert pyvips.Image.new_from_buffer(rgb.content, "").bands == 3
    if out == "png":  # one channel instead of three: a smaller file
        as_rgb = bytes(img.colourspace("srgb").pngsave_buffer(compression=6, filter="all"))
        assert len(kept.content) < 0.9 * len(as_rgb)


def test_a_grey_source_stays_grey_with_margins(client: httpx.Client, server: AppServer, origin: Origin) -> None:
    """Padding and extending keep a grey source grey (with alpha, or flattened onto a grey
    background); a colour background makes it RGB, as imgproxy 4 does."""
    grey = pyvips.Image.new_from_file(str(ASSETS / "core" / "hopper.jpg")).colourspace("b-w")
    url = origin.add("/profiles/grey-margins.png", bytes(grey.pngsave_buffer()))
    for options, expected in (("pd:10", ("b-w", [0, 0])), ("ex:1/rs:fit:200:100", ("b-w", [0, 0])),
                              ("pd:10/bg:127:127:127", ("b-w", [127])),
                              ("pd:10/bg:255:0:0", ("srgb", [255, 0, 0]))):
        response = client.get(f"{server.base}/unsafe/rs:fit:64:64/{options}/plain/{url}@png")
        img = pyvips.Image.new_from_buffer(response.content, "")
        assert (img.interpretation, img(0, 0)) == expected, options
