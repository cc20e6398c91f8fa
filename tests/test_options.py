"""Table-driven tests of option parsing: imgproxy's argument rules for each option."""

from __future__ import annotations

import dataclasses
import time

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import ConfigError, InvalidURLError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.model import (
    Color,
    Gravity,
    GravityType,
    OutputOptions,
    PipelineOptions,
    ResizingType,
    with_changes,
)
from imgproxy_py.options.parser import ClientFeatures, OptionsParser
from imgproxy_py.url.tokenizer import parse_path


def parse(options: str, env: dict[str, str] | None = None, ext: str = "",
          features: ClientFeatures | None = None):  # type: ignore[no-untyped-def]
    parser = OptionsParser(load_config(env or {}))
    parsed = parse_path(f"/unsafe/{options}/plain/http://example.com/a.jpg{'@' + ext if ext else ''}",
                        load_config(env or {}).url)
    return parser.parse(parsed.options, parsed.source.extension, features)


def pipe(options: str, **kw):  # type: ignore[no-untyped-def]
    return parse(options, **kw).pipelines[0]


@pytest.mark.parametrize(
    ("options", "field", "expected"),
    [
        ("rs:fill:300:200", ("resizing_type", "width", "height"), (ResizingType.FILL, 300, 200)),
        ("resize:fill-down:10:20:1:1", ("resizing_type", "width", "height", "enlarge"),
         (ResizingType.FILL_DOWN, 10, 20, True)),
        ("rs::300", ("resizing_type", "width"), (ResizingType.FIT, 300)),
        ("s:100:50", ("width", "height"), (100, 50)),
        ("size:100::1", ("width", "height", "enlarge"), (100, 0, True)),
        ("rt:force", ("resizing_type",), (ResizingType.FORCE,)),
        ("w:10/h:20/mw:5/mh:6", ("width", "height", "min_width", "min_height"), (10, 20, 5, 6)),
        ("width:10/w:30", ("width",), (30,)),  # later options win
        ("z:2", ("zoom_x", "zoom_y"), (2.0, 2.0)),
        ("zoom:1.5:0.5", ("zoom_x", "zoom_y"), (1.5, 0.5)),
        ("dpr:2", ("dpr",), (2.0,)),
        ("el:1", ("enlarge",), (True,)),
        ("el:yes", ("enlarge",), (False,)),  # imgproxy: invalid booleans are false
        ("el:t", ("enlarge",), (True,)),
        ("pd:10", ("padding",), ((10, 10, 10, 10),)),
        ("pd:10:20", ("padding",), ((10, 20, 10, 20),)),
        ("padding:1:2:3", ("padding",), ((1, 2, 3, 2),)),
        ("pd:1:2:3:4", ("padding",), ((1, 2, 3, 4),)),
        ("rot:90", ("rotate",), (90,)),
        ("rot:-90", ("rotate",), (270,)),
        ("fl:1", ("flip_horizontal", "flip_vertical"), (True, False)),
        ("flip::1", ("flip_horizontal", "flip_vertical"), (False, True)),
        ("ar:0", ("auto_rotate",), (False,)),
        ("bl:2.5/sh:0.7/pix:8", ("blur", "sharpen", "pixelate"), (2.5, 0.7, 8)),
        ("bg:ff0000", ("background",), (Color(255, 0, 0),)),
        ("bg:f00", ("background",), (Color(255, 0, 0),)),
        ("bg:10:20:30", ("background",), (Color(10, 20, 30),)),
        ("bg:ff0000/bg:", ("background",), (None,)),
    ],
)
def test_pipeline_options(options: str, field: tuple[str, ...], expected: tuple[object, ...]) -> None:
    po = pipe(options)
    assert tuple(getattr(po, f) for f in field) == expected


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ("g:no", Gravity(GravityType.NORTH)),
        ("g:soea:10:20", Gravity(GravityType.SOUTH_EAST, 10, 20)),
        ("g:ce:0.1:-0.2", Gravity(GravityType.CENTER, 0.1, -0.2)),
        ("g:sm", Gravity(GravityType.SMART)),
        ("g:fp:0.25:0.75", Gravity(GravityType.FOCUS_POINT, 0.25, 0.75)),
        ("g:obj:face:cat", Gravity(GravityType.OBJECTS, classes=(("face", 1.0), ("cat", 1.0)))),
        ("g:obj", Gravity(GravityType.OBJECTS)),
        ("g:objw:face:2:all:0.5", Gravity(GravityType.OBJECTS_WEIGHTED, classes=(("face", 2.0), ("all", 0.5)))),
    ],
)
def test_gravity(options: str, expected: Gravity) -> None:
    assert pipe(options).gravity == expected


def test_crop_extend_trim_watermark() -> None:
    po = pipe("c:100:0.5:nowe:5:6/ex:1:so:0:10/exar:1/t:10:ffffff:1:0/wm:0.5:re:10:20:0.3")
    assert (po.crop.width, po.crop.height) == (100, 0.5)
    assert po.crop.gravity == Gravity(GravityType.NORTH_WEST, 5, 6)
    assert po.extend.enabled and po.extend.gravity == Gravity(GravityType.SOUTH, 0, 10)
    assert po.extend_aspect_ratio.enabled
    assert po.trim.threshold == 10 and po.trim.color == Color(255, 255, 255) and po.trim.equal_horizontal
    wm = po.watermark
    assert (wm.opacity, wm.position, wm.x, wm.y, wm.scale) == (0.5, GravityType.REPLICATE, 10, 20, 0.3)


def test_output_options() -> None:
    out = parse("q:70/fq:webp:60:avif:50/mb:1000/f:png/sm:0/kcr:0/scp:0/eth:1/skp:gif:svg/cb:v2/"
                "fn:cat/att:1/pg:2/da:1").output
    assert out.quality == 70
    assert dict(out.format_quality) == {ImageFormat.WEBP: 60, ImageFormat.AVIF: 50}
    assert (out.max_bytes, out.format, out.strip_metadata, out.keep_copyright) == (1000, ImageFormat.PNG, False, False)
    assert (out.strip_color_profile, out.enforce_thumbnail) == (False, True)
    assert out.skip_processing == (ImageFormat.GIF, ImageFormat.SVG)
    assert (out.cachebuster, out.filename, out.return_attachment, out.page, out.disable_animation) == (
        "v2", "cat", True, 2, True)
    assert parse("fn:Y2F0LmpwZw:1").output.filename == "cat.jpg"
    assert parse("ext:jpg").output.format is ImageFormat.JPEG
    assert parse("f:png", ext="webp").output.format is ImageFormat.WEBP  # URL extension last
    assert parse("raw:1", ext="webp").output.format is None  # raw ignores the extension


def test_expires() -> None:
    future = int(time.time()) + 3600
    assert parse(f"exp:{future}").output.expires == future
    with pytest.raises(InvalidURLError, match="Expired"):
        parse(f"exp:{int(time.time()) - 10}")


@pytest.mark.parametrize(
    "options",
    [
        "unknown:1", "rs:stretch:10:10", "w:-1", "w:abc", "w:1:2", "h:1.5", "z:0", "z:-1", "dpr:0",
        "rot:45", "g:up", "g:sm:1", "g:fp:0.5", "g:fp:2:0.5", "g:objw:face", "c:-10", "bg:ggg",
        "bg:1:2", "bg:256:0:0", "bl:-1", "sh:x", "pix:-2", "wm:2", "wm:0.5:up", "q:101", "q:-1",
        "fq:webp", "fq:bmpx:10", "mb:-5", "f:exe", "skp:exe", "exp:soon", "pd:1:2:3:4:5",
        "fn:!!!:1", "pg:-1", "t:abc", "rs:fit:1:2:3:4:5:6:7:8", "preset:nope",
    ],
)
def test_invalid_options_are_404(options: str) -> None:
    with pytest.raises(InvalidURLError):
        parse(options)


def test_allowed_processing_options() -> None:
    env = {"IMGPROXY_ALLOWED_PROCESSING_OPTIONS": "rs,w,quality"}
    assert parse("rs:fit:10:10/q:50", env=env).output.quality == 50
    with pytest.raises(InvalidURLError, match="Forbidden"):
        parse("bl:5", env=env)


def test_presets_and_chained_merging_as_documented() -> None:
    env = {"IMGPROXY_PRESETS": "test=width:300/height:300/-/width:200/height:200/-/width:100/height:200"}
    opts = parse("width:400/-/preset:test/width:500/-/width:600", env=env)
    assert [(p.width, p.height) for p in opts.pipelines] == [(400, 0), (500, 300), (600, 200), (100, 200)]
    assert opts.output.used_presets == ("test",)


def test_default_preset_applies_first_and_recursion_is_skipped() -> None:
    env = {"IMGPROXY_PRESETS": "default=q:50/w:10,loop=pr:loop/w:7"}
    opts = parse("w:20", env=env)
    assert (opts.output.quality, opts.pipelines[0].width) == (50, 20)
    assert parse("pr:loop", env=env).pipelines[0].width == 7


def test_presets_file_errors_are_reported_together(tmp_path) -> None:  # type: ignore[no-untyped-def]
    bad = tmp_path / "presets.conf"
    bad.write_text("# comment\n\nok=rs:fit:10:10\n=w:10\nempty=\nbroken=notanoption\nbadarg=w:abc\nok=w:1\n")
    problems: list[str] = []
    OptionsParser(load_config({"IMGPROXY_PRESETS_PATH": str(bad)}), errors=problems)
    text = "\n".join(problems)
    assert "presets.conf:4: empty preset name" in text
    assert "presets.conf:5: empty preset value" in text
    assert "presets.conf:6" in text
    assert "badarg" in text
    assert "presets.conf:8: preset 'ok' is defined twice" in text
    assert len(problems) == 5  # every problem at once; the good preset is not among them


def test_max_chained_pipelines() -> None:
    env = {"IMGPROXY_MAX_CHAINED_PIPELINES": "2"}
    assert len(parse("w:1/-/w:2", env=env).pipelines) == 2
    with pytest.raises(InvalidURLError, match="chained"):
        parse("w:1/-/w:2/-/w:3", env=env)


def test_client_hints_and_accept() -> None:
    env = {"IMGPROXY_AUTO_WEBP": "true"}
    out = parse("w:10", env=env, features=ClientFeatures(accepts_webp=True)).output
    assert out.prefer_webp and not out.enforce_webp
    po = pipe("q:1", features=ClientFeatures(dpr=2, width=400))
    assert (po.dpr, po.width) == (2, 200)


def test_canonical_form_ignores_spelling_and_order() -> None:
    parser = OptionsParser(load_config({}))

    def canon(opts: str) -> str:
        parsed = parse_path(f"/u/{opts}/plain/http://a/b.jpg", load_config({}).url)
        return parser.canonical(parser.parse(parsed.options))

    assert canon("rs:fill:300:200/q:80") == canon("q:80/resizing_type:fill/width:300/height:200")
    assert canon("rs:fill:300:200") != canon("rs:fill:300:201")
    assert canon("w:10/-/w:20") != canon("w:20/-/w:10")


def test_config_errors_are_reported_at_once() -> None:
    with pytest.raises(ConfigError) as err:
        load_config({"IMGPROXY_QUALITY": "abc", "IMGPROXY_WORKERS": "0", "IMGPROXY_KEY": "zz",
                     "IMGPROXY_BIND": "nowhere", "IMGPROXY_PREFERRED_FORMATS": "exe"})
    assert len(err.value.problems) >= 5


@pytest.mark.parametrize(
    "options",
    [
        # Go's Atoi range (int64) and syntax (ASCII digits, no spaces or "_").
        "pd:99999999999999999999", "w:9223372036854775808", "rot:-9223372036854775809", "w:" + "9" * 5000,
        "w:١٢", "w:²", "bg:²:0:0", "bg:+1:0:0", "q:1_0", "w: 1", "pngo:::²", "pngo:::+-5", "pngo:::" + "9" * 5000,
        # ParseFloat's: 1e309 overflows; NaN and infinities mean nothing to any option.
        "z:1e309", "dpr:inf", "bl:nan", "g:ce:1e309", "wm:0.5:ce:-1e309", "sh:1_0", "z:١", "c:٣",
    ],
)
def test_numbers_past_int64_and_float64_or_not_ascii_are_404(options: str) -> None:
    with pytest.raises(InvalidURLError):
        parse(options)


def test_number_bounds_are_go_s() -> None:
    assert pipe("pd:9223372036854775807").padding[0] == 2**63 - 1
    assert pipe("rot:-9223372036854775800").rotate == -9223372036854775800 % 360
    assert pipe("w:" + "0" * 300 + "7").width == 7  # leading zeros never overflow Atoi
    assert parse("q:0000050").output.quality == 50
    assert pipe("z:1e308:.5").zoom_x == 1e308 and pipe("z:1e308:.5").zoom_y == 0.5
    assert pipe("bl:1e-400").blur == 0.0  # underflow is zero, as in Go
    assert pipe("bg:0000255:0:0").background == Color(255, 0, 0)


@pytest.mark.parametrize("options", [
    "rs:fill:300:200/g:sm/q:80", "w:10/-/bl:2/pd:1:2", "wm:0.5:soea:10:10:0.2/f:avif/exp:1999999999/cb:x",
    "pr:missing", "",
])
def test_built_options_are_those_replace_makes(options: str) -> None:
    """``with_changes`` skips the classes' __init__: what it builds must be what
    ``dataclasses.replace`` builds from the same defaults and changes."""
    try:
        built = parse(options)
    except InvalidURLError:
        return
    for value, defaults in ((built.output, OutputOptions()), *((p, PipelineOptions()) for p in built.pipelines)):
        changes = {f.name: getattr(value, f.name) for f in dataclasses.fields(value)
                   if getattr(value, f.name) != getattr(defaults, f.name) or not f.compare}
        assert with_changes(defaults, changes) == dataclasses.replace(defaults, **changes) == value
        assert vars(with_changes(defaults, changes)) == vars(value)
    with pytest.raises(TypeError, match="no field 'widht'"):
        with_changes(PipelineOptions(), {"widht": 1})
