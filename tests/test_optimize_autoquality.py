"""Choosing the quality: dssim, size and ml autoquality, max_bytes, and what is left alone."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
import pyvips

from imgproxy_py.errors import DeadlineExceededError
from imgproxy_py.optimize import AutoQualitySpec, EncodeResult, OptimizeConfig, encode_with_quality_control
from imgproxy_py.optimize import ml as ml_module
from imgproxy_py.optimize.dssim import DssimMeter

SAVERS: dict[str, Callable[[pyvips.Image, int], bytes]] = {
    "jpeg": lambda image, q: bytes(image.jpegsave_buffer(Q=q, optimize_coding=True, keep="none")),
    "webp": lambda image, q: bytes(image.webpsave_buffer(Q=q, effort=4, keep="none")),
    "png": lambda image, q: bytes(image.pngsave_buffer(keep="none")),
    "gif": lambda image, q: bytes(image.gifsave_buffer(keep="none")),
}


class CountingSaver:
    """The server's saver stand-in: records the quality of every call."""

    def __init__(self, fmt: str) -> None:
        self.save = SAVERS[fmt]
        self.qualities: list[int] = []

    def __call__(self, image: pyvips.Image, quality: int) -> bytes:
        self.qualities.append(quality)
        return self.save(image, quality)


def photo(name: str, width: int = 320) -> pyvips.Image:
    from skimage import data

    pixels = getattr(data, name)()
    image = pyvips.Image.new_from_array(pixels).copy(interpretation="srgb")
    return image.resize(width / image.width).copy_memory()


def held_out_photos() -> list[pyvips.Image]:
    """Photos from sources the ml model never saw in training (see train_autoquality.py)."""
    from sklearn.datasets import load_sample_images

    china, flower = (pyvips.Image.new_from_array(p).copy(interpretation="srgb")
                     for p in load_sample_images().images)
    return [photo("chelsea"), photo("rocket"), china.crop(100, 60, 320, 240).copy_memory(),
            flower.resize(0.5).copy_memory()]


def run(image: pyvips.Image, fmt: str, spec: AutoQualitySpec | None, *, quality: int = 80,
        max_bytes: int = 0, max_resolution: int = 0, **kwargs: object) -> tuple[EncodeResult, CountingSaver]:
    saver = CountingSaver(fmt)
    result = encode_with_quality_control(image, fmt, saver, quality=quality, autoquality=spec,
                                         max_bytes=max_bytes, max_resolution=max_resolution,
                                         **kwargs)  # type: ignore[arg-type]
    assert result.encodes == len(saver.qualities) == len(set(saver.qualities))  # never the same twice
    return result, saver


def dssim_curve(image: pyvips.Image, fmt: str, qualities: range) -> dict[int, float]:
    meter = DssimMeter(image)
    return {q: meter.measure(SAVERS[fmt](image, q)) for q in qualities}


def test_dssim_returns_the_lowest_quality_within_the_target() -> None:
    image = photo("coffee")
    spec = AutoQualitySpec("dssim", 0.02, 30, 95, 0.002)
    curve = dssim_curve(image, "jpeg", range(30, 96))  # the brute-force scan
    expected = min(q for q, value in curve.items() if value <= spec.target + spec.allowed_error)
    result, _ = run(image, "jpeg", spec)
    assert result.quality == expected
    assert result.dssim == pytest.approx(curve[expected])
    assert abs(result.dssim - spec.target) <= spec.allowed_error
    assert result.data == SAVERS["jpeg"](image, expected)
    assert result.encodes <= 6 < len(curve)


@pytest.mark.parametrize("fmt", ["jpeg", "webp"])
def test_dssim_lands_with_fewer_saves_than_a_linear_scan(fmt: str) -> None:
    spec = AutoQualitySpec("dssim", 0.015, 40, 95, 0.002)
    saves, scan_saves = [], []
    for image in (photo("astronaut"), photo("chelsea"), photo("rocket")):
        result, _ = run(image, fmt, spec)
        assert result.dssim is not None and abs(result.dssim - spec.target) <= spec.allowed_error
        saves.append(result.encodes)
        scan_saves.append(result.quality - spec.min_quality + 1)  # a scan up from the minimum
    assert sum(saves) < sum(scan_saves)
    assert max(saves) <= 7


def test_dssim_keeps_to_the_quality_range() -> None:
    image = photo("chelsea", 256)
    loose, _ = run(image, "jpeg", AutoQualitySpec("dssim", 0.2, 70, 80, 0.002))
    assert loose.quality == 70  # even the minimum is better than the target
    strict, _ = run(image, "jpeg", AutoQualitySpec("dssim", 0.0005, 70, 80, 0.0001))
    assert strict.quality == 80  # even the maximum is worse: the best allowed
    single, saver = run(image, "jpeg", AutoQualitySpec("dssim", 0.02, 75, 75, 0.002))
    assert single.quality == 75 and saver.qualities == [75]


def test_size_returns_the_highest_quality_that_fits() -> None:
    image = photo("astronaut")
    sizes = {q: len(SAVERS["webp"](image, q)) for q in range(10, 91)}  # the brute-force scan
    target = 9000
    expected = max(q for q, size in sizes.items() if size <= target)
    result, _ = run(image, "webp", AutoQualitySpec("size", target, 10, 90, 0.0))
    assert result.quality == expected
    assert len(result.data) <= target < sizes[expected + 1]
    assert result.encodes <= 6
    too_small, _ = run(image, "webp", AutoQualitySpec("size", 100, 10, 90, 0.0))
    assert too_small.quality == 10  # nothing fits: the lowest allowed


def test_ml_needs_about_one_save_and_lands() -> None:
    assert ml_module.find_model_path() is not None, "models/autoquality_ml.npz is missing"
    spec = AutoQualitySpec("ml", 0.02, 10, 95, 0.002)
    saves = []
    for fmt in ("jpeg", "webp"):
        for image in held_out_photos():
            result, _ = run(image, fmt, spec)
            assert result.dssim is not None and abs(result.dssim - spec.target) <= spec.allowed_error
            saves.append(result.encodes)
    assert sum(saves) / len(saves) <= 2.0, saves


def test_ml_without_a_model_is_dssim(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(ml_module, "BUNDLED_MODELS_DIR", tmp_path)
    assert ml_module.default_model_path() is None
    image = photo("rocket")
    ml_result, ml_saver = run(image, "jpeg", AutoQualitySpec("ml", 0.02, 30, 95, 0.002))
    dssim_result, dssim_saver = run(image, "jpeg", AutoQualitySpec("dssim", 0.02, 30, 95, 0.002))
    assert ml_saver.qualities == dssim_saver.qualities
    assert ml_result.quality == dssim_result.quality
    missing, _ = run(image, "jpeg", AutoQualitySpec("ml", 0.02, 30, 95, 0.002),
                     ml_model_path=tmp_path / "nothing.npz")
    assert missing.quality == dssim_result.quality


def test_unusable_model_file_means_dssim(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    broken = tmp_path / ml_module.MODEL_FILE
    broken.write_bytes(b"not a model")
    image = photo("rocket", 200)
    spec = AutoQualitySpec("ml", 0.02, 30, 95, 0.002)
    with caplog.at_level("WARNING", logger="imgproxy_py.optimize"):
        ml_result, _ = run(image, "jpeg", spec, ml_model_path=broken)
    assert "unusable" in caplog.text
    dssim_result, _ = run(image, "jpeg", AutoQualitySpec("dssim", 0.02, 30, 95, 0.002))
    assert ml_result.quality == dssim_result.quality and ml_result.encodes == dssim_result.encodes


def test_models_dir_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    model = ml_module.find_model_path()
    assert model is not None
    (tmp_path / ml_module.MODEL_FILE).write_bytes(model.read_bytes())
    monkeypatch.setattr(ml_module, "BUNDLED_MODELS_DIR", tmp_path / "elsewhere")
    config, problems = OptimizeConfig.from_env({"IMGPROXY_MODELS_DIR": str(tmp_path)})
    assert problems == []
    assert config.ml_model_path == tmp_path / ml_module.MODEL_FILE
    assert ml_module.default_model_path() is None  # only the config reads IMGPROXY_MODELS_DIR


def expected_max_bytes_qualities(sizes: Callable[[int], int], start: int, limit: int) -> list[int]:
    """imgproxy's saveImageToFitBytes, written out independently."""
    qualities, quality = [], start
    while True:
        qualities.append(quality)
        size = sizes(quality)
        if size <= limit or quality <= 10:
            return qualities
        ratio = size / limit
        factor = 0.25 if ratio > 3 else 0.5 if ratio > 1.5 else 0.75
        quality = max(1, min(quality - 1, int(quality * factor + 0.5)))


@pytest.mark.parametrize("limit", [30000, 12000, 5000, 500])
def test_max_bytes_lowers_quality_as_imgproxy_does(limit: int) -> None:
    image = photo("astronaut")
    result, saver = run(image, "jpeg", None, quality=85, max_bytes=limit)
    expected = expected_max_bytes_qualities(lambda q: len(SAVERS["jpeg"](image, q)), 85, limit)
    assert saver.qualities == expected
    assert result.quality == expected[-1]
    assert len(result.data) <= limit or result.quality <= 10


def test_max_bytes_after_autoquality() -> None:
    image = photo("coffee")
    spec = AutoQualitySpec("dssim", 0.01, 40, 95, 0.002)
    alone, _ = run(image, "jpeg", spec)
    assert len(alone.data) > 9000
    both, saver = run(image, "jpeg", spec, max_bytes=9000)
    assert both.quality < alone.quality
    assert len(both.data) <= 9000
    # max_bytes starts from the autoquality result (no extra save of it) and only goes down.
    after = saver.qualities[saver.qualities.index(alone.quality) + 1:]
    assert after and all(q < alone.quality for q in after)
    fits, _ = run(image, "jpeg", spec, max_bytes=10_000_000)
    assert fits.quality == alone.quality and fits.encodes == alone.encodes


@pytest.mark.parametrize("fmt", ["png", "gif"])
def test_formats_without_quality_are_saved_once(fmt: str) -> None:
    image = photo("chelsea", 64)
    result, saver = run(image, fmt, AutoQualitySpec("dssim", 0.02, 70, 80, 0.002), quality=80,
                        max_bytes=100)
    assert saver.qualities == [80] and result.encodes == 1 and result.dssim is None


def test_above_max_resolution_dssim_is_measured_on_a_downscaled_copy() -> None:
    image = photo("chelsea", 256)
    spec = AutoQualitySpec("dssim", 0.02, 40, 95, 0.002)
    full, _ = run(image, "jpeg", spec, quality=77, max_resolution=0)
    small, _ = run(image, "jpeg", spec, quality=77, max_resolution=image.width * image.height // 4)
    assert small.encodes > 1 and small.dssim is not None  # still searched, not skipped
    # Measured at half the size, JPEG's 8x8 artefacts shrink: the same target allows a lower quality.
    assert small.quality <= full.quality
    meter = DssimMeter(image, image.width * image.height // 4)
    assert meter.reference.height == image.height // 2


def test_disabled_autoquality_saves_once_at_the_given_quality() -> None:
    result, saver = run(photo("chelsea", 128), "webp", AutoQualitySpec(), quality=63)
    assert saver.qualities == [63] and result.quality == 63 and result.dssim is None


def test_deadline_is_checked_before_every_save() -> None:
    calls = []

    def check() -> None:
        calls.append(1)
        if len(calls) > 2:
            raise DeadlineExceededError("time is up")

    saver = CountingSaver("jpeg")
    with pytest.raises(DeadlineExceededError):
        encode_with_quality_control(photo("coffee"), "jpeg", saver, quality=80,
                                    autoquality=AutoQualitySpec("dssim", 0.013, 10, 95, 0.0005),
                                    max_bytes=0, max_resolution=0, check_deadline=check)
    assert len(saver.qualities) == 2
