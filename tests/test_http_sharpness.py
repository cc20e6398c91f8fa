"""imgproxy Pro's sharpness, blur-area and geometry options through the server, on a real photo:
which forms are accepted (and what they mean) and refused (404 naming the problem), and what
each does to the pixels and the size."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
import pytest
import pyvips

from imgproxy_py.options.values_sharpness import (
    BlurArea,
    BlurAreas,
    CropAspectRatio,
    ProgressiveBlur,
    ResizingAlgorithm,
    UnsharpMaskingArgs,
    UnsharpMaskingMode,
)
from tests.servers import AppServer
from tests.sharpness_support import detail, laplacian_variance
from tests.steps.support import options

PHOTO = "local:///core/hopper.png"  # 128x128
N = None

# (options in a URL, the field they set, its value)
ACCEPTED: list[tuple[str, str, Any]] = [
    ("ra:nearest", "resizing_algorithm", ResizingAlgorithm.NEAREST),
    ("resizing_algorithm:lanczos2", "resizing_algorithm", ResizingAlgorithm.LANCZOS2),
    ("", "resizing_algorithm", ResizingAlgorithm.LANCZOS3),
    ("car:1.5", "crop_aspect_ratio", CropAspectRatio(1.5, False)),
    ("crop_ar:2:1", "crop_aspect_ratio", CropAspectRatio(2.0, True)),
    ("crop_aspect_ratio:0.5:t", "crop_aspect_ratio", CropAspectRatio(0.5, True)),
    ("car:0", "crop_aspect_ratio", CropAspectRatio(0.0, False)),
    ("car:1:maybe", "crop_aspect_ratio", CropAspectRatio(1.0, False)),  # as every bool: not true is false
    ("ush:always:2:16", "unsharp_masking", UnsharpMaskingArgs(UnsharpMaskingMode.ALWAYS, 2.0, 16.0)),
    ("unsharp_masking:none", "unsharp_masking", UnsharpMaskingArgs(UnsharpMaskingMode.NONE)),
    ("ush::0.5", "unsharp_masking", UnsharpMaskingArgs(N, 0.5, N)),
    ("ush:", "unsharp_masking", UnsharpMaskingArgs()),
    ("ush:always/ush::3", "unsharp_masking", UnsharpMaskingArgs(UnsharpMaskingMode.ALWAYS, 3.0)),  # empty keeps
    ("ba:5:0.1:0.2:0.3:0.4", "blur_areas", BlurAreas(5.0, (BlurArea(0.1, 0.2, 0.3, 0.4),))),
    ("blur_areas:2:0:0:1:1:0.5:0.5:0.5:0.5", "blur_areas",
     BlurAreas(2.0, (BlurArea(0, 0, 1, 1), BlurArea(0.5, 0.5, 0.5, 0.5)))),
    ("ba:0:0.1:0.2:0.3:0.4", "blur_areas", N),  # sigma 0: off
    ("ba:5", "blur_areas", N),
    ("pbl:10", "progressive_blur", ProgressiveBlur(10.0, 0.0, 0.0, 1.0)),
    ("progressive_blur:3:up:0.2:0.8", "progressive_blur", ProgressiveBlur(3.0, 180.0, 0.2, 0.8)),
    ("pbl:3:right", "progressive_blur", ProgressiveBlur(3.0, 270.0)),
    ("pbl:3:45.5::0.5", "progressive_blur", ProgressiveBlur(3.0, 45.5, 0.0, 0.5)),
    ("pbl:3:-90:0.5:0.5", "progressive_blur", ProgressiveBlur(3.0, 270.0, 0.5, 0.5)),
    ("pbl:3:down:0.8:0.2", "progressive_blur", ProgressiveBlur(3.0, 0.0, 0.8, 0.2)),  # reversed, as gradient's
    ("pbl:0:left", "progressive_blur", N),
]

# (options in a URL, words the 404 must hold)
REFUSED: list[tuple[str, str]] = [
    ("ra:bicubic", "resizing_algorithm"),
    ("ra:", "resizing_algorithm"),
    ("ra:nearest:1", "resizing_algorithm"),
    ("car:-1", "crop_aspect_ratio"),
    ("car:wide", "crop_aspect_ratio"),
    ("car:1:1:1", "crop_aspect_ratio"),
    ("ush:sometimes", "unsharp_masking mode"),
    ("ush:auto:0", "unsharp_masking weight"),
    ("ush:auto:1:-24", "unsharp_masking divider"),
    ("ush:auto:1:24:1", "unsharp_masking"),
    ("ba:-1:0:0:1:1", "blur_areas sigma"),
    ("ba:5:0:0:1", "an area takes left, top, width and height"),
    ("ba:5:0:0:1:1.5", "blur_areas area"),
    ("ba:5:0:0:1:x", "blur_areas area"),
    ("ba:", "blur_areas sigma"),
    ("pbl:-2", "progressive_blur sigma"),
    ("pbl:2:sideways", "progressive_blur direction"),
    ("pbl:2:down:1.5", "progressive_blur start"),
    ("pbl:2:down:0:2", "progressive_blur stop"),
    ("pbl:2:down:0:1:1", "progressive_blur"),
]


@pytest.mark.parametrize(("url_options", "field", "value"), ACCEPTED, ids=[u or "none" for u, _, _ in ACCEPTED])
def test_accepted_forms(url_options: str, field: str, value: Any) -> None:
    assert getattr(options(url_options), field) == value


@pytest.mark.parametrize(("url_options", "words"), REFUSED, ids=[u for u, _ in REFUSED])
def test_refused_forms_are_404_naming_the_problem(server: AppServer, client: httpx.Client, url_options: str,
                                                 words: str) -> None:
    response = client.get(f"{server.base}/unsafe/{url_options}/plain/{PHOTO}")
    assert response.status_code == 404
    assert words in response.text


def pixels(data: bytes) -> npt.NDArray[np.uint8]:
    img = pyvips.Image.new_from_buffer(data, "")
    return np.ndarray(buffer=img.write_to_memory(), dtype=np.uint8, shape=(img.height, img.width, img.bands))


def image(data: bytes) -> pyvips.Image:
    return pyvips.Image.new_from_buffer(data, "")


Fetch = Callable[[str], bytes]


@pytest.fixture
def fetch(server: AppServer, client: httpx.Client) -> Fetch:
    def get(url_options: str, source: str = PHOTO) -> bytes:
        response = client.get(f"{server.base}/unsafe/{url_options}/plain/{source}@png")
        assert response.status_code == 200, response.text
        return response.content
    return get


def test_unsharp_masking_auto_sharpens_downscales_only(fetch: Fetch) -> None:
    auto, none, always = (image(fetch(f"rs:fit:64:64{extra}")) for extra in ("", "/ush:none", "/ush:always"))
    assert detail(auto) > 1.3 * detail(none)
    assert np.array_equal(pixels(fetch("rs:fit:64:64")), pixels(fetch("rs:fit:64:64/ush:always")))
    assert detail(always) == detail(auto)
    # Not downscaled: auto leaves the photo alone, always sharpens it.
    same, forced = fetch("rs:fit:128:128"), fetch("rs:fit:128:128/ush:always")
    assert np.array_equal(pixels(same), pixels(fetch("rs:fit:128:128/ush:none")))
    assert detail(image(forced)) > 1.3 * detail(image(same))
    # sharpen set: auto makes way for it.
    assert np.array_equal(pixels(fetch("rs:fit:64:64/sh:0.5")), pixels(fetch("rs:fit:64:64/sh:0.5/ush:none")))


def test_unsharp_masking_settings(start_server: Callable[..., AppServer], client: httpx.Client,
                                  fetch: Fetch) -> None:
    strong = start_server(IMGPROXY_UNSHARP_MASKING_MODE="always", IMGPROXY_UNSHARP_MASKING_DIVIDER="8",
                          IMGPROXY_UNSHARP_MASKING_WEIGHT="1.5")

    def get(url_options: str) -> bytes:
        response = client.get(f"{strong.base}/unsafe/{url_options}/plain/{PHOTO}@png")
        assert response.status_code == 200
        return response.content

    assert detail(image(get("rs:fit:128:128"))) > 1.5 * detail(image(fetch("rs:fit:128:128/ush:always")))
    assert np.array_equal(pixels(get("rs:fit:64:64/ush:auto:1:24")), pixels(fetch("rs:fit:64:64")))
    assert np.array_equal(pixels(get("rs:fit:64:64/ush:none")), pixels(fetch("rs:fit:64:64/ush:none")))


def test_unsharp_masking_settings_are_checked_at_start_up() -> None:
    from imgproxy_py.config import read_config

    _, problems = read_config({"IMGPROXY_UNSHARP_MASKING_MODE": "often", "IMGPROXY_UNSHARP_MASKING_WEIGHT": "0",
                               "IMGPROXY_UNSHARP_MASKING_DIVIDER": "nan"})
    named = " ".join(problems)
    for name in ("MODE", "WEIGHT", "DIVIDER"):
        assert f"IMGPROXY_UNSHARP_MASKING_{name}" in named


def test_blur_area_loses_detail_and_the_rest_keeps_it(fetch: Fetch) -> None:
    plain, blurred = pixels(fetch("ush:none")), pixels(fetch("ba:4:0.25:0.25:0.5:0.5"))
    assert blurred.shape == plain.shape == (128, 128, 3)
    inside = (slice(40, 88), slice(40, 88))
    grey = np.array([0.2126, 0.7152, 0.0722])
    assert laplacian_variance(blurred[inside] @ grey) < 0.2 * laplacian_variance(plain[inside] @ grey)
    outside = np.ones((128, 128), dtype=bool)
    outside[32:96, 32:96] = False
    assert np.array_equal(blurred[outside], plain[outside])


def test_blur_area_follows_exif_orientation_and_rotation(fetch: Fetch) -> None:
    # The top-left quarter as the photo is displayed, whatever its stored orientation; with
    # rot:90 the blurred quarter turns with the image to the top right.
    for source, extra, quarter in (("local:///core/hopper_orientation_6.jpg", "", (0, 0)),
                                   ("local:///core/hopper_orientation_3.jpg", "", (0, 0)),
                                   ("local:///core/hopper.jpg", "/rot:90", (1, 0))):
        shown = image(fetch(f"ba:6:0:0:0.5:0.5{extra}", source))
        half_w, half_h = shown.width // 2, shown.height // 2
        energy = {(qx, qy): detail(shown, (qx * half_w + 4, qy * half_h + 4, half_w - 8, half_h - 8))
                  for qx in (0, 1) for qy in (0, 1)}
        assert min(energy, key=lambda q: energy[q]) == quarter, source


def test_progressive_blur_strongest_at_one_side_absent_at_the_other(fetch: Fetch) -> None:
    plain, blurred = image(fetch("ush:none")), image(fetch("pbl:6:up"))
    assert (blurred.width, blurred.height) == (128, 128)
    top, bottom = (0, 0, 128, 12), (0, 116, 128, 12)
    assert detail(blurred, top) < 0.1 * detail(plain, top)
    assert detail(blurred, bottom) > 0.6 * detail(plain, bottom)
    left = image(fetch("pbl:6:left:0.5"))  # the right side, up to the middle, is untouched
    assert np.array_equal(pixels(fetch("pbl:6:left:0.5"))[:, 70:], pixels(fetch("ush:none"))[:, 70:])
    assert detail(left, (0, 0, 12, 128)) < 0.1 * detail(plain, (0, 0, 12, 128))


@pytest.mark.parametrize("size", [50, 200])
def test_resizing_algorithms(fetch: Fetch, size: int) -> None:
    source = pixels(fetch("ush:none"))
    colours = set(map(tuple, source.reshape(-1, 3)))
    results = {}
    for algorithm in ("nearest", "linear", "cubic", "lanczos2", "lanczos3"):
        result = pixels(fetch(f"rs:fit:{size}:{size}:1/ra:{algorithm}/ush:none"))
        assert result.shape == (size, size, 3)
        new = sum(tuple(p) not in colours for p in result.reshape(-1, 3))
        assert (new == 0) == (algorithm == "nearest"), algorithm
        results[algorithm] = result
    assert not np.array_equal(results["nearest"], results["linear"])
    assert not np.array_equal(results["linear"], results["lanczos3"])
    assert np.array_equal(results["lanczos3"], pixels(fetch(f"rs:fit:{size}:{size}:1/ush:none")))


@pytest.mark.parametrize(
    ("url_options", "size"),
    [
        ("c:100:50/car:1", (50, 50)),
        ("c:60:120:nowe/car:1:1", (120, 120)),  # enlarged, as the docs' example
        ("c:100:120/car:2:1", (128, 64)),  # enlarged past the image: shrunk to fit, ratio kept
        ("car:2", (128, 64)),  # no crop: the whole photo is the area
        ("car:0.5/rs:fit:40:40", (20, 40)),
        ("c:100:50/car:0", (100, 50)),
    ],
)
def test_crop_aspect_ratio_sizes(fetch: Fetch, url_options: str, size: tuple[int, int]) -> None:
    result = image(fetch(url_options))
    assert (result.width, result.height) == size


def test_crop_aspect_ratio_keeps_the_gravity(fetch: Fetch) -> None:
    # Only the size changes: a north-west crop still starts at the top-left corner.
    corrected, direct = pixels(fetch("c:40:80:nowe/car:1")), pixels(fetch("c:40:40:nowe"))
    assert np.array_equal(corrected, direct)


def test_builder_vocabulary_is_the_servers() -> None:
    import doctest
    from typing import get_args

    from imgproxy_py.options.values_color import GRADIENT_DIRECTIONS
    from imgproxy_py.url import options_sharpness as builder

    assert set(get_args(builder.ResizingAlgorithm)) == {a.value for a in ResizingAlgorithm}
    assert set(get_args(builder.UnsharpMaskingMode)) == {m.value for m in UnsharpMaskingMode}
    assert set(get_args(builder.BlurDirection)) == set(GRADIENT_DIRECTIONS)
    assert doctest.testmod(builder).failed == 0
