"""The URL builder: signatures, exact URLs from imgproxy's docs and official clients, source URL forms, errors."""

from __future__ import annotations

import datetime as dt
import doctest
import subprocess
import sys
from collections.abc import Callable

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
