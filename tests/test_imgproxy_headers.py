"""imgproxy's own header tests (``httpheaders/cdv_test.go``, ``httpheaders/copy_test.go`` and
``httpheaders/conditionalheaders/request_test.go``, imgproxy v4 commit eef3b312, Apache-2.0)
run against ours.

- ``ContentDispositionValue(url, filename, ext, contentType, attachment)`` is our
  ``content_disposition(url, out, fmt)`` (``imgproxy_py.server.responses``): ``filename`` and
  ``attachment`` are the options, ``ext`` (or the ``contentType`` it is read from) the format.
- ``Copy`` of the origin's headers (``IMGPROXY_RESPONSE_HEADERS_PASSTHROUGH``) is
  ``OriginHeadersConfig.passed_back``, ``CopyFromRequest`` of the client's
  (``IMGPROXY_REQUEST_HEADERS_PASSTHROUGH``) ``OriginHeadersConfig.forwarded``, each given what
  ours gives it (the origin's headers as ``imgproxy_py.sources.http`` keeps them, the request's
  starlette ``Headers``).  A header's values are compared as one field line (RFC 9110 §5.3:
  ``value1, value2``), its name case-insensitively.
- ``conditionalheaders.Request`` (``IMGPROXY_USE_ETAG``/``_ETAG_BUSTER``/``_USE_LAST_MODIFIED``/
  ``_LAST_MODIFIED_BUSTER``) has no counterpart outside our endpoint (``server/processing.py``),
  so those cases go through a server and a loopback origin: which validators the origin is
  sent, which ``ETag``/``Last-Modified`` the client gets."""

from __future__ import annotations

import base64
import uuid
from collections.abc import Callable, Mapping

import httpx
import pytest
from starlette.datastructures import Headers

from imgproxy_py.formats import ImageFormat
from imgproxy_py.options.model import OutputOptions
from imgproxy_py.server.responses import content_disposition
from imgproxy_py.sources.origin_headers import OriginHeadersConfig
from tests.servers import ASSETS, AppServer, Origin

PNG = (ASSETS / "imgproxy" / "test1.png").read_bytes()


def field(headers: Mapping[str, str], name: str) -> str | None:
    return next((value for key, value in headers.items() if key.lower() == name.lower()), None)


def cdv(name: str, url: str, filename: str, fmt: ImageFormat, attachment: bool, expected: str,
        *marks: pytest.MarkDecorator) -> object:
    return pytest.param(url, filename, fmt, attachment, expected, id=f"TestContentDispositionValue/{name}",
                        marks=marks)


# ext "" with no content type (BasicURL, AttachmentDisposition): the format the URL's extension
# names, what ours sniffs of such a source.
@pytest.mark.parametrize(("url", "filename", "fmt", "attachment", "expected"), [
    cdv("BasicURL", "http://example.com/test.jpg", "", ImageFormat.JPEG, False, 'inline; filename="test.jpg"'),
    cdv("EmptyFilenameWithExt", "http://example.com/path/to/", "", ImageFormat.PNG, False,
        'inline; filename="image.png"'),
    cdv("EmptyFilenameWithFilenameAndExt", "http://example.com/path/to/", "example", ImageFormat.PNG, False,
        'inline; filename="example.png"'),
    cdv("EmptyFilenameWithFilenameOverride", "http://example.com/path/to/", "example", ImageFormat.JPEG, False,
        'inline; filename="example.jpg"'),
    cdv("PresentFilenameWithExtOverride", "http://example.com/path/to/face.png", "", ImageFormat.JPEG, False,
        'inline; filename="face.jpg"'),
    cdv("PresentFilenameWithFilenameOverride", "http://example.com/path/to/123.png", "face", ImageFormat.JPEG,
        False, 'inline; filename="face.jpg"'),
    cdv("EmptyFilenameWithFallback", "http://example.com/path/to/", "", ImageFormat.PNG, False,
        'inline; filename="image.png"'),
    cdv("AttachmentDisposition", "http://example.com/test.jpg", "", ImageFormat.JPEG, True,
        'attachment; filename="test.jpg"'),
    cdv("FilenameWithQuotes", "http://example.com/test.jpg", 'my"file', ImageFormat.PNG, False,
        'inline; filename="my%22file.png"'),
    # contentType image/png, no ext: the format is PNG
    cdv("FilenameWithContentType", "http://example.com/test", 'my"file', ImageFormat.PNG, False,
        'inline; filename="my%22file.png"'),
])
def test_content_disposition(url: str, filename: str, fmt: ImageFormat, attachment: bool, expected: str) -> None:
    assert content_disposition(url, OutputOptions(filename=filename, return_attachment=attachment), fmt) == expected


def test_copy() -> None:
    """TestCopy: only the listed headers the origin sent (X-Test-4 came with no value)."""
    origin = dict(httpx.Headers([("X-Test-1", "value1"), ("X-Test-1", "value2"), ("X-Test-2", "value3"),
                                 ("X-Test-3", "value4")]))
    config = OriginHeadersConfig(response_passthrough=("X-Test-1", "x-test-3", "X-Non-Existent"))
    copied = config.passed_back(origin)
    assert field(copied, "X-Test-1") == "value1, value2"
    assert field(copied, "X-Test-3") == "value4"
    assert {name.lower() for name in copied} == {"x-test-1", "x-test-3"}  # no X-Test-2, X-Test-4, X-Non-...


@pytest.mark.parametrize(("name", "expected"), [
    pytest.param("X-Test-1", "value1, value2", id="TestCopyFromRequest/X-Test-1"),
    pytest.param("X-Test-2", "value3", id="TestCopyFromRequest/X-Test-2"),
    pytest.param("Host", "example.com", id="TestCopyFromRequest/Host"),
    pytest.param("X-Test-3", None, id="TestCopyFromRequest/X-Test-3 (not sent, not listed)"),
    pytest.param("X-Non-Existent", None, id="TestCopyFromRequest/X-Non-Existent"),
])
def test_copy_from_request(name: str, expected: str | None) -> None:
    request = Headers(raw=[(b"host", b"example.com"), (b"x-test-1", b"value1"), (b"x-test-1", b"value2"),
                           (b"x-test-2", b"value3")])
    config = OriginHeadersConfig(request_passthrough=("X-Test-1", "x-test-2", "host", "X-Non-Existent"))
    assert field(config.forwarded(request, "http://example.com/image.png"), name) == expected


# --- conditionalheaders: through a server ------------------------------------------------------

BUSTER = "2020-01-01T00:00:00Z"
BUSTER_FMT = "Wed, 01 Jan 2020 00:00:00 GMT"
AFTER_BUSTER = "Wed, 01 Jan 2020 01:00:00 GMT"
BEFORE_BUSTER = "Tue, 31 Dec 2019 23:00:00 GMT"
IMS, INM = "If-Modified-Since", "If-None-Match"


def b64(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).rstrip(b"=").decode()


def settings(lm: bool = False, lm_buster: bool = False, etag: bool = False, etag_buster: str = "") -> dict[str, str]:
    env = {"IMGPROXY_USE_LAST_MODIFIED": str(lm).lower(), "IMGPROXY_USE_ETAG": str(etag).lower()}
    if lm_buster:
        env["IMGPROXY_LAST_MODIFIED_BUSTER"] = BUSTER
    if etag_buster:
        env["IMGPROXY_ETAG_BUSTER"] = etag_buster
    return env


@pytest.fixture(scope="module")
def server_for(start_server: Callable[..., AppServer]) -> Callable[[dict[str, str]], AppServer]:
    started: dict[frozenset[tuple[str, str]], AppServer] = {}

    def get(env: dict[str, str]) -> AppServer:
        key = frozenset(env.items())
        if key not in started:
            started[key] = start_server(**env)
        return started[key]

    return get


def route(origin: Origin, origin_headers: dict[str, str]) -> str:
    """A new path answering the PNG with ``origin_headers``; never kept (``no-store``), so each
    request for it reaches the origin."""
    path = f"/imgproxy-conditional/{uuid.uuid4().hex}.png"
    origin.add(path, PNG, headers={"Cache-Control": "no-store", **origin_headers})
    return path


def fetch(server: AppServer, origin: Origin, client: httpx.Client, path: str,
          client_headers: dict[str, str]) -> tuple[httpx.Response, list[dict[str, str]]]:
    """The client's answer and the headers of each request the origin was sent for ``path``."""
    response = client.get(f"{server.base}/unsafe/plain/{origin.url(path)}", headers=client_headers)
    return response, [headers for sent, headers in origin.requests if sent == path]


OURS_INM = ("client If-None-Match {inm!r}: imgproxy sends {want!r} to the origin; ours sends none (it takes "
            "back only the ETags it issues, '\"<options hash>.R<base64url(origin ETag)>\"')")
OURS_IMS = ("client If-Modified-Since after the buster with If-None-Match {inm!r}: imgproxy sends no "
            "validator at all (that If-None-Match lacks its ETag buster); ours still sends If-Modified-Since")

# name, client If-Modified-Since, client If-None-Match, settings, origin gets IMS?, origin gets INM
REQUEST_CASES: list[tuple[str, str, str, dict[str, str], bool, str]] = [
    ("all disabled", "", "", settings(), False, ""),
    ("last modified enabled", AFTER_BUSTER, "", settings(lm=True), True, ""),
    ("etag enabled", "", "etag1", settings(etag=True), False, "etag1"),
    ("etag/lm enabled with no buster", AFTER_BUSTER, "etag1", settings(lm=True, etag=True), True, "etag1"),
    ("last modified after buster", AFTER_BUSTER, "", settings(lm=True, lm_buster=True), True, ""),
    ("last modified before buster", BEFORE_BUSTER, "", settings(lm=True, lm_buster=True), False, ""),
    ("last modified enabled with buster, invalid header", "not-a-time", "", settings(lm=True, lm_buster=True),
     False, ""),
    ("etag buster", "", f"buster/{b64('etag1')}", settings(etag=True, etag_buster="buster"), False, "etag1"),
    ("both enabled, but last modified buster check fails, etag still works", BEFORE_BUSTER,
     f"buster/{b64('etag1')}", settings(True, True, True, "buster"), False, "etag1"),
    ("both enabled, if-none-match with invalid base64", AFTER_BUSTER, "buster/@@@",
     settings(True, True, True, "buster"), False, ""),
    ("both enabled, but etag buster different", AFTER_BUSTER, f"buster/{b64('etag1')}",
     settings(True, True, True, "different-buster"), False, ""),
    ("both enabled, but etag with no buster", AFTER_BUSTER, "W/etag1", settings(True, True, True, "buster"),
     False, ""),
]


def request_params() -> list[object]:
    params: list[object] = []
    for name, ims, inm, env, want_ims, want_inm in REQUEST_CASES:
        client = {k: v for k, v in ((IMS, ims), (INM, inm)) if v}
        ims_marks = [pytest.mark.xfail(strict=True, reason=OURS_IMS.format(inm=inm))] if (
            ims == AFTER_BUSTER and not want_ims) else []
        inm_marks = [pytest.mark.xfail(strict=True, reason=OURS_INM.format(inm=inm, want=want_inm))] if (
            want_inm) else []
        prefix = f"TestInjectImageRequestHeaders/{name}"
        params.append(pytest.param(env, client, IMS, ims if want_ims else None, id=f"{prefix}/{IMS}",
                                   marks=ims_marks))
        params.append(pytest.param(env, client, INM, want_inm or None, id=f"{prefix}/{INM}", marks=inm_marks))
    return params


@pytest.mark.parametrize(("env", "client_headers", "header", "expected"), request_params())
def test_image_request_headers(server_for: Callable[[dict[str, str]], AppServer], origin: Origin,
                               client: httpx.Client, env: dict[str, str], client_headers: dict[str, str],
                               header: str, expected: str | None) -> None:
    response, sent = fetch(server_for(env), origin, client, route(origin, {}), client_headers)
    assert response.status_code == 200 and len(sent) == 1
    assert field(sent[0], header) == expected


@pytest.mark.parametrize(("env", "ims", "want_ims"), [
    pytest.param(env, ims, want_ims, id=f"TestInjectImageRequestHeaders/{name} (ours: the ETag ours answered)")
    for name, ims, _, env, want_ims, want_inm in REQUEST_CASES if want_inm])
def test_image_request_headers_round_trip(server_for: Callable[[dict[str, str]], AppServer], origin: Origin,
                                          client: httpx.Client, env: dict[str, str], ims: str,
                                          want_ims: bool) -> None:
    """The cases where imgproxy sends the origin its ETag back, with the If-None-Match a client
    of ours has: the ETag ours answered for the origin's ``etag1``."""
    server, path = server_for(env), route(origin, {"ETag": "etag1"})
    first, _ = fetch(server, origin, client, path, {})
    client_headers = {INM: first.headers["etag"], **({IMS: ims} if ims else {})}
    second, sent = fetch(server, origin, client, path, client_headers)
    assert second.status_code == 304 and len(sent) == 2  # the same source: nothing processed again
    assert field(sent[1], INM) == "etag1"
    assert field(sent[1], IMS) == (ims if want_ims else None)


ETAG_FORMAT = ("origin ETag {etag!r}, IMGPROXY_USE_ETAG=true, IMGPROXY_ETAG_BUSTER={buster!r}: imgproxy answers "
               "ETag {want}; ours answers '\"<options hash>.{ours}\"' (its own format)")

# name, origin ETag, origin Last-Modified, settings, client's Last-Modified, client's ETag
RESPONSE_CASES: list[tuple[str, str, str, dict[str, str], str, str]] = [
    ("all disabled", "", "", settings(), "", ""),
    ("lastmod enabled no header", "", "", settings(lm=True), "", ""),
    ("lastmod older than buster", "", BEFORE_BUSTER, settings(lm=True, lm_buster=True), BUSTER_FMT, ""),
    ("lastmod after buster", "", AFTER_BUSTER, settings(lm=True, lm_buster=True), AFTER_BUSTER, ""),
    ("lastmod invalid value", "", "not-a-time", settings(lm=True, lm_buster=True), "", ""),
    ("etag enabled empty", "", "", settings(etag=True), "", ""),
    ("etag enabled with value", "etag1", "", settings(etag=True, etag_buster="buster"), "",
     f'"buster/{b64("etag1")}"'),
    ("both enabled, both present, lm older", "etag2", BEFORE_BUSTER, settings(True, True, True, "buster"),
     BUSTER_FMT, f'"buster/{b64("etag2")}"'),
]


def response_params() -> list[object]:
    params: list[object] = []
    for name, etag, lm, env, want_lm, want_etag in RESPONSE_CASES:
        origin_headers = {k: v for k, v in (("ETag", etag), ("Last-Modified", lm)) if v}
        prefix = f"TestInjectUserResponseHeaders/{name}"
        params.append(pytest.param(env, origin_headers, "Last-Modified", want_lm or None,
                                   id=f"{prefix}/Last-Modified"))
        etag_marks = []
        if env["IMGPROXY_USE_ETAG"] == "true":
            ours = f"R{b64(etag)}" if etag else "D<the first 32 hex digits of the source bytes' SHA-256>"
            reason = ETAG_FORMAT.format(etag=etag, buster=env.get("IMGPROXY_ETAG_BUSTER", ""),
                                        want=repr(want_etag) if want_etag else "none", ours=ours)
            etag_marks.append(pytest.mark.xfail(strict=True, reason=reason))
        params.append(pytest.param(env, origin_headers, "ETag", want_etag or None, id=f"{prefix}/ETag",
                                   marks=etag_marks))
    return params


@pytest.mark.parametrize(("env", "origin_headers", "header", "expected"), response_params())
def test_user_response_headers(server_for: Callable[[dict[str, str]], AppServer], origin: Origin,
                               client: httpx.Client, env: dict[str, str], origin_headers: dict[str, str],
                               header: str, expected: str | None) -> None:
    response, _ = fetch(server_for(env), origin, client, route(origin, origin_headers), {})
    assert response.status_code == 200
    assert response.headers.get(header) == expected
