"""The ``/info`` options: a registry and model of their own, table by table."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import FeatureUnavailableError, InvalidURLError
from imgproxy_py.options.info import INFO_OPTIONS, INFO_REGISTRY, InfoOption, InfoOptionsParser
from imgproxy_py.options.info import declarations as info
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.options.registry import Family
from imgproxy_py.url.tokenizer import URLGrammar, parse_path

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"


def tokens(options: str) -> tuple[tuple[str, tuple[str, ...]], ...]:
    return parse_path(f"/unsafe/{options}/plain/local:///chelsea.jpg", URLGrammar()).options


def parse(options: str, **kw: Any) -> Any:
    return InfoOptionsParser(**kw).parse(tokens(options), answered_only=False)


VALID: list[tuple[str, InfoOption[Any], Any]] = [
    ("s:0", info.SIZE, False),
    ("size:t", info.SIZE, True),
    ("f:false", info.FORMAT, False),
    ("d:0", info.DIMENSIONS, False),
    ("exif:1/iptc:1/xmp:1", info.XMP, True),
    ("vm:1", info.VIDEO_META, True),
    ("do:1", info.DETECT_OBJECTS, True),
    ("detect_objects:yes", info.DETECT_OBJECTS, False),  # Go's booleans: anything else is false
    ("p:0", info.PALETTE, 0),
    ("avg:1", info.AVERAGE, (True, True)),
    ("avg:1:0/avg:0", info.AVERAGE, (False, False)),  # an empty second argument keeps it
    ("dc:1:1", info.DOMINANT_COLORS, (True, True)),
    ("bh:9:0", info.BLURHASH, (9, 0)),
    ("pg:2", info.PAGE, 2),
    ("vts:1.5", info.VIDEO_THUMBNAIL_SECOND, 1.5),
    ("vtk:1", info.VIDEO_THUMBNAIL_KEYFRAMES, True),
    ("cb:a b", info.CACHEBUSTER, "a b"),
    ("exp:0", info.EXPIRES, None),
    ("exp:4102444800", info.EXPIRES, 4102444800),
    ("", info.SIZE, True),  # defaults are imgproxy's
    ("", info.DETECT_OBJECTS, False),
]


@pytest.mark.parametrize(("options", "option", "value"), VALID, ids=[v[0] or "defaults" for v in VALID])
def test_values(options: str, option: InfoOption[Any], value: Any) -> None:
    assert parse(options or "cb:x").get(option) == value


@pytest.mark.parametrize("options", [
    "rs:fit:10:10", "w:10", "q:80", "unknown:1", "s:1:1", "p:-1", "p:x", "bh:10:1", "bh:1", "bh:1:1:1",
    "avg:1:1:1", "pg:x", "vts:-1", "exp:1", "exp:soon", "do:1:1", "pr:nope", "do:1/-/do:0",
])
def test_refused(options: str) -> None:
    with pytest.raises(InvalidURLError):
        parse(options)


def test_expired() -> None:
    with pytest.raises(InvalidURLError, match="Expired"):
        parse(f"exp:{int(time.time()) - 10}")


def test_unknown_processing_option_names_the_registry() -> None:
    with pytest.raises(InvalidURLError, match="Unknown info option: rs"):
        parse("rs:fit:10:10")


def test_unanswered_options_are_501_naming_them() -> None:
    parser = InfoOptionsParser()
    assert parser.parse(tokens("do:1/cb:x/exp:0")).get(info.DETECT_OBJECTS) is True
    with pytest.raises(FeatureUnavailableError, match="size, palette"):
        parser.parse(tokens("do:1/s:1/p:4/s:0"))
    assert parse("s:1/p:4").unanswered == ("size", "palette")


def test_presets_and_allowed_options() -> None:
    opts = parse("pr:faces/cb:1", presets={"faces": (("do", ("1",)), ("pr", ("faces",)))})
    assert opts.get(info.DETECT_OBJECTS) is True and opts.used_presets == ("faces",)
    assert parse("do:1", allowed_options=frozenset({"do"})).get(info.DETECT_OBJECTS) is True
    with pytest.raises(InvalidURLError, match="Forbidden info option: cb"):
        parse("cb:1", allowed_options=frozenset({"do"}))


def test_server_parser_holds_the_info_parser() -> None:
    parser = OptionsParser(load_config({"IMGPROXY_ALLOWED_PROCESSING_OPTIONS": "rs,do"}))
    assert parser.info.parse(tokens("do:1")).get(info.DETECT_OBJECTS) is True
    with pytest.raises(InvalidURLError, match="Forbidden"):
        parser.info.parse(tokens("cb:1"))


def test_every_info_declaration_is_complete() -> None:
    assert INFO_REGISTRY.declarations() == INFO_OPTIONS
    for spec in INFO_OPTIONS:
        assert spec.family is Family.INFO
        assert spec.description.endswith(".") and "\n" not in spec.description, spec.name
        assert not spec.source or (DEMO / spec.source).is_file(), spec.name
        name = spec.example.partition(":")[0]
        assert name in (spec.name, *spec.aliases), spec.name
        if spec is not info.PRESET:  # there are no info presets to name yet
            parse(spec.example)
