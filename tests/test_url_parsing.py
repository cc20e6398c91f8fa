"""Table-driven tests of the URL grammar and signatures (no server)."""

from __future__ import annotations

import base64
import re

import pytest

from imgproxy_py.errors import InvalidURLError
from imgproxy_py.security.signature import sign_path, verify_signature
from imgproxy_py.url.tokenizer import URLGrammar, parse_path, redenormalize

DOC_KEY = bytes.fromhex("736563726574")
DOC_SALT = bytes.fromhex("68656C6C6F")
DOC_PATH = "/rs:fill:300:400:0/g:sm/aHR0cDovL2V4YW1w/bGUuY29tL2ltYWdl/cy9jdXJpb3NpdHku/anBn.png"
DOC_SIGNATURE = "oKfUtW34Dvo2BGQehJFR4Nr0_rIjOtdtzJ3QFsUcXH8"


def test_imgproxy_documented_signature() -> None:
    assert sign_path(DOC_KEY, DOC_SALT, DOC_PATH) == DOC_SIGNATURE
    assert verify_signature(DOC_SIGNATURE, DOC_PATH, [(DOC_KEY, DOC_SALT)])


def test_signature_any_pair_and_truncation() -> None:
    pairs = [(b"other", b"pair"), (DOC_KEY, DOC_SALT)]
    assert verify_signature(DOC_SIGNATURE, DOC_PATH, pairs)
    short = sign_path(DOC_KEY, DOC_SALT, DOC_PATH, size=8)
    assert len(base64.urlsafe_b64decode(short + "=")) == 8
    assert verify_signature(short, DOC_PATH, pairs, size=8)
    assert not verify_signature(short, DOC_PATH + "x", pairs, size=8)
    assert not verify_signature("not-base64!!", DOC_PATH, pairs)
    assert verify_signature("trusted", DOC_PATH, [], trusted=["trusted"])


def test_documented_example_source_decodes() -> None:
    parsed = parse_path("/" + DOC_SIGNATURE + DOC_PATH, URLGrammar())
    assert parsed.signed_path == DOC_PATH
    assert parsed.source.url == "http://example.com/images/curiosity.jpg"
    assert parsed.source.extension == "png"
    assert parsed.options == (("rs", ("fill", "300", "400", "0")), ("g", ("sm",)))


@pytest.mark.parametrize(
    ("path", "url", "ext"),
    [
        ("/x/rs:fit:10:10/plain/http://example.com/a.jpg", "http://example.com/a.jpg", ""),
        ("/x/rs:fit:10:10/plain/http://example.com/a.jpg@webp", "http://example.com/a.jpg", "webp"),
        ("/x/plain/http:/example.com/a.jpg", "http://example.com/a.jpg", ""),  # collapsed //
        ("/x/plain/local:/photos/a.jpg", "local:///photos/a.jpg", ""),
        ("/x/plain/local:///photos/a.jpg", "local:///photos/a.jpg", ""),
        ("/x/plain/http://example.com/a%20b.jpg", "http://example.com/a b.jpg", ""),
        ("/x/plain/http://example.com/q%3Fx%3D1", "http://example.com/q?x=1", ""),
        ("/x/aHR0cDovL2V4YW1wbGUuY29tL2EuanBn", "http://example.com/a.jpg", ""),
        ("/x/aHR0cDovL2V4YW1wbGUuY29tL2EuanBn.webp", "http://example.com/a.jpg", "webp"),
        ("/x/aHR0cDovL2V4YW1w/bGUuY29tL2EuanBn", "http://example.com/a.jpg", ""),  # split
        ("/x/aHR0cDovL2V4YW1wbGUuY29tL2EuanBnPw==", "http://example.com/a.jpg?", ""),  # padded
    ],
)
def test_source_url_forms(path: str, url: str, ext: str) -> None:
    parsed = parse_path(path, URLGrammar())
    assert (parsed.source.url, parsed.source.extension) == (url, ext)


def test_colon_escaped_in_options_and_signed_path() -> None:
    assert redenormalize("rs%3Afit%3A10%3A10/plain/http:/a.com/x") == "rs:fit:10:10/plain/http://a.com/x"
    parsed = parse_path("/sig/rs%3Afit%3A10/plain/http://a.com/x.png", URLGrammar())
    assert parsed.options == (("rs", ("fit", "10")),)
    assert parsed.signed_path == "/rs:fit:10/plain/http://a.com/x.png"


def test_chained_pipeline_tokens() -> None:
    parsed = parse_path("/s/rs:fit:500:500/-/trim:10/rs:fill:200:200/plain/http://a/b.jpg", URLGrammar())
    assert [name for name, _ in parsed.options] == ["rs", "-", "trim", "rs"]


def test_base64_includes_filename_and_base_url_and_replacements() -> None:
    grammar = URLGrammar(base64_url_includes_filename=True)
    parsed = parse_path("/s/w:10/aHR0cDovL2V4YW1wbGUuY29tL2EuanBn/pretty-name.jpg", grammar)
    assert parsed.source.url == "http://example.com/a.jpg"
    grammar = URLGrammar(base_url="http://cdn.example.com/",
                         url_replacements=((re.compile("^s3://"), "http://s3.example.com/"),))
    assert parse_path("/s/plain/images/a.jpg", grammar).source.url == "http://cdn.example.com/images/a.jpg"
    replaced = parse_path("/s/plain/s3://bucket/a.jpg", URLGrammar(
        url_replacements=((re.compile("^s3://"), "http://s3.example.com/"),)))
    assert replaced.source.url == "http://s3.example.com/bucket/a.jpg"


def test_custom_argument_separator() -> None:
    parsed = parse_path("/s/rs,fill,10,20/plain/http://a/b.jpg", URLGrammar(arguments_separator=","))
    assert parsed.options == (("rs", ("fill", "10", "20")),)


def test_only_presets_grammar() -> None:
    parsed = parse_path("/s/thumb:small/plain/http://a/b.jpg", URLGrammar(only_presets=True))
    assert parsed.options == (("preset", ("thumb", "small")),)


@pytest.mark.parametrize(
    "path",
    [
        "/",
        "/onlysignature",
        "/s/fill/300/200/no/0/aHR0cDovL2EvYi5qcGc",  # deprecated basic format
        "/s/rs:fit:10:10/plain/",
        "/s/rs:fit:10:10/plain/@webp",
        "/s/rs:fit:10:10/plain/http://a/b.jpg@webp@png",
        "/s/rs:fit:10:10/!!!notbase64!!!",
        "/s/rs:fit:10:10/aGVsbG8.png.webp",
        "/s/rs:fit:10:10",
        "/s/plain/%80",  # not UTF-8 once unescaped: once a UnicodeDecodeError (500)
        "/s/rs:fit:10:10/plain/local:///a%C3.jpg@webp",
    ],
)
def test_invalid_paths(path: str) -> None:
    with pytest.raises(InvalidURLError):
        parse_path(path, URLGrammar())


def test_encrypted_source_uses_decryptor() -> None:
    parsed = parse_path("/s/rs:fit:10/enc/CIPHER.png", URLGrammar(), decrypt=lambda c: f"http://a/{c}")
    assert parsed.source.url == "http://a/CIPHER" and parsed.source.encrypted
    assert parsed.source.extension == "png"
    with pytest.raises(InvalidURLError):
        parse_path("/s/rs:fit:10/enc/CIPHER", URLGrammar())


def test_imgproxy_signature_cases() -> None:
    # imgproxy's security/signature_test.go (v4): its VerifySignature signs "/" + the path given.
    pairs = [(b"test-key", b"test-salt")]
    assert verify_signature("oWaL7QoW5TsgbuiS9-5-DI8S3Ibbo1gdB2SteJh3a20", "/asd", pairs)
    assert verify_signature("oWaL7QoW5Ts", "/asd", pairs, size=8)  # truncated
    assert not verify_signature("oWaL7QoW5Ts", "/asd", pairs)  # truncated, but the full size expected
    both = [*pairs, (b"test-key2", b"test-salt2")]
    assert verify_signature("jYz1UZ7j1BCdSzH3pZhaYf0iuz0vusoOTdqJsUT6WXI", "/asd", both)
    assert verify_signature("oWaL7QoW5TsgbuiS9-5-DI8S3Ibbo1gdB2SteJh3a20", "/asd", both)
    assert not verify_signature("dtLwhdnPPis", "/asd", both)
    assert verify_signature("truested", "/asd", pairs, trusted=["truested"])
    assert not verify_signature("untrusted", "/asd", pairs, trusted=["truested"])
