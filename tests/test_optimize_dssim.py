"""The DSSIM definition autoquality targets: (1 - SSIM) / 2 on luma, scikit-image's SSIM."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
import pyvips
from skimage.metrics import structural_similarity

from imgproxy_py.optimize.dssim import DssimMeter, dssim_between, luma_plane


def real_photo(name: str, width: int = 320) -> pyvips.Image:
    from skimage import data

    image = pyvips.Image.new_from_array(getattr(data, name)()).copy(interpretation="srgb")
    return image.resize(width / image.width).copy_memory()


def save(image: pyvips.Image, fmt: str, quality: int) -> bytes:
    if fmt == "jpeg":
        return bytes(image.jpegsave_buffer(Q=quality, keep="none"))
    return bytes(image.webpsave_buffer(Q=quality, keep="none"))


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
@pytest.mark.parametrize("name", ["coffee", "chelsea", "rocket"])
def test_dssim_falls_as_quality_rises(name: str, fmt: str) -> None:
    image = real_photo(name)
    meter = DssimMeter(image)
    values = [meter.measure(save(image, fmt, q)) for q in range(20, 100, 10)]
    assert all(later < earlier for earlier, later in itertools.pairwise(values)), values
    assert 0.0 < values[-1] < 0.02 < values[0] < 0.2


def test_definition_matches_scikit_image_on_luma() -> None:
    image = real_photo("astronaut", 200)
    decoded = pyvips.Image.new_from_buffer(save(image, "jpeg", 40), "")
    rgb = image.numpy().astype(np.float64) / 255
    rgb_decoded = decoded.numpy().astype(np.float64) / 255
    weights = np.array([0.299, 0.587, 0.114])
    ssim = structural_similarity(rgb @ weights, rgb_decoded @ weights, data_range=1.0, gaussian_weights=True,
                                 sigma=1.5, use_sample_covariance=False)
    assert DssimMeter(image).measure_image(decoded) == pytest.approx((1 - ssim) / 2, abs=1e-5)


def test_identical_images_have_no_dissimilarity() -> None:
    image = real_photo("coffee", 128)
    assert dssim_between(luma_plane(image), luma_plane(image)) == 0.0


def test_hidden_colour_does_not_count_but_alpha_does() -> None:
    rgb = real_photo("coffee", 96)
    alpha = pyvips.Image.black(rgb.width, rgb.height).draw_rect(255, 0, 0, rgb.width // 2, rgb.height,
                                                                fill=True).cast("uchar")
    reference = rgb.bandjoin(alpha)
    recoloured = rgb.invert().bandjoin(alpha)  # changes only where alpha is 0 are invisible...
    visible = (alpha == 0).ifthenelse(recoloured, reference)
    assert DssimMeter(reference).measure_image(visible) == 0.0
    more_alpha = rgb.bandjoin((alpha + 255).cast("uchar"))  # ...but showing them is a change
    assert DssimMeter(reference).measure_image(more_alpha) > 0.05


def test_tiny_and_grey_images_work() -> None:
    tiny = real_photo("coffee", 6)
    assert DssimMeter(tiny).measure(save(tiny, "jpeg", 10)) >= 0.0
    grey = real_photo("camera", 64).extract_band(0).copy(interpretation="b-w")
    assert DssimMeter(grey).measure(save(grey, "jpeg", 95)) < DssimMeter(grey).measure(save(grey, "jpeg", 20))


@pytest.mark.parametrize("bands", [1, 2, 3, 4])
@pytest.mark.parametrize(("width", "height"), [(1, 1), (1, 5), (5, 1)])
def test_luma_plane_of_any_size(width: int, height: int, bands: int) -> None:
    """pyvips drops axes of length 1 from a one-band image's array (none left at 1x1)."""
    image = pyvips.Image.black(width, height, bands=bands).cast("uchar") + 255
    plane = luma_plane(image.copy(interpretation="b-w" if bands < 3 else "srgb"))
    assert plane.shape == (height, width)
    assert np.allclose(plane, 1.0)


@pytest.mark.parametrize("bands", [1, 3, 4])
@pytest.mark.parametrize("strip_pixels", [1 << 20, 5000, 600, 1])
def test_strips_give_the_whole_images_dssim(monkeypatch: pytest.MonkeyPatch, bands: int, strip_pixels: int) -> None:
    """A large image is measured a strip of rows at a time (a 96 MP result took 6 GB at once):
    the same SSIM map, so the same DSSIM, whatever the strip's height."""
    import imgproxy_py.optimize.dssim as dssim

    image = real_photo("astronaut", 200)
    if bands == 1:
        image = image.colourspace("b-w")
    elif bands == 4:
        image = image.bandjoin((pyvips.Image.black(image.width, image.height) + 180).cast("uchar"))
    decoded = pyvips.Image.new_from_buffer(
        image.webpsave_buffer(Q=30) if bands == 4 else image.jpegsave_buffer(Q=30), "")
    whole = dssim_between(luma_plane(image), luma_plane(decoded))
    monkeypatch.setattr(dssim, "STRIP_PIXELS", strip_pixels)
    assert DssimMeter(image).measure_image(decoded) == pytest.approx(whole, rel=1e-9)
    checks: list[int] = []
    dssim.dssim_of_images(image, decoded, lambda: checks.append(1))
    assert len(checks) == (0 if strip_pixels == 1 << 20 else -(-(image.height - 10) // max(1, strip_pixels // 200)))
