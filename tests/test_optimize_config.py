"""Autoquality and PNG settings: environment variables, URL arguments, canonical strings."""

from __future__ import annotations

import pytest

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.optimize import (
    AutoQualitySpec,
    OptimizeConfig,
    PngSpec,
    parse_autoquality_args,
    parse_png_options_args,
)


def test_defaults_follow_imgproxy() -> None:
    config, errors = OptimizeConfig.from_env({})
    assert errors == []
    assert config.autoquality == AutoQualitySpec("none", 0.02, 70, 80, 0.002)
    assert config.autoquality_defaults("jpeg") == AutoQualitySpec("none", 0.02, 70, 80, 0.002)
    avif = config.autoquality_defaults("avif")
    assert (avif.min_quality, avif.max_quality) == (60, 65)
    assert config.autoquality_max_resolution == 0
    assert config.png == PngSpec(interlaced=False, quantize=False, colors=256)


def test_environment_values() -> None:
    config, errors = OptimizeConfig.from_env({
        "IMGPROXY_AUTOQUALITY_METHOD": "dssim",
        "IMGPROXY_AUTOQUALITY_TARGET": "0.015",
        "IMGPROXY_AUTOQUALITY_MIN": "50",
        "IMGPROXY_AUTOQUALITY_MAX": "90",
        "IMGPROXY_AUTOQUALITY_ALLOWED_ERROR": "0.001",
        "IMGPROXY_AUTOQUALITY_FORMAT_MIN": "webp=40, jpg=45",
        "IMGPROXY_AUTOQUALITY_FORMAT_MAX": "webp=85",
        "IMGPROXY_AUTOQUALITY_MAX_RESOLUTION": "2.5",
        "IMGPROXY_PNG_QUANTIZE": "true",
        "IMGPROXY_PNG_QUANTIZATION_COLORS": "64",
        "IMGPROXY_PNG_INTERLACED": "1",
    })
    assert errors == []
    assert config.autoquality_defaults("webp") == AutoQualitySpec("dssim", 0.015, 40, 85, 0.001)
    assert config.autoquality_defaults("jpeg") == AutoQualitySpec("dssim", 0.015, 45, 90, 0.001)
    # A set FORMAT_MIN/MAX replaces imgproxy's avif default, as in imgproxy.
    assert config.autoquality_defaults("avif") == AutoQualitySpec("dssim", 0.015, 50, 90, 0.001)
    assert config.autoquality_max_resolution == 2_500_000
    assert config.png == PngSpec(interlaced=True, quantize=True, colors=64)


def test_environment_errors_are_collected_not_raised() -> None:
    config, errors = OptimizeConfig.from_env({
        "IMGPROXY_AUTOQUALITY_METHOD": "magic",
        "IMGPROXY_AUTOQUALITY_MIN": "0",
        "IMGPROXY_AUTOQUALITY_FORMAT_MIN": "avif=70,bogus=3,webp=x",
        "IMGPROXY_AUTOQUALITY_FORMAT_MAX": "avif=65",
        "IMGPROXY_PNG_QUANTIZATION_COLORS": "300",
        "IMGPROXY_AUTOQUALITY_TARGET": "-1",
    })
    text = "\n".join(errors)
    assert "IMGPROXY_AUTOQUALITY_METHOD" in text
    assert "IMGPROXY_AUTOQUALITY_MIN" in text
    assert "'bogus=3'" in text and "'webp=x'" in text
    assert "avif minimum 70 is above its maximum 65" in text
    assert "IMGPROXY_PNG_QUANTIZATION_COLORS" in text
    assert "IMGPROXY_AUTOQUALITY_TARGET" in text
    assert config.autoquality.method == "none"  # bad values fall back to the defaults
    assert config.png.colors == 256


def test_size_method_needs_a_byte_target() -> None:
    _, errors = OptimizeConfig.from_env({"IMGPROXY_AUTOQUALITY_METHOD": "size"})
    assert any("size" in error for error in errors)  # the default target 0.02 is not a size
    _, errors = OptimizeConfig.from_env(
        {"IMGPROXY_AUTOQUALITY_METHOD": "size", "IMGPROXY_AUTOQUALITY_TARGET": "10240"})
    assert errors == []


def test_autoquality_args_keep_base_values_where_empty() -> None:
    base = AutoQualitySpec("none", 0.02, 70, 80, 0.002)
    assert parse_autoquality_args([], base) == base
    assert parse_autoquality_args(["dssim"], base) == AutoQualitySpec("dssim", 0.02, 70, 80, 0.002)
    assert parse_autoquality_args(["ml", "", "60"], base) == AutoQualitySpec("ml", 0.02, 60, 80, 0.002)
    assert parse_autoquality_args(["size", "10240", "10", "80"], base) == AutoQualitySpec(
        "size", 10240.0, 10, 80, 0.002)
    assert parse_autoquality_args(["dssim", "0.03", "40", "95", "0.001"], base) == AutoQualitySpec(
        "dssim", 0.03, 40, 95, 0.001)


@pytest.mark.parametrize(("args", "message"), [
    (["fast"], "method"),
    (["dssim", "abc"], "target"),
    (["dssim", "-0.01"], "target"),
    (["dssim", "nan"], "target"),
    (["dssim", "0.02", "0"], "min_quality"),
    (["dssim", "0.02", "70", "101"], "max_quality"),
    (["dssim", "0.02", "7.5"], "min_quality"),
    (["dssim", "0.02", "90", "80"], "above maximal quality"),
    (["dssim", "0.02", "70", "80", "-1"], "allowed_error"),
    (["size", "0.5"], "bytes"),
    (["dssim", "0.02", "70", "80", "0.002", "extra"], "at most 5"),
])
def test_bad_autoquality_args(args: list[str], message: str) -> None:
    with pytest.raises(InvalidURLError, match=message):
        parse_autoquality_args(args, AutoQualitySpec())


def test_png_options_args() -> None:
    base = PngSpec()
    assert parse_png_options_args([], base) == base
    assert parse_png_options_args(["1"], base) == PngSpec(interlaced=True)
    assert parse_png_options_args(["", "true", "16"], base) == PngSpec(quantize=True, colors=16)
    assert parse_png_options_args(["f", "f"], PngSpec(True, True, 8)) == PngSpec(False, False, 8)


@pytest.mark.parametrize(("args", "message"), [
    (["maybe"], "interlaced"),
    (["0", "yes please"], "quantize"),
    (["0", "1", "1"], "2-256"),
    (["0", "1", "257"], "2-256"),
    (["0", "1", "many"], "integer"),
    (["0", "1", "16", "4"], "at most 3"),
])
def test_bad_png_options_args(args: list[str], message: str) -> None:
    with pytest.raises(InvalidURLError, match=message):
        parse_png_options_args(args, PngSpec())


def test_canonical_strings_are_stable_and_distinguish_settings() -> None:
    assert AutoQualitySpec("dssim", 0.02, 70, 80, 0.002).canonical() == "aq:dssim:0.02:70:80:0.002"
    assert AutoQualitySpec("size", 10240.0, 10, 80, 0.002).canonical() == "aq:size:10240:10:80"
    assert AutoQualitySpec("ml", 0.01, 60, 90, 0.001).canonical() == "aq:ml:0.01:60:90:0.001"
    # Settings of a disabled spec change nothing, so they do not split cache keys.
    assert AutoQualitySpec("none", 0.5, 1, 2, 0.1).canonical() == AutoQualitySpec().canonical() == "aq:none"
    assert PngSpec().canonical() == "pngo:0:0:-"
    assert PngSpec(interlaced=True, quantize=True, colors=16).canonical() == "pngo:1:1:16"
    assert PngSpec(quantize=True, colors=16).canonical() != PngSpec(quantize=True, colors=32).canonical()
