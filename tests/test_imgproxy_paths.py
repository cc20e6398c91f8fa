"""imgproxy's own path and signature tests (``handlers/path_test.go`` and
``security/signature_test.go``, imgproxy v4 commit eef3b312, Apache-2.0) run against ours: a
request path is split into signature and options the way our image endpoint does it (the raw
path an ASGI server gives, ``IMGPROXY_PATH_PREFIX``'s middleware, ``split_signature``), and
signatures are checked with the keys, salts, size and trusted signatures read from ``IMGPROXY_*``.
An error is asserted by our class and imgproxy's status (404 for a bad path, 403 for a bad
signature)."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

import pytest
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from imgproxy_py.errors import InvalidURLError, SignatureError
from imgproxy_py.security.signature import verify_signature
from imgproxy_py.server.app import PathPrefixMiddleware
from imgproxy_py.server.checks import parse_and_verify, raw_path
from imgproxy_py.url.tokenizer import redenormalize, split_signature
from tests.servers import services_for


def request_path(target: str, prefix: str = "") -> str:
    """The raw path our endpoint reads for a request of ``target``: the query apart, as an ASGI
    server gives it, and the prefix taken off by ``IMGPROXY_PATH_PREFIX``'s middleware."""
    path, _, query = target.partition("?")
    scope: Scope = {"type": "http", "method": "GET", "path": unquote(path), "raw_path": path.encode(),
                    "query_string": query.encode(), "headers": []}
    seen: list[str] = []

    async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(raw_path(Request(scope)))

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        pass

    app: ASGIApp = PathPrefixMiddleware(endpoint, prefix) if prefix else endpoint

    async def request() -> None:
        await app(scope, receive, send)

    asyncio.run(request())
    return seen[0]


OPTIONS = "rs:fill:300:200"
IMAGE = "plain/http://example.com/image.jpg"


@pytest.mark.parametrize(("target", "prefix", "path"), [
    pytest.param(f"/dummy_signature/{OPTIONS}/{IMAGE}", "", f"{OPTIONS}/{IMAGE}", id="BasicPath"),
    pytest.param(f"/dummy_signature/{OPTIONS}/{IMAGE}?param1=value1&param2=value2", "", f"{OPTIONS}/{IMAGE}",
                 id="PathWithQueryParams"),
    pytest.param(f"/imgproxy/dummy_signature/{OPTIONS}/{IMAGE}", "/imgproxy", f"{OPTIONS}/{IMAGE}",
                 id="PathWithPrefix"),
    pytest.param("/dummy_signature/rs:fill:300:200/plain/https:/example.com/path/to/image.jpg", "",
                 "rs:fill:300:200/plain/https://example.com/path/to/image.jpg", id="PathWithPlainUrlRedenormalization"),
    pytest.param("/dummy_signature/rs%3Afill%3A300%3A200/plain/https://example.com/path/to/image.jpg", "",
                 "rs:fill:300:200/plain/https://example.com/path/to/image.jpg",
                 id="PathWithOptionsSeparatorUnescapingPLain"),
    pytest.param("/dummy_signature/rs%3Afill%3A300%3A200/abc/abc", "", "rs:fill:300:200/abc/abc",
                 id="PathWithOptionsSeparatorUnescapingBas64"),
])
def test_split_path_signature(target: str, prefix: str, path: str) -> None:
    # TestParsePath (handlers.SplitPathSignature)
    assert split_signature(request_path(target, prefix)) == ("dummy_signature", path)


@pytest.mark.parametrize("target", [
    pytest.param("/invalid_path_without_slash", id="NoSignatureSeparator"),
    pytest.param("/", id="EmptyPath"),
    pytest.param("/signature_only", id="OnlySignature"),
])
def test_split_path_signature_refused(target: str) -> None:
    # TestParsePath's error cases
    with pytest.raises(InvalidURLError) as caught:
        split_signature(request_path(target))
    assert caught.value.status == 404


@pytest.mark.parametrize(("path", "expected"), [
    pytest.param("plain/http:/example.com/image.jpg", "plain/http://example.com/image.jpg", id="HTTP"),
    pytest.param("plain/https:/example.com/image.jpg", "plain/https://example.com/image.jpg", id="HTTPS"),
    pytest.param("plain/local:/image.jpg", "plain/local:///image.jpg", id="Local"),
    pytest.param("/rs:fill:300:200/plain/http:/example.com/image.jpg",
                 "rs:fill:300:200/plain/http://example.com/image.jpg", id="WithOptions"),
    pytest.param("/plain/http://example.com/image.jpg", "plain/http://example.com/image.jpg", id="NormalizedPath"),
    pytest.param("/rs:fill:300:200/plain/example.com/image.jpg", "rs:fill:300:200/plain/example.com/image.jpg",
                 id="ProtocolMissing"),
    pytest.param("", "", id="EmptyString"),
    pytest.param("/", "", id="SingleSlash"),
    pytest.param("/http:/example.com/image.jpg", "http:/example.com/image.jpg", id="NoPlainPrefix"),
    pytest.param("/plain/example.com/image.jpg", "plain/example.com/image.jpg", id="NoProtocol"),
    pytest.param("/plain/http:", "plain/http:", id="EndsWithProtocol"),
    pytest.param("/plain/http:/test", "plain/http://test", id="OnlyProtocol"),
])
def test_redenormalize_path(path: str, expected: str) -> None:
    # TestRedenormalizePathHTTPProtocol
    assert redenormalize(path) == expected


# signature_test.go: keys and salts as imgproxy's test sets them, as IMGPROXY_KEY/SALT (hex) give them.
# imgproxy's signatureFor puts back the leading slash of a path given without it ("asd" is signed
# as "/asd"); ours is always given the signed path with its slash.
KEY, SALT = b"test-key".hex(), b"test-salt".hex()
ONE_PAIR = {"IMGPROXY_KEY": KEY, "IMGPROXY_SALT": SALT}
TWO_PAIRS = {"IMGPROXY_KEY": f"{KEY},{b'test-key2'.hex()}", "IMGPROXY_SALT": f"{SALT},{b'test-salt2'.hex()}"}
TRUSTED = {**ONE_PAIR, "IMGPROXY_TRUSTED_SIGNATURES": "truested"}
FULL = "oWaL7QoW5TsgbuiS9-5-DI8S3Ibbo1gdB2SteJh3a20"


INVALID = [
    pytest.param(ONE_PAIR, "oWaL7QoW5Ts", id="TestVerifySignatureInvalid"),
    pytest.param(TWO_PAIRS, "dtLwhdnPPis", id="TestVerifySignatureMultiplePairs-none"),
    pytest.param(TRUSTED, "untrusted", id="TestVerifySignatureTrusted-untrusted"),
]


@pytest.mark.parametrize(("env", "signature", "valid"), [
    pytest.param(ONE_PAIR, FULL, True, id="TestVerifySignature"),
    pytest.param({**ONE_PAIR, "IMGPROXY_SIGNATURE_SIZE": "8"}, "oWaL7QoW5Ts", True, id="TestVerifySignatureTruncated"),
    pytest.param(TWO_PAIRS, "jYz1UZ7j1BCdSzH3pZhaYf0iuz0vusoOTdqJsUT6WXI", True,
                 id="TestVerifySignatureMultiplePairs-second"),
    pytest.param(TWO_PAIRS, FULL, True, id="TestVerifySignatureMultiplePairs-first"),
    pytest.param(TRUSTED, "truested", True, id="TestVerifySignatureTrusted"),
    *[pytest.param(*p.values, False, id=p.id) for p in INVALID],
])
def test_verify_signature(env: dict[str, str], signature: str, valid: bool) -> None:
    built = services_for(env)
    security = built.config.security
    assert verify_signature(signature, "/asd", security.key_salt_pairs, security.signature_size,
                            security.trusted_signatures) is valid
    if not valid:  # and a request signed so is refused with imgproxy's 403
        with pytest.raises(SignatureError) as caught:
            parse_and_verify(built, f"/{signature}/{IMAGE}")
        assert caught.value.status == 403


@pytest.mark.parametrize(("env", "signature"), INVALID)
def test_bad_signature_refused_before_the_path_is_parsed(env: dict[str, str], signature: str) -> None:
    # The same cases as a request of the path imgproxy's test signs ("asd"): the signature is
    # checked first (403), before "asd" would be refused as no source URL (404).
    with pytest.raises(SignatureError) as caught:
        parse_and_verify(services_for(env), f"/{signature}/asd")
    assert caught.value.status == 403
