"""imgproxy's own options-parser tests (``options/parser/processing_options_test.go`` and
``options/parser/presets_test.go``, imgproxy v4 commit eef3b312, Apache-2.0) run against our
parser: each path goes through ``parse_and_verify`` (the tokenizer) and ``OptionsParser.parse``
as a request would, with imgproxy's settings given as ``IMGPROXY_*`` variables.

imgproxy's ``clientfeatures.Features`` (what its detector made of Accept and the
``IMGPROXY_AUTO_*``/``IMGPROXY_ENFORCE_*`` settings) is our ``ClientFeatures`` plus those
settings.  imgproxy has no bundled presets; where a test counts presets ours are switched off.
An error is asserted by our class and imgproxy's status, not by imgproxy's log wording."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import pytest

from imgproxy_py.errors import ConfigError, InvalidURLError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.model import Color, GravityType, RequestOptions, ResizingType
from imgproxy_py.options.parser import ClientFeatures
from imgproxy_py.server.checks import parse_and_verify
from tests.servers import services_for

PLAIN = "http://images.dev/lorem/ipsum.jpg"
ORIGIN = "http://images.dev/lorem/ipsum.jpg?param=value"
P = f"/plain/{PLAIN}"
BASE = {"IMGPROXY_BASE_URL": "http://images.dev/"}
# imgproxy's test sets two regexps; the same ones as IMGPROXY_URL_REPLACEMENTS wildcards.
REPLACEMENTS = {"IMGPROXY_URL_REPLACEMENTS": "test://*/=test2://images.dev/${1}/dolor/;test2://=http://"}
ONLY_PRESETS = {"IMGPROXY_ONLY_PRESETS": "true", "IMGPROXY_PRESETS": "test1=blur:0.2,test2=quality:50"}
NO_BUNDLED = {"IMGPROXY_BUNDLED_PRESETS": "false"}


def b64(url: str) -> str:
    """Go's ``base64.RawURLEncoding``."""
    return base64.urlsafe_b64encode(url.encode()).rstrip(b"=").decode()


def path_escape(url: str) -> str:
    """Go's ``url.PathEscape``: a path segment's escaping (``/``, ``?``, ``;``, ``,`` escaped)."""
    return quote(url, safe="$&+:=@")


def parse(path: str, env: dict[str, str] | None = None,
          features: ClientFeatures | None = None) -> tuple[str, RequestOptions]:
    """imgproxy's ``ParsePath``: (the source URL, the options) of an unsigned path."""
    built = services_for(env or {})
    parsed = parse_and_verify(built, "/unsafe" + path)
    return parsed.source.url, built.options.parse(parsed.options, parsed.source.extension, features)


def value(url: str, options: RequestOptions, name: str) -> Any:
    """``url``, or a dotted field of ``out`` (the output options) or ``pipe`` (the first pipeline)."""
    root, _, rest = name.partition(".")
    found: Any = {"url": url, "out": options.output, "pipe": options.pipelines[0]}[root]
    for attr in rest.split(".") if rest else ():
        found = getattr(found, attr)
    return found


def check(url: str, options: RequestOptions, expected: dict[str, Any]) -> None:
    for name, want in expected.items():
        got = value(url, options, name)
        if isinstance(want, float):
            assert got == pytest.approx(want, abs=1e-4), name
        elif isinstance(want, frozenset):  # testify's ElementsMatch
            assert sorted(got) == sorted(want), name
        else:
            assert got == want, name


def case(go_test: str, path: str, expected: dict[str, Any], env: dict[str, str] | None = None,
         features: ClientFeatures | None = None, *marks: pytest.MarkDecorator) -> Any:
    return pytest.param(path, env or {}, features, expected, id=go_test, marks=marks)


PNG, WEBP = ImageFormat.PNG, ImageFormat.WEBP
SIZE = "/size:100:100"


PARSED = [
    case("TestParseBase64URL", f"{SIZE}/{b64(ORIGIN)}.png", {"url": ORIGIN, "out.format": PNG}),
    case("TestParseBase64URLWithFilename", f"{SIZE}/{b64(ORIGIN)}.png/puppy.jpg", {"url": ORIGIN, "out.format": PNG},
         {"IMGPROXY_BASE64_URL_INCLUDES_FILENAME": "true"}),
    case("TestParseBase64URLWithoutExtension", f"{SIZE}/{b64(ORIGIN)}", {"url": ORIGIN, "out.format": None}),
    case("TestParseBase64URLWithBase", f"{SIZE}/{b64('lorem/ipsum.jpg?param=value')}.png",
         {"url": ORIGIN, "out.format": PNG}, BASE),
    case("TestParseBase64URLWithReplacement", f"{SIZE}/{b64('test://lorem/ipsum.jpg?param=value')}.png",
         {"url": "http://images.dev/lorem/dolor/ipsum.jpg?param=value", "out.format": PNG}, REPLACEMENTS),
    case("TestParsePlainURL", f"{SIZE}{P}@png", {"url": PLAIN, "out.format": PNG}),
    case("TestParsePlainURLWithoutExtension", f"{SIZE}{P}", {"url": PLAIN, "out.format": None}),
    case("TestParsePlainURLEscaped", f"{SIZE}/plain/{path_escape(ORIGIN)}@png", {"url": ORIGIN, "out.format": PNG}),
    case("TestParsePlainURLWithBase", f"{SIZE}/plain/lorem/ipsum.jpg@png", {"url": PLAIN, "out.format": PNG}, BASE),
    case("TestParsePlainURLWithReplacement", f"{SIZE}/plain/test://lorem/ipsum.jpg@png",
         {"url": "http://images.dev/lorem/dolor/ipsum.jpg", "out.format": PNG}, REPLACEMENTS),
    case("TestParsePlainURLEscapedWithBase", f"{SIZE}/plain/{path_escape('lorem/ipsum.jpg?param=value')}@png",
         {"url": ORIGIN, "out.format": PNG}, BASE),
    case("TestParseWithArgumentsSeparator", f"/size,100,100,1{P}",
         {"pipe.width": 100, "pipe.height": 100, "pipe.enlarge": True}, {"IMGPROXY_ARGUMENTS_SEPARATOR": ","},
         None),
    # The same with our bundled presets off: the separator itself works.
    case("TestParseWithArgumentsSeparator-no-bundled-presets", f"/size,100,100,1{P}",
         {"pipe.width": 100, "pipe.height": 100, "pipe.enlarge": True},
         {"IMGPROXY_ARGUMENTS_SEPARATOR": ",", **NO_BUNDLED}),
    case("TestParsePathFormat", f"/format:webp{P}", {"out.format": WEBP}),
    case("TestParsePathResize", f"/resize:fill:100:200:1{P}",
         {"pipe.resizing_type": ResizingType.FILL, "pipe.width": 100, "pipe.height": 200, "pipe.enlarge": True}),
    case("TestParsePathResizingType", f"/resizing_type:fill{P}", {"pipe.resizing_type": ResizingType.FILL}),
    case("TestParsePathSize", f"/size:100:200:1{P}", {"pipe.width": 100, "pipe.height": 200, "pipe.enlarge": True}),
    case("TestParsePathWidth", f"/width:100{P}", {"pipe.width": 100}),
    case("TestParsePathHeight", f"/height:100{P}", {"pipe.height": 100}),
    case("TestParsePathEnlarge", f"/enlarge:1{P}", {"pipe.enlarge": True}),
    case("TestParsePathExtend", f"/extend:1:so:10:20{P}",
         {"pipe.extend.enabled": True, "pipe.extend.gravity.type": GravityType.SOUTH,
          "pipe.extend.gravity.x": 10.0, "pipe.extend.gravity.y": 20.0}),
    case("TestParsePathGravity", f"/gravity:soea{P}", {"pipe.gravity.type": GravityType.SOUTH_EAST}),
    case("TestParsePathGravityFocusPoint", f"/gravity:fp:0.5:0.75{P}",
         {"pipe.gravity.type": GravityType.FOCUS_POINT, "pipe.gravity.x": 0.5, "pipe.gravity.y": 0.75}),
    # imgproxy's GravityUnknown (no crop gravity of its own) is our None.
    case("TestParsePathCrop", f"/crop:100:200{P}",
         {"pipe.crop.width": 100.0, "pipe.crop.height": 200.0, "pipe.crop.gravity": None}),
    case("TestParsePathCropGravity", f"/crop:100:200:nowe:10:20{P}",
         {"pipe.crop.width": 100.0, "pipe.crop.height": 200.0, "pipe.crop.gravity.type": GravityType.NORTH_WEST,
          "pipe.crop.gravity.x": 10.0, "pipe.crop.gravity.y": 20.0}),
    case("TestParsePathQuality", f"/quality:55{P}", {"out.quality": 55}),
    case("TestParsePathBackground", f"/background:128:129:130{P}", {"pipe.background": Color(128, 129, 130)}),
    case("TestParsePathBackgroundHex", f"/background:ffddee{P}", {"pipe.background": Color(0xFF, 0xDD, 0xEE)}),
    case("TestParsePathBackgroundDisable", f"/background:fff/background:{P}", {"pipe.background": None}),
    case("TestParsePathBlur", f"/blur:0.2{P}", {"pipe.blur": 0.2}),
    case("TestParsePathSharpen", f"/sharpen:0.2{P}", {"pipe.sharpen": 0.2}),
    case("TestParsePathDpr", f"/dpr:2{P}", {"pipe.dpr": 2.0}),
    case("TestParsePathWatermark", f"/watermark:0.5:soea:10:20:0.6{P}",
         {"pipe.watermark.opacity": 0.5, "pipe.watermark.position": GravityType.SOUTH_EAST,
          "pipe.watermark.x": 10.0, "pipe.watermark.y": 20.0, "pipe.watermark.scale": 0.6}),
    case("TestParsePathPreset", f"/preset:test1:test2{P}",
         {"pipe.resizing_type": ResizingType.FILL, "pipe.blur": 0.2, "out.quality": 50,
          "out.used_presets": frozenset({"test1", "test2"})},
         {"IMGPROXY_PRESETS": "test1=resizing_type:fill,test2=blur:0.2/quality:50"}),
    case("TestParsePathPresetDefault", f"/quality:70{P}",
         {"pipe.resizing_type": ResizingType.FILL, "pipe.blur": 0.2, "out.quality": 70,
          "out.used_presets": frozenset({"default"})},
         {"IMGPROXY_PRESETS": "default=resizing_type:fill/blur:0.2/quality:50"}),
    case("TestParsePathPresetLoopDetection", f"/preset:test1{P}", {"out.used_presets": frozenset({"test1", "test2"})},
         {"IMGPROXY_PRESETS": "test1=resizing_type:fill/preset:test2,test2=blur:0.2/preset:test1"}),
    case("TestParsePathCachebuster", f"/cachebuster:123{P}", {"out.cachebuster": "123"}),
    case("TestParsePathStripMetadata", f"/strip_metadata:true{P}", {"out.strip_metadata": True}),
    case("TestParsePathPreserveHDR", f"/ph:1{P}", {"out.preserve_hdr": True}),
    case("TestParseSkipProcessing", f"/skp:jpg:png{P}",
         {"out.skip_processing": frozenset({ImageFormat.JPEG, ImageFormat.PNG})}),
    case("TestParseExpires", f"/exp:32503669200{P}", {"out.expires": 32503669200}),
    case("TestParsePathOnlyPresets", f"/test1:test2{P}@png",
         {"pipe.blur": 0.2, "out.quality": 50, "out.format": PNG, "url": PLAIN}, ONLY_PRESETS),
    case("TestParseBase64URLOnlyPresets", f"/test1:test2/{b64(ORIGIN)}.png",
         {"pipe.blur": 0.2, "out.quality": 50, "out.format": PNG, "url": ORIGIN}, ONLY_PRESETS),
]


@pytest.mark.parametrize(("path", "env", "features", "expected"), PARSED)
def test_parse_path(path: str, env: dict[str, str], features: ClientFeatures | None,
                    expected: dict[str, Any]) -> None:
    url, options = parse(path, env, features)
    check(url, options, expected)


@pytest.mark.parametrize(("path", "mentions"), [
    pytest.param(f"/extend:1:sm{P}", "sm", id="TestParsePathExtendSmartGravity"),
    pytest.param(f"/extend:1:re{P}", "re", id="TestParsePathExtendReplicateGravity"),
    pytest.param(f"/gravity:re{P}", "re", id="TestParsePathGravityReplicate"),
    pytest.param(f"/crop:100:200:re{P}", "re", id="TestParsePathCropGravityReplicate"),
    # imgproxy's log line: "Invalid image format in skip_processing: bad_format".
    pytest.param(f"/skp:jpg:png:bad_format{P}", "bad_format", id="TestParseSkipProcessingInvalid"),
    pytest.param(f"/exp:1609448400{P}", "Expired URL", id="TestParseExpiresExpired"),
])
def test_parse_path_refused(path: str, mentions: str) -> None:
    with pytest.raises(InvalidURLError) as caught:
        parse(path)
    assert caught.value.status == 404 and mentions in str(caught.value)


@pytest.mark.parametrize(("options", "forbidden"), [
    ("w:100/h:200", ""),
    ("w:100/h:200/blur:10", "blur"),
    ("w:100/h:200/pr:test1", ""),  # a preset's own options are not checked
    ("w:100/h:200/pr:test1/blur:10", "blur"),
])
def test_parse_allowed_options(options: str, forbidden: str) -> None:
    # TestParseAllowedOptions; imgproxy's log line: "Forbidden processing option blur".
    env = {"IMGPROXY_ALLOWED_PROCESSING_OPTIONS": "w,h,pr", "IMGPROXY_PRESETS": "test1=blur:0.2"}
    path = f"/{options}/{b64(ORIGIN)}.png"
    if not forbidden:
        parse(path, env)
        return
    with pytest.raises(InvalidURLError) as caught:
        parse(path, env)
    assert caught.value.status == 404 and forbidden in str(caught.value)


AUTO = {"IMGPROXY_AUTO_WEBP": "true", "IMGPROXY_AUTO_AVIF": "true", "IMGPROXY_AUTO_JXL": "true"}
ENFORCE = {"IMGPROXY_ENFORCE_WEBP": "true", "IMGPROXY_ENFORCE_AVIF": "true", "IMGPROXY_ENFORCE_JXL": "true"}
FLAGS = ("prefer_webp", "enforce_webp", "prefer_avif", "enforce_avif", "prefer_jxl", "enforce_jxl")


@pytest.mark.parametrize(("env", "features", "path", "flags"), [
    pytest.param(AUTO, ClientFeatures(accepts_webp=True), P, (1, 0, 0, 0, 0, 0), id="TestParsePathWebpDetection"),
    pytest.param(ENFORCE, ClientFeatures(accepts_webp=True), f"{P}@png", (1, 1, 0, 0, 0, 0),
                 id="TestParsePathWebpEnforce"),
    pytest.param(AUTO, ClientFeatures(accepts_avif=True), P, (0, 0, 1, 0, 0, 0), id="TestParsePathAvifDetection"),
    pytest.param(ENFORCE, ClientFeatures(accepts_avif=True), f"{P}@png", (0, 0, 1, 1, 0, 0),
                 id="TestParsePathAvifEnforce"),
    pytest.param(AUTO, ClientFeatures(accepts_jxl=True), P, (0, 0, 0, 0, 1, 0), id="TestParsePathJxlDetection"),
    pytest.param(ENFORCE, ClientFeatures(accepts_jxl=True), f"{P}@png", (0, 0, 0, 0, 1, 1),
                 id="TestParsePathJxlEnforce"),
])
def test_format_detection(env: dict[str, str], features: ClientFeatures, path: str, flags: tuple[int, ...]) -> None:
    _, options = parse(path, env, features)
    assert {f: getattr(options.output, f) for f in FLAGS} == {f: bool(on) for f, on in zip(FLAGS, flags, strict=True)}


@pytest.mark.parametrize(("features", "width", "dpr"), [
    pytest.param(ClientFeatures(), 0, 1.0, id="NoClientHints"),
    pytest.param(ClientFeatures(width=100), 100, 1.0, id="WidthOnly"),
    pytest.param(ClientFeatures(dpr=2.0), 0, 2.0, id="DprOnly"),
    pytest.param(ClientFeatures(width=100, dpr=2.0), 50, 2.0, id="WidthAndDpr"),
])
def test_client_hints(features: ClientFeatures, width: int, dpr: float) -> None:
    # TestParsePathClientHints
    _, options = parse(f"{P}@png", features=features)
    assert options.pipelines[0].width == width and options.pipelines[0].dpr == pytest.approx(dpr, abs=1e-4)


def test_client_hints_redefined_by_url() -> None:
    # TestParsePathClientHintsRedefine
    _, options = parse(f"/width:150/dpr:3.0{P}@png", features=ClientFeatures(width=100, dpr=2.0))
    assert options.pipelines[0].width == 150 and options.pipelines[0].dpr == pytest.approx(3.0, abs=1e-4)


# presets_test.go: imgproxy's optionsparser.New over a list of presets; ours is start-up.

def test_parse_preset() -> None:
    # TestParsePreset
    presets = services_for({"IMGPROXY_PRESETS": "test=resize:fit:100:200/sharpen:2", **NO_BUNDLED}).options.presets
    assert presets["test"] == ((("resize", ("fit", "100", "200")), ("sharpen", ("2",))),)


@pytest.mark.parametrize("preset", [
    pytest.param("resize:fit:100:200/sharpen:2", id="TestParsePresetInvalidString"),
    pytest.param("=resize:fit:100:200/sharpen:2", id="TestParsePresetEmptyName"),
    pytest.param("test=", id="TestParsePresetEmptyValue"),
    pytest.param("test=resize:fit:100:200/sharpen:2/blur", id="TestParsePresetInvalidValue"),
    pytest.param("test=resize:fit:-1:-2/sharpen:2", id="TestValidatePresetsInvalid"),
])
def test_invalid_preset_stops_start_up(preset: str) -> None:
    with pytest.raises(ConfigError) as caught:
        services_for({"IMGPROXY_PRESETS": preset, **NO_BUNDLED})
    assert caught.value.problems and all("preset" in problem for problem in caught.value.problems)


@pytest.mark.parametrize(("preset", "names"), [
    pytest.param("   ", set(), id="TestParsePresetEmptyString"),
    pytest.param("#  test=resize:fit:100:200/sharpen:2", set(), id="TestParsePresetComment"),
    pytest.param("test=resize:fit:100:200/sharpen:2", {"test"}, id="TestValidatePresets"),
])
def test_preset_set(preset: str, names: set[str]) -> None:
    assert set(services_for({"IMGPROXY_PRESETS": preset, **NO_BUNDLED}).options.presets) == names
