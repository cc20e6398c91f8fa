"""The format registry: one record per format, and the names, types and capabilities read from it."""

from __future__ import annotations

import pytest

from imgproxy_py.formats import FORMATS, ImageFormat, ShrinkOnLoad, format_by_name

F = ImageFormat


def test_every_format_has_one_record() -> None:
    assert set(FORMATS) == set(ImageFormat)
    assert all(spec.format is fmt for fmt, spec in FORMATS.items())


@pytest.mark.parametrize(
    ("fmt", "mime", "extension", "names"),
    [
        (F.JPEG, "image/jpeg", "jpg", ("jpeg", "jpg", "JPG")),
        (F.PNG, "image/png", "png", ("png",)),
        (F.WEBP, "image/webp", "webp", ("webp",)),
        (F.AVIF, "image/avif", "avif", ("avif",)),
        (F.GIF, "image/gif", "gif", ("gif",)),
        (F.ICO, "image/x-icon", "ico", ("ico",)),
        (F.SVG, "image/svg+xml", "svg", ("svg",)),
        (F.HEIC, "image/heif", "heic", ("heic", "heif")),
        (F.BMP, "image/bmp", "bmp", ("bmp",)),
        (F.TIFF, "image/tiff", "tiff", ("tiff", "tif")),
        (F.JXL, "image/jxl", "jxl", ("jxl",)),
        (F.PDF, "application/pdf", "pdf", ("pdf",)),
    ],
)
def test_names_and_types(fmt: ImageFormat, mime: str, extension: str, names: tuple[str, ...]) -> None:
    assert fmt.mime == mime
    assert fmt.extension == extension
    assert all(format_by_name(name) is fmt for name in names)


def test_unknown_names() -> None:
    assert format_by_name("psd") is None
    assert format_by_name("") is None


@pytest.mark.parametrize(
    ("capability", "formats"),
    [
        ("supports_alpha", set(ImageFormat) - {F.JPEG, F.PDF}),
        ("supports_animation", {F.GIF, F.WEBP}),
        ("supports_quality", {F.JPEG, F.WEBP, F.AVIF, F.HEIC, F.JXL, F.TIFF}),
        ("is_vector", {F.SVG}),
    ],
)
def test_capabilities(capability: str, formats: set[ImageFormat]) -> None:
    assert {fmt for fmt in ImageFormat if getattr(fmt, capability)} == formats


def test_codec_facts() -> None:
    assert {f for f, s in FORMATS.items() if s.autoquality} == {F.JPEG, F.WEBP, F.AVIF, F.JXL}
    assert {f for f, s in FORMATS.items() if s.multi_page} == {F.GIF, F.WEBP, F.AVIF, F.HEIC, F.TIFF, F.PDF}
    assert {f: s.shrink_on_load for f, s in FORMATS.items() if s.shrink_on_load is not ShrinkOnLoad.NONE} == {
        F.JPEG: ShrinkOnLoad.FACTOR, F.WEBP: ShrinkOnLoad.SCALE, F.SVG: ShrinkOnLoad.VECTOR,
        F.PDF: ShrinkOnLoad.SCALE}
    assert {f: s.max_dimension for f, s in FORMATS.items() if s.max_dimension} == {
        F.WEBP: 16383, F.AVIF: 16384, F.HEIC: 16384, F.ICO: 256, F.GIF: 65535}
    # Nothing writes SVG or PDF from pixels.
    assert {f for f, s in FORMATS.items() if not s.saver} == {F.SVG, F.PDF}
