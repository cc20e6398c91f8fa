"""The option declarations: their argument rules, table by table, and what every declaration
must carry (names, a grammar, a description and an example that parses)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.catalog import PROCESSING_OPTIONS, registry
from imgproxy_py.options.grammar import Arg, Args, OneOf, Pairs, Repeated
from imgproxy_py.options.model import (
    AutoQualityArgs,
    Color,
    ExtendOptions,
    Gravity,
    GravityType,
    PngArgs,
    ResizingType,
)
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.options.primitives import BOOL, NON_NEGATIVE_INT, STRING
from imgproxy_py.options.registry import Family, Option, build_registry, set_pipe
from imgproxy_py.url.tokenizer import parse_path

DEMO = Path(__file__).resolve().parents[1] / "imgproxy_py" / "demo"
G = GravityType
N = None

# (option, arguments as in a URL, the values its grammar gives)
VALID: list[tuple[str, str, tuple[Any, ...]]] = [
    ("rs", "fill:300:200", (ResizingType.FILL, (300, 200, N, N))),
    ("rs", "::300", (N, (N, 300, N, N))),
    ("rs", "fit:1:2:1:1:so:0:5", (ResizingType.FIT, (1, 2, True, ExtendOptions(True, Gravity(G.SOUTH, 0, 5))))),
    ("s", "100::1", (100, N, True, N)),
    ("s", "1:2::1::5", (1, 2, N, ExtendOptions(True, Gravity()))),  # empty gravity type: the default
    ("rt", "fill-down", (ResizingType.FILL_DOWN,)),
    ("w", "0000300", (300,)),
    ("mw", "5", (5,)),
    ("z", "2", (2.0, N)),
    ("z", "1.5:.5", (1.5, 0.5)),
    ("dpr", "1e1", (10.0,)),
    ("el", "yes", (False,)),  # imgproxy: anything but a Go boolean is false
    ("el", "", (False,)),
    ("ex", "1:fp:0.5:1", (True, Gravity(G.FOCUS_POINT, 0.5, 1))),
    ("exar", "0", (False, N)),
    ("pd", "1::3", (1, N, 3, N)),
    ("ar", "t", (True,)),
    ("rot", "-90", (-90,)),
    ("fl", ":1", (N, True)),
    ("g", "sm", (Gravity(G.SMART),)),
    ("g", "nowe::10", (Gravity(G.NORTH_WEST, 0, 10),)),
    ("g", "obj:all:face:", (Gravity(G.OBJECTS, classes=(("face", 1.0),)),)),
    ("g", "objw:face:2", (Gravity(G.OBJECTS_WEIGHTED, classes=(("face", 2.0),)),)),
    ("c", "100", (100.0, N, N)),
    ("c", "0.5::ce:1:2", (0.5, N, Gravity(G.CENTER, 1, 2))),
    ("t", "::1", (N, N, True, N)),
    ("t", "10:f00", (10.0, Color(255, 0, 0), N, N)),
    ("bg", "", (N,)),
    ("bg", "fff", (Color(255, 255, 255),)),
    ("bg", "1:2:3", (1, 2, 3)),
    ("bl", "0", (0.0,)),
    ("pix", "8", (8,)),
    ("br", "-255", (-255,)),
    ("brightness", "+40", (40,)),
    ("wm", "0.5::1", (0.5, N, 1.0, N, N)),
    ("wm", "1:re", (1.0, G.REPLICATE, N, N, N)),
    ("f", "jpg", (ImageFormat.JPEG,)),
    ("f", "", (N,)),
    ("q", "0", (0,)),
    ("fq", "webp:70:jpeg:80", (((ImageFormat.WEBP, 70), (ImageFormat.JPEG, 80)),)),
    ("mb", "0", (0,)),
    ("pg", "3", (3,)),
    ("aq", "dssim::50", ("dssim", N, 50, N, N)),
    ("aq", "", (N, N, N, N, N)),
    ("pngo", "f:true:16", (False, True, 16)),
    ("pr", "a:b", (("a", "b"),)),
    ("cb", "a b", ("a b",)),
    ("exp", "0", (0,)),
    ("fn", "Y2F0:1", ("Y2F0", True)),
    ("fn", "cat", ("cat", N)),
    ("fiu", "", (N,)),
    ("fiu", "aHR0cDovL3gveS5qcGc", ("http://x/y.jpg",)),
    ("skp", "gif:svg", ((ImageFormat.GIF, ImageFormat.SVG),)),
    ("vts", "2.5", (2.5,)),
    ("vf", "0", (0,)),
    ("op", "prop", (G.PROPORTIONAL, N, N)),
    ("op", "fp:0.5:0.5", (G.FOCUS_POINT, 0.5, 0.5)),
    ("cob", "", (N, N)),
    ("cob", "1.5:face:all::cat", (1.5, ("face", "cat"))),
    ("oix", "2", (2, N)),
    ("bd", "5", (5.0, N)),
    ("pxd", "8:face", (8, ("face",))),
    ("dd", "1:all", (True, ())),
    ("do", "1", (True,)),
]

# (option, arguments that are a 404)
INVALID: list[tuple[str, str]] = [
    ("rs", "stretch"), ("rs", "fit:1:2:3:4:5:6:7:8"), ("rs", "fit:-1"), ("s", "1:2:3:4:5:6:7:8"),
    ("s", "1:2::1:sm"), ("rt", ""), ("w", ""), ("w", "1.5"), ("w", "1:2"), ("w", "9223372036854775808"),
    ("z", "0"), ("z", "2:"), ("z", "1:2:3"), ("dpr", "inf"), ("ex", "1:obj"), ("ex", "1:no:1:2:3"),
    ("pd", "1:2:3:4:5"), ("pd", "-1"), ("rot", "45"), ("rot", ""), ("fl", "1:1:1"), ("g", ""),
    ("g", "up"), ("g", "sm:1"), ("g", "fp:0.5"), ("g", "fp:2:0.5"), ("g", "objw:face"), ("g", "no:1:2:3"),
    ("c", ""), ("c", "-1"), ("c", "1:2:"), ("c", "1:2:re"), ("t", "x"), ("t", "1:red"), ("t", "1:2:3:4:5"),
    ("bg", "1:2"), ("bg", "256:0:0"), ("bg", "+1:0:0"), ("bg", "ggg"), ("bl", "-1"), ("pix", "1.5"),
    ("br", "256"), ("br", "-256"), ("br", "1.5"), ("br", ""), ("br", "1:2"),
    ("wm", ""), ("wm", "2"), ("wm", "0.5:cb"), ("wm", "0.5:sm"), ("wm", "0.5::::0"), ("f", "exe"),
    ("q", "101"), ("fq", "webp"), ("fq", "exe:10"), ("fq", "webp:101"), ("mb", "-1"), ("aq", "fast"),
    ("aq", "dssim:-1"), ("aq", "dssim::0"), ("aq", "dssim:::101"), ("aq", "dssim::90:80"),
    ("aq", "size:0.5"), ("aq", "dssim::::1:2"), ("aq", "dssim:::50"), ("pngo", "maybe"),
    ("pngo", "::1"), ("pngo", "::²"), ("pngo", "1:1:1:1"), ("pr", ""), ("exp", "soon"), ("exp", "1"),
    ("fn", "!!!:1"), ("fiu", "!!!"), ("skp", "gif:exe"), ("vts", "-1"), ("vf", "x"), ("op", "sm"),
    ("op", "fp:2:0"), ("op", "no:1:2:3"), ("cob", "0"), ("oix", ""), ("oix", "1:1:1"), ("bd", "x"),
    ("pxd", ""), ("do", "1:1"),
]


def _parse(option: str, raw: str) -> tuple[Any, ...]:
    spec = registry.lookup(option)
    return spec.grammar.parse(spec.name, raw.split(":"))


@pytest.mark.parametrize(("option", "raw", "values"), VALID, ids=[f"{o}:{r}" for o, r, _ in VALID])
def test_grammar_values(option: str, raw: str, values: tuple[Any, ...]) -> None:
    assert _parse(option, raw) == values


@pytest.mark.parametrize(("option", "raw"), INVALID, ids=[f"{o}:{r}" for o, r in INVALID])
def test_grammar_refuses(option: str, raw: str) -> None:
    # aq's combination check (min above max, a size target under a byte) is the option's
    # apply, which the server's parser runs: go through it.
    parser = OptionsParser(load_config({"IMGPROXY_PRESETS": "a=w:1,b=h:1"}))
    parsed = parse_path(f"/unsafe/{option}:{raw}/plain/http://x/y.jpg", load_config({}).url)
    with pytest.raises(InvalidURLError):
        parser.parse(parsed.options)


def test_typed_records_for_autoquality_and_png_options() -> None:
    # Parsed once, with the URL: the encoder only lays them over the output format's settings.
    out = OptionsParser(load_config({})).parse([("aq", ("ml", "", "60")), ("pngo", ("1", "", "64"))]).output
    assert out.autoquality == AutoQualityArgs("ml", None, 60, None, None)
    assert out.png_options == PngArgs(True, None, 64)


def test_every_declaration_is_complete() -> None:
    families = {spec.family for spec in PROCESSING_OPTIONS}
    assert families == set(Family) - {Family.INFO}
    for spec in PROCESSING_OPTIONS:
        assert spec.description.endswith(".") and "\n" not in spec.description, spec.name
        assert spec.grammar.doc().startswith("%"), spec.name
        assert not spec.source or (DEMO / spec.source).is_file(), spec.name
        names = {segment.partition(":")[0] for segment in spec.example.split("/")}
        assert names & {spec.name, *spec.aliases}, f"{spec.name}'s example does not use it"


@pytest.mark.parametrize("spec", PROCESSING_OPTIONS, ids=[s.name for s in PROCESSING_OPTIONS])
def test_every_example_parses(spec: Option) -> None:
    config = load_config({})
    parsed = parse_path(f"/unsafe/{spec.example}/plain/local:///{spec.source or 'clip.mp4'}", config.url)
    OptionsParser(config).parse(parsed.options, parsed.source.extension)


def test_registry_comes_from_declarations_only() -> None:
    one = Option("one", ("o",), Family.META, Args(Arg("v", NON_NEGATIVE_INT)), set_pipe("width"), "One.", "o:1")
    built = build_registry([one])
    assert built.lookup("o") is one and built.lookup("one") is one and built.names() == ["o", "one"]
    with pytest.raises(InvalidURLError, match="Unknown processing option: two"):
        built.lookup("two")
    with pytest.raises(ValueError, match="declared twice"):
        build_registry([one, Option("other", ("o",), Family.META, one.grammar, one.apply, "Other.", "o:1")])


@pytest.mark.parametrize(("grammar", "doc"), [
    (Args(Arg("a", BOOL), Arg("b", BOOL)), "%a:%b"),
    (Args(Arg("a", BOOL), tail=Repeated(Arg("c", STRING))), "%a:%c1:%c2:..."),
    (Args(tail=Pairs(Arg("f", STRING), Arg("q", BOOL))), "%f1:%q1:..."),
    (OneOf(Args(Arg("hex", STRING)), Args(Arg("r", STRING), Arg("g", STRING))), "%hex | %r:%g"),
])
def test_grammar_docs(grammar: Args | OneOf, doc: str) -> None:
    assert grammar.doc() == doc


def test_counts_and_empty_arguments() -> None:
    two = Args(Arg("a", NON_NEGATIVE_INT), Arg("b", NON_NEGATIVE_INT, keep_if_empty=True))
    assert two.parse("x", ["1"]) == (1, None)  # missing: None
    assert two.parse("x", ["1", ""]) == (1, None)  # empty and kept: None
    with pytest.raises(InvalidURLError, match="Invalid x a argument"):
        two.parse("x", [""])  # empty and not kept: parsed, and refused
    with pytest.raises(InvalidURLError, match="Invalid x arguments"):
        two.parse("x", ["1", "2", "3"])
