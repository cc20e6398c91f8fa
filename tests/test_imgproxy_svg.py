"""imgproxy's own SVG sanitizing tests (``processing/svg/svg_test.go``, ``processing/svg/href_test.go``
and ``integration_test/svg_test.go``, imgproxy v4 commit eef3b312, Apache-2.0), run against our
sanitizer (``imaging.codecs.load.prepare_svg``, ``imaging.codecs.svg``) and our server.

Our sanitizer writes its own XML, so ``TestSanitize``'s byte comparison with ``test1.sanitized.svg``
becomes a check of what matters, part by part: each dangerous part of ``test1.svg`` is gone and each
part imgproxy keeps is kept (every check is also run on imgproxy's expected file, so the checks
themselves are imgproxy's).  ``TestIsSafeHref`` judges an ``href`` value alone; here each value is
put in an ``href`` and an ``xlink:href`` (written as it comes, ``&`` included, as imgproxy's parser
gives the raw attribute to ``isSafeHref``; only ``<``, ``>`` and ``"`` escaped so the document is
XML) and must stay or go: on ``<a>`` and the other elements imgproxy judges by its generic schemes,
on ``<image>`` by its image schemes, and an unsafe one on ``<use>`` too.

Not ported: ``BenchmarkSvgProcessing`` (a benchmark, over the svgo test suite).
"""

from __future__ import annotations

import os
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest

from imgproxy_py.errors import UnprocessableImageError
from imgproxy_py.imaging.codecs.load import prepare_svg
from tests.imgproxy_test_hashes import pixel_digest
from tests.servers import ASSETS, AppServer

SVG_NS = "http://www.w3.org/2000/svg"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"
IMGPROXY = ASSETS / "imgproxy"

Tree = ET.Element
Check = Callable[[Tree], bool]


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def elements(root: Tree, name: str) -> list[Tree]:
    return [el for el in root.iter() if local(el.tag) == name]


def hrefs(el: Tree) -> list[str]:
    return [value for key, value in el.attrib.items() if local(key) == "href"]


def ours(data: bytes) -> Tree:
    return ET.fromstring(prepare_svg(data, sanitize=True))


TEST1 = ours((IMGPROXY / "test1.svg").read_bytes())
EXPECTED = ET.fromstring((IMGPROXY / "test1.sanitized.svg").read_bytes())

# TestSanitize: what test1.svg holds that must not survive.
GONE: list[tuple[str, Check]] = [
    ("onload-on-svg", lambda root: "onload" not in root.attrib),
    ("onclick-on-rect", lambda root: all("onclick" not in el.attrib for el in elements(root, "rect"))),
    ("no-event-handler-anywhere", lambda root: not any(k.startswith("on") for el in root.iter() for k in el.attrib)),
    ("script", lambda root: not elements(root, "script")),
    ("use-of-data-document", lambda root: all(not hrefs(el) for el in elements(root, "use"))),
    ("form", lambda root: not elements(root, "form") and not elements(root, "input")),
    ("javascript-href", lambda root: not any("javascript" in v.lower() for el in root.iter() for v in hrefs(el))),
]


@pytest.mark.parametrize("check", [g[1] for g in GONE], ids=[g[0] for g in GONE])
def test_sanitize_removes(check: Check) -> None:  # TestSanitize
    assert check(EXPECTED)
    assert check(TEST1)


def size(el: Tree) -> tuple[str | None, str | None]:
    return el.get("width"), el.get("height")


def a_targets(root: Tree) -> list[list[str]]:
    return [hrefs(a) for a in elements(root, "a")]


def foreign_object_kept(root: Tree) -> bool:
    objects = elements(root, "foreignObject")
    return len(objects) == 1 and [local(el.tag) for el in objects[0]] == ["div"] and len(objects[0][0]) == 0


def _lost(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"TestSanitize: {reason}")


GIF = "data:image/gif;base64,R0lGODlhAQABAAAAACH5BAEAAAAALAAAAAABAAEAAAICTAEAOw=="
# TestSanitize: what imgproxy keeps of test1.svg.
KEPT = [
    pytest.param(lambda root: size(root) == ("200", "100"), id="svg-size"),
    pytest.param(lambda root: size(elements(root, "rect")[0]) == ("190", "90")
                 and "stroke-width:5" in (elements(root, "rect")[0].get("style") or ""), id="rect-with-style"),
    pytest.param(lambda root: len(elements(root, "use")) == 1, id="use-element"),
    pytest.param(lambda root: [[size(r) for r in a] for a in elements(root, "a")] == [[("10", "10")]] * 2,
                 id="links-and-their-rects"),
    pytest.param(lambda root: a_targets(root) == [[], ["https://example.com/"]], id="https-link", marks=_lost(
        '<a href="https://example.com/"> in test1.svg -> imgproxy keeps the href (http and https are safe '
        "schemes); ours drops it (only '#...' and data:image/... hrefs are kept)")),
    pytest.param(foreign_object_kept, id="foreign-object", marks=_lost(
        "<foreignObject><div xmlns=xhtml><form .../></div></foreignObject> in test1.svg -> imgproxy keeps "
        "<foreignObject><div/></foreignObject> (only <form> goes); ours drops the whole foreignObject")),
    pytest.param(lambda root: [hrefs(el) for el in elements(root, "image")] == [[GIF]], id="image-data-gif"),
]


@pytest.mark.parametrize("check", KEPT)
def test_sanitize_keeps(check: Check) -> None:  # TestSanitize
    assert check(EXPECTED)
    assert check(TEST1)


def attribute(value: str) -> str:
    """``value`` as the raw text of a double-quoted attribute: entity references stay as written."""
    return value.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def href_kept(element: str, attr: str, value: str) -> bool:
    """Whether ``<element attr="value">`` keeps the attribute through our sanitizer."""
    svg = (f'<svg xmlns="{SVG_NS}" xmlns:xlink="http://www.w3.org/1999/xlink">'
           f'<{element} {attr}="{attribute(value)}"/></svg>').encode()
    (el,) = elements(ours(svg), element)
    return XLINK_HREF in el.attrib if attr == "xlink:href" else "href" in el.attrib


# The elements isSafeHref judges with hrefSchemes: any but <use> (fragments only) and <image>.
GENERIC = ("a", "feImage", "pattern", "linearGradient", "radialGradient", "textPath", "mpath", "animate", "set")
ATTRS = ("href", "xlink:href")


def _differs(reason: str) -> pytest.MarkDecorator:
    return pytest.mark.xfail(strict=True, reason=f"TestIsSafeHref: {reason}")


def _kept_link(case: str, value: str) -> pytest.MarkDecorator:
    return _differs(f"{case}: <a href={value!r}> -> imgproxy keeps it; ours drops it (only '#...' and "
                    "data:image/... hrefs are kept)")


# TestIsSafeHref with hrefSchemes: (id, value, imgproxy's verdict).
GENERIC_CASES = [
    pytest.param("", True, id="empty", marks=_kept_link("empty", "")),
    pytest.param("#test", True, id="fragment"),
    pytest.param("foo/bar.svg", True, id="relative path", marks=_kept_link("relative path", "foo/bar.svg")),
    pytest.param("/foo/bar.svg", True, id="absolute path relative url",
                 marks=_kept_link("absolute path relative url", "/foo/bar.svg")),
    pytest.param("//evil.com/x", True, id="protocol-relative", marks=_kept_link("protocol-relative", "//evil.com/x")),
    pytest.param("https://example.com", True, id="https allowed",
                 marks=_kept_link("https allowed", "https://example.com")),
    pytest.param("http://example.com", True, id="http allowed", marks=_kept_link("http allowed", "http://example.com")),
    pytest.param("javascript:alert(1)", False, id="javascript rejected"),
    pytest.param("JavaScript:alert(1)", False, id="javascript uppercase"),
    pytest.param("jAvAsCriPt:alert(1)", False, id="javascript mixed case"),
    pytest.param("\njavascript:alert(1)", False, id="leading newline"),
    pytest.param("vbscript:msgbox(1)", False, id="vbscript rejected"),
    pytest.param("data:text/html,<script>alert(1)</script>", False, id="data rejected for generic"),
    pytest.param("mailto:test@example.com", False, id="mailto rejected"),
    pytest.param("ftp://example.com/file", False, id="ftp rejected"),
    pytest.param("jav&#97;script:alert(1)", False, id="numeric entity scheme"),
    pytest.param("jav&#x61;script:alert(1)", False, id="hex numeric entity scheme"),
    pytest.param("javascript&colon;alert(1)", False, id="named entity colon", marks=_differs(
        "named entity colon: <a href=\"javascript&colon;alert(1)\"> -> imgproxy drops the href and keeps the "
        "document; ours refuses the whole document (422: &colon; is no XML entity, so it is not well-formed); "
        "nothing dangerous passes (test_undefined_entity_href_never_passes)")),
]


@pytest.mark.parametrize(("value", "safe"), GENERIC_CASES)
def test_is_safe_href(value: str, safe: bool) -> None:  # TestIsSafeHref (hrefSchemes)
    # An unsafe value goes from every element, <use> included; a safe one stays where hrefSchemes rule.
    for element in GENERIC if safe else (*GENERIC, "use"):
        for attr in ATTRS:
            assert href_kept(element, attr, value) is safe, (element, attr)


@pytest.mark.parametrize(("value", "safe"), [
    pytest.param("data:image/png;base64,AAAA", True, id="data allowed for image"),
    pytest.param("javascript:alert(1)", False, id="javascript still rejected for image"),
])
def test_is_safe_image_href(value: str, safe: bool) -> None:  # TestIsSafeHref (imageHrefSchemes)
    for attr in ATTRS:
        assert href_kept("image", attr, value) is safe, attr


def test_undefined_entity_href_never_passes() -> None:  # TestIsSafeHref/named entity colon, what ours does
    with pytest.raises(UnprocessableImageError):
        href_kept("a", "href", "javascript&colon;alert(1)")


def served_unchanged_in_pixels(server: AppServer, client: httpx.Client, root: Path, relative: str) -> str:
    """"" when the sanitized SVG imgproxy would answer renders as its source does, else why not."""
    response = client.get(f"{server.base}/unsafe/plain/local:///{quote(relative)}")
    if response.status_code != 200:
        return f"{relative}: status {response.status_code}"
    if response.headers["content-type"] != "image/svg+xml":
        return f"{relative}: {response.headers['content-type']}"
    if pixel_digest(response.content) != pixel_digest((root / relative).read_bytes()):
        return f"{relative}: renders differently"
    return ""


@pytest.mark.parametrize("name", ["test1.svg", "test1.sanitized.svg", "test1.drop-shadow.svg"])
def test_svg_served_sanitized_renders_as_source(start_server: Callable[..., AppServer], client: httpx.Client,
                                                name: str) -> None:  # TestSvgSuite, on the SVGs we carry
    assert served_unchanged_in_pixels(start_server(), client, ASSETS, f"imgproxy/{name}") == ""


# TestSvgSuite's corpus (the svgo test suite, https://svg.github.io/svgo-test-suite/svgo-test-suite.tar.gz),
# when TEST_SVG_PATH names where it was extracted, as in imgproxy; its ignore list, too.
SVG_SUITE = os.environ.get("TEST_SVG_PATH", "")
IGNORED = {"W3C_SVG_11_TestSuite/svg/struct-frag-01-t.svg", "W3C_SVG_11_TestSuite/svg/struct-frag-04-t.svg",
           "oxygen-icons-5.116.0/scalable/apps/kalarm.svg"}


@pytest.mark.skipif(not SVG_SUITE, reason="TEST_SVG_PATH names no extracted svgo test suite")
def test_svg_suite(start_server: Callable[..., AppServer], client: httpx.Client) -> None:  # TestSvgSuite
    root = Path(SVG_SUITE).resolve()
    server = start_server(IMGPROXY_LOCAL_FILESYSTEM_ROOT=str(root), IMGPROXY_MAX_SRC_FILE_SIZE=str(100 * 1024 * 1024))
    relatives = sorted(p.relative_to(root).as_posix() for p in root.rglob("*") if p.suffix.lower() == ".svg")
    problems = [served_unchanged_in_pixels(server, client, root, r) for r in relatives if r not in IGNORED]
    assert [p for p in problems if p] == []
