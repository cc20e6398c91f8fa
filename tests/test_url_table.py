"""One table ties the three writers of options to the one reader: every method of the Python
URL builder (``imgproxy_py.urls``) writes a path that the server's parser reads back to the
options the method meant, under the names the declarations give; the ``imgproxy-py url``
flag of the same option writes the same path; and every declared option has a method."""

from __future__ import annotations

import argparse
import dataclasses
import doctest
from collections.abc import Callable
from typing import Any, get_args

import pytest

from imgproxy_py.config import load_config
from imgproxy_py.errors import InvalidURLError
from imgproxy_py.formats import ImageFormat
from imgproxy_py.options import gravity as server_gravity
from imgproxy_py.options.catalog import registry
from imgproxy_py.options.info import INFO_REGISTRY, InfoOption, InfoOptionsParser, InfoRequestOptions
from imgproxy_py.options.info import declarations as info
from imgproxy_py.options.model import (
    AutoQualityArgs,
    Color,
    CropObjects,
    CropOptions,
    DetectionEffect,
    ExtendOptions,
    Gravity,
    PipelineOptions,
    PngArgs,
    RequestOptions,
    ResizingType,
    TrimOptions,
    WatermarkOptions,
)
from imgproxy_py.options.model import GravityType as G
from imgproxy_py.options.parser import OptionsParser
from imgproxy_py.url import arguments, builder, chain
from imgproxy_py.url import cli as url_cli
from imgproxy_py.url import gravity as url_gravity
from imgproxy_py.url import info as url_info
from imgproxy_py.url import options as url_options
from imgproxy_py.url import options_watermarks as url_options_watermarks
from imgproxy_py.url.tokenizer import parse_path
from imgproxy_py.urls import Gravity as G_
from imgproxy_py.urls import InfoOptions, Options, build_info_url, build_url
from tests import url_rows

SOURCE = "http://example.com/a.jpg"
CONFIG = load_config({"IMGPROXY_PRESETS": "a=w:7"})
PARSER = OptionsParser(CONFIG)
INFO_PARSER = InfoOptionsParser({"p1": (("do", ("1",)),)}, allow_security_options=True)
PIPELINE_FIELDS = {f.name for f in dataclasses.fields(PipelineOptions)}
# Declared options no builder method writes, and why.
NO_METHOD = {"detect_objects": "an /info option: image URLs accept it only so that old URLs keep working"}

# (method, call, what the server must read back: PipelineOptions or OutputOptions fields)
PROCESSING: list[tuple[str, Callable[[Options], Options], dict[str, Any]]] = [
    ("resize", lambda o: o.resize("fill", 300, 200, True, True, "so"),
     {"resizing_type": ResizingType.FILL, "width": 300, "height": 200, "enlarge": True,
      "extend": ExtendOptions(True, Gravity(G.SOUTH))}),
    ("resize", lambda o: o.resize(), {"resizing_type": ResizingType.FIT, "width": 0, "height": 0}),
    ("size", lambda o: o.size(10, 20, False, True, G_.focus_point(0.5, 1)),
     {"width": 10, "height": 20, "enlarge": False, "extend": ExtendOptions(True, Gravity(G.FOCUS_POINT, 0.5, 1))}),
    ("resizing_type", lambda o: o.resizing_type("auto"), {"resizing_type": ResizingType.AUTO}),
    ("width", lambda o: o.width(300), {"width": 300}),
    ("height", lambda o: o.height(200), {"height": 200}),
    ("min_width", lambda o: o.min_width(5), {"min_width": 5}),
    ("min_height", lambda o: o.min_height(6), {"min_height": 6}),
    ("zoom", lambda o: o.zoom(1.5), {"zoom_x": 1.5, "zoom_y": 1.5}),
    ("zoom", lambda o: o.zoom(2, 0.25), {"zoom_x": 2.0, "zoom_y": 0.25}),
    ("dpr", lambda o: o.dpr(1.5), {"dpr": 1.5}),
    ("enlarge", lambda o: o.enlarge(), {"enlarge": True}),
    ("extend", lambda o: o.extend(True, "sowe"), {"extend": ExtendOptions(True, Gravity(G.SOUTH_WEST))}),
    ("extend", lambda o: o.extend(False), {"extend": ExtendOptions(False)}),
    ("extend_aspect_ratio", lambda o: o.extend_aspect_ratio(True, G_.compass("no", 0, 5)),
     {"extend_aspect_ratio": ExtendOptions(True, Gravity(G.NORTH, 0, 5))}),
    ("gravity", lambda o: o.gravity("sm"), {"gravity": Gravity(G.SMART)}),
    ("gravity", lambda o: o.gravity("so", 10), {"gravity": Gravity(G.SOUTH, 10, 0)}),
    ("gravity", lambda o: o.gravity(G_.objects("face", "cat")),
     {"gravity": Gravity(G.OBJECTS, classes=(("face", 1.0), ("cat", 1.0)))}),
    ("gravity_focus_point", lambda o: o.gravity_focus_point(0.25, 0.75),
     {"gravity": Gravity(G.FOCUS_POINT, 0.25, 0.75)}),
    ("gravity_objects", lambda o: o.gravity_objects("face"), {"gravity": Gravity(G.OBJECTS, classes=(("face", 1.0),))}),
    ("gravity_objects_weighted", lambda o: o.gravity_objects_weighted({"face": 2, "all": 0.5}),
     {"gravity": Gravity(G.OBJECTS_WEIGHTED, classes=(("face", 2.0), ("all", 0.5)))}),
    ("objects_position", lambda o: o.objects_position("prop"), {"objects_position": Gravity(G.PROPORTIONAL)}),
    ("objects_position", lambda o: o.objects_position("nowe", 10, -5),
     {"objects_position": Gravity(G.NORTH_WEST, 10, -5)}),
    ("objects_position", lambda o: o.objects_position(G_.focus_point(0.3, 0.7)),
     {"objects_position": Gravity(G.FOCUS_POINT, 0.3, 0.7)}),
    ("crop", lambda o: o.crop(0.5, 0.25), {"crop": CropOptions(0.5, 0.25)}),
    ("crop", lambda o: o.crop(100, 50, G_.objects("face")),
     {"crop": CropOptions(100, 50, Gravity(G.OBJECTS, classes=(("face", 1.0),)))}),
    ("trim", lambda o: o.trim(10, "ffffff", True, False), {"trim": TrimOptions(10, Color(255, 255, 255), True)}),
    ("trim", lambda o: o.trim(0), {"trim": TrimOptions(0)}),
    ("padding", lambda o: o.padding(1, 2, 3, 4), {"padding": (1, 2, 3, 4)}),
    ("padding", lambda o: o.padding(5, bottom=7), {"padding": (5, 5, 7, 5)}),
    ("auto_rotate", lambda o: o.auto_rotate(False), {"auto_rotate": False}),
    ("rotate", lambda o: o.rotate(-90), {"rotate": 270}),
    ("flip", lambda o: o.flip(False, True), {"flip_horizontal": False, "flip_vertical": True}),
    ("background", lambda o: o.background("fff"), {"background": Color(255, 255, 255)}),
    ("background", lambda o: o.background((0, 128, 255)), {"background": Color(0, 128, 255)}),
    ("background", lambda o: o.background("fff").background(None), {"background": None}),
    ("blur", lambda o: o.blur(3), {"blur": 3.0}),
    ("sharpen", lambda o: o.sharpen(0.25), {"sharpen": 0.25}),
    ("pixelate", lambda o: o.pixelate(8), {"pixelate": 8}),
    ("brightness", lambda o: o.brightness(-40), {"brightness": -40}),
    ("watermark", lambda o: o.watermark(0.5, "re", 10, 20, 0.3),
     {"watermark": WatermarkOptions(0.5, G.REPLICATE, 10, 20, 0.3)}),
    ("watermark", lambda o: o.watermark(1), {"watermark": WatermarkOptions(1.0)}),
    ("crop_objects", lambda o: o.crop_objects(1.2, "face", "person"),
     {"crop_objects": CropObjects(1.2, ("face", "person"))}),
    ("object_index", lambda o: o.crop_objects(1.5).object_index(1, True),
     {"crop_objects": CropObjects(1.5, (), 1, True)}),
    ("blur_detections", lambda o: o.blur_detections(5.5, "face"), {"blur_detections": DetectionEffect(5.5, ("face",))}),
    ("pixelate_detections", lambda o: o.pixelate_detections(12, "face", "plate"),
     {"pixelate_detections": DetectionEffect(12, ("face", "plate"))}),
    ("draw_detections", lambda o: o.draw_detections("face"), {"draw_detections": ("face",)}),
    ("strip_metadata", lambda o: o.strip_metadata(False), {"strip_metadata": False}),
    ("keep_copyright", lambda o: o.keep_copyright(False), {"keep_copyright": False}),
    ("strip_color_profile", lambda o: o.strip_color_profile(False), {"strip_color_profile": False}),
    ("enforce_thumbnail", lambda o: o.enforce_thumbnail(), {"enforce_thumbnail": True}),
    ("quality", lambda o: o.quality(80), {"quality": 80}),
    ("format_quality", lambda o: o.format_quality({"webp": 70, "avif": None, "jpeg": 80}),
     {"format_quality": ((ImageFormat.JPEG, 80), (ImageFormat.WEBP, 70))}),
    ("autoquality", lambda o: o.autoquality("dssim", 0.01, 50, 90, 0.001),
     {"autoquality": AutoQualityArgs("dssim", 0.01, 50, 90, 0.001)}),
    ("autoquality", lambda o: o.autoquality("size", 10240, max_quality=90),
     {"autoquality": AutoQualityArgs("size", 10240, None, 90, None)}),
    ("max_bytes", lambda o: o.max_bytes(1024), {"max_bytes": 1024}),
    ("png_options", lambda o: o.png_options(False, True, 128), {"png_options": PngArgs(False, True, 128)}),
    ("png_options", lambda o: o.png_options(), {"png_options": PngArgs()}),
    ("format", lambda o: o.format("webp"), {"format": ImageFormat.WEBP}),
    ("skip_processing", lambda o: o.skip_processing("gif", "svg"),
     {"skip_processing": (ImageFormat.GIF, ImageFormat.SVG)}),
    ("raw", lambda o: o.raw(), {"raw": True}),
    ("filename", lambda o: o.filename("my photo.jpg"), {"filename": "my photo.jpg"}),
    ("filename", lambda o: o.filename("cat"), {"filename": "cat"}),
    ("return_attachment", lambda o: o.return_attachment(), {"return_attachment": True}),
    ("disable_animation", lambda o: o.disable_animation(), {"disable_animation": True}),
    ("fallback_image_url", lambda o: o.fallback_image_url("http://x/y?z"), {"fallback_image_url": "http://x/y?z"}),
    ("video_frame", lambda o: o.video_frame(42), {"video_frame": 42}),
    ("video_thumbnail_best", lambda o: o.video_thumbnail_best(), {"video_best": True}),
    ("representative_face", lambda o: o.representative_face(), {"representative_face": True}),
    ("cachebuster", lambda o: o.cachebuster("v1.2"), {"cachebuster": "v1.2"}),
    ("expires", lambda o: o.expires(4102444800), {"expires": 4102444800}),
    ("preset", lambda o: o.preset("a"), {"width": 7}),
    ("page", lambda o: o.page(3), {"page": 3}),
    ("video_thumbnail_second", lambda o: o.video_thumbnail_second(2.5), {"video_second": 2.5}),
    ("video_thumbnail_keyframes", lambda o: o.video_thumbnail_keyframes(), {"video_keyframes": True}),
    *url_rows.all_rows(),
]

INFO: list[tuple[str, Callable[[InfoOptions], InfoOptions], dict[InfoOption[Any], Any]]] = [
    ("size", lambda o: o.size(False), {info.SIZE: False}),
    ("format", lambda o: o.format(False), {info.FORMAT: False}),
    ("dimensions", lambda o: o.dimensions(False), {info.DIMENSIONS: False}),
    ("exif", lambda o: o.exif(), {info.EXIF: (True, False)}),
    ("exif", lambda o: o.exif(True, True), {info.EXIF: (True, True)}),
    ("iptc", lambda o: o.iptc(), {info.IPTC: True}),
    ("xmp", lambda o: o.xmp(), {info.XMP: True}),
    ("video_meta", lambda o: o.video_meta(), {info.VIDEO_META: True}),
    ("detect_objects", lambda o: o.detect_objects(), {info.DETECT_OBJECTS: True}),
    ("palette", lambda o: o.palette(16), {info.PALETTE: 16}),
    ("average", lambda o: o.average(True, False), {info.AVERAGE: (True, False)}),
    ("average", lambda o: o.average(), {info.AVERAGE: (True, True)}),
    ("dominant_colors", lambda o: o.dominant_colors(True, True), {info.DOMINANT_COLORS: (True, True)}),
    ("blurhash", lambda o: o.blurhash(4, 3), {info.BLURHASH: (4, 3)}),
    ("classify", lambda o: o.classify(3, "cat", "dog"), {info.CLASSIFY: (3, ("cat", "dog"))}),
    ("colorspace", lambda o: o.colorspace(), {info.COLORSPACE: True}),
    ("bands", lambda o: o.bands(), {info.BANDS: True}),
    ("sample_format", lambda o: o.sample_format(), {info.SAMPLE_FORMAT: True}),
    ("pages_number", lambda o: o.pages_number(), {info.PAGES_NUMBER: True}),
    ("alpha", lambda o: o.alpha(True, True), {info.ALPHA: (True, True)}),
    ("crop", lambda o: o.crop(300, 200, "sm"),
     {info.CROP: CropOptions(300.0, 200.0, Gravity(G.SMART))}),
    ("crop", lambda o: o.crop(0.5, 0.5, G_.objects("face")),
     {info.CROP: CropOptions(0.5, 0.5, Gravity(G.OBJECTS, classes=(("face", 1.0),)))}),
    ("objects_position", lambda o: o.objects_position("nowe", 10, 5),
     {info.OBJECTS_POSITION_OPTION: Gravity(G.NORTH_WEST, 10.0, 5.0)}),
    ("thumb_hash", lambda o: o.thumb_hash(), {info.THUMB_HASH: True}),
    ("perceptual_hash", lambda o: o.perceptual_hash(), {info.PERCEPTUAL_HASH: True}),
    ("calc_hashsums", lambda o: o.calc_hashsums("md5", "sha512"), {info.CALC_HASHSUMS: ("md5", "sha512")}),
    ("hashsum", lambda o: o.hashsum("sha1", "ab" * 20), {info.HASHSUM: ("sha1", "ab" * 20)}),
    ("bypass_cache", lambda o: o.bypass_cache(), {info.BYPASS_CACHE: True}),
    ("cache_tags", lambda o: o.cache_tags("cats", "photos"), {info.CACHE_TAGS: ("cats", "photos")}),
    ("max_src_resolution", lambda o: o.max_src_resolution(12.5), {info.MAX_SRC_RESOLUTION: 12.5}),
    ("max_src_file_size", lambda o: o.max_src_file_size(1000), {info.MAX_SRC_FILE_SIZE: 1000}),
    ("page", lambda o: o.page(1), {info.PAGE: 1}),
    ("video_thumbnail_second", lambda o: o.video_thumbnail_second(3), {info.VIDEO_THUMBNAIL_SECOND: 3.0}),
    ("video_thumbnail_keyframes", lambda o: o.video_thumbnail_keyframes(), {info.VIDEO_THUMBNAIL_KEYFRAMES: True}),
    ("cachebuster", lambda o: o.cachebuster("x"), {info.CACHEBUSTER: "x"}),
    ("expires", lambda o: o.expires(4102444800), {info.EXPIRES: 4102444800}),
    ("preset", lambda o: o.preset("p1"), {info.DETECT_OBJECTS: True}),
]


def server_reads(path: str) -> RequestOptions:
    parsed = parse_path(path, CONFIG.url)
    return PARSER.parse(parsed.options, parsed.source.extension)


def info_server_reads(path: str) -> InfoRequestOptions:
    parsed = parse_path(path.removeprefix("/info"), CONFIG.url)
    return INFO_PARSER.parse(parsed.options)


def segments(opts: Options | InfoOptions) -> list[chain.Option]:
    return [option for pipeline in opts.pipelines for option in pipeline]


@pytest.mark.parametrize(("method", "call", "expected"), PROCESSING, ids=[m for m, _, _ in PROCESSING])
def test_builder_paths_parse_back(method: str, call: Callable[[Options], Options], expected: dict[str, Any]) -> None:
    opts = call(Options())
    short = server_reads(build_url(opts, SOURCE))
    assert server_reads(build_url(opts, SOURCE, full_names=True)) == short
    for field, value in expected.items():
        where = short.pipelines[0] if field in PIPELINE_FIELDS else short.output
        assert getattr(where, field) == value, field
    for option in segments(opts):  # the builder's names are the declaration's
        spec = registry.lookup(option.long)
        assert option.long == spec.name and option.short in (spec.name, *spec.aliases)


@pytest.mark.parametrize(("method", "call", "expected"), INFO, ids=[m for m, _, _ in INFO])
def test_info_builder_paths_parse_back(method: str, call: Callable[[InfoOptions], InfoOptions],
                                       expected: dict[InfoOption[Any], Any]) -> None:
    opts = call(InfoOptions())
    short = info_server_reads(build_info_url(opts, SOURCE))
    assert info_server_reads(build_info_url(opts, SOURCE, full_names=True)) == short
    for spec, value in expected.items():
        assert short.get(spec) == value, spec.name
    for option in segments(opts):
        spec = INFO_REGISTRY.lookup(option.long)
        assert option.long == spec.name and option.short in (spec.name, *spec.aliases)


def _public_methods(cls: type) -> set[str]:
    return {name for name in dir(cls) if not name.startswith("_") and callable(getattr(cls, name))} - {
        "add", "then", "segments", "to_path"}


def test_every_builder_method_and_every_declaration_is_in_the_table() -> None:
    assert _public_methods(Options) == {m for m, _, _ in PROCESSING}
    assert _public_methods(InfoOptions) == {m for m, _, _ in INFO}
    written = {o.long for _, call, _ in PROCESSING for o in segments(call(Options()))}
    assert {s.name for s in registry.declarations()} - written == set(NO_METHOD)
    info_written = {o.long for _, call, _ in INFO for o in segments(call(InfoOptions()))}
    assert {s.name for s in INFO_REGISTRY.declarations()} == info_written


def _cli(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    parser = argparse.ArgumentParser(prog="imgproxy-py")
    url_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(argv)
    assert args.func(args) == 0
    return capsys.readouterr().out.strip()


@pytest.mark.parametrize(("method", "call", "expected"), PROCESSING, ids=[m for m, _, _ in PROCESSING])
def test_cli_flags_write_what_the_builder_writes(method: str, call: Callable[[Options], Options],
                                                expected: dict[str, Any], capsys: pytest.CaptureFixture[str]) -> None:
    opts = call(Options())
    flags = {f.name: f.flag for f in url_cli._flags()}
    argv = ["url", SOURCE]
    for option in segments(opts):
        argv += [flags[option.short], ":".join(option.args)] if option.short in flags else \
            ["-o", option.render()]
    assert _cli(argv, capsys) == build_url(opts, SOURCE)


def test_cli_flags_cover_the_declarations() -> None:
    flags = {f.name for f in url_cli._flags()}
    shortest = {min((s.name, *s.aliases), key=len) for s in registry.declarations()}
    assert shortest - flags == {"f"}  # --format is the URL's extension


def test_cli_info_urls_take_info_flags_only(capsys: pytest.CaptureFixture[str]) -> None:
    assert _cli(["url", SOURCE, "--info", "--detect-objects", "1", "--cachebuster", "x", "-o", "s:0"], capsys) == \
        build_info_url(InfoOptions().detect_objects().cachebuster("x").size(False), SOURCE)
    parser = argparse.ArgumentParser(prog="imgproxy-py")
    url_cli.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["url", SOURCE, "--info", "--width", "300"])
    assert args.func(args) == 2
    assert "--width is a processing option" in capsys.readouterr().err


def test_builder_vocabulary_is_the_servers() -> None:
    assert set(get_args(arguments.ResizingType)) == {t.value for t in ResizingType}
    assert set(get_args(arguments.CompassGravity)) == {t.value for t in server_gravity.COMPASS}
    assert set(get_args(arguments.GravityName)) <= {t.value for t in server_gravity.CROP_GRAVITY_TYPES}
    assert set(get_args(arguments.WatermarkPosition)) == {t.value for t in server_gravity.WATERMARK_POSITIONS}


def test_watermark_position_ch_is_read_by_both() -> None:
    # imgproxy Pro's chessboard tiling; a position neither knows is refused by both.
    read = server_reads(build_url(Options().watermark(0.5, "ch"), SOURCE))
    assert read.pipelines[0].watermark.position is G.CHESSBOARD
    with pytest.raises(ValueError):
        Options().watermark(0.5, "cb")  # type: ignore[arg-type]
    with pytest.raises(InvalidURLError):
        server_reads(f"/unsafe/wm:0.5:cb/plain/{SOURCE}")


def test_info_and_processing_names_do_not_collide() -> None:
    assert info_server_reads(f"/info/unsafe/s:0/plain/{SOURCE}").get(info.SIZE) is False
    with pytest.raises(InvalidURLError, match="Unknown info option: rs"):
        info_server_reads(f"/info/unsafe/rs:fit:10:10/plain/{SOURCE}")


@pytest.mark.parametrize("module", [arguments, builder, chain, url_gravity, url_info, url_options,
                                    url_options_watermarks])
def test_docstring_examples(module: object) -> None:
    assert doctest.testmod(module).failed == 0  # type: ignore[arg-type]
