"""The ``/info`` options: a registry and model of their own, table by table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import ConfigError, ForbiddenError, InvalidURLError
from imgproxy_py.options.info import INFO_OPTIONS, INFO_REGISTRY, InfoOption, InfoOptionsParser
from imgproxy_py.options.info import declarations as info
from imgproxy_py.options.model import CropOptions, Gravity, GravityType
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.options.registry import Family
from imgproxy_py.url.tokenizer import URLGrammar, parse_path

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"


def tokens(options: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return parse_path(f"/unsafe/{options}/plain/local:///chelsea.jpg", URLGrammar()).options


def parse(options: str, **kw: Any) -> Any:
    return InfoOptionsParser(**kw).parse(tokens(options))


VALID: list[tuple[str, InfoOption[Any], Any]] = [
    ("s:0", info.SIZE, False),
    ("size:t", info.SIZE, True),
    ("f:false", info.FORMAT, False),
    ("d:0", info.DIMENSIONS, False),
    ("exif:1:1", info.EXIF, (True, True)),
    ("exif:0", info.EXIF, (False, False)),
    ("iptc:0/xmp:0", info.XMP, False),
    ("vm:0", info.VIDEO_META, False),
    ("do:1", info.DETECT_OBJECTS, True),
    ("detect_objects:yes", info.DETECT_OBJECTS, False),  # Go's booleans: anything else is false
    ("cl:3", info.CLASSIFY, (3, ())),
    ("classify:2:cat:dog", info.CLASSIFY, (2, ("cat", "dog"))),
    ("cs:1/b:1/sf:1/pn:1", info.PAGES_NUMBER, True),
    ("a:1", info.ALPHA, (True, False)),
    ("alpha:1:1", info.ALPHA, (True, True)),
    ("c:100:50", info.CROP, CropOptions(100, 50, Gravity())),
    ("c:0.5:0.5:sm", info.CROP, CropOptions(0.5, 0.5, Gravity(GravityType.SMART))),
    ("c:0.5:0.5:obj:face", info.CROP, CropOptions(0.5, 0.5, Gravity(GravityType.OBJECTS, classes=(("face", 1.0),)))),
    ("op:so:0:10", info.OBJECTS_POSITION_OPTION, Gravity(GravityType.SOUTH, 0, 10)),
    ("obj_pos:fp:0.5:0.2", info.OBJECTS_POSITION_OPTION, Gravity(GravityType.FOCUS_POINT, 0.5, 0.2)),
    ("p:0", info.PALETTE, 0),
    ("p:256", info.PALETTE, 256),
    ("avg:1", info.AVERAGE, (True, True)),
    ("avg:1:0/avg:0", info.AVERAGE, (False, False)),  # an empty second argument keeps it
    ("dc:1:1", info.DOMINANT_COLORS, (True, True)),
    ("bh:9:0", info.BLURHASH, (9, 0)),
    ("bh:0:5", info.BLURHASH, (0, 5)),  # what the official JS client's test writes
    ("th:1", info.THUMB_HASH, True),
    ("phash:1", info.PERCEPTUAL_HASH, True),
    ("ph:t", info.PERCEPTUAL_HASH, True),
    ("chs:md5:sha512", info.CALC_HASHSUMS, ("md5", "sha512")),
    ("chs:", info.CALC_HASHSUMS, ()),
    ("hs:none", info.HASHSUM, ("none", "")),
    ("hs:md5:ABCDEF", info.HASHSUM, ("md5", "abcdef")),
    ("pg:2", info.PAGE, 2),
    ("vts:1.5", info.VIDEO_THUMBNAIL_SECOND, 1.5),
    ("vtk:1", info.VIDEO_THUMBNAIL_KEYFRAMES, True),
    ("cb:a b", info.CACHEBUSTER, "a b"),
    ("bc:1", info.BYPASS_CACHE, True),
    ("ct:a:b", info.CACHE_TAGS, ("a", "b")),
    ("exp:0", info.EXPIRES, None),
    ("exp:4102444800", info.EXPIRES, 4102444800),
    ("", info.SIZE, True),  # defaults are imgproxy's
    ("", info.EXIF, (True, False)),
    ("", info.IPTC, True),
    ("", info.XMP, True),
    ("", info.VIDEO_META, True),
    ("", info.DETECT_OBJECTS, False),
    ("", info.CROP, CropOptions(0, 0, Gravity())),
    ("", info.AVERAGE, (False, True)),
]


@pytest.mark.parametrize(("options", "option", "value"), VALID, ids=[v[0] or "defaults" for v in VALID])
def test_values(options: str, option: InfoOption[Any], value: Any) -> None:
    assert parse(options or "cb:x").get(option) == value


REFUSED = [
    ("rs:fit:10:10", "Unknown info option: rs"), ("w:10", "Unknown info option: w"),
    ("unknown:1", "Unknown info option: unknown"), ("s:1:1", "size"), ("p:-1", "palette"), ("p:1", "palette"),
    ("p:257", "palette"), ("bh:10:1", "blurhash"), ("bh:1", "blurhash"), ("bh:1:1:1", "blurhash"),
    ("avg:1:1:1", "average"), ("pg:x", "page"), ("vts:-1", "video_thumbnail_second"), ("exp:1", "Expired"),
    ("exp:soon", "expires"), ("do:1:1", "detect_objects"), ("pr:nope", "Unknown info preset: nope"),
    ("do:1/-/do:0", "Chained"), ("cl:-1", "classify"), ("c:x:1", "crop"), ("c:1:1:nowhere", "crop"),
    ("op:sm", "objects_position"), ("op:fp:2:2", "objects_position"), ("chs:crc32", "calc_hashsums"),
    ("hs:md5", "hashsum"), ("hs:md5:xyz", "hashsum"), ("hs:crc:00", "hashsum"), ("a:1:1:1", "alpha"),
]


@pytest.mark.parametrize(("options", "names"), REFUSED, ids=[r[0] for r in REFUSED])
def test_refused_forms_are_404_naming_the_problem(options: str, names: str) -> None:
    with pytest.raises(InvalidURLError, match=names) as caught:
        parse(options)
    assert caught.value.status == 404


def test_expired() -> None:
    with pytest.raises(InvalidURLError, match="Expired"):
        parse(f"exp:{int(time.time()) - 10}")


def test_security_options_need_the_setting_even_in_presets() -> None:
    for options in ("msr:10", "msfs:100"):
        with pytest.raises(ForbiddenError, match="Security"):
            parse(options)
    with pytest.raises(ForbiddenError):
        parse("pr:big", presets={"big": (("msr", ("100",)),)})
    opts = parse("msr:12.5/msfs:1000", allow_security_options=True)
    assert opts.get(info.MAX_SRC_RESOLUTION) == 12.5 and opts.get(info.MAX_SRC_FILE_SIZE) == 1000


def test_presets_and_allowed_options() -> None:
    opts = parse("pr:faces/cb:1", presets={"faces": (("do", ("1",)), ("pr", ("faces",)))})
    assert opts.get(info.DETECT_OBJECTS) is True and opts.used_presets == ("faces",)
    assert parse("do:1", allowed_options=frozenset({"do"})).get(info.DETECT_OBJECTS) is True
    with pytest.raises(InvalidURLError, match="Forbidden info option: cb"):
        parse("cb:1", allowed_options=frozenset({"do"}))
    # Only the name the list gives: `dc` does not allow `dominant_colors` (imgproxy's rule).
    with pytest.raises(InvalidURLError, match="Forbidden info option: dominant_colors"):
        parse("dominant_colors:1", allowed_options=frozenset({"dc"}))
    # Presets are not checked against the list.
    assert parse("pr:p", presets={"p": (("avg", ("1",)),)}, allowed_options=frozenset({"pr"})).get(info.AVERAGE)


def test_info_presets_come_from_their_own_settings(tmp_path: Path) -> None:
    file = tmp_path / "info_presets"
    file.write_text("# faces\nwith_objects=detect_objects:1\n")
    config = load_config({"IMGPROXY_INFO_PRESETS": "default=xmp:0/blurhash:4:3,colors=avg:1",
                          "IMGPROXY_INFO_PRESETS_PATH": str(file), "IMGPROXY_PRESETS": "small=w:10"})
    parser = OptionsParser(config).info
    opts = parser.parse(tokens("pr:colors:with_objects"))
    assert opts.get(info.XMP) is False and opts.get(info.BLURHASH) == (4, 3)  # the default preset
    assert opts.get(info.AVERAGE) == (True, True) and opts.get(info.DETECT_OBJECTS) is True
    with pytest.raises(InvalidURLError, match="Unknown info preset: small"):  # processing presets are not info's
        parser.parse(tokens("pr:small"))


def test_bad_info_presets_stop_start_up() -> None:
    for value, problem in (("bad=rs:fit:1:1", "Unknown info option: rs"), ("c=do:1/-/do:0", "chained"),
                           ("nothing", "expected name=options")):
        with pytest.raises(ConfigError, match=problem):
            from imgproxy_py.server.composition import build_services

            build_services(load_config({"IMGPROXY_INFO_PRESETS": value}))


def test_allowed_info_options_are_their_own_setting() -> None:
    parser = OptionsParser(load_config({"IMGPROXY_ALLOWED_INFO_OPTIONS": "do,s",
                                        "IMGPROXY_ALLOWED_PROCESSING_OPTIONS": "cb"})).info
    assert parser.parse(tokens("do:1/s:0")).get(info.SIZE) is False
    with pytest.raises(InvalidURLError, match="Forbidden info option: cb"):
        parser.parse(tokens("cb:1"))


def test_every_info_declaration_is_complete() -> None:
    assert INFO_REGISTRY.declarations() == INFO_OPTIONS
    for spec in INFO_OPTIONS:
        assert spec.family is Family.INFO
        assert spec.description.endswith(".") and "\n" not in spec.description, spec.name
        assert not spec.source or (DEMO / spec.source).is_file(), spec.name
        name = spec.example.partition(":")[0]
        assert name in (spec.name, *spec.aliases), spec.name
        if spec is not info.PRESET:  # a preset's example names one the demo server defines
            parse(spec.example, allow_security_options=True)


def test_classification_and_info_settings_are_checked_at_start_up(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config({"IMGPROXY_CLASSIFICATION_NET": str(tmp_path / "missing.onnx"),
                     "IMGPROXY_CLASSIFICATION_CLASSES": str(tmp_path / "missing.txt"),
                     "IMGPROXY_CLASSIFICATION_NORMALIZATION": "z-score", "IMGPROXY_CLASSIFICATION_LAYOUT": "hwc",
                     "IMGPROXY_CLASSIFICATION_THRESHOLD": "2"})
    message = str(caught.value)
    for name in ("CLASSIFICATION_NET", "CLASSIFICATION_CLASSES", "CLASSIFICATION_NORMALIZATION",
                 "CLASSIFICATION_LAYOUT", "CLASSIFICATION_THRESHOLD"):
        assert f"IMGPROXY_{name}" in message, name
    classes = tmp_path / "classes.txt"
    classes.write_text("cat\n\ndog\n")
    config = load_config({"IMGPROXY_CLASSIFICATION_CLASSES": str(classes), "IMGPROXY_CLASSIFICATION_LAYOUT": "NCHW",
                          "IMGPROXY_ONLY_PRESETS": "true"})
    assert config.classification.classes == ("cat", "dog") and config.classification.layout == "nchw"
    assert config.classification.net_size == 224 and config.classification.threshold == 0.5
    assert config.info.only_presets is True  # IMGPROXY_INFO_ONLY_PRESETS defaults to IMGPROXY_ONLY_PRESETS
    separate = load_config({"IMGPROXY_ONLY_PRESETS": "true", "IMGPROXY_INFO_ONLY_PRESETS": "false"})
    assert separate.info.only_presets is False
