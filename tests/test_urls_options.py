"""The URL builder's options: imgproxy.rb's whole option list, every method's segment, full names,
value semantics."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from functools import reduce

import pytest

from imgproxy_py.urls import Gravity, InfoOptions, Options, build_url

# --- imgproxy.rb's whole option list ----------------------------------------------

# imgproxy.rb url_for_spec.rb "builds URL": the whole option list in the client's order.
# (method call, short form, long form); options without a typed method go through add().
Step = Callable[[Options], Options]
RUBY_STEPS: list[tuple[Step, str, str | None]] = [
    (lambda o: o.resize("auto", 100, 200, True, True, Gravity.compass("noea", 1, 2)),
     "rs:auto:100:200:1:1:noea:1:2", "resize:auto:100:200:1:1:noea:1:2"),
    (lambda o: o.size(150, 250, False, True, Gravity.compass("soea", 2, 3)),
     "s:150:250:0:1:soea:2:3", "size:150:250:0:1:soea:2:3"),
    (lambda o: o.resizing_type("fill"), "rt:fill", "resizing_type:fill"),
    (lambda o: o.add("ra", "cubic"), "ra:cubic", None),
    (lambda o: o.width(200), "w:200", "width:200"),
    (lambda o: o.height(300), "h:300", "height:300"),
    (lambda o: o.min_width(50), "mw:50", "min-width:50"),
    (lambda o: o.min_height(60), "mh:60", "min-height:60"),
    (lambda o: o.zoom(0.5, 0.75), "z:0.5:0.75", "zoom:0.5:0.75"),
    (lambda o: o.dpr(2), "dpr:2", "dpr:2"),
    (lambda o: o.enlarge(), "el:1", "enlarge:1"),
    (lambda o: o.extend(True, Gravity.compass("nowe", 5, 6)), "ex:1:nowe:5:6", "extend:1:nowe:5:6"),
    (lambda o: o.extend_aspect_ratio(True, Gravity.compass("soea", 0.1, 0.2)),
     "exar:1:soea:0.1:0.2", "extend_aspect_ratio:1:soea:0.1:0.2"),
    (lambda o: o.gravity_focus_point(0.25, 0.75), "g:fp:0.25:0.75", "gravity:fp:0.25:0.75"),
    (lambda o: o.crop(500, 100, Gravity.compass("ce", 0.35, 0.65)),
     "c:500:100:ce:0.35:0.65", "crop:500:100:ce:0.35:0.65"),
    (lambda o: o.trim(10, "ffffff", True, False), "t:10:ffffff:1:0", "trim:10:ffffff:1:0"),
    (lambda o: o.padding(10, 20, 30, 40), "pd:10:20:30:40", "padding:10:20:30:40"),
    (lambda o: o.auto_rotate(), "ar:1", "auto_rotate:1"),
    (lambda o: o.rotate(90), "rot:90", "rotate:90"),
    (lambda o: o.background((10, 20, 30)), "bg:10:20:30", "background:10:20:30"),
    (lambda o: o.add("bga", 0.5), "bga:0.5", None),
    (lambda o: o.add("a", -10, 0.5, 2), "a:-10:0.5:2", None),
    (lambda o: o.add("br", 10), "br:10", None),
    (lambda o: o.add("co", 2), "co:2", None),
    (lambda o: o.add("sa", 0.5), "sa:0.5", None),
    (lambda o: o.blur(0.5), "bl:0.5", "blur:0.5"),
    (lambda o: o.sharpen(0.7), "sh:0.7", "sharpen:0.7"),
    (lambda o: o.pixelate(10), "pix:10", "pixelate:10"),
    (lambda o: o.add("ush", "always", 10, 20), "ush:always:10:20", None),
    (lambda o: o.blur_detections(10, "class1", "class2"), "bd:10:class1:class2",
     "blur_detections:10:class1:class2"),
    (lambda o: o.draw_detections("class1", "class2"), "dd:1:class1:class2",
     "draw_detections:1:class1:class2"),
    (lambda o: o.add("gr", 0.5, "ffffff", "down", 0.25, 0.75), "gr:0.5:ffffff:down:0.25:0.75", None),
    (lambda o: o.watermark(0.5, "noea", 10, 5, 0.1), "wm:0.5:noea:10:5:0.1", "watermark:0.5:noea:10:5:0.1"),
    (lambda o: o.add("wmu", "aHR0cHM6Ly9pbWFnZXMudGVzdC93bS5zdmc"),
     "wmu:aHR0cHM6Ly9pbWFnZXMudGVzdC93bS5zdmc", None),
    (lambda o: o.add("wmt", "dGhlIHdhdGVybWFyaw"), "wmt:dGhlIHdhdGVybWFyaw", None),
    (lambda o: o.add("wms", 256, 1024), "wms:256:1024", None),
    (lambda o: o.add("wmr", 45), "wmr:45", None),
    (lambda o: o.add("wmsh", 15), "wmsh:15", None),
    (lambda o: o.add("st", "Y29sb3I6IHJnYmEoMjU1LCAyNTUsIDI1NSwgLjUp"),
     "st:Y29sb3I6IHJnYmEoMjU1LCAyNTUsIDI1NSwgLjUp", None),
    (lambda o: o.strip_metadata(), "sm:1", "strip_metadata:1"),
    (lambda o: o.keep_copyright(), "kcr:1", "keep_copyright:1"),
    (lambda o: o.add("dpi", 72), "dpi:72", None),
    (lambda o: o.strip_color_profile(False), "scp:0", "strip_color_profile:0"),
    (lambda o: o.enforce_thumbnail(), "eth:1", "enforce_thumbnail:1"),
    (lambda o: o.quality(80), "q:80", "quality:80"),
    (lambda o: o.format_quality({"jpeg": 85, "webp": 75, "avif": 65}),
     "fq:jpeg:85:webp:75:avif:65", "format_quality:jpeg:85:webp:75:avif:65"),
    (lambda o: o.autoquality("dssim", 0.01, 50, 90, 0.001), "aq:dssim:0.01:50:90:0.001",
     "autoquality:dssim:0.01:50:90:0.001"),
    (lambda o: o.max_bytes(1024), "mb:1024", "max_bytes:1024"),
    (lambda o: o.add("jpego", True, False, True, False, True, 5), "jpego:1:0:1:0:1:5", None),
    (lambda o: o.png_options(False, True, 128), "pngo:0:1:128", "png_options:0:1:128"),
    (lambda o: o.add("webpo", "lossless", True), "webpo:lossless:1", None),
    (lambda o: o.page(42), "pg:42", "page:42"),
    (lambda o: o.add("pgs", 2), "pgs:2", None),
    (lambda o: o.disable_animation(), "da:1", "disable_animation:1"),
    (lambda o: o.video_thumbnail_second(15), "vts:15", "video_thumbnail_second:15"),
    (lambda o: o.video_thumbnail_keyframes(), "vtk:1", "video_thumbnail_keyframes:1"),
    (lambda o: o.add("vtt", 1.5, 2, 3, 200, 100, True, True, True, 0.25, 0.75),
     "vtt:1.5:2:3:200:100:1:1:1:0.25:0.75", None),
    (lambda o: o.fallback_image_url("https://images.test/fallback.jpg"),
     "fiu:aHR0cHM6Ly9pbWFnZXMudGVzdC9mYWxsYmFjay5qcGc",
     "fallback_image_url:aHR0cHM6Ly9pbWFnZXMudGVzdC9mYWxsYmFjay5qcGc"),
    (lambda o: o.skip_processing("gif", "svg"), "skp:gif:svg", "skip_processing:gif:svg"),
    (lambda o: o.raw(), "raw:1", "raw:1"),
    (lambda o: o.cachebuster("qwerty"), "cb:qwerty", "cachebuster:qwerty"),
    (lambda o: o.expires(dt.datetime.fromtimestamp(4810374983, dt.UTC)), "exp:4810374983",
     "expires:4810374983"),
    (lambda o: o.filename("the_image.jpg", encode=True), "fn:dGhlX2ltYWdlLmpwZw:1",
     "filename:dGhlX2ltYWdlLmpwZw:1"),
    (lambda o: o.return_attachment(), "att:1", "return_attachment:1"),
    (lambda o: o.preset("preset1", "preset2"), "pr:preset1:preset2", "preset:preset1:preset2"),
    (lambda o: o.add("hs", "md5", "4810374983"), "hs:md5:4810374983", None),
    (lambda o: o.add("msr", 1.5), "msr:1.5", None),
    (lambda o: o.add("msfs", 1024), "msfs:1024", None),
    (lambda o: o.add("maf", 10), "maf:10", None),
    (lambda o: o.add("mafr", 2.5), "mafr:2.5", None),
]


def test_ruby_client_full_option_list() -> None:
    opts = reduce(lambda acc, step: step[0](acc), RUBY_STEPS, Options())
    expected = "/".join(short for _, short, _ in RUBY_STEPS)
    url = build_url(opts, "https://images.test/image.jpg", extension="webp", unsigned_signature="unsafe",
                    base="http://imgproxy.test")
    assert url == f"http://imgproxy.test/unsafe/{expected}/plain/https://images.test/image.jpg@webp"


def test_ruby_client_full_names() -> None:
    typed = [(step, full) for step, _, full in RUBY_STEPS if full is not None]
    opts = reduce(lambda acc, item: item[0](acc), typed, Options())
    expected = "/".join(full for _, full in typed)
    assert opts.to_path(full_names=True) == "/" + expected
    url = build_url(opts, "https://images.test/image.jpg", extension="webp", unsigned_signature="unsafe",
                    base="http://imgproxy.test", full_names=True)
    assert url == f"http://imgproxy.test/unsafe/{expected}/plain/https://images.test/image.jpg@webp"


# --- every method -----------------------------------------------------------------

METHOD_CASES: list[tuple[Callable[[], Options | InfoOptions], str]] = [
    (lambda: Options().resize(), "rs:fit:0:0"),
    (lambda: Options().resize("fill-down", 300), "rs:fill-down:300:0"),
    (lambda: Options().resize("force", 300, 200, extend=True), "rs:force:300:200::1"),
    (lambda: Options().resize("fit", 300, 200, extend=True, extend_gravity="so"), "rs:fit:300:200::1:so"),
    (lambda: Options().size(), "s:0:0"),
    (lambda: Options().size(10, 20, True), "s:10:20:1"),
    (lambda: Options().size(10, 20, extend=True, extend_gravity=Gravity.focus_point(0.5, 1)),
     "s:10:20::1:fp:0.5:1"),
    (lambda: Options().resizing_type("auto"), "rt:auto"),
    (lambda: Options().width(0).height(1), "w:0/h:1"),
    (lambda: Options().min_width(5).min_height(6), "mw:5/mh:6"),
    (lambda: Options().zoom(1.5), "z:1.5"),
    (lambda: Options().zoom(2.0, 0.25), "z:2:0.25"),
    (lambda: Options().dpr(1.5), "dpr:1.5"),
    (lambda: Options().enlarge(False), "el:0"),
    (lambda: Options().extend(), "ex:1"),
    (lambda: Options().extend(True, "sowe"), "ex:1:sowe"),
    (lambda: Options().extend_aspect_ratio(), "exar:1"),
    (lambda: Options().extend_aspect_ratio(True, Gravity.compass("no", 0, 5)), "exar:1:no:0:5"),
    (lambda: Options().gravity("ce"), "g:ce"),
    (lambda: Options().gravity("sm"), "g:sm"),
    (lambda: Options().gravity("obj"), "g:obj"),
    (lambda: Options().gravity("so", 10), "g:so:10"),
    (lambda: Options().gravity("so", y_offset=0.5), "g:so::0.5"),
    (lambda: Options().gravity(Gravity.smart()), "g:sm"),
    (lambda: Options().gravity(Gravity.objects("face", "cat")), "g:obj:face:cat"),
    (lambda: Options().gravity_objects(), "g:obj"),
    (lambda: Options().gravity_objects_weighted([("face", 1.5), ("all", 1)]), "g:objw:face:1.5:all:1"),
    (lambda: Options().gravity_focus_point(0, 1), "g:fp:0:1"),
    (lambda: Options().objects_position("prop"), "op:prop"),
    (lambda: Options().objects_position("nowe", 10, -5), "op:nowe:10:-5"),
    (lambda: Options().objects_position(Gravity.focus_point(0.3, 0.7)), "op:fp:0.3:0.7"),
    (lambda: Options().crop(0.5, 0.25), "c:0.5:0.25"),
    (lambda: Options().crop(100, 50, Gravity.objects("face")), "c:100:50:obj:face"),
    (lambda: Options().trim(0), "t:0"),
    (lambda: Options().trim(10.5, "FF00FF"), "t:10.5:FF00FF"),
    (lambda: Options().trim(10, equal_ver=True), "t:10:::1"),
    (lambda: Options().padding(5), "pd:5"),
    (lambda: Options().padding(5, bottom=7), "pd:5::7"),
    (lambda: Options().auto_rotate(False), "ar:0"),
    (lambda: Options().rotate(-90).rotate(270), "rot:-90/rot:270"),
    (lambda: Options().flip(True), "fl:1"),
    (lambda: Options().flip(vertical=True), "fl::1"),
    (lambda: Options().flip(False, True), "fl:0:1"),
    (lambda: Options().background("fff"), "bg:fff"),
    (lambda: Options().background(None), "bg:"),
    (lambda: Options().background((0, 128, 255)), "bg:0:128:255"),
    (lambda: Options().blur(3), "bl:3"),
    (lambda: Options().sharpen(0.25), "sh:0.25"),
    (lambda: Options().pixelate(8), "pix:8"),
    (lambda: Options().watermark(1), "wm:1"),
    (lambda: Options().watermark(0.5, "re"), "wm:0.5:re"),
    (lambda: Options().watermark(0.5, scale=0.2), "wm:0.5::::0.2"),
    (lambda: Options().strip_metadata(False), "sm:0"),
    (lambda: Options().keep_copyright(False), "kcr:0"),
    (lambda: Options().strip_color_profile(), "scp:1"),
    (lambda: Options().enforce_thumbnail(False), "eth:0"),
    (lambda: Options().quality(0).quality(100), "q:0/q:100"),
    (lambda: Options().format_quality({"webp": 70}), "fq:webp:70"),
    (lambda: Options().autoquality(), "aq:"),
    (lambda: Options().autoquality("none"), "aq:none"),
    (lambda: Options().autoquality("size", max_quality=90), "aq:size:::90"),
    (lambda: Options().max_bytes(0), "mb:0"),
    (lambda: Options().png_options(quantize=True), "pngo::1"),
    (lambda: Options().png_options(), "pngo:"),
    (lambda: Options().format("webp"), "f:webp"),
    (lambda: Options().skip_processing("svg"), "skp:svg"),
    (lambda: Options().raw(False), "raw:0"),
    (lambda: Options().cachebuster("v1.2-3_x~"), "cb:v1.2-3_x~"),
    (lambda: Options().expires(0), "exp:0"),
    (lambda: Options().expires(4102444800), "exp:4102444800"),
    (lambda: Options().expires(dt.datetime(2100, 1, 1, tzinfo=dt.UTC)), "exp:4102444800"),
    (lambda: Options().filename("my photo.jpg"), "fn:bXkgcGhvdG8uanBn:1"),
    (lambda: Options().filename("a:b"), "fn:YTpi:1"),
    (lambda: Options().filename("résumé.pdf"), "fn:csOpc3Vtw6kucGRm:1"),
    (lambda: Options().return_attachment(False), "att:0"),
    (lambda: Options().preset("a"), "pr:a"),
    (lambda: Options().page(0), "pg:0"),
    (lambda: Options().disable_animation(False), "da:0"),
    (lambda: Options().crop_objects(1), "cob:1"),
    (lambda: Options().crop_objects(1.2, "face", "person"), "cob:1.2:face:person"),
    (lambda: Options().blur_detections(5.5, "face"), "bd:5.5:face"),
    (lambda: Options().pixelate_detections(12), "pxd:12"),
    (lambda: Options().pixelate_detections(12, "face", "plate"), "pxd:12:face:plate"),
    (lambda: Options().draw_detections(draw=False), "dd:0"),
    (lambda: Options().fallback_image_url("http://x/y?z"), "fiu:aHR0cDovL3gveT96"),
    (lambda: Options().video_thumbnail_second(2.5), "vts:2.5"),
    (lambda: Options().video_thumbnail_keyframes(False), "vtk:0"),
    (lambda: Options().video_frame(42), "vf:42"),
    (lambda: Options().video_thumbnail_best(), "vtb:1"),
    (lambda: Options().add("bg"), "bg:"),
    (lambda: Options().add("x", True, False, None, 1, 1.0, 0.1, "s", None), "x:1:0::1:1:0.1:s"),
    (lambda: Options().add("x", 1e-7, 1e20, -0.5), "x:0.0000001:100000000000000000000:-0.5"),
    (lambda: Options().width(100).then().height(50).then().trim(1), "w:100/-/h:50/-/t:1"),
    (lambda: Options().width(1).then(), "w:1"),  # an empty trailing pipeline is dropped
    (lambda: Options(), ""),
    (lambda: InfoOptions().size().format(False).dimensions(), "s:1/f:0/d:1"),
    (lambda: InfoOptions().exif().iptc(False).xmp().video_meta(), "exif:1/iptc:0/xmp:1/vm:1"),
    (lambda: InfoOptions().detect_objects(), "do:1"),
    (lambda: InfoOptions().palette(16).average(True, False).dominant_colors(build_missed=True),
     "p:16/avg:1:0/dc:1:1"),
    (lambda: InfoOptions().average().dominant_colors().blurhash(0, 0), "avg:1/dc:1/bh:0:0"),
    (lambda: InfoOptions().page(1).video_thumbnail_second(3).video_thumbnail_keyframes(),
     "pg:1/vts:3/vtk:1"),
    (lambda: InfoOptions().cachebuster("x").expires(1).preset("p1", "p2"), "cb:x/exp:1/pr:p1:p2"),
]


@pytest.mark.parametrize(("build", "expected"), METHOD_CASES, ids=[e or "empty" for _, e in METHOD_CASES])
def test_method_output(build: Callable[[], Options | InfoOptions], expected: str) -> None:
    assert str(build()) == expected


LONG_NAME_CASES = [
    (Options().min_width(1).min_height(2), "/min-width:1/min-height:2"),
    (Options().extend_aspect_ratio().objects_position("prop"),
     "/extend_aspect_ratio:1/objects_position:prop"),
    (Options().crop_objects(1).pixelate_detections(2).video_frame(3).video_thumbnail_best(),
     "/crop_objects:1/pixelate_detections:2/video_frame:3/video_thumbnail_best:1"),
    (Options().width(1).then().height(2), "/width:1/-/height:2"),
    (InfoOptions().detect_objects().video_meta(), "/detect_objects:1/video_meta:1"),
]


@pytest.mark.parametrize(("opts", "expected"), LONG_NAME_CASES)
def test_full_names(opts: Options | InfoOptions, expected: str) -> None:
    assert opts.to_path(full_names=True) == expected


def test_immutability_and_value_semantics() -> None:
    base = Options().width(100)
    a, b = base.height(10), base.height(20)
    assert str(base) == "w:100" and str(a) == "w:100/h:10" and str(b) == "w:100/h:20"
    assert a == Options().width(100).height(10) and hash(a) == hash(Options().width(100).height(10))
    assert a != b
    assert repr(a) == "Options('w:100/h:10')"
    assert not Options() and Options().width(1)
    assert isinstance(InfoOptions().cachebuster("x"), InfoOptions)
    assert Options().segments() == [] and Options().to_path() == ""
