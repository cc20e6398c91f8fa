"""The encoding options' arguments, their settings and the pieces behind them, without a server:
what each form parses to, the settings' defaults and problems, how a URL's arguments are laid
over the settings, the CSS a style may carry and where the style goes in an SVG."""

from __future__ import annotations

import doctest
from pathlib import Path
from typing import Any

import pytest

from imgproxy_py.config import load_config, read_config
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.imaging.codecs.settings import EncoderSettings
from imgproxy_py.imaging.codecs.svg_style import inject_style, safe_css
from imgproxy_py.imaging.result_metadata import profile_source
from imgproxy_py.options.model import OutputOptions
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.options.values_encoding import AvifArgs, JpegArgs, WebpArgs
from imgproxy_py.url import options_encoding
from imgproxy_py.url.tokenizer import parse_path

CONFIG = load_config({})
PARSER = OptionsParser(CONFIG)


def parsed(options: str) -> OutputOptions:
    path = parse_path(f"/unsafe/{options}/plain/local:///a.jpg", CONFIG.url)
    return PARSER.parse(path.options, path.source.extension).output


ACCEPTED: list[tuple[str, str, Any]] = [
    ("jpgo:1", "jpeg_options", JpegArgs(progressive=True)),
    ("jpeg_options:t:f:true:false:1:8", "jpeg_options", JpegArgs(True, False, True, False, True, 8)),
    ("jpgo::1", "jpeg_options", JpegArgs(no_subsample=True)),
    ("jpgo:::::0:0", "jpeg_options", JpegArgs(optimize_scans=False, quant_table=0)),
    ("jpgo:", "jpeg_options", JpegArgs()),
    ("webpo:lossless", "webp_options", WebpArgs("lossless")),
    ("webp_options:near_lossless:1:icon", "webp_options", WebpArgs("near_lossless", True, "icon")),
    ("webpo:::text", "webp_options", WebpArgs(preset="text")),
    ("avifo:off", "avif_options", AvifArgs("off")),
    ("avif_options:on", "avif_options", AvifArgs("on")),
    ("avifo:", "avif_options", AvifArgs()),
    ("dpi:300", "dpi", 300.0),
    ("dpi:72.5", "dpi", 72.5),
    ("dpi:0", "dpi", 0.0),
    ("dpi:65535", "dpi", 65535.0),
    ("cp:srgb", "color_profile", "srgb"),
    ("icc:CMYK", "color_profile", "cmyk"),
    ("color_profile:Display%20P3", "color_profile", "Display P3"),
    ("cp:my.profile.icm", "color_profile", "my.profile.icm"),
    ("st:cmVjdCB7IGZpbGw6IGJsdWUgfQ", "style", "rect { fill: blue }"),
    ("style:cmVjdCB7IGZpbGw6IGJsdWUgfQ==", "style", "rect { fill: blue }"),
]


@pytest.mark.parametrize(("options", "field", "value"), ACCEPTED, ids=[a for a, _, _ in ACCEPTED])
def test_accepted_forms(options: str, field: str, value: Any) -> None:
    assert getattr(parsed(options), field) == value


# (options, words the 404's message must hold)
REFUSED: list[tuple[str, tuple[str, ...]]] = [
    ("jpgo:maybe", ("jpeg_options", "maybe")),
    ("jpgo:1:1:1:1:1:9", ("jpeg_options", "'9'", "0-8")),
    ("jpgo:::::-1", ("jpeg_options", "'-1'")),
    ("jpgo:1:1:1:1:1:1:1", ("jpeg_options",)),
    ("webpo:lossy2", ("webp_options", "lossy2", "near_lossless")),
    ("webpo:lossy:yes", ("webp_options", "yes")),
    ("webpo:lossy:1:portrait", ("webp_options", "portrait", "drawing")),
    ("webpo:lossy:1:photo:x", ("webp_options",)),
    ("avifo:420", ("avif_options", "420", "auto")),
    ("avifo:on:off", ("avif_options",)),
    ("dpi:-1", ("dpi", "-1")),
    ("dpi:abc", ("dpi", "abc")),
    ("dpi:70000", ("dpi", "70000")),
    ("dpi:", ("dpi",)),
    ("cp:", ("color_profile",)),
    ("cp:..", ("color_profile", "'..'")),
    ("cp:..%2Fetc%2Fpasswd", ("color_profile", "..%2Fetc%2Fpasswd")),
    ("cp:a%5Cb", ("color_profile",)),
    ("st:%%%", ("style", "base64")),
    ("st:__8", ("style",)),  # base64 of bytes that are no UTF-8 text
]


@pytest.mark.parametrize(("options", "words"), REFUSED, ids=[r for r, _ in REFUSED])
def test_refused_forms(options: str, words: tuple[str, ...]) -> None:
    with pytest.raises(InvalidURLError) as caught:
        parsed(options)
    assert caught.value.status == 404
    for word in words:
        assert word in str(caught.value), word


def test_canonical_forms_split_cache_keys() -> None:
    defaults = PARSER.output_defaults
    keys = {parsed(o).canonical(defaults) for o in ("jpgo:1", "jpgo:0", "jpgo::1", "webpo:lossless", "avifo:off",
                                                    "dpi:300", "cp:srgb", "st:cmVjdCB7IGZpbGw6IGJsdWUgfQ")}
    assert len(keys) == 8
    assert parsed("jpgo:1").canonical(defaults) == parsed("jpeg_options:true").canonical(defaults)


def test_settings_defaults_are_imgproxys() -> None:
    s = CONFIG.encoding
    assert (s.jpeg_progressive, s.jpeg_no_subsample, s.jpeg_trellis_quant, s.jpeg_overshoot_deringing,
            s.jpeg_optimize_scans, s.jpeg_quant_table) == (False, False, False, False, False, 0)
    assert (s.webp_compression, s.webp_smart_subsample, s.webp_effort, s.webp_preset) == ("lossy", False, 4, "default")
    assert (s.avif_speed, s.avif_subsample) == (8, "auto")
    assert (s.color_profiles_dir, s.strip_metadata_dpi) == ("/usr/share/color/icc", 72.0)


def test_settings_are_read() -> None:
    s = load_config({
        "IMGPROXY_JPEG_PROGRESSIVE": "true", "IMGPROXY_JPEG_NO_SUBSAMPLE": "1", "IMGPROXY_JPEG_TRELLIS_QUANT": "t",
        "IMGPROXY_JPEG_OVERSHOOT_DERINGING": "true", "IMGPROXY_JPEG_OPTIMIZE_SCANS": "true",
        "IMGPROXY_JPEG_QUANT_TABLE": "3", "IMGPROXY_WEBP_COMPRESSION": "near_lossless",
        "IMGPROXY_WEBP_SMART_SUBSAMPLE": "true", "IMGPROXY_WEBP_EFFORT": "6", "IMGPROXY_WEBP_PRESET": "photo",
        "IMGPROXY_AVIF_SPEED": "5", "IMGPROXY_AVIF_SUBSAMPLE": "off", "IMGPROXY_COLOR_PROFILES_DIR": "profiles",
        "IMGPROXY_STRIP_METADATA_DPI": "96",
    }).encoding
    assert s == EncoderSettings(True, False, 5, True, True, True, True, 3, "near_lossless", True, 6, "photo", "off",
                                "profiles", 96.0)


@pytest.mark.parametrize(("name", "value"), [
    ("IMGPROXY_JPEG_QUANT_TABLE", "9"), ("IMGPROXY_WEBP_COMPRESSION", "lossier"), ("IMGPROXY_WEBP_EFFORT", "0"),
    ("IMGPROXY_WEBP_EFFORT", "7"), ("IMGPROXY_WEBP_PRESET", "portrait"), ("IMGPROXY_AVIF_SUBSAMPLE", "420"),
    ("IMGPROXY_AVIF_SPEED", "10"), ("IMGPROXY_STRIP_METADATA_DPI", "-1"), ("IMGPROXY_JPEG_NO_SUBSAMPLE", "maybe"),
])
def test_bad_settings_are_reported_at_start_up(name: str, value: str) -> None:
    config, problems = read_config({name: value})
    assert any(name in p for p in problems), problems
    assert config.encoding == EncoderSettings()  # the default in its place


def test_url_arguments_are_laid_over_the_settings() -> None:
    base = EncoderSettings(jpeg_progressive=True, jpeg_quant_table=2, webp_compression="lossless", avif_subsample="on")
    out = OutputOptions(jpeg_options=JpegArgs(no_subsample=True, quant_table=5), webp_options=WebpArgs(preset="icon"),
                        avif_options=AvifArgs())
    s = base.for_request(out)
    assert (s.jpeg_progressive, s.jpeg_no_subsample, s.jpeg_quant_table) == (True, True, 5)
    assert (s.webp_compression, s.webp_preset, s.avif_subsample) == ("lossless", "icon", "on")
    assert base.for_request(OutputOptions()) is base


def test_saver_arguments() -> None:
    s = EncoderSettings(jpeg_no_subsample=True, jpeg_optimize_scans=True, webp_compression="near_lossless",
                        avif_subsample="off", avif_speed=6)
    jpeg = s.save_options(ImageFormat.JPEG, 70)
    assert jpeg["subsample_mode"] == "off" and jpeg["optimize_scans"] is False  # scans need progressive
    assert EncoderSettings(jpeg_progressive=True, jpeg_optimize_scans=True).save_options(
        ImageFormat.JPEG, 70)["optimize_scans"] is True
    webp = s.save_options(ImageFormat.WEBP, 70)
    assert (webp["lossless"], webp["near_lossless"], webp["preset"], webp["effort"]) == (True, True, "default", 4)
    assert EncoderSettings().save_options(ImageFormat.WEBP, 70)["lossless"] is False
    assert s.save_options(ImageFormat.AVIF, 70)["subsample_mode"] == "off"
    assert s.save_options(ImageFormat.AVIF, 70)["effort"] == 3


@pytest.mark.parametrize(("css", "kept", "dropped"), [
    ("rect { fill: blue }", "rect { fill: blue }", ""),
    ("@import url(http://evil.example/a.css); rect { fill: red }", "rect { fill: red }", "evil"),
    ("@import 'http://evil.example/a.css'; g {}", "g {}", "evil"),
    ("rect { fill: url(https://evil.example/p.svg#g) }", "fill: none", "evil"),
    ("rect { fill: url( 'file:///etc/passwd' ) }", "fill: none", "passwd"),
    ("rect { fill: url(#grad) }", "url(#grad)", ""),
    ("rect { fill: \\75 rl(http://evil.example/) }", "75 rl(", "\\"),  # an escaped url( is no url( then
    ("rect { fill: u/**/rl(http://evil.example/) }", "rect", "evil"),
    ("image { background: URL(data:image/png;base64,AAAA) }", "URL(data:image/png;base64,AAAA)", ""),
    ('rect { fill: url( "https://evil.example/p.svg" ) }', "fill: none", "evil"),
    ("rect { fill: red } /* an open comment runs to the end: url(http://evil.example/)", "fill: red", "evil"),
    # functions whose strings are URLs: the call goes, nested calls and a ")" in a string too
    ('svg { background: image-set("https://evil.example/a.png" 1x, "b(.png" type("image/png") 2x); fill: red }',
     "background: none; fill: red", "evil"),
    ("svg { background: -WebKit-Image-Set('//evil.example/a.png' 1x) }", "background: none }", "evil"),
    ('svg { background: image("https://evil.example/a.png"), src("https://evil.example/b.png") }',
     "background: none, none }", "evil"),
    ('svg { background: image-set("https://evil.example/a.png" 1x', "background: none", "evil"),  # left open
    ('svg { font-family: "Open Sans"; stroke-image: url(#g) }', '"Open Sans"; stroke-image: url(#g)', ""),
])
def test_style_reaches_nothing_outside_the_svg(css: str, kept: str, dropped: str) -> None:
    cleaned = safe_css(css)
    assert kept in cleaned
    assert not dropped or dropped not in cleaned


@pytest.mark.parametrize(("svg", "expected"), [
    (b'<svg xmlns="http://www.w3.org/2000/svg"><rect/></svg>',
     b'<svg xmlns="http://www.w3.org/2000/svg"><style>a &gt; b {}</style><rect/></svg>'),
    (b'<?xml version="1.0"?>\n<!-- <svg> in a comment is rare -->\n<svg a="x>y" b=\'1\'>\n<g/></svg>',
     b'<?xml version="1.0"?>\n<!-- <svg> in a comment is rare -->\n<svg a="x>y" b=\'1\'><style>a &gt; b {}</style>\n'
     b'<g/></svg>'),
    (b'<s:svg xmlns:s="http://www.w3.org/2000/svg"></s:svg>',
     b'<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:style>a &gt; b {}</s:style></s:svg>'),
    (b'<svg xmlns="http://www.w3.org/2000/svg"/>',
     b'<svg xmlns="http://www.w3.org/2000/svg"><style>a &gt; b {}</style></svg>'),
])
def test_style_goes_first_in_the_svg_element(svg: bytes, expected: bytes) -> None:
    assert inject_style(svg, "a > b {}") == expected


def test_style_can_not_close_its_node() -> None:
    out = inject_style(b"<svg></svg>", "</style><script>alert(1)</script>")
    assert b"<script>" not in out and b"&lt;/style&gt;&lt;script&gt;" in out


def test_profile_files_are_found_with_or_without_their_extension(tmp_path: Path) -> None:
    (tmp_path / "wide.icc").write_bytes(b"x")
    (tmp_path / "print.icm").write_bytes(b"x")
    (tmp_path / "plain").write_bytes(b"x")
    assert profile_source("wide", str(tmp_path)) == str(tmp_path / "wide.icc")
    assert profile_source("wide.icc", str(tmp_path)) == str(tmp_path / "wide.icc")
    assert profile_source("print", str(tmp_path)) == str(tmp_path / "print.icm")
    assert profile_source("plain", str(tmp_path)) == str(tmp_path / "plain")
    assert profile_source("srgb", str(tmp_path)) == "srgb"
    with pytest.raises(InvalidURLError, match="unknown color profile"):
        profile_source("missing", str(tmp_path))
    with pytest.raises(InvalidURLError, match="unknown color profile"):
        profile_source("wide", str(tmp_path / "nowhere"))
    with pytest.raises(InvalidURLError, match="unknown color profile"):
        profile_source("é" * 250, str(tmp_path))  # too long a file name for the file system


def test_builder_docstring_examples() -> None:
    assert doctest.testmod(options_encoding).failed == 0
