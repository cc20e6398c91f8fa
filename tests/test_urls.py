"""The URL builder: exact strings from imgproxy's docs and official clients, and every method."""

from __future__ import annotations

import datetime as dt
import doctest
import subprocess
import sys
from collections.abc import Callable
from functools import reduce

import pytest

from imgproxy_py import urls
from imgproxy_py.security.encryption import decrypt_source_url
from imgproxy_py.urls import (
    Gravity,
    ImgproxyURL,
    InfoOptions,
    Options,
    build_info_url,
    build_url,
    escape_plain_url,
    parse_key_salt,
    sign,
)

DOCS_KEY, DOCS_SALT = "736563726574", "68656C6C6F"  # "secret", "hello"
EXAMPLES_KEY = "943b421c9eb07c830af81030552c86009268de4e532ba2ee2eab8247c6da0881"
EXAMPLES_SALT = "520f986b998545b4785e0defbc4f3c1203f22de2374a3d53cb7a7fe9fea309c5"
ENC_KEY = "1eb5b0e971ad7f45324c1bb15c947cb207c43152fa5c6c7f35c4f36e0c18e0f1"
JS_IMAGE_B64 = "aHR0cHM6Ly9leGFtcGxlLmNvbS9pbWFnZS5qcGc"  # https://example.com/image.jpg

# --- signatures -------------------------------------------------------------------

SIGN_CASES = [
    # imgproxy docs, "Signing a URL" > "Example"
    ("/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png",
     DOCS_KEY, DOCS_SALT, 32, "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8"),
    # imgproxy-node, generateImageUrl.test.ts "should generate a valid URL"
    (f"/el:t/f:png/g:no/h:300/rt:fit/w:300/{JS_IMAGE_B64}", EXAMPLES_KEY, EXAMPLES_SALT, 32,
     "zsdsCjFCqcAniKFCygMBToRh6l5jVZbL0bhrnnUGK58"),
    # imgproxy-node, generateImageUrl.test.ts "should generate a valid URL withouth options"
    (f"/{JS_IMAGE_B64}", EXAMPLES_KEY, EXAMPLES_SALT, 32, "xOner18d7-LJwkl4bifXGbC1_4kZXxsPLnuuvsMtcWo"),
    # imgproxy-node, finalizePath.test.ts and getSignedUrl.test.ts
    ("/ar:t/cb:clear/ex:t/f:webp/g:noea:10:10/sa:10/w:300/plain/https://example.com/image.jpg",
     EXAMPLES_KEY, EXAMPLES_SALT, 32, "wBn_dnH124irD6jiEEJ9IMd5xzYZLTCThsapoJMvbwk"),
    ("/ar:t/cb:clear/ex:t/f:webp/g:noea:10:10/sa:10/w:300/plain/https://example.com/image.jpg",
     "4aca92a7c3c68440f2c1db980c856f39", "6c28d7a545acc92d688d5f1d3e21087a", 32,
     "-1bXMFE3qm-pOAgAomSBHIoNeIC9vYR6TZV5s3vkvLk"),
    ("/ar:t/cb:clear/ex:t/f:webp/g:noea:10:10/sa:10/w:300/plain/https://example.com/image.jpg",
     "db66ae1b1b73fe2851ad789a673d1698", "bdfbf3df94315d0c2bc7a2ef691f5d99", 32,
     "K-7vJsYBybwq33VIfpgm9uWUBB48BX6Y5ygsxP9hCY8"),
    # imgproxy.rb, url_for_spec.rb "signs the URL" and "with truncated signature"
    ("/s:100:100/plain/https://images.test/image.jpg", b"Hello".hex(), b"World".hex(), 32,
     "6PuaY-dst3YwA3CwS_QDSWk4yA3oSr3pEHxT9kiEbOE"),
    ("/s:100:100/plain/https://images.test/image.jpg", b"Hello".hex(), b"World".hex(), 5, "6PuaY-c"),
    # imgproxy.rb, url_for_spec.rb "signs the URL using custom service key/salt" (no options)
    ("/plain/https://images.test/image.jpg", b"Lorem".hex(), b"Ipsum".hex(), 32,
     "Ce7iwcp9c0K7mvJD9pLbwXmQ-r-rkNJ1jLIPr2sCVv8"),
    ("/plain/https://images.test/image.jpg", b"Lorem".hex(), b"Ipsum".hex(), 5, "Ce7iwco"),
]


@pytest.mark.parametrize(("path", "key", "salt", "size", "signature"), SIGN_CASES)
def test_sign_known_vectors(path: str, key: str, salt: str, size: int, signature: str) -> None:
    assert sign(path, key, salt, size) == f"/{signature}{path}"


def test_sign_key_forms() -> None:
    path, expected = SIGN_CASES[0][0], "/" + SIGN_CASES[0][4] + SIGN_CASES[0][0]
    assert sign(path, b"secret", b"hello") == expected  # raw bytes
    assert sign(path, f"{DOCS_KEY}, abcd", f" {DOCS_SALT},ef01") == expected  # env-style comma lists
    assert sign(path, [DOCS_KEY, "abcd"], [DOCS_SALT, "ef01"]) == expected  # first pair signs
    assert sign(path.lstrip("/"), DOCS_KEY, DOCS_SALT) == expected  # leading "/" added


@pytest.mark.parametrize(("key", "salt", "size"), [
    (None, None, 32), (DOCS_KEY, None, 32), ("", DOCS_SALT, 32), ("xyz", DOCS_SALT, 32),
    (DOCS_KEY, DOCS_SALT, 0), (DOCS_KEY, DOCS_SALT, 33),
])
def test_sign_errors(key: str | None, salt: str | None, size: int) -> None:
    with pytest.raises(ValueError):
        sign("/w:1/plain/http://x/y", key, salt, size)


def test_parse_key_salt() -> None:
    assert parse_key_salt(None, "") is None
    assert parse_key_salt(DOCS_KEY, DOCS_SALT) == (b"secret", b"hello")
    with pytest.raises(ValueError, match="both"):
        parse_key_salt(DOCS_KEY, None)


# --- whole URLs from imgproxy's docs and official clients ----------------------------

URL_CASES: list[tuple[str, Callable[[], str], str]] = [
    ("docs: Signing a URL > Example",
     lambda: build_url(Options().resize("fill", 300, 400, False).gravity("sm"),
                       "http://example.com/images/curiosity.jpg", key=DOCS_KEY, salt=DOCS_SALT,
                       source="base64", chunk_size=16, extension="png", base="http://imgproxy.example.com"),
     "http://imgproxy.example.com/oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8/rs:fill:300:400:0/g:sm/"
     "aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"),
    ("docs: Processing an image > Example (shortcuts, signature part aside)",
     lambda: build_url(Options().preset("sharp").resize("fill", 300, 400, False).gravity("sm"),
                       "http://example.com/images/curiosity.jpg", extension="png"),
     "/insecure/pr:sharp/rs:fill:300:400:0/g:sm/plain/http://example.com/images/curiosity.jpg@png"),
    ("docs: Processing an image > Example (full names)",
     lambda: build_url(Options().preset("sharp").resize("fill", 300, 400, False).gravity("sm"),
                       "http://example.com/images/curiosity.jpg", extension="png", full_names=True),
     "/insecure/preset:sharp/resize:fill:300:400:0/gravity:sm/plain/http://example.com/images/curiosity.jpg@png"),
    ("docs: Processing an image > Base64 encoded (with extension)",
     lambda: build_url(None, "http://example.com/images/curiosity.jpg", source="base64", chunk_size=16,
                       extension="png"),
     "/insecure/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"),
    ("docs: Encrypting a source URL > Example (unsigned, 'unsafe')",
     lambda: build_url(Options().resize("fit", 300, 300), "http://example.com/images/curiosity.jpg",
                       source="encrypted", encryption_key=ENC_KEY,
                       encryption_iv=bytes.fromhex("A79563A2B35D86CEE6451C3C800F535A"),
                       unsigned_signature="unsafe", base="http://imgproxy.example.com"),
     "http://imgproxy.example.com/unsafe/rs:fit:300:300/enc/"
     "p5VjorNdhs7mRRw8gA9TWoRlGci3l1kuzqN43UQlRaRIQ0qtBKW3qFABIsx-ZRz_cVc8iVTYbhsNsxNBL1BHaQ"),
    ("docs: Chained pipelines > Example 1: Multiple watermarks",
     lambda: str(Options().resize("fit", 500, 500).watermark(0.5, "nowe").add("wmu", "aW1hZ2UxCg")
                 .then().watermark(0.7, "soea").add("wmu", "aW1hZ2UyCg")),
     "rs:fit:500:500/wm:0.5:nowe/wmu:aW1hZ2UxCg/-/wm:0.7:soea/wmu:aW1hZ2UyCg"),
    ("docs: Chained pipelines > Example 2: Fast trim",
     lambda: str(Options().resize("fit", 500, 500).then().trim(10)),
     "rs:fit:500:500/-/t:10"),
    ("docs: Gravity > objw example",
     lambda: str(Options().gravity_objects_weighted({"all": 2, "face": 3})),
     "g:objw:all:2:face:3"),
    ("docs: Configuration > IMGPROXY_BASE64_URL_INCLUDES_FILENAME",
     lambda: build_url(None, "http://example.com/puppy.jpg", source="base64", filename_in_base64="puppy.jpg",
                       base="https://my-imgproxy.dev"),
     "https://my-imgproxy.dev/insecure/aHR0cDovL2V4YW1wbGUuY29tL3B1cHB5LmpwZw/puppy.jpg"),
    ("imgproxy examples/signature.py",
     lambda: build_url(Options().resize("fit", 300, 300), "http://img.example.com/pretty/image.jpg",
                       key=EXAMPLES_KEY, salt=EXAMPLES_SALT),
     "/m3k5QADfcKPDj-SDI2AIogZbC3FlAXszuwhtWXYqavc/rs:fit:300:300/plain/http://img.example.com/pretty/image.jpg"),
    ("imgproxy-node: 'should generate a valid URL' (el:t sent as the JS client does)",
     lambda: build_url(Options().add("el", "t").format("png").gravity("no").height(300).resizing_type("fit")
                       .width(300), "https://example.com/image.jpg", key=EXAMPLES_KEY, salt=EXAMPLES_SALT,
                       source="base64", base="https://imgproxy.example.com"),
     f"https://imgproxy.example.com/zsdsCjFCqcAniKFCygMBToRh6l5jVZbL0bhrnnUGK58/el:t/f:png/g:no/h:300/rt:fit/"
     f"w:300/{JS_IMAGE_B64}"),
    ("imgproxy-node: 'valid base64 ... withouth salt and key'",
     lambda: build_url(Options().add("ar", "t").cachebuster("clear").add("ex", "t").format("webp")
                       .gravity("noea", 10, 10).add("sa", 10).width(300), "https://example.com/image.jpg",
                       source="base64", base="https://imgproxy.example.com/"),
     f"https://imgproxy.example.com/insecure/ar:t/cb:clear/ex:t/f:webp/g:noea:10:10/sa:10/w:300/{JS_IMAGE_B64}"),
    ("imgproxy-node: 'valid URL withouth options'",
     lambda: build_url(None, "https://example.com/image.jpg", key=EXAMPLES_KEY, salt=EXAMPLES_SALT,
                       source="base64", base="https://imgproxy.example.com/"),
     f"https://imgproxy.example.com/xOner18d7-LJwkl4bifXGbC1_4kZXxsPLnuuvsMtcWo/{JS_IMAGE_B64}"),
    ("imgproxy-node: info 'withouth salt and key'",
     lambda: build_info_url(InfoOptions().blurhash(4, 3).add("d", "f").add("f", "t").add("xmp", "f"),
                            "https://example.com/image.jpg", source="base64",
                            base="https://imgproxy.example.com"),
     f"https://imgproxy.example.com/info/insecure/bh:4:3/d:f/f:t/xmp:f/{JS_IMAGE_B64}"),
    ("imgproxy-node: info 'withouth options'",
     lambda: build_info_url(None, "https://example.com/image.jpg", key=EXAMPLES_KEY, salt=EXAMPLES_SALT,
                            source="base64", base="https://imgproxy.example.com/"),
     f"https://imgproxy.example.com/info/xOner18d7-LJwkl4bifXGbC1_4kZXxsPLnuuvsMtcWo/{JS_IMAGE_B64}"),
    ("imgproxy-node: info 'plain insecure URL'",
     lambda: build_info_url(InfoOptions().blurhash(4, 3).add("d", "f").add("f", "t").add("xmp", "f"),
                            "https://example.com/image.jpg", base="https://imgproxy.example.com/"),
     "https://imgproxy.example.com/info/insecure/bh:4:3/d:f/f:t/xmp:f/plain/https://example.com/image.jpg"),
    ("imgproxy.rb: 'signs the URL'",
     lambda: build_url(Options().size(100, 100), "https://images.test/image.jpg", key=b"Hello".hex(),
                       salt=b"World".hex(), base="http://imgproxy.test"),
     "http://imgproxy.test/6PuaY-dst3YwA3CwS_QDSWk4yA3oSr3pEHxT9kiEbOE/s:100:100/plain/https://images.test/image.jpg"),
    ("imgproxy.rb: 'with truncated signature'",
     lambda: build_url(Options().size(100, 100), "https://images.test/image.jpg", key=b"Hello".hex(),
                       salt=b"World".hex(), signature_size=5, base="http://imgproxy.test"),
     "http://imgproxy.test/6PuaY-c/s:100:100/plain/https://images.test/image.jpg"),
    ("imgproxy.rb: 'encrypts source URL'",
     lambda: build_url(None, "https://images.test/image.jpg", source="encrypted", encryption_key=ENC_KEY,
                       encryption_iv=b"1234567890123456", chunk_size=16, extension="webp",
                       unsigned_signature="unsafe", base="http://imgproxy.test"),
     "http://imgproxy.test/unsafe/enc/MTIzNDU2Nzg5MDEy/MzQ1Np6L0YlR92XD/i3aaVA5KINDMHKXf/LUaQ1N0ae5N7JjBZ.webp"),
    ("imgproxy.rb: 'builds URL with base64 URL'",
     lambda: build_url(None, "https://images.test/image.jpg", source="base64", chunk_size=16,
                       extension="webp", unsigned_signature="unsafe"),
     "/unsafe/aHR0cHM6Ly9pbWFn/ZXMudGVzdC9pbWFn/ZS5qcGc.webp"),
    ("imgproxy.rb: 'ommits unset arguments and trims trailing ones'",
     lambda: str(Options().extend().gravity("nowe", None, 10).crop(100, gravity="sm").trim(10, equal_hor=True)
                 .add("a", None, 0.5).add("ush", None, 10).watermark(0.5, x_offset=10, y_offset=5)),
     "ex:1/g:nowe::10/c:100:0:sm/t:10::1/a::0.5/ush::10/wm:0.5::10:5"),
    ("imgproxy.rb: resize/size grouping",
     lambda: str(Options().resize("fill", 200, 300, True, True, Gravity.compass("nowe", 5, 6))),
     "rs:fill:200:300:1:1:nowe:5:6"),
    ("imgproxy.rb: 'when the extend argument is false'",
     lambda: str(Options().extend(False)), "ex:0"),
    ("imgproxy.rb: 'when mode argument is obj'",
     lambda: str(Options().gravity_objects("class1", "class2")), "g:obj:class1:class2"),
    ("imgproxy.rb: 'when crop width or height are not set'",
     lambda: str(Options().crop(300)), "c:300:0"),
    ("imgproxy.rb: padding compaction (given as imgproxy reads it)",
     lambda: str(Options().padding(10).padding(10, 10, 20).padding(10, 20)), "pd:10/pd:10:10:20/pd:10:20"),
    ("imgproxy.rb: 'when hex_color argument is defined'",
     lambda: str(Options().background("123456")), "bg:123456"),
    ("imgproxy.rb: 'when class_names argument is empty'",
     lambda: str(Options().blur_detections(10).draw_detections()), "bd:10/dd:1"),
    ("imgproxy.rb: 'when the opacity argument is zero'",
     lambda: str(Options().watermark(0)), "wm:0"),
    ("imgproxy.rb: 'ignores nil qualities'",
     lambda: str(Options().format_quality({"jpeg": 80, "webp": None, "avif": 70})), "fq:jpeg:80:avif:70"),
    ("imgproxy.rb: filename 'uses the value as is'",
     lambda: str(Options().filename("the_image.jpg")), "fn:the_image.jpg"),
]


@pytest.mark.parametrize(("build", "expected"), [(b, e) for _, b, e in URL_CASES],
                         ids=[name for name, _, _ in URL_CASES])
def test_urls_match_docs_and_clients(build: Callable[[], str], expected: str) -> None:
    assert build() == expected


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


# --- source URL forms -------------------------------------------------------------

ESCAPE_CASES = [
    # imgproxy.rb url_for_spec.rb "when source URL needs escaping" / non-ascii / spaces
    ("https://images.test/image.jpg?version=123", "https%3A%2F%2Fimages.test%2Fimage.jpg%3Fversion%3D123"),
    ("https://images.test/и.jpg", "https%3A%2F%2Fimages.test%2F%D0%B8.jpg"),
    ("https://images.test/lorem ipsum.jpg", "https%3A%2F%2Fimages.test%2Florem%20ipsum.jpg"),
    # unchanged when safe
    ("https://images.test/image.jpg", "https://images.test/image.jpg"),
    ("s3://bucket/a-b_c~d.e/f(1)!$&'*+,;=.png", "s3://bucket/a-b_c~d.e/f(1)!$&'*+,;=.png"),
    ("http://[::1]:8080/x.jpg", "http://[::1]:8080/x.jpg"),
    # "@" would start the extension, "%" would be unescaped, "#" would end the path
    ("https://u@images.test/x.jpg", "https%3A%2F%2Fu%40images.test%2Fx.jpg"),
    ("https://images.test/50%25.jpg", "https%3A%2F%2Fimages.test%2F50%2525.jpg"),
    ("https://images.test/x.jpg#a", "https%3A%2F%2Fimages.test%2Fx.jpg%23a"),
    ('https://images.test/"q"|<>.jpg', "https%3A%2F%2Fimages.test%2F%22q%22%7C%3C%3E.jpg"),
    ("https://images.test/tab\there", "https%3A%2F%2Fimages.test%2Ftab%09here"),
]


@pytest.mark.parametrize(("url", "expected"), ESCAPE_CASES)
def test_plain_escaping(url: str, expected: str) -> None:
    assert escape_plain_url(url) == expected
    assert build_url(None, url, extension="png") == f"/insecure/plain/{expected}@png"


def test_plain_escaping_always() -> None:
    # imgproxy.rb "when always_escape_plain_urls config is true"
    escaped = "https%3A%2F%2Fimages.test%2Fimage.jpg"
    assert escape_plain_url("https://images.test/image.jpg", "always") == escaped
    assert build_url(None, "https://images.test/image.jpg", escape_plain="always", extension="webp") == \
        "/insecure/plain/https%3A%2F%2Fimages.test%2Fimage.jpg@webp"


def test_base64_source_forms() -> None:
    url = "https://example.com/images/a.jpg?x=1"
    assert build_url(None, url, source="base64") == \
        "/insecure/aHR0cHM6Ly9leGFtcGxlLmNvbS9pbWFnZXMvYS5qcGc_eD0x"
    chunked = build_url(None, url, source="base64", chunk_size=20, extension="avif",
                        filename_in_base64="a b.jpg")
    assert chunked == "/insecure/aHR0cHM6Ly9leGFtcGxl/LmNvbS9pbWFnZXMvYS5q/cGc_eD0x.avif/a%20b.jpg"


def test_encrypted_source_is_deterministic_and_decrypts() -> None:
    imgproxy = ImgproxyURL(key=DOCS_KEY, salt=DOCS_SALT, source="encrypted", encryption_key=ENC_KEY)
    first = imgproxy.build(Options().width(10), "http://example.com/x.jpg", extension="png")
    assert first == imgproxy.build(Options().width(10), "http://example.com/x.jpg", extension="png")
    _signature, rest = first[1:].split("/", 1)
    assert sign("/" + rest, DOCS_KEY, DOCS_SALT) == first
    assert rest.startswith("w:10/enc/") and rest.endswith(".png")
    token = rest.removeprefix("w:10/enc/").removesuffix(".png")
    assert decrypt_source_url(token, ENC_KEY) == "http://example.com/x.jpg"
    chunked = ImgproxyURL(source="encrypted", encryption_key=bytes.fromhex(ENC_KEY), chunk_size=16)
    path = chunked.build(None, "http://example.com/x.jpg", filename_in_base64="x.jpg")
    assert path.startswith("/insecure/enc/") and path.endswith("/x.jpg")
    assert decrypt_source_url(path.removeprefix("/insecure/enc/").removesuffix("/x.jpg"), ENC_KEY) == \
        "http://example.com/x.jpg"


def test_builder_reuse_base_and_per_call_source() -> None:
    imgproxy = ImgproxyURL(base="https://img.example.com/prefix/", key=DOCS_KEY, salt=DOCS_SALT)
    assert imgproxy.signed and not ImgproxyURL().signed
    plain = imgproxy.build("rs:fit:300:0/q:80", "http://x/y.jpg")
    prefix = "https://img.example.com/prefix"
    assert plain == prefix + sign("/rs:fit:300:0/q:80/plain/http://x/y.jpg", DOCS_KEY, DOCS_SALT)
    b64 = imgproxy.build(Options().width(1), "http://x/y.jpg", source="base64", extension="")
    assert b64.endswith("/w:1/aHR0cDovL3gveS5qcGc")
    info = imgproxy.info(InfoOptions().detect_objects(), "http://x/y.jpg")
    assert info == prefix + "/info" + sign("/do:1/plain/http://x/y.jpg", DOCS_KEY, DOCS_SALT)
    assert "736563726574" not in repr(imgproxy)  # secrets stay out of logs
    assert ImgproxyURL(unsigned_signature="_").build(None, "http://x/y.jpg") == "/_/plain/http://x/y.jpg"


# --- errors -----------------------------------------------------------------------

ERROR_CASES: list[tuple[Callable[[], object], type[Exception]]] = [
    (lambda: Options().resize("crop"), ValueError),  # type: ignore[arg-type]
    (lambda: Options().resizing_type("stretch"), ValueError),  # type: ignore[arg-type]
    (lambda: Options().width(-1), ValueError),
    (lambda: Options().width(1.5), TypeError),  # type: ignore[arg-type]
    (lambda: Options().width(True), TypeError),
    (lambda: Options().zoom(0), ValueError),
    (lambda: Options().dpr(-1), ValueError),
    (lambda: Options().dpr(float("nan")), ValueError),
    (lambda: Options().resize("fit", 1, 1, extend_gravity="so"), ValueError),
    (lambda: Options().extend(True, "sm"), ValueError),
    (lambda: Options().extend(True, Gravity.objects()), ValueError),
    (lambda: Options().extend(False, "so"), ValueError),
    (lambda: Options().gravity("up"), ValueError),  # type: ignore[arg-type]
    (lambda: Options().gravity("sm", 1, 1), ValueError),
    (lambda: Options().gravity_focus_point(1.5, 0), ValueError),
    (lambda: Options().gravity_objects("a:b"), ValueError),
    (lambda: Options().gravity_objects_weighted({}), ValueError),
    (lambda: Options().objects_position("prop", 1), ValueError),
    (lambda: Options().objects_position(Gravity.smart()), ValueError),
    (lambda: Options().crop(-1), ValueError),
    (lambda: Options().trim(10, "red"), ValueError),
    (lambda: Options().rotate(45), ValueError),
    (lambda: Options().flip(), ValueError),
    (lambda: Options().background("#ffffff"), ValueError),
    (lambda: Options().background((1, 2)), ValueError),  # type: ignore[arg-type]
    (lambda: Options().background((0, 0, 256)), ValueError),
    (lambda: Options().watermark(1.5), ValueError),
    (lambda: Options().watermark(0.5, "sm"), ValueError),  # type: ignore[arg-type]
    (lambda: Options().quality(101), ValueError),
    (lambda: Options().format_quality({"webp": None}), ValueError),
    (lambda: Options().png_options(quantization_colors=1), ValueError),
    (lambda: Options().format("we/bp"), ValueError),
    (lambda: Options().skip_processing(), ValueError),
    (lambda: Options().preset(), ValueError),
    (lambda: Options().cachebuster("a/b"), ValueError),
    (lambda: Options().cachebuster("a b"), ValueError),
    (lambda: Options().cachebuster("50%"), ValueError),
    (lambda: Options().filename("a/b", encode=False), ValueError),
    (lambda: Options().expires(dt.datetime(2100, 1, 1)), ValueError),  # naive datetime
    (lambda: Options().crop_objects(0), ValueError),
    (lambda: Options().then(), ValueError),
    (lambda: Options().add("-"), ValueError),
    (lambda: Options().add("a:b"), ValueError),
    (lambda: Options().add("x", "?"), ValueError),
    (lambda: Options().add("x", object()), TypeError),  # type: ignore[arg-type]
    (lambda: InfoOptions().blurhash(10, 1), ValueError),
    (lambda: build_url(None, "http://x/y", source="encrypted"), ValueError),
    (lambda: build_url(None, "http://x/y", source="base32"), ValueError),  # type: ignore[arg-type]
    (lambda: build_url(None, "http://x/y", extension="p.ng"), ValueError),
    (lambda: build_url(None, "http://x/y", filename_in_base64="y.jpg"), ValueError),
    (lambda: build_url(None, "http://x/y", source="base64", filename_in_base64=""), ValueError),
    (lambda: build_url(None, "http://x/y", key=DOCS_KEY), ValueError),
    (lambda: build_url(None, "http://x/y", key=DOCS_KEY, salt=DOCS_SALT, signature_size=0), ValueError),
    (lambda: build_url(None, "http://x/y", chunk_size=0), ValueError),
    (lambda: build_url(None, "http://x/y", encryption_key="abcd"), ValueError),
    (lambda: build_url(None, "http://x/y", unsigned_signature="a/b"), ValueError),
    (lambda: build_url(None, "http://x/y", escape_plain="never"), ValueError),  # type: ignore[arg-type]
    (lambda: escape_plain_url("http://x/y", "never"), ValueError),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("build", "error"), ERROR_CASES)
def test_errors(build: Callable[[], object], error: type[Exception]) -> None:
    with pytest.raises(error):
        build()


def test_docstring_examples() -> None:
    assert doctest.testmod(urls).failed == 0


def test_importable_without_image_library() -> None:
    code = "import sys, imgproxy_py.urls; sys.exit('pyvips' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0
